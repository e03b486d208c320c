"""The client API (Api service of api.proto): gRPC glue, request checks and status mapping.

The node's state is reached through the narrow `ApiBackend` protocol (implemented by
node/service.py), so this module holds no consensus or storage logic. Every error is a gRPC status
with a message (grpc_errors.ApiError); nothing a client sends can crash or stall the node.
Subscriptions: each subscriber has a bounded queue; a subscriber that falls behind is dropped with
RESOURCE_EXHAUSTED instead of slowing the node down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import grpc
from google.protobuf.message import DecodeError

from baaskit import canonical
from baaskit.wire.v1 import api_pb2, api_pb2_grpc, types_pb2

from .grpc_errors import ApiError

log = logging.getLogger(__name__)

MAX_TXS_PER_SUBMIT = 10_000
MAX_WAIT_TXS = 10_000
MAX_WAIT_MS = 120_000
SUBSCRIBER_QUEUE = 1_024
PREVERIFY_SLICE = 64  # txs verified (~75 us each) between yields to the event loop


class ApiBackend(Protocol):
    def preverify(self, txs: list[types_pb2.TxEnvelope]) -> None:
        """Verify signatures into the node's cache ahead of admit (no admission, no errors)."""
        ...

    def admit(self, txs: list[types_pb2.TxEnvelope]) -> list[api_pb2.TxAck]:
        """All-or-nothing admission; raises ApiError."""
        ...

    async def await_held(self, acks: list[api_pb2.TxAck]) -> None:
        """Until the txs admitted here are held by f peers (they outlive this node); raises ApiError."""
        ...

    async def wait_txs(self, tx_ids: list[bytes], timeout_s: float) -> list[api_pb2.TxPosition]: ...

    def tx_proof(self, tx_id: bytes) -> api_pb2.TxProof | None: ...

    def certified_block(self, height: int) -> types_pb2.CertifiedBlock | None:
        """height 0 = latest."""
        ...

    def query(self, contract: str, method: str, args: dict[str, Any]) -> tuple[bytes, int]:
        """(canonical JSON result, height); raises ApiError."""
        ...

    def block_event(self, height: int) -> api_pb2.BlockEvent | None: ...

    def height(self) -> int: ...

    def status(self) -> api_pb2.StatusResponse: ...


class _Subscriber:
    def __init__(self, limit: int) -> None:
        self.queue: asyncio.Queue[api_pb2.BlockEvent] = asyncio.Queue(limit)
        self.overflowed = asyncio.Event()


class SubscriptionHub:
    """Fans committed blocks out to subscribers without ever blocking the publisher."""

    def __init__(self, limit: int = SUBSCRIBER_QUEUE) -> None:
        self._limit = limit
        self._subs: set[_Subscriber] = set()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._subs)

    def add(self) -> _Subscriber:
        sub = _Subscriber(self._limit)
        self._subs.add(sub)
        return sub

    def remove(self, sub: _Subscriber) -> None:
        self._subs.discard(sub)

    def publish(self, event: api_pb2.BlockEvent) -> None:
        for sub in list(self._subs):
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                self._subs.discard(sub)
                self.dropped += 1
                sub.overflowed.set()


def _abort_code(exc: ApiError) -> tuple[grpc.StatusCode, str]:
    return exc.code, exc.message


