"""What an operator sees when a node cannot start: one line naming the problem, exit code != 0,
never a traceback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

from baaskit.node.consortium import generate_consortium
from baaskit.node.procs import free_ports


def _baaskit(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "baaskit.cli.main", *args], capture_output=True, text=True, timeout=timeout
    )


def _consortium(root: Path) -> Path:
    ports = free_ports(8)
    generate_consortium(root, ports=[(ports[2 * i], ports[2 * i + 1]) for i in range(4)])
    return root / "nodes" / "bank-hk" / "node.toml"


def _refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    for word in words:
        assert word in result.stderr


def test_missing_config(tmp_path: Path) -> None:
    _refused(_baaskit("node", "--config", str(tmp_path / "absent.toml")), "not found")


def test_config_of_another_consortium(tmp_path: Path) -> None:
    config = _consortium(tmp_path / "a")
    _consortium(tmp_path / "b")
    shutil.copy(tmp_path / "b" / "genesis.json", tmp_path / "a" / "genesis.json")
    _refused(_baaskit("node", "--config", str(config)), "genesis")


def test_port_in_use(tmp_path: Path) -> None:
    config = _consortium(tmp_path / "c")
    from baaskit.node.config import load_config

    cfg = load_config(config)
    with socket.socket() as squatter:
        squatter.bind((cfg.api_host, cfg.api_port))
        squatter.listen()
        _refused(_baaskit("node", "--config", str(config)), str(cfg.api_port))


def test_cluster_commands_without_a_cluster(tmp_path: Path) -> None:
    for command in ("status", "down", "logs"):
        _refused(_baaskit(command, "--dir", str(tmp_path / "none")), "no cluster")
