"""`Client`: the synchronous (grpc) client of a baaskit consortium.

    with Client.connect(genesis="genesis.json", key="alice.key") as c:
        receipt = c.notarize("contract.pdf")          # waits for commit, returns a checked receipt
        receipt.save("contract.pdf.receipt.json")

One endpoint is used at a time; UNAVAILABLE / DEADLINE_EXCEEDED move to the next one (and pending
transactions are resubmitted there — idempotent). Every receipt is verified against the genesis
before it is returned. A Client is meant for one thread at a time (its failover state is not
locked); a `subscribe_blocks()` iterator has its own channel and may be consumed in another thread.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import grpc
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

WAIT_SLICE_S = 5.0  # one WaitTxs call waits at most this long, then we re-check the endpoint
SUBMIT_CHUNK_TXS = 1000
SUBMIT_CHUNK_BYTES = 2 * 1024 * 1024
MAX_BACKOFFS = 8


def chunks(envelopes: Sequence[TxEnvelope]) -> Iterator[list[TxEnvelope]]:
    """Split a submission so that each request stays well under the node's request limits."""
    chunk: list[TxEnvelope] = []
    size = 0
    for env in envelopes:
        n = len(env.payload) + 128
        if chunk and (len(chunk) >= SUBMIT_CHUNK_TXS or size + n > SUBMIT_CHUNK_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(env)
        size += n
    if chunk:
        yield chunk


class Client:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._creds = credentials(settings.ca_pem)
        self._current = 0
        self._channel: grpc.Channel | None = None
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
    ) -> Client:
        """`genesis`/`key`: objects or file paths. Endpoints default to the members' API addresses."""
        return cls(resolve_settings(endpoints, genesis, key, ca, timeout_s))

    # --- connection -------------------------------------------------------------------------------

    @classmethod
    def from_cluster(
        cls, folder: str | Path = DEFAULT_CLUSTER_DIR, client: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> Client:
        """Connect to the local cluster of `baaskit up` (genesis, CA and a client key from its folder)."""
        return cls(cluster_settings(folder, client, timeout_s=timeout_s))

    @property
    def endpoint(self) -> str:
        return self.settings.endpoints[self._current]

    @property
    def chain_id(self) -> str:
        return self.settings.chain_id

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
        self._channel = None
        self._stub = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get_stub(self) -> api_pb2_grpc.ApiStub:
        if self._stub is None:
            self._channel = grpc.secure_channel(self.endpoint, self._creds, options=CHANNEL_OPTIONS)
            self._stub = api_pb2_grpc.ApiStub(self._channel)
        return self._stub

    def _fail_over(self) -> None:
        self.close()
        self._current = (self._current + 1) % len(self.settings.endpoints)

    def _call(self, method: str, request: Any, timeout: float | None = None) -> Any:
        n = len(self.settings.endpoints)
        failures: list[str] = []
        backoffs = 0
        while True:
            stub = self._get_stub()
            try:
                return getattr(stub, method)(request, timeout=timeout or self.settings.timeout_s)
            except grpc.RpcError as exc:
                code = rpc_code(exc)
                if code in FAILOVER_CODES:
                    failures.append(f"{self.endpoint}: {code.name}")
                    self._fail_over()
                    if len(failures) >= 2 * n:
                        raise Unavailable("no node answered (" + "; ".join(failures[-n:]) + ")") from None
                    if len(failures) % n == 0:
                        time.sleep(backoff_s(len(failures) // n))
                    continue
                if code in BACKOFF_CODES and backoffs < MAX_BACKOFFS:
                    backoffs += 1
                    time.sleep(backoff_s(backoffs))
                    continue
                raise Rejected(code, rpc_details(exc)) from None

    # --- transactions -----------------------------------------------------------------------------

    def _key(self) -> nacl.signing.SigningKey:
        if self.settings.key is None:
            raise ClientError("this client has no signing key (pass key=... to sign transactions)")
        return self.settings.key

    def make_tx(self, contract: str, method: str, args: dict[str, Any]) -> TxEnvelope:
        return make_tx(self._key(), self.chain_id, contract, method, args)

    def submit(self, envelopes: Sequence[TxEnvelope]) -> list[Ack]:
        """Admit transactions (batched into requests). Resubmitting is idempotent."""
        acks: list[Ack] = []
        for chunk in chunks(envelopes):
            acks.extend(acks_from_pb(self._call("Submit", submit_request(chunk))))
        return acks

    def wait(self, tx_ids: Sequence[bytes], timeout_s: float | None = None) -> list[Committed]:
        """Block until every tx is committed; raises NotCommitted at the deadline."""
        done = self._await(tx_ids, (), timeout_s)
        return [done[t] for t in tx_ids]

    def _await(
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
            if by_id and submitted_at != self._current:  # (re)submit to the node we now talk to
                self.submit([by_id[t] for t in pending if t in by_id])
                submitted_at = self._current
            slice_s = min(remaining, WAIT_SLICE_S)
            request = api_pb2.WaitTxsRequest(tx_ids=pending, timeout_ms=max(1, int(slice_s * 1000)))
            done.update(positions_from_pb(self._call("WaitTxs", request, timeout=slice_s + 5.0)))
            pending = [t for t in pending if t not in done]
        return done

    def submit_and_wait(self, envelope: TxEnvelope, timeout_s: float | None = None) -> dict[str, Any]:
        """Submit one transaction, wait for its commit, return its result JSON
        ({"code", "message", "data", "events"}; code 0 = success)."""
        return self._await([envelope.tx_id], [envelope], timeout_s)[envelope.tx_id].result

    def submit_many_and_wait(self, envelopes: Sequence[TxEnvelope], timeout_s: float | None = None) -> list[Committed]:
        done = self._await([e.tx_id for e in envelopes], envelopes, timeout_s)
        return [done[e.tx_id] for e in envelopes]

    # --- reads ------------------------------------------------------------------------------------

    def query(self, contract: str, method: str, args: dict[str, Any] | None = None) -> Any:
        response = self._call("Query", query_request(contract, method, args or {}))
        return canonical.loads(bytes(response.result)) if response.result else None

    def lookup(self, digest: bytes | str) -> dict[str, Any] | None:
        """The notary record of a digest (bytes or hex), or None. One node's view: a receipt is the proof."""
        hex_digest = digest.hex() if isinstance(digest, bytes) else digest.lower()
        record = self.query("notary", "get", {"digest": hex_digest})
        return record if isinstance(record, dict) else None

    def status(self) -> NodeStatus:
        return status_from_pb(self._call("Status", api_pb2.StatusRequest()), self.endpoint)

    def subscribe_blocks(self, from_height: int = 0) -> Iterator[BlockEvent]:
        """Committed blocks in order, forever; resumes on another node after a failure.

        The stream has its own channel, so it survives failovers of the client's other calls."""
        endpoints = self.settings.endpoints
        index = self._current
        next_height = from_height
        failures = 0
        while True:
            channel = grpc.secure_channel(endpoints[index], self._creds, options=CHANNEL_OPTIONS)
            call = api_pb2_grpc.ApiStub(channel).SubscribeBlocks(api_pb2.SubscribeRequest(from_height=next_height))
            try:
                for msg in call:
                    event = block_event_from_pb(msg)
                    failures = 0
                    if next_height and event.height < next_height:
                        continue
                    yield event
                    next_height = event.height + 1
                code = grpc.StatusCode.UNAVAILABLE  # the node ended the stream: go elsewhere
            except grpc.RpcError as exc:
                code = rpc_code(exc)
                if code not in FAILOVER_CODES | BACKOFF_CODES:
                    raise Rejected(code, rpc_details(exc)) from None
            finally:
                call.cancel()
                channel.close()
            failures += 1
            if failures > 2 * len(endpoints):
                raise Unavailable("no node keeps a block subscription open")
            if code in FAILOVER_CODES:
                index = (index + 1) % len(endpoints)
            time.sleep(backoff_s(failures))

    # --- receipts and notarization ----------------------------------------------------------------

    def receipt(
        self,
        tx_id: bytes,
        document_digest: bytes | None = None,
        aggregation: Aggregation | None = None,
        timeout_s: float | None = None,
    ) -> Receipt:
        """The receipt of a committed notary registration, verified against genesis."""
        deadline = time.monotonic() + (timeout_s if timeout_s is not None else self.settings.timeout_s)
        bad_nodes = 0
        attempt = 0
        while True:
            attempt += 1
            try:
                proof = proof_from_pb(self._call("GetTx", api_pb2.GetTxRequest(tx_id=tx_id)))
                return nz.checked_receipt(proof, self.settings.genesis, document_digest, aggregation)
            except Rejected as exc:
                if exc.code != grpc.StatusCode.NOT_FOUND:
                    raise
                problem = exc.message  # this node has not applied the block yet
            except ReceiptError as exc:
                if exc.check not in nz.RETRY_CHECKS:
                    bad_nodes += 1
                    if bad_nodes >= len(self.settings.endpoints):
                        raise ClientError(f"no node returned a receipt that verifies: {exc}") from None
                    self._fail_over()
                    continue
                problem = str(exc)  # the certificate is still collecting signatures
            if time.monotonic() >= deadline:
                raise ClientError(f"no verifiable receipt for tx {tx_id.hex()} in time: {problem}")
            time.sleep(min(backoff_s(attempt), max(0.0, deadline - time.monotonic())))

    def notarize(
        self,
        document: nz.Document,
        metadata: dict[str, Any] | None = None,
        case_id: str | None = None,
        step: str | None = None,
        timeout_s: float | None = None,
    ) -> Receipt:
        """Register one document (content bytes or a file path); wait for commit; return its receipt.
        If the digest was registered before, the receipt of the original registration is returned."""
        digest = nz.hash_document(document)
        env = self.make_tx("notary", "register", nz.single_args(digest, metadata, case_id, step))
        result = self.submit_and_wait(env, timeout_s)
        return self.receipt(nz.registration_tx_id(env.tx_id, result), digest, timeout_s=timeout_s)

    def notarize_each(
        self,
        documents: Sequence[nz.Document],
        metadata: nz.PerDocumentMetadata = None,
        case_id: str | None = None,
        step: str | None = None,
        progress: nz.Progress | None = None,
        timeout_s: float | None = None,
    ) -> list[Receipt]:
        """Register every document in its OWN transaction, all submitted together and waited for
        together (not one round trip each), and return one receipt per document (same order).
        A digest registered before gets the receipt of the original registration."""
        digests = nz.hash_documents(documents, progress)
        envs = [self.make_tx("notary", "register", a) for a in nz.each_args(digests, metadata, case_id, step)]
        done = self.submit_many_and_wait(envs, timeout_s)
        return [
            self.receipt(nz.registration_tx_id(e.tx_id, c.result), d, timeout_s=timeout_s)
            for e, c, d in zip(envs, done, digests, strict=True)
        ]

    def notarize_many(
        self,
        documents: Sequence[nz.Document],
        metadata: dict[str, Any] | None = None,
        case_id: str | None = None,
        step: str | None = None,
        progress: nz.Progress | None = None,
        timeout_s: float | None = None,
    ) -> list[Receipt]:
        """Aggregate many documents into one Merkle root, register it in ONE transaction, and return
        one receipt per document (same order), each with its path to the root."""
        digests = nz.hash_documents(documents, progress)
        batch, args = nz.batch_args(digests, metadata, case_id, step)
        env = self.make_tx("notary", "register", args)
        result = self.submit_and_wait(env, timeout_s)
        tx_id = nz.registration_tx_id(env.tx_id, result)
        first = self.receipt(tx_id, batch.digests[0], batch.aggregation(0), timeout_s)
        return nz.batch_receipts_from_first(first, batch)

