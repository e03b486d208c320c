"""A local cluster in one folder: init, up, status, down, logs (the `baaskit` cluster commands).

Layout (written by node/consortium.generate_consortium):
    <dir>/genesis.json, ca.crt, ca.key, clients/*.key, admins/*.key
    <dir>/nodes/<name>/node.toml (+ node.key, tls.crt, tls.key, data/, node.log)
This module adds <dir>/nodes/<name>/node.pid and node.out (the process's stdout/stderr).
Every node is a separate `baaskit node --config` process on 127.0.0.1, stopped by its PID.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc

from baaskit.tx import make_tx
from baaskit.wire.v1 import api_pb2, api_pb2_grpc

from . import procs
from .config import ConfigError, NodeConfig, load_config
from .consortium import DEFAULT_BASE_PORT, DEFAULT_NAMES, ConsortiumError, generate_consortium
from .keyfiles import KeyFileError, load_signing_key
from .pbconv import envelope_to_pb
from .tls import client_channel_credentials


class ClusterError(Exception):
    """A cluster command cannot do what was asked; the message says why and what to do."""


Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def is_initialised(root: Path) -> bool:
    return (root / "genesis.json").is_file() and any((root / "nodes").glob("*/node.toml"))


def init_cluster(root: Path, members: Sequence[str] = DEFAULT_NAMES, base_port: int = DEFAULT_BASE_PORT,
                 tuning: dict[str, int] | None = None) -> None:
    if is_initialised(root):
        raise ClusterError(f"{root} already holds a cluster (genesis.json); use another --dir or remove it")
    try:
        generate_consortium(root, names=list(members), base_port=base_port, tuning=tuning)
    except ConsortiumError as exc:
        raise ClusterError(str(exc)) from None


def node_configs(root: Path) -> list[NodeConfig]:
    if not is_initialised(root):
        raise ClusterError(f"no cluster in {root} (run `baaskit init --dir {root}` or `baaskit up --dir {root}`)")
    configs = []
    for path in sorted((root / "nodes").glob("*/node.toml")):
        try:
            configs.append(load_config(path, check_files=False))
        except ConfigError as exc:
            raise ClusterError(str(exc)) from None
    return sorted(configs, key=lambda c: c.member)


def pidfile(cfg: NodeConfig) -> Path:
    return cfg.config_path.parent / "node.pid"


def console_log(cfg: NodeConfig) -> Path:
    return cfg.config_path.parent / "node.out"


def running_pid(cfg: NodeConfig) -> int | None:
    pid = procs.read_pid(pidfile(cfg))
    if pid is not None and procs.alive(pid, cfg.config_path):
        return pid
    return None


def api_channel(cfg: NodeConfig) -> grpc.Channel:
    ca = cfg.ca_cert_path.read_bytes()
    return grpc.secure_channel(f"{cfg.api_host}:{cfg.api_port}", client_channel_credentials(ca))


def node_status(cfg: NodeConfig, timeout_s: float = 2.0) -> api_pb2.StatusResponse | None:
    with api_channel(cfg) as ch:
        try:
            return api_pb2_grpc.ApiStub(ch).Status(api_pb2.StatusRequest(), timeout=timeout_s)
        except grpc.RpcError:
            return None


def start(root: Path, progress: Progress = _quiet) -> list[int]:
    """Start every node that is not running; refuse if one of their ports is taken."""
    configs = node_configs(root)
    to_start = [c for c in configs if running_pid(c) is None]
    for cfg in to_start:
        for what, port in (("API", cfg.api_port), ("peer", cfg.peer_port)):
            if not procs.port_free(port, cfg.api_host if what == "API" else cfg.peer_host):
                raise ClusterError(
                    f"port {port} ({cfg.name} {what}) is in use by another program; stop it, or "
                    f"`baaskit init --dir NEW_DIR --base-port OTHER_PORT` for a cluster on other ports"
                )
    pids = []
    for cfg in to_start:
        proc = procs.start_node(cfg.config_path, pidfile(cfg), console_log(cfg))
        progress(f"started {cfg.name} (member {cfg.member}) pid {proc.pid}")
        pids.append(proc.pid)
    return pids


def wait_healthy(root: Path, timeout_s: float = 60.0, progress: Progress = _quiet) -> None:
    configs = node_configs(root)
    deadline = time.monotonic() + timeout_s
    healthy: set[str] = set()
    while time.monotonic() < deadline:
        for cfg in configs:
            if cfg.name in healthy:
                continue
            if running_pid(cfg) is None:
                tail = _tail(console_log(cfg), 5) or _tail(cfg.log_file, 5)
                raise ClusterError(f"node {cfg.name} exited during start-up:\n{tail}")
            if node_status(cfg, 1.0) is not None:
                healthy.add(cfg.name)
                progress(f"{cfg.name} is serving ({len(healthy)}/{len(configs)})")
        if len(healthy) == len(configs):
            return
        time.sleep(0.2)
    missing = sorted({c.name for c in configs} - healthy)
    raise ClusterError(f"nodes not serving after {timeout_s:.0f}s: {', '.join(missing)} (see `baaskit logs`)")


def submit_probe(root: Path, timeout_s: float = 30.0) -> api_pb2.TxPosition:
    """Submit one kv transaction with the first enrolled client key and wait for its commit."""
    configs = node_configs(root)
    keys = sorted((root / "clients").glob("*.key"))
    if not keys:
        raise ClusterError(f"no client keys in {root / 'clients'}")
    try:
        key = load_signing_key(keys[0])
    except KeyFileError as exc:
        raise ClusterError(str(exc)) from None
    cfg = configs[0]
    tx = make_tx(key, cfg.chain_id, "kv", "set", {"key": "baaskit/up", "value": str(int(time.time()))})
    deadline = time.monotonic() + timeout_s
    with api_channel(cfg) as ch:
        stub = api_pb2_grpc.ApiStub(ch)
        while True:
            try:
                stub.Submit(api_pb2.SubmitRequest(txs=[envelope_to_pb(tx)]), timeout=5)
                break
            except grpc.RpcError as exc:
                if time.monotonic() > deadline:
                    raise ClusterError(f"submitting a transaction failed: {exc.details()}") from None  # type: ignore[attr-defined]
                time.sleep(0.2)
        left = max(1, int((deadline - time.monotonic()) * 1000))
        resp = stub.WaitTxs(api_pb2.WaitTxsRequest(tx_ids=[tx.tx_id], timeout_ms=left), timeout=left / 1000 + 5)
    pos = resp.positions[0]
    if not pos.committed:
        raise ClusterError(f"the probe transaction did not commit within {timeout_s:.0f}s (see `baaskit logs`)")
    return pos


@dataclass(frozen=True)
class Row:
    name: str
    member: int
    pid: int | None
    api: str
    status: api_pb2.StatusResponse | None


def status_rows(root: Path) -> list[Row]:
    """One row per node. The running ones are asked at the same time: under full load a node
    takes 0.1-0.5 s to answer (its one event loop is busy), and asked one after the other four
    nodes made `baaskit status` take ~2 s."""
    configs = node_configs(root)
    pids = [running_pid(cfg) for cfg in configs]

    def ask(cfg: NodeConfig, pid: int | None) -> api_pb2.StatusResponse | None:
        return node_status(cfg) if pid is not None else None

    with ThreadPoolExecutor(max_workers=max(1, len(configs))) as pool:
        statuses = list(pool.map(ask, configs, pids))
    return [
        Row(cfg.name, cfg.member, pid, f"{cfg.api_host}:{cfg.api_port}", st)
        for cfg, pid, st in zip(configs, pids, statuses, strict=True)
    ]


def format_table(rows: list[Row]) -> str:
    head = ("member", "name", "pid", "api", "state", "height", "view", "primary", "mempool", "fsyncs", "last block")
    lines = [head]
    for r in rows:
        st = r.status
        state = "down" if r.pid is None else ("serving" if st is not None else "starting")
        lines.append(
            (
                str(r.member),
                r.name,
                str(r.pid or "-"),
                r.api,
                state,
                str(st.height) if st else "-",
                str(st.view) if st else "-",
                str(st.primary) if st else "-",
                str(st.mempool_size) if st else "-",
                str(st.metrics.get("fsyncs", 0)) if st else "-",
                st.last_block_hash.hex()[:16] if st else "-",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines)


def stop(root: Path, progress: Progress = _quiet) -> int:
    stopped = 0
    for cfg in node_configs(root):
        pid = procs.read_pid(pidfile(cfg))
        if pid is None:
            continue
        if procs.alive(pid, cfg.config_path):
            if not procs.stop_pid(pid, cfg.config_path):
                raise ClusterError(f"{cfg.name} (pid {pid}) did not stop")
            progress(f"stopped {cfg.name} (pid {pid})")
            stopped += 1
        pidfile(cfg).unlink(missing_ok=True)
    return stopped


def log_file(root: Path, member: str | None) -> list[tuple[str, Path]]:
    configs = node_configs(root)
    if member is not None:
        configs = [c for c in configs if c.name == member or str(c.member) == member]
        if not configs:
            raise ClusterError(f"no member {member!r} in {root}")
    return [(c.name, c.log_file) for c in configs]


def _tail(path: Path, n: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""
