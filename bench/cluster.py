"""A fresh local cluster for one benchmark run (free ports, many enrolled client keys)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
import nacl.signing

from baaskit.node import cluster, procs
from baaskit.node.consortium import generate_consortium
from baaskit.node.keyfiles import load_signing_key
from baaskit.wire.v1 import api_pb2, api_pb2_grpc


@dataclass
class BenchCluster:
    root: Path
    owned: bool  # started by us: we stop it

    @property
    def configs(self):  # type: ignore[no-untyped-def]
        return cluster.node_configs(self.root)

    @property
    def endpoints(self) -> list[str]:
        return [f"{c.api_host}:{c.api_port}" for c in self.configs]

    @property
    def ca_pem(self) -> bytes:
        return self.configs[0].ca_cert_path.read_bytes()

    @property
    def chain_id(self) -> str:
        return self.configs[0].chain_id

    def client_keys(self) -> list[nacl.signing.SigningKey]:
        return [load_signing_key(p) for p in sorted((self.root / "clients").glob("*.key"))]

    def pids(self) -> dict[int, int]:
        out = {}
        for c in self.configs:
            pid = cluster.running_pid(c)
            if pid is not None:
                out[c.member] = pid
        return out

    def data_dirs(self) -> dict[int, Path]:
        return {c.member: c.data_dir for c in self.configs}

    def log_files(self) -> dict[int, Path]:
        return {c.member: c.log_file for c in self.configs}

    def statuses(self) -> dict[int, api_pb2.StatusResponse]:
        out = {}
        for c in self.configs:
            st = cluster.node_status(c)
            if st is not None:
                out[c.member] = st
        return out

    def primary(self) -> int | None:
        views = sorted(((s.view, s.primary) for s in self.statuses().values()), reverse=True)
        return views[0][1] if views else None

    def stop(self) -> None:
        if self.owned:
            cluster.stop(self.root)


def start_fresh(root: Path, clients_per_member: int, progress: Callable[[str], None]) -> BenchCluster:
    ports = procs.free_ports(8)
    generate_consortium(
        root,
        ports=[(ports[2 * i], ports[2 * i + 1]) for i in range(4)],
        clients_per_member=clients_per_member,
    )
    bc = BenchCluster(root, owned=True)
    try:
        cluster.start(root, progress)
        cluster.wait_healthy(root, 60, progress)
        cluster.submit_probe(root, 60)
    except BaseException:
        bc.stop()
        raise
    return bc


def existing(root: Path) -> BenchCluster:
    bc = BenchCluster(root, owned=False)
    if not bc.pids():
        raise cluster.ClusterError(f"no running node in {root}; start it with `baaskit up --dir {root}`")
    return bc


def wait_committed(endpoint: str, ca_pem: bytes, tx_ids: list[bytes], timeout_ms: int) -> int:
    """How many of tx_ids a node reports committed (the lost-transaction check)."""
    creds = grpc.ssl_channel_credentials(root_certificates=ca_pem)
    committed = 0
    with grpc.secure_channel(endpoint, creds) as ch:
        stub = api_pb2_grpc.ApiStub(ch)
        for i in range(0, len(tx_ids), 1000):
            part = tx_ids[i : i + 1000]
            resp = stub.WaitTxs(api_pb2.WaitTxsRequest(tx_ids=part, timeout_ms=timeout_ms), timeout=timeout_ms / 1000 + 10)
            committed += sum(1 for p in resp.positions if p.committed)
    return committed
