"""The bounded mempool: admission checks, pending queue, in-flight set.

Admission (client API) is all-or-nothing: every tx of a request is checked (structure, enrolled
signer, signature — verified once through the VerifiedTxCache) before any is admitted. Capacity
counts pending + in-flight; a request that does not fit is refused whole with RESOURCE_EXHAUSTED.
An acknowledged (ACCEPTED) tx is never dropped: it leaves only by `remove_committed`.
`take` moves txs to in-flight (proposed, not yet committed); `requeue_inflight` puts them back in
front after a view change.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from baaskit.tx import TxEnvelope, TxError, decode_payload

from .metrics import FORWARDED_REJECTED, TXS_ADMITTED, TXS_REJECTED, Metrics
from .verified import VerifiedTxCache

INVALID_ARGUMENT = "INVALID_ARGUMENT"
PERMISSION_DENIED = "PERMISSION_DENIED"
RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"


class AdmissionError(Exception):
    """A request refused whole. `code` is the gRPC status name the API answers with."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class AckCode(Enum):
    ACCEPTED = "ACCEPTED"  # admitted now; will be proposed
    DUPLICATE = "DUPLICATE"  # already pending or in flight (or repeated within the request)
    COMMITTED = "COMMITTED"  # already in a block


@dataclass(frozen=True, slots=True)
class Ack:
    tx_id: bytes
    code: AckCode


@dataclass(slots=True)  # mutable: resent_view is updated in place
class _Entry:
    envelope: TxEnvelope
    tick: int  # mempool tick at admission
    resent_view: int = -1  # the last view in which this tx was re-sent to that view's primary


@dataclass(frozen=True, slots=True)
class Forwarded:
    """What `add_forwarded` did with a peer's txs: how many it added, and the ids this node now
    holds (added now, pending or in flight already, or committed), which the peer is told."""

    added: int
    held: list[bytes]


IsCommitted = Callable[[bytes], bool]


