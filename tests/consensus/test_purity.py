"""consensus/ is a pure state machine: no module under it may import an I/O module."""

from __future__ import annotations

import ast
from pathlib import Path

FORBIDDEN = {
    "grpc",
    "plyvel",
    "asyncio",
    "time",
    "random",
    "socket",
    "threading",
    "os",
    "subprocess",
    "baaskit.node",
    "baaskit.contracts",
}
CONSENSUS = Path(__file__).resolve().parents[2] / "consensus"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            found.add("__import__")
    return found


def forbidden_in(modules: set[str]) -> set[str]:
    return {
        m
        for m in modules
        if m == "__import__" or any(m == f or m.startswith(f + ".") for f in FORBIDDEN)
    }


def test_consensus_modules_exist() -> None:
    assert len(list(CONSENSUS.glob("*.py"))) >= 10


def test_consensus_imports_no_io_module() -> None:
    bad = {
        p.name: sorted(forbidden_in(imported_modules(p)))
        for p in sorted(CONSENSUS.glob("*.py"))
        if forbidden_in(imported_modules(p))
    }
    assert bad == {}


def test_the_checker_catches_io_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os.path\nfrom time import monotonic\nfrom baaskit.node import x\n")
    assert forbidden_in(imported_modules(sample)) == {
        "os.path",
        "time",
        "time.monotonic",
        "baaskit.node",
        "baaskit.node.x",
    }
