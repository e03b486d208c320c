"""Checks a replica runs on a proposed batch before it prepares it (consensus Ready.validate).

A proposal is valid iff it decodes; its block time is strictly after the previous block's and
within `skew_ms` of this replica's clock; and every transaction is structurally valid for this
chain, signed (verified once through the VerifiedTxCache), by an enrolled key, not yet committed,
not repeated inside the batch, and not part of another accepted-but-uncommitted proposal at a
different sequence number. The null batch (b"") is always valid.

A block time further BEHIND this replica's clock than the skew allows is what a lagging replica
sees (the proposal waited in the primary's outbox and in gRPC buffers while this replica was
slow to read), so the driver asks `behind_ms` first and abstains instead of calling the primary
faulty: it does not vote, and the seq reaches it as a commit certificate or by catch-up. A
replica that is not lagging abstaining on a primary with a slow clock leaves that primary to the
request timer of everyone. A block time AHEAD of the clock is always a rejection.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from baaskit.tx import TxError, decode_payload

from .metrics import PROPOSALS_REJECTED, Metrics
from .proposal import ProposalError, RecentProposals, is_null
from .verified import VerifiedTxCache


class CommittedIndex(Protocol):
    """What the validator needs from the store (Store satisfies it)."""

    def is_committed(self, tx_id: bytes) -> bool: ...


@dataclass(frozen=True, slots=True)
class _Accepted:
    time_ms: int
    tx_ids: tuple[bytes, ...]


class ProposalValidator:
    def __init__(
        self,
        chain_id: str,
        cache: VerifiedTxCache,
        enrolled: Iterable[bytes],
        store: CommittedIndex,
        max_txs: int | None = None,
        metrics: Metrics | None = None,
        proposals: RecentProposals | None = None,
    ) -> None:
        self._chain_id = chain_id
        self._proposals = proposals if proposals is not None else RecentProposals()
        self._cache = cache
        self._enrolled = frozenset(enrolled)
        self._store = store
        self._max_txs = max_txs
        self._metrics = metrics
        self._accepted: dict[int, _Accepted] = {}  # seq -> accepted, not yet committed
        self._owner: dict[bytes, int] = {}  # tx_id -> seq of the accepted proposal holding it

    @property
    def accepted_seqs(self) -> list[int]:
        return sorted(self._accepted)

    def behind_ms(self, payload: bytes, now_ms: int, skew_ms: int) -> int | None:
        """How far the proposal's block time is behind `now_ms`, if by more than `skew_ms`
        (else None, also for a null or undecodable proposal: check() answers those)."""
        if is_null(payload):
            return None
        try:
            proposal = self._proposals.decode(payload)
        except ProposalError:
            return None
        return _behind_past_skew(proposal.time_ms, now_ms, skew_ms)

    def check(
        self,
        seq: int,
        payload: bytes,
        prev_time_ms: int,
        now_ms: int,
        skew_ms: int,
        view: int | None = None,
        primary: int | None = None,
        latest_ms: int | None = None,
    ) -> str | None:
        """None if the proposal at `seq` is valid (and remember it as accepted), else the reason.

        With `view`/`primary` (from the ValidationRequested and the view's primary), the proposal
        must name that view and proposer (they go into the block header). The block time must be
        within `skew_ms` of the window [`now_ms`, `latest_ms`]: the driver passes when the
        earliest frame of its round arrived and the clock now, as the proposal arrived in
        between (one instant if `latest_ms` is None)."""
        reason = self._reason(seq, payload, prev_time_ms, now_ms, skew_ms, view, primary, latest_ms)
        if reason is not None and self._metrics is not None:
            self._metrics.incr(PROPOSALS_REJECTED)
        return reason

    def _reason(
        self,
        seq: int,
        payload: bytes,
        prev_time_ms: int,
        now_ms: int,
        skew_ms: int,
        view: int | None,
        primary: int | None,
        latest_ms: int | None = None,
    ) -> str | None:
        if is_null(payload):
            return None
        try:
            proposal = self._proposals.decode(payload)
        except ProposalError as exc:
            return f"undecodable proposal: {exc}"
        if view is not None and proposal.view != view:
            return f"proposal names view {proposal.view}, proposed in view {view}"
        if primary is not None and proposal.proposer != primary:
            return f"proposal names proposer {proposal.proposer}, the primary is {primary}"
        if self._max_txs is not None and len(proposal.envelopes) > self._max_txs:
            return f"proposal has {len(proposal.envelopes)} transactions, limit {self._max_txs}"
        # Block time: after every earlier block we know of (committed or accepted), near our clock.
        floor = max([prev_time_ms] + [a.time_ms for s, a in self._accepted.items() if s < seq])
        if proposal.time_ms <= floor:
            return f"block time {proposal.time_ms} is not after the previous block time {floor}"
        latest = now_ms if latest_ms is None else max(now_ms, latest_ms)
        if proposal.time_ms - latest > skew_ms:
            return f"block time {proposal.time_ms} is {proposal.time_ms - latest} ms ahead of this replica's clock (skew limit {skew_ms} ms)"
        behind = _behind_past_skew(proposal.time_ms, now_ms, skew_ms)
        if behind is not None:
            return f"block time {proposal.time_ms} is {behind} ms behind this replica's clock (skew limit {skew_ms} ms)"
        seen: set[bytes] = set()
        tx_ids: list[bytes] = []
        for i, envelope in enumerate(proposal.envelopes):
            tx_id = envelope.tx_id
            if tx_id in seen:
                return f"{_where(i, tx_id)} appears twice in the proposal"
            seen.add(tx_id)
            known = self._cache.lookup(envelope)  # decoded and verified here before
            if known is None:
                try:
                    tx = decode_payload(envelope, self._chain_id)
                except TxError as exc:
                    return f"{_where(i, tx_id)}: {exc}"
            if envelope.signer not in self._enrolled:
                return f"{_where(i, tx_id)}: signer is not enrolled"
            owner = self._owner.get(tx_id)
            if owner is not None and owner != seq:
                return f"{_where(i, tx_id)} is already in the proposal at sequence {owner}"
            if self._store.is_committed(tx_id):
                return f"{_where(i, tx_id)} is already committed"
            if known is None and not self._cache.verify(envelope, tx):
                return f"{_where(i, tx_id)}: signature does not verify"
            tx_ids.append(tx_id)
        self._forget_seq(seq)  # a re-proposal at the same seq replaces the earlier one
        self._accepted[seq] = _Accepted(proposal.time_ms, tuple(tx_ids))
        for tx_id in tx_ids:
            self._owner[tx_id] = seq
        return None

    def accepted_tx_ids(self, seq: int) -> tuple[bytes, ...]:
        """The tx ids of the proposal accepted at `seq` (decoded once, by check)."""
        accepted = self._accepted.get(seq)
        return accepted.tx_ids if accepted is not None else ()

    def _forget_seq(self, seq: int) -> None:
        old = self._accepted.pop(seq, None)
        if old is not None:
            for tx_id in old.tx_ids:
                if self._owner.get(tx_id) == seq:
                    del self._owner[tx_id]

    def committed(self, seq: int) -> None:
        """Seq executed: its txs are in the store's index now; forget it and everything below."""
        for s in [s for s in self._accepted if s <= seq]:
            self._forget_seq(s)

    def reset(self) -> None:
        """View change: accepted-but-uncommitted proposals no longer bind."""
        self._accepted.clear()
        self._owner.clear()


def _behind_past_skew(time_ms: int, now_ms: int, skew_ms: int) -> int | None:
    """How far `time_ms` is behind `now_ms`, if by more than the skew allows (else None). The
    one rule behind both a rejection by check() and the driver's abstention (behind_ms)."""
    behind = now_ms - time_ms
    return behind if behind > skew_ms else None


def _where(index: int, tx_id: bytes) -> str:
    """How a rejection names a transaction (built only when one is rejected)."""
    return f"transaction {index} ({tx_id.hex()[:16]}…)"