class ApiService(api_pb2_grpc.ApiServicer):
    def __init__(self, backend: ApiBackend, hub: SubscriptionHub) -> None:
        self._b = backend
        self._hub = hub

    def _admit(self, txs: list[types_pb2.TxEnvelope]) -> api_pb2.SubmitResponse:
        if not txs:
            raise ApiError(grpc.StatusCode.INVALID_ARGUMENT, "no transactions in the request")
        if len(txs) > MAX_TXS_PER_SUBMIT:
            raise ApiError(
                grpc.StatusCode.RESOURCE_EXHAUSTED, f"{len(txs)} transactions in one request, limit {MAX_TXS_PER_SUBMIT}"
            )
        for i, tx in enumerate(txs):
            if len(tx.signer) != 32 or len(tx.signature) != 64 or not tx.payload:
                raise ApiError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"tx {i}: needs a payload, a 32-byte signer key and a 64-byte signature",
                )
        return api_pb2.SubmitResponse(acks=self._b.admit(txs))

    async def _preverify(self, txs: list[types_pb2.TxEnvelope]) -> None:
        """A large request's signatures are verified in slices, yielding in between, so the
        consensus work of this node is not held up for the whole request (500 txs = ~37 ms)."""
        if len(txs) <= PREVERIFY_SLICE or len(txs) > MAX_TXS_PER_SUBMIT:
            return
        for i in range(0, len(txs), PREVERIFY_SLICE):
            self._b.preverify(txs[i : i + PREVERIFY_SLICE])
            await asyncio.sleep(0)

    async def Submit(
        self, request: api_pb2.SubmitRequest, context: grpc.aio.ServicerContext
    ) -> api_pb2.SubmitResponse:
        try:
            txs = list(request.txs)
            await self._preverify(txs)
            response = self._admit(txs)
            await self._b.await_held(list(response.acks))
            return response
        except ApiError as exc:
            await context.abort(*_abort_code(exc))
            raise  # unreachable: abort raises

    async def SubmitStream(
        self, request_iterator: AsyncIterator[api_pb2.SubmitRequest], context: grpc.aio.ServicerContext
    ) -> api_pb2.SubmitResponse:
        acks: list[api_pb2.TxAck] = []
        try:
            async for request in request_iterator:
                txs = list(request.txs)
                await self._preverify(txs)
                acks.extend(self._admit(txs).acks)
            await self._b.await_held(acks)
        except ApiError as exc:
            await context.abort(exc.code, f"{exc.message} (after {len(acks)} acknowledged in this stream)")
        return api_pb2.SubmitResponse(acks=acks)

    async def WaitTxs(
        self, request: api_pb2.WaitTxsRequest, context: grpc.aio.ServicerContext
    ) -> api_pb2.WaitTxsResponse:
        ids = list(request.tx_ids)
        if len(ids) > MAX_WAIT_TXS:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"at most {MAX_WAIT_TXS} tx ids per call")
        if any(len(i) != 32 for i in ids):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "tx ids are 32-byte SHA-256 digests")
        timeout_ms = min(request.timeout_ms or 10_000, MAX_WAIT_MS)
        positions = await self._b.wait_txs(ids, timeout_ms / 1000)
        return api_pb2.WaitTxsResponse(positions=positions)

    async def GetTx(self, request: api_pb2.GetTxRequest, context: grpc.aio.ServicerContext) -> api_pb2.TxProof:
        if len(request.tx_id) != 32:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "tx_id is a 32-byte SHA-256 digest")
        proof = self._b.tx_proof(request.tx_id)
        if proof is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"transaction {request.tx_id.hex()} is not committed here")
        assert proof is not None
        return proof

    async def GetBlock(
        self, request: api_pb2.GetBlockRequest, context: grpc.aio.ServicerContext
    ) -> types_pb2.CertifiedBlock:
        block = self._b.certified_block(request.height)
        if block is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no block at height {request.height}")
        assert block is not None
        return block

    async def Query(self, request: api_pb2.QueryRequest, context: grpc.aio.ServicerContext) -> api_pb2.QueryResponse:
        try:
            args = canonical.loads(request.args) if request.args else {}
        except canonical.CanonicalError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"args: {exc}")
        if not isinstance(args, dict):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "args must be a canonical JSON object")
        try:
            result, height = self._b.query(request.contract, request.method, args)
        except ApiError as exc:
            await context.abort(*_abort_code(exc))
            raise
        return api_pb2.QueryResponse(result=result, height=height)

    async def SubscribeBlocks(
        self, request: api_pb2.SubscribeRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[api_pb2.BlockEvent]:
        sub = self._hub.add()  # buffer live blocks while we replay stored ones
        try:
            next_height = request.from_height or self._b.height() + 1
            while next_height <= self._b.height():
                event = self._b.block_event(next_height)
                if event is None:
                    break
                yield event
                next_height += 1
                if sub.overflowed.is_set():
                    break
            while not sub.overflowed.is_set():
                getter = asyncio.ensure_future(sub.queue.get())
                dropped = asyncio.ensure_future(sub.overflowed.wait())
                done, _ = await asyncio.wait({getter, dropped}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                dropped.cancel()
                event = getter.result()
                if event.height < next_height:
                    continue
                while event.height > next_height:  # only after a replay gap; fill from storage
                    gap = self._b.block_event(next_height)
                    if gap is None:
                        break
                    yield gap
                    next_height += 1
                yield event
                next_height = event.height + 1
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"subscriber fell more than {SUBSCRIBER_QUEUE} blocks behind; resubscribe from height {next_height}",
            )
        finally:
            self._hub.remove(sub)

    async def Status(self, request: api_pb2.StatusRequest, context: grpc.aio.ServicerContext) -> api_pb2.StatusResponse:
        return self._b.status()


# ---- registration with a deserializer that never throws ------------------------------------
# grpc answers UNKNOWN when a request body does not parse; we answer INVALID_ARGUMENT instead.


class _Malformed:
    def __init__(self, detail: str) -> None:
        self.detail = detail


def _safe(parse: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def deserialize(data: bytes) -> Any:
        try:
            return parse(data)
        except DecodeError as exc:
            return _Malformed(str(exc))

    return deserialize


_MALFORMED = "request is not a valid protobuf message"


def _unary(fn: Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def handler(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if isinstance(request, _Malformed):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{_MALFORMED}: {request.detail}")
        return await fn(request, context)

    return handler


def _server_stream(fn: Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    async def handler(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        if isinstance(request, _Malformed):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{_MALFORMED}: {request.detail}")
        async for item in fn(request, context):
            yield item

    return handler


def _client_stream(fn: Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def handler(request_iterator: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
        async def checked() -> AsyncIterator[Any]:
            async for request in request_iterator:
                if isinstance(request, _Malformed):
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{_MALFORMED}: {request.detail}")
                yield request

        return await fn(checked(), context)

    return handler


def add_api_service(service: ApiService, server: grpc.aio.Server) -> None:
    """Like api_pb2_grpc.add_ApiServicer_to_server, but malformed bodies get INVALID_ARGUMENT."""
    s = service
    handlers = {
        "Submit": grpc.unary_unary_rpc_method_handler(
            _unary(s.Submit), _safe(api_pb2.SubmitRequest.FromString), api_pb2.SubmitResponse.SerializeToString
        ),
        "SubmitStream": grpc.stream_unary_rpc_method_handler(
            _client_stream(s.SubmitStream), _safe(api_pb2.SubmitRequest.FromString), api_pb2.SubmitResponse.SerializeToString
        ),
        "WaitTxs": grpc.unary_unary_rpc_method_handler(
            _unary(s.WaitTxs), _safe(api_pb2.WaitTxsRequest.FromString), api_pb2.WaitTxsResponse.SerializeToString
        ),
        "GetTx": grpc.unary_unary_rpc_method_handler(
            _unary(s.GetTx), _safe(api_pb2.GetTxRequest.FromString), api_pb2.TxProof.SerializeToString
        ),
        "GetBlock": grpc.unary_unary_rpc_method_handler(
            _unary(s.GetBlock), _safe(api_pb2.GetBlockRequest.FromString), types_pb2.CertifiedBlock.SerializeToString
        ),
        "Query": grpc.unary_unary_rpc_method_handler(
            _unary(s.Query), _safe(api_pb2.QueryRequest.FromString), api_pb2.QueryResponse.SerializeToString
        ),
        "SubscribeBlocks": grpc.unary_stream_rpc_method_handler(
            _server_stream(s.SubscribeBlocks), _safe(api_pb2.SubscribeRequest.FromString), api_pb2.BlockEvent.SerializeToString
        ),
        "Status": grpc.unary_unary_rpc_method_handler(
            _unary(s.Status), _safe(api_pb2.StatusRequest.FromString), api_pb2.StatusResponse.SerializeToString
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("baaskit.wire.v1.Api", handlers),))
