"""View change and new view (Castro & Liskov, section 4.4), as pure functions over message sets.

* ``check_view_change``: is a ViewChange well formed (checkpoint proof, prepared certificates)?
* ``plan_new_view``: the new primary's choice of the stable checkpoint and of O, computed from
  2f+1 view-changes. Backups recompute it from the same view-changes and compare; they never
  trust the primary's O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .checkpoint import StableCheckpoint, proof_valid
from .quorum import Quorums
from .signing import Verifier, verify_nested
from .types import (
    NULL_BATCH,
    Batch,
    ClusterConfig,
    NewView,
    PreparedCertificate,
    ReplicaId,
    ViewChange,
    sha256,
)


def check_certificate(
    cert: PreparedCertificate, config: ClusterConfig, q: Quorums, verifier: Verifier
) -> str | None:
    """None if ``cert`` proves its batch prepared in its view, else the reason."""
    pp = cert.pre_prepare
    primary = config.primary(pp.view)
    if pp.replica != primary:
        return "certificate pre-prepare not from the primary of its view"
    if sha256(pp.payload) != pp.digest:
        return "certificate pre-prepare digest mismatch"
    if not verify_nested(pp, verifier, config.chain_id):
        return "certificate pre-prepare signature"
    seen: set[ReplicaId] = set()
    for p in cert.prepares:
        if (p.view, p.seq, p.digest) != (pp.view, pp.seq, pp.digest):
            return "certificate prepare does not match"
        if p.replica == primary or not 0 <= p.replica < config.n or p.replica in seen:
            return "certificate prepare from a wrong or repeated replica"
        if not verify_nested(p, verifier, config.chain_id):
            return "certificate prepare signature"
        seen.add(p.replica)
    if len(seen) < q.prepared:
        return "certificate has too few prepares"
    return None


def check_view_change(
    vc: ViewChange,
    config: ClusterConfig,
    q: Quorums,
    verifier: Verifier,
    check_certificates: bool = True,
) -> str | None:
    """None if ``vc`` is well formed (its own signature is checked by the caller)."""
    stable = StableCheckpoint(vc.stable_seq, vc.stable_digest, vc.checkpoint_proof)
    if not proof_valid(stable, config.n, q.checkpoint, verifier, config.chain_id):
        return "invalid checkpoint proof"
    last = vc.stable_seq
    for cert in vc.prepared:
        if cert.seq <= last:
            return "prepared certificates not strictly increasing above the stable checkpoint"
        if cert.seq > vc.stable_seq + config.watermark_window:
            return "prepared certificate beyond the high watermark"
        if cert.view >= vc.view:
            return "prepared certificate from a view not below the new view"
        last = cert.seq
        if check_certificates:
            reason = check_certificate(cert, config, q, verifier)
            if reason is not None:
                return reason
    return None


@dataclass(frozen=True)
class NewViewPlan:
    stable: StableCheckpoint  # min-s: the latest stable checkpoint among the view-changes
    entries: tuple[tuple[int, Batch], ...]  # O: (seq, batch) for every seq in (min-s, max-s]

    @property
    def max_seq(self) -> int:
        return self.entries[-1][0] if self.entries else self.stable.seq


def plan_new_view(view_changes: Sequence[ViewChange]) -> NewViewPlan:
    """Compute (min-s, O) from valid view-changes, deterministically.

    min-s is the highest stable checkpoint; for each seq in (min-s, max-s] O re-proposes the batch
    of the prepared certificate with the highest view, or the null batch if none prepared.
    """
    best = max(view_changes, key=lambda vc: (vc.stable_seq, -vc.replica))
    stable = StableCheckpoint(best.stable_seq, best.stable_digest, best.checkpoint_proof)
    chosen: dict[int, PreparedCertificate] = {}
    for vc in sorted(view_changes, key=lambda v: v.replica):
        for cert in vc.prepared:
            if cert.seq <= stable.seq:
                continue
            cur = chosen.get(cert.seq)
            if cur is None or (cert.view, cert.digest) > (cur.view, cur.digest):
                chosen[cert.seq] = cert
    max_seq = max(chosen) if chosen else stable.seq
    entries = tuple(
        (s, chosen[s].pre_prepare.batch if s in chosen else NULL_BATCH)
        for s in range(stable.seq + 1, max_seq + 1)
    )
    return NewViewPlan(stable, entries)


def select_view_changes(
    latest: dict[ReplicaId, ViewChange], view: int, me: ReplicaId, quorum: int
) -> tuple[ViewChange, ...] | None:
    """The view-changes the new primary puts in its NewView: its own and the lowest-numbered others
    for ``view``, ``quorum`` in all (sorted by replica), or None while there are too few."""
    others = [latest[r] for r in sorted(latest) if r != me and latest[r].view == view]
    if me not in latest or len(others) + 1 < quorum:
        return None
    return tuple(sorted([latest[me], *others[: quorum - 1]], key=lambda v: v.replica))


def check_new_view(
    nv: NewView,
    config: ClusterConfig,
    q: Quorums,
    verifier: Verifier,
    check_certificates: bool = True,
    verified: Mapping[ReplicaId, ViewChange] | None = None,
) -> tuple[NewViewPlan | None, str | None]:
    """Verify a NewView (its own signature is checked by the caller).

    A view-change equal to one in ``verified`` (already checked when it arrived on its own, or
    our own) is not checked again: at full load a view-change carries its prepared batches, MBs,
    and re-verifying the three in a new-view was half of the ~50 ms a backup spent on it.

    Returns (plan, None) if valid, else (None, reason). With ``check_certificates`` False (a
    planted bug) the view-changes' certificates are not verified and O is taken as given.
    """
    primary = config.primary(nv.view)
    seen: set[ReplicaId] = set()
    known = verified or {}
    for vc in nv.view_changes:
        if vc.view != nv.view:
            return None, "view-change for another view"
        if not 0 <= vc.replica < config.n or vc.replica in seen:
            return None, "view-change from a wrong or repeated replica"
        seen.add(vc.replica)
        if known.get(vc.replica) == vc:
            continue
        if not verify_nested(vc, verifier, config.chain_id):
            return None, "view-change signature"
        reason = check_view_change(vc, config, q, verifier, check_certificates)
        if reason is not None:
            return None, reason
    if len(seen) < q.view_change:
        return None, "too few view-changes"
    for pp in nv.pre_prepares:
        if pp.view != nv.view or pp.replica != primary:
            return None, "O pre-prepare with wrong view or signer"
        if sha256(pp.payload) != pp.digest:
            return None, "O pre-prepare digest mismatch"
        if not verify_nested(pp, verifier, config.chain_id):
            return None, "O pre-prepare signature"
    plan = plan_new_view(nv.view_changes)
    if not check_certificates:
        # Planted bug: trust the primary's O as sent.
        given = tuple((pp.seq, pp.batch) for pp in nv.pre_prepares)
        return NewViewPlan(plan.stable, given), None
    expected = tuple((s, b.digest) for s, b in plan.entries)
    got = tuple((pp.seq, pp.digest) for pp in nv.pre_prepares)
    if expected != got:
        return None, "O differs from the one computed from the view-changes"
    return plan, None


class ViewChanges:
    """One replica's view-change bookkeeping: the highest view-change seen from each replica, its
    own (as sent, for retransmission), the new-view that installed its view (to help laggards),
    the consecutive failures (timeout doubling) and the new-view timer."""

    def __init__(self) -> None:
        self.latest: dict[ReplicaId, ViewChange] = {}
        self.mine: bytes | None = None
        self.new_view: bytes | None = None
        self.failures = 0
        self.timer = 0

    def record(self, vc: ViewChange) -> bool:
        """Keep ``vc`` if it is the sender's highest; False if it contradicts one for that view."""
        old = self.latest.get(vc.replica)
        if old is None or old.view < vc.view:
            self.latest[vc.replica] = vc
            return True
        return old.view > vc.view or old == vc

    def higher_views(self, view: int, me: ReplicaId) -> list[int]:
        return sorted(v.view for r, v in self.latest.items() if r != me and v.view > view)

    def abandoned(self, view: int, quorum: int) -> bool:
        """Have ``quorum`` replicas left views below ``view`` (a higher view-change counts)?"""
        return sum(1 for vc in self.latest.values() if vc.view >= view) >= quorum

    def timeout(self, config: ClusterConfig) -> int:
        shift = min(self.failures, config.max_timeout_doublings)
        return config.view_change_timeout_ticks << shift

    def installed(self, view: int, new_view: bytes) -> None:
        self.latest = {r: v for r, v in self.latest.items() if v.view > view}
        self.mine, self.new_view, self.timer = None, new_view, 0
