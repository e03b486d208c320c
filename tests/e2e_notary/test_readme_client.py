"""The README's "Client library" examples run as written against a real 4-node cluster."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.cluster import running_cluster

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"


def client_examples() -> list[str]:
    text = README.read_text()
    section = text.split("\n## Client library\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_readme_client_examples_run(tmp_path: Path) -> None:
    examples = client_examples()
    assert len(examples) >= 4
    work = tmp_path / "work"
    (work / ".baaskit").mkdir(parents=True)
    with running_cluster(tmp_path) as c:
        (work / ".baaskit" / "cluster").symlink_to(c.root)
        outputs = []
        for code in examples:
            proc = subprocess.run([sys.executable, "-c", code], cwd=work, capture_output=True, text=True, timeout=180)
            assert proc.returncode == 0, f"example failed:\n{code}\n--- stderr ---\n{proc.stderr}"
            outputs.append(proc.stdout)
    assert "not verified, check: document-digest" in "".join(outputs)
    assert "1000 receipts, 1 transaction" in "".join(outputs)