class Mempool:
    def __init__(
        self,
        capacity: int,
        cache: VerifiedTxCache,
        enrolled_keys: Iterable[bytes],
        chain_id: str,
        metrics: Metrics | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError("mempool capacity must be at least 1")
        self.capacity = capacity
        self._cache = cache
        self._enrolled = frozenset(enrolled_keys)
        self._chain_id = chain_id
        self._metrics = metrics
        self._pending: OrderedDict[bytes, _Entry] = OrderedDict()
        self._inflight: OrderedDict[bytes, _Entry] = OrderedDict()
        self._tick = 0
        self.forwarded_rejected = 0

    # -- sizes and ages ------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._pending) + len(self._inflight)

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    @property
    def inflight_count(self) -> int:
        return len(self._inflight)

    @property
    def free(self) -> int:
        return self.capacity - len(self)

    def __contains__(self, tx_id: object) -> bool:
        return tx_id in self._pending or tx_id in self._inflight

    def tick(self) -> None:
        """Advance the mempool's logical clock (the runtime calls this on every ticker tick)."""
        self._tick += 1

    def oldest_pending_age_ticks(self) -> int | None:
        """Ticks since the oldest pending (not yet proposed) tx was admitted; None if none."""
        for entry in self._pending.values():  # pending is kept in admission-tick order
            return self._tick - entry.tick
        return None

    def oldest_age_ticks(self) -> int | None:
        """Ticks since the oldest uncommitted tx (pending or in flight) was admitted."""
        ticks = [e.tick for e in self._inflight.values()]
        for entry in self._pending.values():
            ticks.append(entry.tick)
            break
        return self._tick - min(ticks) if ticks else None

    def stale_for_resend(self, min_age_ticks: int, view: int, limit: int) -> list[TxEnvelope]:
        """Pending txs older than `min_age_ticks` not yet re-sent in `view` (oldest first), marked
        as re-sent. Each tx goes to a given view's primary at most once: under a backlog, re-sending
        everything every round would multiply the primary's load exactly when it can least take it."""
        out: list[TxEnvelope] = []
        for entry in self._pending.values():  # admission-tick order: stop at the first young one
            if self._tick - entry.tick < min_age_ticks or len(out) >= limit:
                break
            if entry.resent_view != view:
                entry.resent_view = view
                out.append(entry.envelope)
        return out

    def pending_ids(self) -> list[bytes]:
        return list(self._pending)

    def get(self, tx_id: bytes) -> TxEnvelope | None:
        entry = self._pending.get(tx_id) or self._inflight.get(tx_id)
        return entry.envelope if entry is not None else None

    # -- admission -----------------------------------------------------------------------------

    def _reason(self, envelope: TxEnvelope) -> tuple[str, str] | None:
        """(code, message) if the tx is not admissible, else None. Cheapest checks first."""
        if self._cache.lookup(envelope) is not None:  # decoded and verified here before
            if envelope.signer not in self._enrolled:
                return PERMISSION_DENIED, f"signer {envelope.signer.hex()} is not an enrolled client key"
            return None
        try:
            tx = decode_payload(envelope, self._chain_id)
        except TxError as exc:
            return INVALID_ARGUMENT, str(exc)
        if envelope.signer not in self._enrolled:
            return PERMISSION_DENIED, f"signer {envelope.signer.hex()} is not an enrolled client key"
        if not self._cache.verify(envelope, tx):
            return INVALID_ARGUMENT, "signature does not verify"
        return None

    def preverify(self, envelopes: Sequence[TxEnvelope]) -> None:
        """Decode and verify into the cache ahead of `admit` (which then only looks them up), so
        a large request can be verified in slices between other work. Admits nothing."""
        for envelope in envelopes:
            self._reason(envelope)

    def admit(self, envelopes: Sequence[TxEnvelope], is_committed: IsCommitted) -> list[Ack]:
        """All-or-nothing admission of a client request. Raises AdmissionError."""
        for i, envelope in enumerate(envelopes):
            reason = self._reason(envelope)
            if reason is not None:
                if self._metrics is not None:
                    self._metrics.incr(TXS_REJECTED, len(envelopes))
                code, message = reason
                raise AdmissionError(code, f"transaction {i} ({envelope.tx_id.hex()[:16]}…): {message}")
        acks: list[Ack] = []
        fresh: dict[bytes, TxEnvelope] = {}
        for envelope in envelopes:
            tx_id = envelope.tx_id
            if tx_id in fresh or tx_id in self:
                acks.append(Ack(tx_id, AckCode.DUPLICATE))
            elif is_committed(tx_id):
                acks.append(Ack(tx_id, AckCode.COMMITTED))
            else:
                fresh[tx_id] = envelope
                acks.append(Ack(tx_id, AckCode.ACCEPTED))
        if len(fresh) > self.free:
            if self._metrics is not None:
                self._metrics.incr(TXS_REJECTED, len(envelopes))
            raise AdmissionError(
                RESOURCE_EXHAUSTED,
                f"mempool full: {len(fresh)} new transactions, room for {self.free} (capacity {self.capacity}); retry later",
            )
        for tx_id, envelope in fresh.items():
            self._pending[tx_id] = _Entry(envelope, self._tick)
        if self._metrics is not None:
            self._metrics.incr(TXS_ADMITTED, len(fresh))
        return acks

    def add_forwarded(self, envelopes: Sequence[TxEnvelope], is_committed: IsCommitted) -> Forwarded:
        """Txs forwarded by a peer: each checked alone; invalid ones skipped and counted. Stops
        adding when full (the sender still holds the rest, and is not told this node holds them)."""
        added = 0
        held: list[bytes] = []
        for envelope in envelopes:
            tx_id = envelope.tx_id
            # Known or committed first: a copy that arrives late (lazily forwarded, re-sent) must
            # not cost an Ed25519 verification (the cache entry left at commit).
            if tx_id in self or is_committed(tx_id):
                held.append(tx_id)
                continue
            if self._reason(envelope) is not None:
                self.forwarded_rejected += 1
                if self._metrics is not None:
                    self._metrics.incr(FORWARDED_REJECTED)
                continue
            if self.free <= 0:
                break
            self._pending[tx_id] = _Entry(envelope, self._tick)
            added += 1
            held.append(tx_id)
        return Forwarded(added, held)

    # -- proposing and committing --------------------------------------------------------------

    def take(self, max_txs: int) -> list[TxEnvelope]:
        """Up to `max_txs` oldest pending txs, moved to in-flight (not dropped)."""
        taken: list[TxEnvelope] = []
        while self._pending and len(taken) < max_txs:
            tx_id, entry = self._pending.popitem(last=False)
            self._inflight[tx_id] = entry
            taken.append(entry.envelope)
        return taken

    def requeue_inflight(self) -> int:
        """After a view change: every in-flight tx goes back in front of the pending queue."""
        moved = len(self._inflight)
        if moved:
            # Stable sort by admission tick: in-flight txs are older, so they go in front.
            entries = sorted([*self._inflight.items(), *self._pending.items()], key=lambda kv: kv[1].tick)
            self._pending = OrderedDict(entries)
            self._inflight = OrderedDict()
        return moved

    def mark_inflight(self, tx_ids: Iterable[bytes]) -> None:
        """Txs a (different) primary proposed: stop proposing them ourselves until requeued."""
        for tx_id in tx_ids:
            entry = self._pending.pop(tx_id, None)
            if entry is not None:
                self._inflight[tx_id] = entry

    def remove_committed(self, tx_ids: Iterable[bytes]) -> int:
        removed = 0
        for tx_id in tx_ids:
            if self._pending.pop(tx_id, None) is not None or self._inflight.pop(tx_id, None) is not None:
                removed += 1
        return removed
