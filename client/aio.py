"""`AsyncClient`: the asyncio (grpc.aio) twin of `Client`, same methods, awaited.

    async with AsyncClient.connect(genesis="genesis.json", key="alice.key") as c:
        receipt = await c.notarize(b"...")

Same failover and idempotency rules as the sync client (baaskit.client.connection). Hashing many
files for `notarize_many` runs in a worker thread so the event loop stays responsive.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import nacl.signing

from baaskit import canonical
from baaskit.genesis import Genesis
from baaskit.tx import TxEnvelope, make_tx
from baaskit.wire.v1 import api_pb2, api_pb2_grpc

from . import notarizing as nz
from .connection import (
    BACKOFF_CODES,
    CHANNEL_OPTIONS,
    DEFAULT_CLUSTER_DIR,
    DEFAULT_TIMEOUT_S,
    FAILOVER_CODES,
    ClientError,
    NotCommitted,
    Rejected,
    Settings,
    Unavailable,
    backoff_s,
    cluster_settings,
    credentials,
    resolve_settings,
    rpc_code,
    rpc_details,
)
from .receipt import Aggregation, Receipt, ReceiptError
from .sync import MAX_BACKOFFS, WAIT_SLICE_S, chunks
from .wire import (
    Ack,
    BlockEvent,
    Committed,
    NodeStatus,
    acks_from_pb,
    block_event_from_pb,
    positions_from_pb,
    proof_from_pb,
    query_request,
    status_from_pb,
    submit_request,
)


class AsyncClient:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._creds = credentials(settings.ca_pem)
        self._current = 0
        self._channel: grpc.aio.Channel | None = None
        self._stub: api_pb2_grpc.ApiStub | None = None

    @classmethod
    def connect(
        cls,
        endpoints: Sequence[str] = (),
        *,
        genesis: Genesis | str | Path,
        key: nacl.signing.SigningKey | str | Path | None = None,
        ca: str | Path | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> AsyncClient:
        return cls(resolve_settings(endpoints, genesis, key, ca, timeout_s))

    @classmethod
    def from_cluster(
        cls, folder: str | Path = DEFAULT_CLUSTER_DIR, client: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> AsyncClient:
        """Connect to the local cluster of `baaskit up` (genesis, CA and a client key from its folder)."""
        return cls(cluster_settings(folder, client, timeout_s=timeout_s))

    @property
    def endpoint(self) -> str:
        return self.settings.endpoints[self._current]

    @property
    def chain_id(self) -> str:
        return self.settings.chain_id

    async def close(self) -> None:
        channel, self._channel, self._stub = self._channel, None, None
        if channel is not None:
            await channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _get_stub(self) -> api_pb2_grpc.ApiStub:
        if self._stub is None:
            self._channel = grpc.aio.secure_channel(self.endpoint, self._creds, options=CHANNEL_OPTIONS)
            self._stub = api_pb2_grpc.ApiStub(self._channel)
        return self._stub

    async def _fail_over(self) -> None:
        await self.close()
        self._current = (self._current + 1) % len(self.settings.endpoints)

    async def _call(self, method: str, request: Any, timeout: float | None = None) -> Any:
        n = len(self.settings.endpoints)
        failures: list[str] = []
        backoffs = 0
        while True:
            stub = self._get_stub()
            try:
                return await getattr(stub, method)(request, timeout=timeout or self.settings.timeout_s)
            except grpc.RpcError as exc:
                code = rpc_code(exc)
                if code in FAILOVER_CODES:
                    failures.append(f"{self.endpoint}: {code.name}")
                    await self._fail_over()
                    if len(failures) >= 2 * n:
                        raise Unavailable("no node answered (" + "; ".join(failures[-n:]) + ")") from None
                    if len(failures) % n == 0:
                        await asyncio.sleep(backoff_s(len(failures) // n))
                    continue
                if code in BACKOFF_CODES and backoffs < MAX_BACKOFFS:
                    backoffs += 1
                    await asyncio.sleep(backoff_s(backoffs))
                    continue
                raise Rejected(code, rpc_details(exc)) from None

    def make_tx(self, contract: str, method: str, args: dict[str, Any]) -> TxEnvelope:
        if self.settings.key is None:
            raise ClientError("this client has no signing key (pass key=... to sign transactions)")
        return make_tx(self.settings.key, self.chain_id, contract, method, args)

    async def submit(self, envelopes: Sequence[TxEnvelope]) -> list[Ack]:
        acks: list[Ack] = []
        for chunk in chunks(envelopes):
            acks.extend(acks_from_pb(await self._call("Submit", submit_request(chunk))))
        return acks

    async def wait(self, tx_ids: Sequence[bytes], timeout_s: float | None = None) -> list[Committed]:
        done = await self._await(tx_ids, (), timeout_s)
        return [done[t] for t in tx_ids]

    async def _await(
        self, tx_ids: Sequence[bytes], envelopes: Sequence[TxEnvelope], timeout_s: float | None
    ) -> dict[bytes, Committed]:
        deadline = time.monotonic() + (timeout_s if timeout_s is not None else self.settings.timeout_s)
        by_id = {e.tx_id: e for e in envelopes}
        done: dict[bytes, Committed] = {}
        pending = list(dict.fromkeys(tx_ids))
        submitted_at: int | None = None
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NotCommitted(f"{len(pending)} transaction(s) not committed in time", pending)
            if by_id and submitted_at != self._current:
                await self.submit([by_id[t] for t in pending if t in by_id])
                submitted_at = self._current
            slice_s = min(remaining, WAIT_SLICE_S)
            request = api_pb2.WaitTxsRequest(tx_ids=pending, timeout_ms=max(1, int(slice_s * 1000)))
            done.update(positions_from_pb(await self._call("WaitTxs", request, timeout=slice_s + 5.0)))
            pending = [t for t in pending if t not in done]
        return done

    async def submit_and_wait(self, envelope: TxEnvelope, timeout_s: float | None = None) -> dict[str, Any]:
        return (await self._await([envelope.tx_id], [envelope], timeout_s))[envelope.tx_id].result

    async def submit_many_and_wait(
        self, envelopes: Sequence[TxEnvelope], timeout_s: float | None = None
    ) -> list[Committed]:
        done = await self._await([e.tx_id for e in envelopes], envelopes, timeout_s)
        return [done[e.tx_id] for e in envelopes]

    async def query(self, contract: str, method: str, args: dict[str, Any] | None = None) -> Any:
        response = await self._call("Query", query_request(contract, method, args or {}))
        return canonical.loads(bytes(response.result)) if response.result else None

    async def lookup(self, digest: bytes | str) -> dict[str, Any] | None:
        hex_digest = digest.hex() if isinstance(digest, bytes) else digest.lower()
        record = await self.query("notary", "get", {"digest": hex_digest})
        return record if isinstance(record, dict) else None

    async def status(self) -> NodeStatus:
        return status_from_pb(await self._call("Status", api_pb2.StatusRequest()), self.endpoint)

    async def subscribe_blocks(self, from_height: int = 0) -> AsyncIterator[BlockEvent]:
        """Committed blocks in order, forever; resumes on another node after a failure (own channel)."""
        endpoints = self.settings.endpoints
        index = self._current
        next_height = from_height
        failures = 0
        while True:
            channel = grpc.aio.secure_channel(endpoints[index], self._creds, options=CHANNEL_OPTIONS)
            call = api_pb2_grpc.ApiStub(channel).SubscribeBlocks(api_pb2.SubscribeRequest(from_height=next_height))
            try:
                async for msg in call:
                    event = block_event_from_pb(msg)
                    failures = 0
                    if next_height and event.height < next_height:
                        continue
                    yield event
                    next_height = event.height + 1
                code = grpc.StatusCode.UNAVAILABLE
            except grpc.RpcError as exc:
                code = rpc_code(exc)
                if code not in FAILOVER_CODES | BACKOFF_CODES:
                    raise Rejected(code, rpc_details(exc)) from None
            finally:
                call.cancel()
                await channel.close()
            failures += 1
            if failures > 2 * len(endpoints):
                raise Unavailable("no node keeps a block subscription open")
            if code in FAILOVER_CODES:
                index = (index + 1) % len(endpoints)
            await asyncio.sleep(backoff_s(failures))

    async def receipt(
        self,
        tx_id: bytes,
        document_digest: bytes | None = None,
        aggregation: Aggregation | None = None,
        timeout_s: float | None = None,
    ) -> Receipt:
        deadline = time.monotonic() + (timeout_s if timeout_s is not None else self.settings.timeout_s)
        bad_nodes = 0
        attempt = 0
        while True:
            attempt += 1
            try:
                proof = proof_from_pb(await self._call("GetTx", api_pb2.GetTxRequest(tx_id=tx_id)))
                return nz.checked_receipt(proof, self.settings.genesis, document_digest, aggregation)
            except Rejected as exc:
                if exc.code != grpc.StatusCode.NOT_FOUND:
                    raise
                problem = exc.message
            except ReceiptError as exc:
                if exc.check not in nz.RETRY_CHECKS:
                    bad_nodes += 1
                    if bad_nodes >= len(self.settings.endpoints):
                        raise ClientError(f"no node returned a receipt that verifies: {exc}") from None
                    await self._fail_over()
                    continue
                problem = str(exc)
            if time.monotonic() >= deadline:
                raise ClientError(f"no verifiable receipt for tx {tx_id.hex()} in time: {problem}")
            await asyncio.sleep(min(backoff_s(attempt), max(0.0, deadline - time.monotonic())))

    async def notarize(
        self,
        document: nz.Document,
        metadata: dict[str, Any] | None = None,
        case_id: str | None = None,
        step: str | None = None,
        timeout_s: float | None = None,
    ) -> Receipt:
        digest = await asyncio.to_thread(nz.hash_document, document)
        env = self.make_tx("notary", "register", nz.single_args(digest, metadata, case_id, step))
        result = await self.submit_and_wait(env, timeout_s)
        return await self.receipt(nz.registration_tx_id(env.tx_id, result), digest, timeout_s=timeout_s)

    async def notarize_each(
        self,
        documents: Sequence[nz.Document],
        metadata: nz.PerDocumentMetadata = None,
        case_id: str | None = None,
        step: str | None = None,
        progress: nz.Progress | None = None,
        timeout_s: float | None = None,
    ) -> list[Receipt]:
        """See Client.notarize_each: one transaction per document, submitted and awaited together."""
        digests = await asyncio.to_thread(nz.hash_documents, documents, progress)
        envs = [self.make_tx("notary", "register", a) for a in nz.each_args(digests, metadata, case_id, step)]
        done = await self.submit_many_and_wait(envs, timeout_s)
        return list(
            await asyncio.gather(
                *(
                    self.receipt(nz.registration_tx_id(e.tx_id, c.result), d, timeout_s=timeout_s)
                    for e, c, d in zip(envs, done, digests, strict=True)
                )
            )
        )

    async def notarize_many(
        self,
        documents: Sequence[nz.Document],
        metadata: dict[str, Any] | None = None,
        case_id: str | None = None,
        step: str | None = None,
        progress: nz.Progress | None = None,
        timeout_s: float | None = None,
    ) -> list[Receipt]:
        digests = await asyncio.to_thread(nz.hash_documents, documents, progress)
        batch, args = nz.batch_args(digests, metadata, case_id, step)
        env = self.make_tx("notary", "register", args)
        result = await self.submit_and_wait(env, timeout_s)
        tx_id = nz.registration_tx_id(env.tx_id, result)
        first = await self.receipt(tx_id, batch.digests[0], batch.aggregation(0), timeout_s)
        return nz.batch_receipts_from_first(first, batch)
