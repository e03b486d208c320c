"""Node processes on this host: start one detached, find it by pidfile, stop it by PID.

Used by `baaskit up/down/status` and the integration tests. A pidfile holds the PID; before
signalling, the PID's command line is checked to still be a `baaskit node --config <that file>`
process, so a recycled PID is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def node_command(config: Path) -> list[str]:
    return [sys.executable, "-m", "baaskit.cli.main", "node", "--config", str(config)]


def start_node(config: Path, pidfile: Path, console_log: Path) -> subprocess.Popen[bytes]:
    """Start `baaskit node --config` in its own session; stdout/stderr go to `console_log`."""
    console_log.parent.mkdir(parents=True, exist_ok=True)
    with open(console_log, "ab") as out:
        proc = subprocess.Popen(
            node_command(config.resolve()),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pidfile.write_text(f"{proc.pid}\n")
    return proc


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [p.decode(errors="replace") for p in raw.split(b"\0") if p]


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def alive(pid: int, config: Path | None = None) -> bool:
    """The PID runs (not a zombie) and, if `config` is given, it is the node of that config."""
    cmd = _cmdline(pid)
    if cmd is None or _is_zombie(pid):
        return False
    if config is None:
        return True
    return str(config.resolve()) in cmd and "node" in cmd


def read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def stop_pid(pid: int, config: Path | None = None, timeout_s: float = 10.0) -> bool:
    """SIGTERM, wait up to `timeout_s`, then SIGKILL. Returns True if the process is gone."""
    if not alive(pid, config):
        return True
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _reap(pid)
        if not alive(pid):
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        _reap(pid)
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` distinct ports the OS says are free now (bound to port 0, then released)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()
