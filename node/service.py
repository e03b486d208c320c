"""The client API's view of one node (implements api.ApiBackend) and the commit watcher.

Reads go straight to the store (committed data only); admission goes to the mempool and the
admitted txs are handed to `on_admitted` (the driver broadcasts them and wakes the proposer).
A Submit is answered once f peers hold what it admitted (`await_held`, node/holds.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import grpc

from baaskit import canonical
from baaskit.contracts import ContractError
from baaskit.contracts.router import Application
from baaskit.genesis import Genesis
from baaskit.tx import TxEnvelope
from baaskit.wire.v1 import api_pb2, types_pb2

from . import pbconv
from .executor import TxProofData
from .grpc_errors import ApiError, admission_status
from .holds import HoldTracker
from .mempool import AdmissionError, Mempool
from .metrics import SUBMITS_NOT_HELD, CpuMeter, Metrics
from .storage import KVStore


class CommitWatch:
    """Futures for tx ids a client waits on; resolved when their block is committed."""

    def __init__(self) -> None:
        self._waiters: dict[bytes, list[asyncio.Future[None]]] = {}

    def __len__(self) -> int:
        return len(self._waiters)

    def watch(self, tx_id: bytes) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(tx_id, []).append(fut)
        return fut

    def unwatch(self, tx_id: bytes, fut: asyncio.Future[None]) -> None:
        futs = self._waiters.get(tx_id)
        if futs is not None:
            if fut in futs:
                futs.remove(fut)
            if not futs:
                del self._waiters[tx_id]

    def committed(self, tx_ids: Sequence[bytes]) -> None:
        if not self._waiters:
            return
        for tx_id in tx_ids:
            for fut in self._waiters.pop(tx_id, ()):
                if not fut.done():
                    fut.set_result(None)


StatusSource = Callable[[], tuple[int, int, int]]  # (view, primary, stable checkpoint)
# How long a Submit waits for f peers to hold its txs. Under full load on loopback that takes one
# peer round trip (ms); on a saturated link the forwarded txs queue behind the pre-prepares.
# Below the SDK's and the bench's call deadlines, so the client gets this message, not a deadline.
HOLD_TIMEOUT_S = 8.0
_WAITS_FOR_HOLDERS = (api_pb2.AckCode.Value("ACCEPTED"), api_pb2.AckCode.Value("DUPLICATE"))


class NodeService:
    def __init__(
        self,
        *,
        genesis: Genesis,
        me: int,
        store: KVStore,
        mempool: Mempool,
        app: Application,
        metrics: Metrics,
        watch: CommitWatch,
        holds: HoldTracker,
        on_admitted: Callable[[list[TxEnvelope]], None],
        consensus_status: StatusSource,
        tx_proof: Callable[[bytes], TxProofData | None],
        ready: Callable[[], bool],
        runtime_counters: Callable[[], dict[str, int]] = dict,
        cpu: CpuMeter | None = None,
    ) -> None:
        self.genesis = genesis
        self.me = me
        self._store = store
        self._mempool = mempool
        self._app = app
        self._metrics = metrics
        self._watch = watch
        self._holds = holds
        self._on_admitted = on_admitted
        self._consensus_status = consensus_status
        self._tx_proof = tx_proof
        self._ready = ready
        self._runtime_counters = runtime_counters  # e.g. the peer transport's frame counts
        self._cpu = cpu if cpu is not None else CpuMeter(metrics)

    # -- writes --------------------------------------------------------------------------------

    def preverify(self, txs: list[types_pb2.TxEnvelope]) -> None:
        with self._cpu.section("admit"):  # the Ed25519 work of admission, done ahead in slices
            self._mempool.preverify([TxEnvelope(payload=t.payload, signer=t.signer, signature=t.signature) for t in txs])

    def admit(self, txs: list[types_pb2.TxEnvelope]) -> list[api_pb2.TxAck]:
        if not self._ready():
            raise ApiError(grpc.StatusCode.UNAVAILABLE, "node is starting (catching up); retry shortly")
        envelopes = [TxEnvelope(payload=t.payload, signer=t.signer, signature=t.signature) for t in txs]
        try:
            with self._cpu.section("admit"):
                acks = self._mempool.admit(envelopes, self._store.is_committed)
        except AdmissionError as exc:
            raise ApiError(admission_status(exc.code), exc.message) from None
        accepted = [env for env, ack in zip(envelopes, acks, strict=True) if ack.code.name == "ACCEPTED"]
        if accepted:
            self._holds.admitted(env.tx_id for env in accepted)  # before they are forwarded
            self._on_admitted(accepted)
        return [api_pb2.TxAck(tx_id=a.tx_id, code=api_pb2.AckCode.Value(a.code.name)) for a in acks]

    async def await_held(self, acks: Sequence[api_pb2.TxAck], timeout_s: float = HOLD_TIMEOUT_S) -> None:
        """Return once every tx admitted here among `acks` (ACCEPTED now, or DUPLICATE of one
        still waiting) is held by f peers or committed, so that it outlives this node. Raises
        ApiError UNAVAILABLE after `timeout_s` (the txs stay admitted and may still commit)."""
        ids = [a.tx_id for a in acks if a.code in _WAITS_FOR_HOLDERS]
        if await self._holds.wait(ids, timeout_s):
            return
        waiting = len(self._holds.unsafe(ids))
        self._metrics.incr(SUBMITS_NOT_HELD)
        raise ApiError(
            grpc.StatusCode.UNAVAILABLE,
            f"{waiting} admitted transaction(s) not yet held by {self._holds.needed} other member(s) "
            f"after {timeout_s:.0f} s (are the peer links down?); they may still commit: resubmit "
            "them to another node (resubmitting is idempotent)",
        )

    # -- reads ---------------------------------------------------------------------------------

    def _position(self, tx_id: bytes) -> api_pb2.TxPosition:
        loc = self._store.get_tx_location(tx_id)
        if loc is None:
            return api_pb2.TxPosition(tx_id=tx_id, committed=False)
        height, index = loc
        result = self._store.get_result(height, index) or b""
        return api_pb2.TxPosition(tx_id=tx_id, committed=True, height=height, index=index, result=result)

    async def wait_txs(self, tx_ids: list[bytes], timeout_s: float) -> list[api_pb2.TxPosition]:
        pending: dict[bytes, asyncio.Future[None]] = {}
        for tx_id in tx_ids:
            if tx_id not in pending and self._store.get_tx_location(tx_id) is None:
                pending[tx_id] = self._watch.watch(tx_id)
        # Re-check after registering (a block may have committed in between).
        for tx_id, fut in list(pending.items()):
            if self._store.get_tx_location(tx_id) is not None:
                self._watch.unwatch(tx_id, fut)
                del pending[tx_id]
        try:
            if pending:
                await asyncio.wait(list(pending.values()), timeout=timeout_s)
        finally:
            for tx_id, fut in pending.items():
                self._watch.unwatch(tx_id, fut)
                fut.cancel()
        return [self._position(tx_id) for tx_id in tx_ids]

    def tx_proof(self, tx_id: bytes) -> api_pb2.TxProof | None:
        if self._store.get_tx_location(tx_id) is None:
            return None
        proof = self._tx_proof(tx_id)
        if proof is None:
            return None
        return proof.to_proto()

    def certified_block(self, height: int) -> types_pb2.CertifiedBlock | None:
        if height == 0:
            height = self._store.last_height()
        if height == 0:
            return None
        return pbconv.certified_block(self._store, height)

    def query(self, contract: str, method: str, args: dict[str, Any]) -> tuple[bytes, int]:
        height = self._store.last_height()
        try:
            result = self._app.query(self._store.state_reader(), contract, method, args)
        except ContractError as exc:
            code = grpc.StatusCode.NOT_FOUND if exc.code in (3, 6) else grpc.StatusCode.INVALID_ARGUMENT
            raise ApiError(code, exc.message) from None
        except Exception as exc:  # a contract's query bug must not kill the API
            raise ApiError(grpc.StatusCode.INTERNAL, f"query failed: {type(exc).__name__}") from None
        try:
            return canonical.dumps(result), height
        except canonical.CanonicalError as exc:
            raise ApiError(grpc.StatusCode.INTERNAL, f"query result is not canonical: {exc}") from None

    def block_event(self, height: int) -> api_pb2.BlockEvent | None:
        block = self._store.get_block(height)
        if block is None:
            return None
        return api_pb2.BlockEvent(
            height=height, header=block.header, tx_ids=list(block.tx_ids), results=list(block.results)
        )

    def height(self) -> int:
        return self._store.last_height()

    def status(self) -> api_pb2.StatusResponse:
        view, primary, stable = self._consensus_status()
        metrics = self._metrics.snapshot()
        metrics["fsyncs"] = max(metrics.get("fsyncs", 0), self._store.sync_batches)
        metrics.update(self._runtime_counters())
        metrics.update(self._cpu.thread_total())
        metrics["txs_awaiting_holders"] = len(self._holds)  # admitted here, not held by f peers yet
        return api_pb2.StatusResponse(
            chain_id=self.genesis.chain_id,
            member=self.me,
            name=self.genesis.members[self.me].name,
            height=self._store.last_height(),
            view=view,
            primary=primary,
            mempool_size=len(self._mempool),
            stable_checkpoint=stable,
            last_block_hash=self._store.last_block_hash(),
            metrics=metrics,
        )
