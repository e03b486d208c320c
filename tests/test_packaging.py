"""The distribution installs one namespace, `baaskit`, and the pure boxes stay pure."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# contracts/ must be deterministic: no I/O, no clock, no randomness, no neighbours.
CONTRACTS_BANNED = {
    "grpc", "plyvel", "asyncio", "time", "random", "socket", "threading", "os",
    "subprocess", "datetime", "secrets", "uuid",
}
CONTRACTS_BANNED_BAASKIT = {"node", "consensus", "client", "cli"}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def test_contracts_import_no_io_and_no_neighbours() -> None:
    offences = []
    for path in sorted((ROOT / "contracts").rglob("*.py")):
        for lineno, name in _imports(path):
            parts = name.split(".")
            if parts[0] in CONTRACTS_BANNED or (
                parts[0] == "baaskit" and len(parts) > 1 and parts[1] in CONTRACTS_BANNED_BAASKIT
            ):
                offences.append(f"{path.relative_to(ROOT)}:{lineno} imports {name}")
    assert offences == []


def test_layering_check_catches_a_planted_import(tmp_path: Path) -> None:
    planted = tmp_path / "bad.py"
    planted.write_text("import time\nfrom baaskit.node import driver\n")
    names = [name for _, name in _imports(planted)]
    assert "time" in names and "baaskit.node" in names


@pytest.mark.timeout(300)
def test_wheel_installs_only_the_baaskit_namespace(tmp_path: Path) -> None:
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    source = tmp_path / "src"
    shutil.copytree(
        ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", ".baaskit", "__pycache__", ".hypothesis")
    )
    out = tmp_path / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("baaskit-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    top_level = sorted({n.split("/")[0] for n in names})
    assert top_level == ["baaskit", next(t for t in top_level if t.endswith(".dist-info"))]
    for box in ("consensus", "node", "contracts", "client", "cli", "wire/v1"):
        assert any(n.startswith(f"baaskit/{box}/") for n in names), box
    assert "baaskit/wire/v1/api_pb2.py" in names
