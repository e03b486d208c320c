"""A real 4-node cluster for integration tests: separate `baaskit node` processes on 127.0.0.1.

    from tests.integration.cluster import running_cluster

    def test_x(tmp_path):
        with running_cluster(tmp_path) as c:
            stub = c.api(0)                 # ApiStub over TLS to member 0
            c.submit([tx, ...])             # -> acks
            c.kill(0); c.restart(0)         # SIGKILL / start again, by PID

Or use the `cluster` pytest fixture from tests/integration/conftest.py. Free ports are picked by
the OS; every started process is stopped by its PID when the context exits; every wait is bounded.
Exposes: endpoints (api "127.0.0.1:port" per member), genesis_path, ca_path, client_keys (paths of
enrolled client keys), configs (node.toml paths), root (the cluster folder).
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import nacl.signing

from baaskit.genesis import Genesis, load_genesis
from baaskit.node import procs
from baaskit.node.consortium import ConsortiumPaths, generate_consortium
from baaskit.node.keyfiles import load_signing_key
from baaskit.tx import TxEnvelope, make_tx
from baaskit.wire.v1 import api_pb2, api_pb2_grpc, types_pb2

NAMES = ("bank-hk", "wallet-hk", "bank-ph", "wallet-ph")
START_TIMEOUT_S = 30.0


def pb(env: TxEnvelope) -> types_pb2.TxEnvelope:
    return types_pb2.TxEnvelope(payload=env.payload, signer=env.signer, signature=env.signature)


@dataclass
class Cluster:
    root: Path
    paths: ConsortiumPaths
    genesis: Genesis
    procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    _channels: dict[int, grpc.Channel] = field(default_factory=dict)

    # -- addresses and keys ------------------------------------------------------------------
    @property
    def n(self) -> int:
        return len(self.paths.nodes)

    @property
    def genesis_path(self) -> Path:
        return self.paths.genesis

    @property
    def ca_path(self) -> Path:
        return self.paths.ca_cert

    @property
    def client_keys(self) -> tuple[Path, ...]:
        return self.paths.clients

    @property
    def configs(self) -> list[Path]:
        return [n.config for n in self.paths.nodes]

    @property
    def endpoints(self) -> list[str]:
        return [f"127.0.0.1:{n.api_port}" for n in self.paths.nodes]

    def client_key(self, i: int = 0) -> nacl.signing.SigningKey:
        return load_signing_key(self.paths.clients[i])

    def kv_tx(self, key: str, value: str, client: int = 0) -> TxEnvelope:
        return make_tx(self.client_key(client), self.genesis.chain_id, "kv", "set", {"key": key, "value": value})

    # -- processes -----------------------------------------------------------------------------
    def start(self, i: int) -> None:
        node = self.paths.nodes[i]
        self.procs[i] = procs.start_node(node.config, node.dir / "node.pid", node.dir / "node.out")

    def kill(self, i: int, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(i)
        proc.send_signal(sig)
        proc.wait(timeout=15)
        self.close_channel(i)

    def restart(self, i: int) -> None:
        self.start(i)
        self.wait_serving([i])

    def stop_all(self) -> None:
        for ch in self._channels.values():
            ch.close()
        self._channels.clear()
        for i, proc in list(self.procs.items()):
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            del self.procs[i]

    def alive(self) -> list[int]:
        return sorted(i for i, p in self.procs.items() if p.poll() is None)

    def log(self, i: int) -> str:
        node = self.paths.nodes[i]
        parts = []
        for path in (node.dir / "node.out", node.log_file):
            with contextlib.suppress(OSError):
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)

    # -- gRPC ----------------------------------------------------------------------------------
    def channel(self, i: int) -> grpc.Channel:
        ch = self._channels.get(i)
        if ch is None:
            creds = grpc.ssl_channel_credentials(root_certificates=self.paths.ca_cert.read_bytes())
            ch = grpc.secure_channel(
                self.endpoints[i], creds, options=[("grpc.max_send_message_length", 64 * 1024 * 1024)]
            )
            self._channels[i] = ch
        return ch

    def close_channel(self, i: int) -> None:
        ch = self._channels.pop(i, None)
        if ch is not None:
            ch.close()

    def api(self, i: int) -> api_pb2_grpc.ApiStub:
        return api_pb2_grpc.ApiStub(self.channel(i))

    def status(self, i: int, timeout: float = 3.0) -> api_pb2.StatusResponse:
        return self.api(i).Status(api_pb2.StatusRequest(), timeout=timeout)

    def submit(self, txs: Sequence[TxEnvelope], node: int = 0, timeout: float = 10.0) -> api_pb2.SubmitResponse:
        return self.api(node).Submit(api_pb2.SubmitRequest(txs=[pb(t) for t in txs]), timeout=timeout)

    def wait_txs(self, tx_ids: Sequence[bytes], node: int = 0, timeout_s: float = 30.0) -> list[api_pb2.TxPosition]:
        resp = self.api(node).WaitTxs(
            api_pb2.WaitTxsRequest(tx_ids=list(tx_ids), timeout_ms=int(timeout_s * 1000)), timeout=timeout_s + 5
        )
        return list(resp.positions)

    def wait_serving(self, members: Sequence[int] | None = None, timeout_s: float = START_TIMEOUT_S) -> None:
        members = list(range(self.n)) if members is None else list(members)
        deadline = time.monotonic() + timeout_s
        pending = set(members)
        while pending and time.monotonic() < deadline:
            for i in sorted(pending):
                proc = self.procs.get(i)
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(f"node {i} exited with {proc.returncode}:\n{self.log(i)[-3000:]}")
                try:
                    self.status(i, timeout=1.0)
                    pending.discard(i)
                except grpc.RpcError:
                    pass
            if pending:
                time.sleep(0.1)
        if pending:
            raise TimeoutError(f"nodes {sorted(pending)} not serving after {timeout_s}s")

    def wait_height(self, height: int, members: Sequence[int] | None = None, timeout_s: float = 60.0) -> None:
        members = self.alive() if members is None else list(members)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if all(self.status(i).height >= height for i in members):
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
        heights = {}
        for i in members:
            with contextlib.suppress(grpc.RpcError):
                heights[i] = self.status(i).height
        raise TimeoutError(f"height {height} not reached in {timeout_s}s: {heights}")

    def block_hashes(self, i: int, upto: int) -> list[bytes]:
        import hashlib

        out = []
        stub = self.api(i)
        for h in range(1, upto + 1):
            block = stub.GetBlock(api_pb2.GetBlockRequest(height=h), timeout=5)
            out.append(hashlib.sha256(block.block.header).digest())
        return out


@contextlib.contextmanager
def running_cluster(
    tmp_path: Path, names: Sequence[str] = NAMES, tuning: dict[str, int] | None = None, start: bool = True
) -> Iterator[Cluster]:
    """Generate a consortium on free ports in tmp_path/cluster and run every node; stop them all."""
    ports = procs.free_ports(2 * len(names))
    pairs = [(ports[2 * i], ports[2 * i + 1]) for i in range(len(names))]
    paths = generate_consortium(tmp_path / "cluster", names=list(names), ports=pairs, tuning=tuning)
    cluster = Cluster(root=paths.root, paths=paths, genesis=load_genesis(paths.genesis))
    try:
        if start:
            for i in range(len(names)):
                cluster.start(i)
            cluster.wait_serving()
        yield cluster
    finally:
        cluster.stop_all()
