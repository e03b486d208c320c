"""Real gRPC/TLS servers of the node's own Api service (node/api.py) over one in-process certified
chain (client.sandbox) — for client tests that need no cluster. All servers run on one background
event loop; each listens on its own free 127.0.0.1 port and can be stopped to test failover."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
import grpc.aio

from baaskit import canonical
from baaskit.client.sandbox import Sandbox
from baaskit.contracts import ContractError
from baaskit.node import pki
from baaskit.node.api import ApiService, SubscriptionHub
from baaskit.node.grpc_errors import ApiError
from baaskit.tx import TxEnvelope, TxError, decode_payload
from baaskit.wire.v1 import api_pb2, api_pb2_grpc, types_pb2

T = TypeVar("T")


@dataclass
class Chain:
    """The shared ledger every fake node serves; `hold` keeps admitted txs pending (no block)."""

    box: Sandbox
    pending: dict[bytes, TxEnvelope] = field(default_factory=dict)
    hold: bool = False
    incomplete_certificates: int = 0  # next N proofs carry one signature too few
    hubs: list[SubscriptionHub] = field(default_factory=list)

    def commit_pending(self) -> None:
        if not self.pending:
            return
        envs = list(self.pending.values())
        self.pending.clear()
        self.box.commit(envs)
        event = block_event(self.box, self.box.height)
        for hub in self.hubs:
            hub.publish(event)


def block_event(box: Sandbox, height: int) -> api_pb2.BlockEvent:
    block = box.blocks[height - 1]
    return api_pb2.BlockEvent(
        height=height, header=block.header, tx_ids=[e.tx_id for e in block.txs], results=block.results
    )


class SandboxBackend:
    def __init__(self, chain: Chain, member: int) -> None:
        self.chain = chain
        self.member = member
        self.box = chain.box

    def preverify(self, txs: list[types_pb2.TxEnvelope]) -> None:
        pass  # admit verifies; nothing to cache here

    async def await_held(self, acks: list[api_pb2.TxAck]) -> None:
        pass  # one process holds the whole sandbox chain: no peer to hand txs to

    def admit(self, txs: list[types_pb2.TxEnvelope]) -> list[api_pb2.TxAck]:
        envs = [TxEnvelope(bytes(t.payload), bytes(t.signer), bytes(t.signature)) for t in txs]
        for env in envs:
            try:
                decode_payload(env, self.box.genesis.chain_id)
            except TxError as exc:
                raise ApiError(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from None
            if not env.verify_signature():
                raise ApiError(grpc.StatusCode.INVALID_ARGUMENT, "bad signature")
            if env.signer not in self.box.genesis.enrolled_keys():
                raise ApiError(grpc.StatusCode.PERMISSION_DENIED, "signer is not enrolled")
        acks = []
        for env in envs:
            if env.tx_id in self.box._index:
                code = api_pb2.COMMITTED
            elif env.tx_id in self.chain.pending:
                code = api_pb2.DUPLICATE
            else:
                self.chain.pending[env.tx_id] = env
                code = api_pb2.ACCEPTED
            acks.append(api_pb2.TxAck(tx_id=env.tx_id, code=code))
        if not self.chain.hold:
            self.chain.commit_pending()
        return acks

    def _position(self, tx_id: bytes) -> api_pb2.TxPosition:
        where = self.box._index.get(tx_id)
        if where is None:
            return api_pb2.TxPosition(tx_id=tx_id, committed=False)
        height, index = where
        return api_pb2.TxPosition(
            tx_id=tx_id, committed=True, height=height, index=index, result=self.box.blocks[height - 1].results[index]
        )

    async def wait_txs(self, tx_ids: list[bytes], timeout_s: float) -> list[api_pb2.TxPosition]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not all(t in self.box._index for t in tx_ids) and loop.time() < deadline:
            await asyncio.sleep(0.01)
        return [self._position(t) for t in tx_ids]

    def tx_proof(self, tx_id: bytes) -> api_pb2.TxProof | None:
        if tx_id not in self.box._index:
            return None
        p = self.box.proof(tx_id)
        sigs = list(p.certificate)
        if self.chain.incomplete_certificates > 0:
            self.chain.incomplete_certificates -= 1
            sigs = sigs[:-1]
        header_hash = __import__("hashlib").sha256(p.header).digest()
        cert = types_pb2.BlockCertificate(
            height=p.height,
            header_hash=header_hash,
            signatures=[
                types_pb2.HeaderSignature(height=p.height, header_hash=header_hash, member=m, signature=s) for m, s in sigs
            ],
        )
        return api_pb2.TxProof(
            tx=types_pb2.TxEnvelope(payload=p.tx.payload, signer=p.tx.signer, signature=p.tx.signature),
            height=p.height,
            index=p.index,
            tx_count=p.tx_count,
            tx_path=list(p.tx_path),
            result=p.result,
            result_path=list(p.result_path),
            header=p.header,
            certificate=cert,
        )

    def certified_block(self, height: int) -> types_pb2.CertifiedBlock | None:
        return None

    def query(self, contract: str, method: str, args: dict[str, Any]) -> tuple[bytes, int]:
        try:
            return canonical.dumps(self.box.query(contract, method, args)), self.box.height
        except ContractError as exc:
            raise ApiError(grpc.StatusCode.INVALID_ARGUMENT, exc.message) from None

    def block_event(self, height: int) -> api_pb2.BlockEvent | None:
        if not 1 <= height <= self.box.height:
            return None
        return block_event(self.box, height)

    def height(self) -> int:
        return self.box.height

    def status(self) -> api_pb2.StatusResponse:
        return api_pb2.StatusResponse(
            chain_id=self.box.genesis.chain_id, member=self.member, name=f"member-{self.member}", height=self.box.height
        )


class FakeCluster:
    """n API servers over one Chain, with a CA whose certificate the client trusts."""

    def __init__(self, box: Sandbox, n: int = 3) -> None:
        self.chain = Chain(box)
        self.ca = pki.create_ca()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.servers: list[grpc.aio.Server | None] = []
        self.endpoints: list[str] = []
        for i in range(n):
            server, port = self._run(self._start(i))
            self.servers.append(server)
            self.endpoints.append(f"127.0.0.1:{port}")

    @property
    def ca_pem(self) -> bytes:
        return self.ca.cert_pem

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    async def _start(self, member: int) -> tuple[grpc.aio.Server, int]:
        issued = pki.issue_tls_cert(self.ca, f"member-{member}")
        server = grpc.aio.server()
        hub = SubscriptionHub()
        self.chain.hubs.append(hub)
        api_pb2_grpc.add_ApiServicer_to_server(ApiService(SandboxBackend(self.chain, member), hub), server)
        creds = grpc.ssl_server_credentials([(issued.key_pem, issued.cert_pem)])
        port = server.add_secure_port("127.0.0.1:0", creds)
        await server.start()
        return server, port

    def stop(self, i: int) -> None:
        server = self.servers[i]
        if server is not None:
            self._run(server.stop(0))
            self.servers[i] = None

    def call(self, fn: Any) -> None:
        """Run `fn()` on the servers' loop (e.g. to commit held txs)."""

        async def go() -> None:
            fn()

        self._run(go())

    def close(self) -> None:
        for i in range(len(self.servers)):
            self.stop(i)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


def fake_cluster(box: Sandbox, n: int = 3) -> Iterator[FakeCluster]:
    cluster = FakeCluster(box, n)
    try:
        yield cluster
    finally:
        cluster.close()
