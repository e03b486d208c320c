"""The PBFT replica: the only place that assigns replica state.

Inputs: ``receive`` (bytes from a peer), ``propose`` (a client batch, primary only), ``tick``
(one logical tick), ``validated`` / ``executed`` / ``state_installed`` (answers from the node) and
``requests_pending`` / ``peer_link`` (what the node knows). Every call returns a ``Ready`` (see ready.py for the ordering rule).
The pure decisions live in log.py, checkpoint.py, view_change.py, normal_case.py and quorum.py.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TypeVar

from .checkpoint import Checkpoints, StableCheckpoint
from .codec import (
    decode_signed,
    encode_certificate,
    encode_checkpoint_proof,
    encode_message,
    encode_wire,
)
from .errors import LocalMisuse, MalformedMessage
from .faults import NO_BUGS, PlantedBugs
from .log import Decision, Log, Slot, in_window
from .normal_case import (
    DEFERRABLE,
    batch_retransmissions,
    check_commit_certificate,
    lacks_new_view,
    malformed_by_signer,
    retransmissions,
)
from .quorum import Quorums
from .ready import (
    BatchCarriedOver,
    CheckpointStabilized,
    MisbehaviourDetected,
    Outbound,
    PrimarySuspected,
    Ready,
    ReadyBuilder,
    StateTransferRequested,
    SuspicionWithdrawn,
    ValidationRequested,
    ViewChanged,
    ViewChangeStarted,
)
from .records import PRE_PREPARE_KINDS, Record, RecordKind, without_payload
from .recovery import in_flight, rebuild_slots, recover
from .retransmit import RetransmitBackoff
from .signing import Signer, Verifier, seal, sign, verify_body
from .suspicion import TTL_STATUS_PERIODS, Suspicions
from .types import (
    Batch,
    Checkpoint,
    ClusterConfig,
    Commit,
    CommitCertificate,
    Message,
    NewView,
    Prepare,
    PreparedCertificate,
    PrePrepare,
    ReplicaId,
    Status,
    ViewChange,
)
from .view_change import (
    NewViewPlan,
    ViewChanges,
    check_new_view,
    check_view_change,
    plan_new_view,
    select_view_changes,
)

M = TypeVar("M", bound=Message)

# Commits in one view, in checkpoint intervals, after which the request timer is back to its base.
STEADY_COMMITS = 4
# Request timer (docs/consensus.md, "Request timer"): a backup that keeps seeing commit quorums
# for new seqs of its view while its own in-order delivery is stuck on a hole may wait this many
# request timeouts for the hole to fill before it suspects the primary anyway.
STALL_FACTOR = 4
# Adaptive request timeout (docs/consensus.md, "Request timer"): the limit is never below
# ADAPTIVE_FACTOR x the longest of the last GAP_SAMPLES gaps between evidence of progress in this
# view, but that adaptive part never exceeds ADAPTIVE_CAP x request_timeout_ticks (so a primary
# that paces its commits to stretch the estimate gains at most that factor).
ADAPTIVE_FACTOR = 2
ADAPTIVE_CAP = 4
GAP_SAMPLES = 16
# Lost link to the primary (docs/consensus.md, "Lost link to the primary"): a backup whose node
# reported its link to the primary down suspects the primary after this many ticks with work held
# and no evidence of progress, instead of the request-timer limit. A killed primary process is
# the common failure; its peers see their streams break at once.
LINK_LOSS_TICKS = 4
# Whole batches are re-sent to a peer that stays behind at most after 1, 2, 4 ... up to this
# many Status periods (consensus/retransmit.py; 16 periods = 8 s with the node's 50 ms tick).
RETRANSMIT_CAP_PERIODS = 16
# A replica's own view-change goes again only after this many Status periods (2 s with the node's
# 50 ms tick), then at doubling waits: its streams deliver the first copy unless a link broke, and
# at full load it is MBs that the new primary's new-view would queue behind (consensus/retransmit.py).
VIEW_CHANGE_RESEND_PERIODS = 4


class Replica:
    def __init__(
        self,
        config: ClusterConfig,
        me: ReplicaId,
        signer: Signer,
        verifier: Verifier,
        *,
        bugs: PlantedBugs | None = None,
    ) -> None:
        if not 0 <= me < config.n:
            raise LocalMisuse(f"replica id {me} outside 0..{config.n - 1}")
        self._c = config
        self._q = Quorums(config.n)
        self._me = me
        self._signer = signer
        self._verifier = verifier
        self._bugs = bugs or NO_BUGS
        self._view = 0
        self._in_vc = False
        self._log = Log()
        self._last_executed = 0
        self._state_digest = b""
        self._cp = Checkpoints()
        self._next_seq = 1
        self._vc = ViewChanges()
        # The request timer. ``_idle``: ticks with work held and no evidence of progress in this
        # view (a seq delivered in order, or a commit quorum for a new seq of this view).
        # ``_stalled``: ticks with work held and no seq delivered in order (bounds a primary
        # that commits later seqs but withholds one). ``_quorums_seen``: seqs of this view
        # whose commit quorum already reset ``_idle`` once.
        self._idle = 0
        self._stalled = 0
        self._quorums_seen: set[int] = set()
        # A stable checkpoint 2f+1 peers proved just ahead of what this replica committed, and
        # how many ticks it has waited: see _check_checkpoint.
        self._pending_stable: StableCheckpoint | None = None
        self._pending_ticks = 0
        # Adaptive part of the request timer: the last GAP_SAMPLES non-zero values of ``_idle``
        # at which evidence of progress in this view reset it (ticks).
        self._gaps: deque[int] = deque(maxlen=GAP_SAMPLES)
        # Request-timer growth: each view change this replica takes part in doubles the next
        # limit (capped); sustained progress in one view resets it. A primary that is
        # merely slow under load is then not deposed again and again, while a crashed primary
        # of a calm cluster is still suspected after the base timeout.
        self._request_timeouts = 0
        self._commits_in_view = 0
        self._status_timer = 0
        self._requests_pending = False
        # Suspicion before leaving (consensus/suspicion.py): why this backup suspects the primary
        # of its view (None: it does not), the peers that do too, and a tick count for freshness.
        self._suspecting: str | None = None
        self._suspicions = Suspicions(TTL_STATUS_PERIODS * config.status_interval_ticks)
        # Each peer's progress at its last Status (view, in view change, last committed): whole
        # batches are retransmitted only to a peer that stopped moving (normal_case.py).
        self._peer_progress: dict[ReplicaId, tuple[int, bool, int]] = {}
        # ...and at most at a doubling interval while the peer stays behind (retransmit.py).
        self._resend_batches = RetransmitBackoff(
            config.status_interval_ticks, RETRANSMIT_CAP_PERIODS * config.status_interval_ticks
        )
        # This replica's own view-change is broadcast again at doubling waits from its first
        # broadcast, and the new-view goes again to each peer that asks at doubling waits.
        self._resend_view_change = RetransmitBackoff(
            VIEW_CHANGE_RESEND_PERIODS * config.status_interval_ticks,
            RETRANSMIT_CAP_PERIODS * config.status_interval_ticks,
        )
        self._resend_new_view = RetransmitBackoff(
            config.status_interval_ticks, RETRANSMIT_CAP_PERIODS * config.status_interval_ticks
        )
        self._now = 0
        # Peers whose link the node reported down (peer_link); only membership is ever asked.
        self._unreachable: set[ReplicaId] = set()
        self._evidence: dict[ReplicaId, int] = {}
        self._deferred: list[Record] = []  # planted bug vote_before_persist only
        # seq -> view -> digest of the pre-prepare records handed out for persisting: a PREPARED
        # or COMMITTED record of the same pre-prepare names the batch instead of repeating it.
        self._pp_records: dict[int, dict[int, bytes]] = {}
        self._out = ReadyBuilder()

    # ------------------------------------------------------------------ read-only properties

    @property
    def config(self) -> ClusterConfig:
        return self._c

    @property
    def me(self) -> ReplicaId:
        return self._me

    @property
    def view(self) -> int:
        return self._view

    @property
    def primary(self) -> ReplicaId:
        return self._c.primary(self._view)

    @property
    def is_primary(self) -> bool:
        return self.primary == self._me

    @property
    def low_watermark(self) -> int:
        return self._cp.stable.seq

    @property
    def high_watermark(self) -> int:
        return self._cp.stable.seq + self._c.watermark_window

    @property
    def last_committed(self) -> int:
        return self._log.last_committed

    @property
    def last_executed(self) -> int:
        return self._last_executed

    @property
    def next_sequence(self) -> int:
        """The seq the next proposal will get (meaningful on the primary)."""
        return max(self._next_seq, self._cp.stable.seq + 1)

    @property
    def stable_checkpoint(self) -> int:
        return self._cp.stable.seq

    @property
    def in_view_change(self) -> bool:
        return self._in_vc

    @property
    def suspects_primary(self) -> bool:
        """Its request timer ran out in this view with no progress since: it says so in its
        Status and leaves once f+1 replicas suspect the primary (consensus/suspicion.py)."""
        return self._suspecting is not None

    @property
    def request_timeout(self) -> int:
        """The current request-timer limit in ticks (base, doubled per view change taken
        part in, raised to the recent gaps between commits of this view up to a cap)."""
        return self._request_timeout_limit()

    @property
    def evidence_counts(self) -> Mapping[ReplicaId, int]:
        return MappingProxyType(dict(sorted(self._evidence.items())))

    # ------------------------------------------------------------------ public API

    def receive(self, data: bytes, sender: ReplicaId) -> Ready:
        try:
            msg, body = decode_signed(data)
        except MalformedMessage as exc:
            self._evidence_against(sender, "malformed", str(exc))
            return self._flush()
        if not 0 <= msg.replica < self._c.n:
            self._evidence_against(sender, "unknown-signer", f"replica {msg.replica}")
        elif msg.replica == self._me:
            pass  # our own message relayed back
        elif isinstance(msg, NewView) and self._installed_or_passed(msg.view):
            # Dropped before its signature is checked: a new-view carries MBs of batches at full
            # load (~25 ms to verify on a busy node), and copies crossing our Status or a late
            # view-change arrive right after the install, when the new view's first blocks wait.
            pass
        elif not verify_body(msg, body, self._verifier, self._c.chain_id):
            self._evidence_against(sender, "bad-signature", type(msg).__name__)
        elif (problem := malformed_by_signer(msg, self._c)) is not None:
            self._evidence_against(msg.replica, *problem)
        else:
            self._dispatch(msg, bytes(data))
        return self._flush()

    def propose(self, batch: Batch) -> Ready:
        if self._in_vc:
            return self._reject("view change in progress")
        if not self.is_primary:
            return self._reject(f"not the primary of view {self._view}")
        seq = max(self._next_seq, self._cp.stable.seq + 1)
        if not in_window(seq, self._cp.stable.seq, self._c.watermark_window):
            return self._reject("watermark window full")
        pp, data = self._sign(PrePrepare(self._view, seq, batch.digest, batch.payload, self._me))
        self._persist_pre_prepare(RecordKind.SENT_PRE_PREPARE, pp, data)
        self._broadcast(data)
        slot = self._log.slot(seq)
        slot.pre_prepare, slot.pre_prepare_bytes, slot.validated = pp, data, True
        self._next_seq = seq + 1
        self._advance(slot)
        return self._flush()

    def tick(self) -> Ready:
        self._now += 1
        if self._deferred:
            self._out.persist.extend(self._deferred)
            self._deferred = []
        self._tick_pending_stable()
        self._status_timer += 1
        if self._status_timer >= self._c.status_interval_ticks:
            self._status_timer = 0
            self._broadcast_status()
            mine = self._vc.mine if self._in_vc else None
            if mine is not None and self._resend_view_change.take(self._me, self._now):
                self._broadcast(mine)
        if self._in_vc and self._vc.abandoned(self._view, self._q.view_change):
            # C&L: the new-view timer runs only once 2f+1 replicas left the view, so a replica
            # alone in a view change does not run away to ever higher views.
            self._vc.timer += 1
            if self._vc.timer >= self._vc.timeout(self._c):
                self._vc.failures += 1
                self._start_view_change(self._view + 1, "new-view timeout")
        elif self._in_vc:
            pass
        elif self._awaiting_transfer():
            # Whatever it waits for may be decided already (its node still holds the txs of
            # batches committed behind the transfer): the wait is this replica's, not the
            # primary's. Found in a pause run: the load had stopped, no commit came to reset the
            # timer, and the node left view 0 alone ("executed 390, committed 394"). A faulty
            # primary is still replaced: the others time out, and this replica joins them by
            # the f+1 rule; the timer starts afresh once the state is installed.
            self._idle = self._stalled = 0
            self._suspect(None)
        elif not self.is_primary and (self._requests_pending or self._log.has_work()):
            self._idle += 1
            self._stalled += 1
            self._suspect(self._timer_verdict())
        else:
            self._idle = self._stalled = 0
            self._suspect(None)
        return self._flush()

    def _timer_verdict(self) -> str | None:
        """Why this backup suspects the primary now, or None while it does not."""
        limit = self._request_timeout_limit()
        if self._primary_alone_unreachable() and self._idle >= min(LINK_LOSS_TICKS, limit):
            return "link to the primary lost"
        if self._idle >= limit:
            # The numbers say which case it was (a silent primary, or this replica too slow to
            # see progress). The lone request timeouts seen under full load were disk stalls of
            # other replicas (docs/consensus.md, "Suspicion before leaving").
            return (
                f"request timeout ({self._idle} ticks without progress, limit {limit}; "
                f"executed {self._last_executed}, committed {self._log.last_committed}, "
                f"stable checkpoint {self._cp.stable.seq})"
            )
        if self._stalled >= self._stall_limit():
            return f"request timeout (seq {self._log.last_committed + 1} undecided, later seqs commit)"
        return None

    def _suspect(self, reason: str | None) -> None:
        """Start or withdraw this backup's suspicion of the primary; peers learn it from a
        Status sent now (and repeated every status period)."""
        if reason is None:
            if self._suspecting is not None:
                self._suspecting = None
                self._out.events.append(SuspicionWithdrawn(self._view))
                self._broadcast_status()
            return
        if self._suspecting is None:
            self._suspecting = reason
            self._out.events.append(PrimarySuspected(self._view, reason))
            self._broadcast_status()
        self._leave_if_suspected()

    def _leave_if_suspected(self) -> None:
        """Leave the view once f+1 replicas, this one included, suspect its primary. A peer that
        sent a view-change for a higher view left this one: it counts (else a replica that left
        alone before could keep the others from ever following it)."""
        if self._suspecting is None or self._in_vc:
            return
        moved_on = {r for r, vc in self._vc.latest.items() if r != self._me and vc.view > self._view}
        peers = sorted(moved_on.union(self._suspicions.fresh(self._now)))
        if len(peers) + 1 >= self._q.weak:
            self._start_view_change(
                self._view + 1, f"{self._suspecting}; the primary is also suspected by {peers}"
            )

    def peer_link(self, peer: ReplicaId, up: bool) -> Ready:
        """The node's link to `peer` came up, or dropped after being up (reported on changes).
        Only shortens how long a backup waits for progress before suspecting the primary: it
        never decides a vote, and evidence of progress still resets the wait."""
        if not 0 <= peer < self._c.n or peer == self._me:
            return self._reject(f"peer_link: no peer {peer}")
        if up:
            self._unreachable.discard(peer)
        else:
            self._unreachable.add(peer)
        return self._flush()

    def _awaiting_transfer(self) -> bool:
        """This replica asked its node for a certified state it has not installed yet."""
        return self._cp.transfer_seq > self._last_executed

    def _primary_alone_unreachable(self) -> bool:
        """The link to the primary is down while this replica still reaches a view-change
        quorum without it. When every link dropped at once, the likelier cause is this node (it
        was paused, starved of CPU, or its network failed), and the request timer applies."""
        if self.primary not in self._unreachable:
            return False
        others = [r for r in range(self._c.n) if r not in (self._me, self.primary)]
        reachable = sum(1 for r in others if r not in self._unreachable)
        return reachable + 1 >= self._q.view_change

    def requests_pending(self, pending: bool) -> Ready:
        """The node holds client requests it forwarded and has not seen committed (or none)."""
        self._requests_pending = pending
        return self._flush()

    def validated(self, view: int, seq: int, digest: bytes, valid: bool) -> Ready:
        slot = self._log.slots.get(seq)
        if (
            self._in_vc
            or view != self._view
            or slot is None
            or slot.digest != digest
            or slot.validated is not None
        ):
            return self._reject("stale or unknown validation")
        known = self._log.decided_digest(seq)
        if seq <= self._log.last_committed and known != digest:
            slot.validated = False  # decided otherwise meanwhile: nothing to vote for
            return self._flush()
        if not valid and known is None:
            slot.validated = False
            self._evidence_against(self.primary, "invalid-batch", f"seq {seq}")
            self._start_view_change(self._view + 1, "primary proposed an invalid batch")
            return self._flush()
        slot.validated = True
        self._send_prepare(slot)
        self._advance(slot)
        return self._flush()

    def executed(self, seq: int, state_digest: bytes) -> Ready:
        if seq != self._last_executed + 1 or seq > self._log.last_committed:
            return self._reject(
                f"executed({seq}) out of order (last executed {self._last_executed})"
            )
        self._last_executed, self._state_digest = seq, state_digest
        if seq == self._cp.stable.seq and state_digest != self._cp.stable.state_digest:
            self._diverged(seq)
        elif seq % self._c.checkpoint_interval == 0 and seq > self._cp.stable.seq:
            self._send_checkpoint(seq, state_digest)
        return self._flush()

    def state_installed(self, seq: int, state_digest: bytes) -> Ready:
        if seq < self._last_executed or seq == 0:
            return self._reject(f"state_installed({seq}) below last executed {self._last_executed}")
        self._last_executed, self._state_digest = seq, state_digest
        if seq > self._log.last_committed:
            # An installed (certified) state is in-order delivery by other means: progress,
            # like a delivered seq (a replica catching up is not stalled behind a hole).
            self._progress()
            self._stalled = 0
            self._log.skip_to(seq)
            self._drain_commits()
        fresh = seq > self._cp.stable.seq and seq not in self._cp.own
        if fresh and seq % self._c.checkpoint_interval == 0:
            self._send_checkpoint(seq, state_digest)
        return self._flush()

    @classmethod
    def restore(
        cls,
        config: ClusterConfig,
        me: ReplicaId,
        signer: Signer,
        verifier: Verifier,
        records: Iterable[Record],
        last_executed: int,
        state_digest: bytes,
        *,
        bugs: PlantedBugs | None = None,
    ) -> Replica:
        """Rebuild from persisted records. The first Ready returned by any call afterwards also
        re-delivers BatchCommitted for committed seqs above ``last_executed`` (and asks for a
        state transfer if the node is behind the stable checkpoint)."""
        r = cls(config, me, signer, verifier, bugs=bugs)
        r._recover(records, last_executed, state_digest)
        return r

    def _recover(self, records: Iterable[Record], last_executed: int, state_digest: bytes) -> None:
        rec = recover(records)
        self._view, self._in_vc, self._cp.stable = rec.view, rec.in_view_change, rec.stable
        self._log.certs = dict(rec.certificates)
        self._last_executed, self._state_digest = last_executed, state_digest
        for _, (cp, data) in sorted(rec.checkpoints.items()):
            self._cp.add_own(cp, data, self.high_watermark)
        self._log.last_committed = max(last_executed, self._cp.stable.seq)
        for seq, cc in sorted(rec.committed.items()):  # proofs kept to help laggards
            if seq > self._cp.stable.seq and not self._log.decide(cc.pre_prepare, cc.commits):
                self._log.decisions[seq] = (cc.pre_prepare, cc.commits)
        self._drain_commits()
        st = self._cp.stable
        if last_executed < st.seq:
            self._request_transfer(st.seq, st.state_digest, tuple(c.replica for c in st.proof))
        if self._in_vc:
            if rec.view_change is not None:
                self._vc.latest[self._me], self._vc.mine = rec.view_change
            else:  # nothing was sent for this view change: start it afresh
                view, self._view, self._in_vc = self._view, self._view - 1, False
                self._start_view_change(view, "restart")
        else:
            self._vc.new_view = rec.new_view[1] if rec.new_view is not None else None
            self._log.slots = rebuild_slots(rec, st.seq, self._c.watermark_window)
            self._next_seq = max([st.seq, *self._log.slots]) + 1
        # Tell the node which batches are in flight (pre-prepared or committed out of order but
        # not delivered yet), so that it does not propose or accept their requests again.
        self._out.events.extend(
            in_flight(self._view, self._log.slots, self._log.queue, self._log.last_committed)
        )
        le = last_executed
        if le > st.seq and le % self._c.checkpoint_interval == 0 and le not in self._cp.own:
            self._send_checkpoint(le, state_digest)

    # ------------------------------------------------------------------ dispatch

    def _dispatch(self, msg: Message, data: bytes) -> None:
        if isinstance(msg, PrePrepare):
            self._on_pre_prepare(msg, data)
        elif isinstance(msg, Prepare | Commit):
            self._on_vote(msg)
        elif isinstance(msg, Checkpoint):
            self._on_checkpoint(msg)
        elif isinstance(msg, ViewChange):
            self._on_view_change(msg)
        elif isinstance(msg, NewView):
            self._on_new_view(msg, data)
        elif isinstance(msg, CommitCertificate):
            self._on_commit_certificate(msg)
        else:
            self._on_status(msg)

    # ------------------------------------------------------------------ normal case

    def _on_pre_prepare(self, pp: PrePrepare, data: bytes) -> None:
        if pp.view != self._view:
            return
        if not in_window(pp.seq, self._cp.stable.seq, self._c.watermark_window):
            return
        if pp.seq <= self._log.last_committed:
            self._on_decided_pre_prepare(pp, data)
            return
        stored = self._log.add_pre_prepare(pp, data, self._me)
        if stored is False:
            self._evidence_against(pp.replica, "equivocation", f"pre-prepares for seq {pp.seq}")
            if not self._in_vc:
                self._start_view_change(self._view + 1, "primary equivocated")
        elif stored and not self._in_vc:
            self._out.validate.append(ValidationRequested(pp.view, pp.seq, pp.batch))

    def _on_decided_pre_prepare(self, pp: PrePrepare, data: bytes) -> None:
        """A pre-prepare for a seq we already committed: no validation needed (or possible: its
        requests are done); take part so that the replicas still behind can commit it too."""
        slot = self._log.slot(pp.seq)
        if self._log.decided_digest(pp.seq) != pp.digest or slot.pre_prepare is not None:
            return
        slot.pre_prepare, slot.pre_prepare_bytes = pp, data
        slot.carried, slot.validated = True, True
        if not self._in_vc:
            self._send_prepare(slot)
            self._advance(slot)

    def _on_vote(self, vote: Prepare | Commit) -> None:
        if vote.view != self._view:
            return
        if not in_window(vote.seq, self._cp.stable.seq, self._c.watermark_window):
            return
        stored = self._log.add_vote(vote)
        if stored is False:
            kind = type(vote).__name__.lower()
            self._evidence_against(vote.replica, "equivocation", f"{kind}s for seq {vote.seq}")
            return
        if stored and isinstance(vote, Commit):
            slot = self._log.slot(vote.seq)
            agreeing = sum(1 for c in slot.commits.values() if c.digest == vote.digest)
            if agreeing >= self._q.committed_local:
                self._progress_seen(vote.seq)  # even if we lack the pre-prepare
        if stored and not self._in_vc:
            self._advance(self._log.slot(vote.seq))

    def _send_prepare(self, slot: Slot) -> None:
        assert slot.pre_prepare is not None and slot.pre_prepare_bytes is not None
        pp = slot.pre_prepare
        p, data = self._sign(Prepare(pp.view, pp.seq, pp.digest, self._me))
        self._persist_pre_prepare(RecordKind.ACCEPTED_PRE_PREPARE, pp, slot.pre_prepare_bytes)
        self._persist(Record(RecordKind.SENT_PREPARE, pp.seq, pp.view, data))
        self._broadcast(data)
        slot.prepares[self._me], slot.my_prepare = p, data

    def _advance(self, slot: Slot) -> None:
        """Prepared -> send commit; committed-local -> deliver in order."""
        pp = slot.pre_prepare
        if pp is None or not slot.validated:
            return
        if not slot.prepared:
            cert = slot.certificate(self.primary, self._q.prepared)
            if cert is None:
                return
            slot.prepared = True
            self._log.certs[pp.seq] = cert
            stored = PreparedCertificate(self._stored_form(cert.pre_prepare), cert.prepares)
            self._persist(Record(RecordKind.PREPARED, pp.seq, pp.view, encode_certificate(stored)))
            c, data = self._sign(Commit(pp.view, pp.seq, pp.digest, self._me))
            self._persist(Record(RecordKind.SENT_COMMIT, pp.seq, pp.view, data))
            self._broadcast(data)
            slot.commits[self._me], slot.my_commit = c, data
        if slot.committed:
            return
        if len(slot.matching_commits()) < self._commit_quorum():
            return
        slot.committed = True
        self._decide(pp, tuple(slot.matching_commits()))

    def _commit_quorum(self) -> int:
        return self._q.prepared if self._bugs.weak_commit_quorum else self._q.committed_local

    def _decide(self, pp: PrePrepare, commits: tuple[Commit, ...]) -> None:
        if pp.view == self._view:
            self._progress_seen(pp.seq)
        if self._log.decide(pp, commits):
            proof = encode_message(CommitCertificate(self._stored_form(pp), commits, self._me))
            self._persist(Record(RecordKind.COMMITTED, pp.seq, pp.view, proof))
            self._drain_commits()

    def _on_commit_certificate(self, cc: CommitCertificate) -> None:
        pp = cc.pre_prepare
        if self._log.decided(pp.seq):
            return
        if not in_window(pp.seq, self._cp.stable.seq, self._c.watermark_window):
            return
        reason = check_commit_certificate(cc, self._c, self._commit_quorum(), self._verifier)
        if reason is not None:
            self._evidence_against(cc.replica, "bad-commit-certificate", reason)
            return
        slot = self._log.slots.get(pp.seq)
        if slot is not None and slot.view_digest_differs(pp):
            self._evidence_against(pp.replica, "equivocation", f"committed batch at {pp.seq}")
        self._decide(pp, cc.commits)

    def _progress_seen(self, seq: int) -> None:
        """2f+1 replicas committed ``seq`` in our current view (f+1 of them honest, so the
        primary cannot fake it): the primary is making progress, even if we cannot deliver
        ``seq`` yet (a lower seq is missing here). Resets the request timer once per seq."""
        if seq not in self._quorums_seen:
            self._quorums_seen.add(seq)
            self._progress()

    def _progress(self) -> None:
        """Evidence of progress in this view: reset the request timer, and remember how long
        this gap was (the adaptive part of the limit)."""
        if self._idle > 0:
            self._gaps.append(self._idle)
        self._idle = 0

    def _drain_commits(self) -> None:
        delivered = self._log.deliverable()
        if delivered:
            self._out.committed.extend(delivered)
            self._progress()  # (in a view change _idle is 0: nothing is sampled)
            self._idle = self._stalled = self._vc.failures = 0
            self._commits_in_view += len(delivered)
            if self._commits_in_view >= STEADY_COMMITS * self._c.checkpoint_interval:
                self._request_timeouts = 0

    def _base_timeout_limit(self) -> int:
        shift = min(self._request_timeouts, self._c.max_timeout_doublings)
        return self._c.request_timeout_ticks << shift

    def _request_timeout_limit(self) -> int:
        """The base limit (doubled per view change taken part in), raised to ADAPTIVE_FACTOR x
        the longest recent gap between evidence of progress in this view, that part capped."""
        cap = ADAPTIVE_CAP * self._c.request_timeout_ticks
        adaptive = min(ADAPTIVE_FACTOR * max(self._gaps, default=0), cap)
        return max(self._base_timeout_limit(), adaptive)

    def _stall_limit(self) -> int:
        """In-order delivery is watched on the base limit, not the adaptive one (a withheld
        seq is replaced as before); never shorter than the request timeout itself."""
        return max(STALL_FACTOR * self._base_timeout_limit(), self._request_timeout_limit())

    # ------------------------------------------------------------------ checkpoints

    def _send_checkpoint(self, seq: int, state_digest: bytes) -> None:
        cp, data = self._sign(Checkpoint(seq, state_digest, self._me))
        self._persist(Record(RecordKind.SENT_CHECKPOINT, seq, 0, data))
        self._broadcast(data)
        self._cp.add_own(cp, data, self.high_watermark)
        if self._bugs.premature_gc:
            self._log.collect_through(seq)
            self._cp.forget_through(seq)
            self._forget_below(seq)
        self._check_checkpoint(seq, state_digest)

    def _on_checkpoint(self, cp: Checkpoint) -> None:
        if cp.seq <= self._cp.stable.seq:
            return
        if not self._cp.add(cp, self.high_watermark):
            self._evidence_against(cp.replica, "equivocation", f"checkpoints for seq {cp.seq}")
            return
        self._check_checkpoint(cp.seq, cp.state_digest)

    def _check_checkpoint(self, seq: int, digest: bytes) -> None:
        matching = self._cp.votes.matching(seq, digest)
        if len(matching) >= self._q.checkpoint:
            st = StableCheckpoint(seq, digest, matching)
            if self._within_reach(seq):
                # Stabilizing now would drop the slots this replica is about to commit and
                # fetch the blocks instead. Found in 200 s full-load runs: a backup one block
                # behind at a checkpoint got 2f+1 checkpoint votes first, asked a state transfer
                # and spent 6-16 s re-executing 30-80 fetched blocks. It applies the checkpoint
                # once it commits that far, or after request_timeout_ticks (waiting is what a
                # slower delivery of the votes would have caused anyway).
                if self._pending_stable is None or seq > self._pending_stable.seq:
                    self._pending_stable, self._pending_ticks = st, 0
                return
            self._stabilize(st)
        elif (
            seq > self.high_watermark
            and len(matching) >= self._q.weak
            and seq > max(self._last_executed, self._cp.transfer_seq)
        ):
            self._request_transfer(seq, digest, tuple(c.replica for c in matching))

    def _within_reach(self, seq: int) -> bool:
        """Not committed here yet, but less than a checkpoint interval away, in an active view."""
        behind = seq - self._log.last_committed
        return 0 < behind <= self._c.checkpoint_interval and not self._in_vc

    def _tick_pending_stable(self) -> None:
        st = self._pending_stable
        if st is None:
            return
        self._pending_ticks += 1
        if st.seq <= self._cp.stable.seq:
            self._pending_stable = None
        elif not self._within_reach(st.seq) or self._pending_ticks >= self._c.request_timeout_ticks:
            self._pending_stable = None
            self._stabilize(st)

    def _stabilize(self, st: StableCheckpoint) -> None:
        if st.seq <= self._cp.stable.seq:
            return
        own = self._cp.advance(st)
        self._persist(
            Record(RecordKind.STABLE_CHECKPOINT, st.seq, 0, encode_checkpoint_proof(st.proof))
        )
        self._log.collect_through(st.seq)
        self._quorums_seen = {s for s in self._quorums_seen if s > st.seq}
        self._forget_below(st.seq)
        self._out.events.append(CheckpointStabilized(st.seq, st.state_digest))
        self._next_seq = max(self._next_seq, st.seq + 1)
        if self._log.last_committed < st.seq:
            # Everything up to st.seq is decided; the node fetches it instead of executing it.
            self._log.skip_to(st.seq)
            self._progress()
            self._stalled = 0
            self._drain_commits()
            if st.seq > max(self._last_executed, self._cp.transfer_seq):
                self._request_transfer(st.seq, st.state_digest, tuple(c.replica for c in st.proof))
        elif own is not None and own != st.state_digest:
            self._diverged(st.seq)

    def _request_transfer(self, seq: int, digest: bytes, vouchers: tuple[ReplicaId, ...]) -> None:
        self._cp.transfer_seq = seq
        self._out.state_transfer.append(StateTransferRequested(seq, digest, vouchers))

    def _diverged(self, seq: int) -> None:
        self._evidence_against(self._me, "state-divergence", f"own state digest differs at {seq}")
        st = self._cp.stable
        self._request_transfer(st.seq, st.state_digest, tuple(c.replica for c in st.proof))

    # ------------------------------------------------------------------ view change

    def _start_view_change(self, view: int, reason: str) -> None:
        if view <= self._view and (self._in_vc or view < self._view):
            return
        self._view, self._in_vc = view, True
        self._log.slots = {}
        self._quorums_seen = set()
        self._suspecting = None
        self._suspicions.clear()
        self._gaps.clear()
        self._vc.timer = self._idle = self._stalled = 0
        self._resend_view_change.sent(self._me, self._now)  # broadcast below
        self._request_timeouts += 1  # whatever the reason: the next view gets a longer request timer
        st = self._cp.stable
        prepared = self._log.prepared_above(st.seq)
        vc, data = self._sign(
            ViewChange(view, st.seq, st.state_digest, st.proof, prepared, self._me)
        )
        self._persist(Record(RecordKind.VIEW, 0, view, b"\x01"))
        self._persist(Record(RecordKind.SENT_VIEW_CHANGE, 0, view, data))
        self._broadcast(data)
        self._vc.latest[self._me], self._vc.mine, self._vc.new_view = vc, data, None
        self._out.events.append(ViewChangeStarted(view, reason))
        self._try_new_view()

    def _on_view_change(self, vc: ViewChange) -> None:
        if self._installed_or_passed(vc.view):
            if not self._in_vc:
                self._send_new_view(vc.replica)
            return
        reason = check_view_change(
            vc, self._c, self._q, self._verifier, not self._bugs.unchecked_new_view
        )
        if reason is not None:
            self._evidence_against(vc.replica, "bad-view-change", reason)
            return
        if not self._vc.record(vc):
            self._evidence_against(vc.replica, "equivocation", f"view-changes for {vc.view}")
            return
        higher = self._vc.higher_views(self._view, self._me)
        if len(higher) >= self._q.weak:
            self._start_view_change(higher[0], "f+1 replicas moved to a higher view")
        self._leave_if_suspected()
        self._try_new_view()

    def _try_new_view(self) -> None:
        if not self._in_vc or not self.is_primary or self._me not in self._vc.latest:
            return
        chosen = select_view_changes(self._vc.latest, self._view, self._me, self._q.view_change)
        if chosen is None:
            return
        plan = plan_new_view(chosen)
        pps = tuple(
            self._sign(PrePrepare(self._view, s, b.digest, b.payload, self._me))[0]
            for s, b in plan.entries
        )
        nv = sign(NewView(self._view, chosen, pps, self._me), self._signer, self._c.chain_id)
        data = encode_wire(nv)  # each prepared batch once, not 2f+2 times
        self._persist(Record(RecordKind.NEW_VIEW, 0, self._view, data))
        self._broadcast(data)
        self._install(nv, data, plan)
        for peer in range(self._c.n):
            if peer != self._me:
                self._resend_new_view.sent(peer, self._now)

    def _installed_or_passed(self, view: int) -> bool:
        return view < self._view or (view == self._view and not self._in_vc)

    def _on_new_view(self, nv: NewView, data: bytes) -> None:
        # A new-view for a view installed or passed never gets here: receive() drops it unverified.
        plan, reason = check_new_view(
            nv, self._c, self._q, self._verifier, not self._bugs.unchecked_new_view, self._vc.latest
        )
        if plan is None:
            self._evidence_against(nv.replica, "bad-new-view", reason or "")
            if nv.view == self._view:
                self._start_view_change(self._view + 1, "invalid new-view")
            return
        self._persist(Record(RecordKind.NEW_VIEW, 0, nv.view, data))
        self._install(nv, data, plan)
        self._resend_new_view.sent(nv.replica, self._now)  # its primary has it

    def _install(self, nv: NewView, data: bytes, plan: NewViewPlan) -> None:
        old_slots = self._log.slots if nv.view == self._view else {}
        if nv.view != self._view:
            self._quorums_seen = set()
            self._gaps.clear()
            self._suspecting = None
            self._suspicions.clear()
        self._view, self._in_vc, self._idle, self._stalled = nv.view, False, 0, 0
        self._commits_in_view = 0
        self._vc.installed(nv.view, data)
        self._resend_new_view.clear()  # a new new-view: every peer may ask for it at once
        self._persist(Record(RecordKind.VIEW, 1, nv.view, b"\x00"))
        self._log.slots = old_slots
        if plan.stable.seq > self._cp.stable.seq:
            self._stabilize(plan.stable)
        top = self._cp.stable.seq
        o_seqs: set[int] = set()
        for pp in sorted(nv.pre_prepares, key=lambda p: p.seq):
            if pp.seq in o_seqs or not in_window(
                pp.seq, self._cp.stable.seq, self._c.watermark_window
            ):
                continue
            o_seqs.add(pp.seq)
            top = max(top, pp.seq)
            slot = self._log.slot(pp.seq)
            if slot.pre_prepare is not None and slot.digest != pp.digest:
                self._evidence_against(nv.replica, "equivocation", f"pre-prepare vs O at {pp.seq}")
            slot.pre_prepare, slot.pre_prepare_bytes = pp, encode_message(pp)
            slot.carried, slot.validated = True, True
            if pp.payload:
                self._out.events.append(BatchCarriedOver(nv.view, pp.seq, pp.batch))
            if not self.is_primary and slot.my_prepare is None:
                self._send_prepare(slot)
        if self.is_primary:
            self._next_seq = top + 1
        self._out.events.append(ViewChanged(nv.view, self.primary))
        for seq in sorted(self._log.slots):
            slot = self._log.slots[seq]
            if seq in o_seqs or slot.pre_prepare is None:
                continue
            if seq <= self._log.last_committed or self.is_primary:
                continue
            self._out.validate.append(ValidationRequested(nv.view, seq, slot.pre_prepare.batch))
        for seq in sorted(self._log.slots):
            self._advance(self._log.slots[seq])

    # ------------------------------------------------------------------ status / retransmission

    def _broadcast_status(self) -> None:
        _, data = self._sign(
            Status(
                self._view,
                self._in_vc,
                self._log.last_committed,
                self._cp.stable.seq,
                self._suspecting is not None,
                self._me,
            )
        )
        self._broadcast(data)

    def _on_status(self, s: Status) -> None:
        progress = (s.view, s.in_view_change, s.last_committed)
        previous = self._peer_progress.get(s.replica)
        self._peer_progress[s.replica] = progress
        stuck = previous is None or previous == progress
        if not stuck and s.last_committed >= self._log.last_committed:
            # Caught up by committing (not: both stand still, which is when waits matter most).
            self._resend_batches.reset(s.replica)
        if lacks_new_view(s, view=self._view, in_view_change=self._in_vc):
            self._send_new_view(s.replica)
        out: list[bytes | Decision] = list(
            retransmissions(
                s, stable=self._cp.stable, own_checkpoints={seq: data for seq, (_, data) in self._cp.own.items()}
            )
        )
        if stuck:  # (a peer that moved lacks nothing but what is on its way)
            batches = batch_retransmissions(
                s,
                view=self._view,
                in_view_change=self._in_vc,
                slots=self._log.slots,
                last_committed=self._log.last_committed,
                decisions=self._log.decisions,
            )
            # A wait is used up only when there is something to re-send (retransmit.py).
            if batches and self._resend_batches.take(s.replica, self._now):
                out.extend(batches)
        for data in out:
            if isinstance(data, tuple):
                cc = CommitCertificate(data[0], data[1], self._me)
                data = self._sign(cc)[1]
            self._out.messages.append(Outbound(s.replica, data))
        if s.view == self._view and not self._in_vc:
            self._suspicions.heard(s.replica, s.suspects, self._now)
            self._leave_if_suspected()

    def _send_new_view(self, peer: ReplicaId) -> None:
        """Send the new-view of our view to ``peer``, which asked for it (its Status, or a late
        view-change), at doubling waits per peer (consensus/retransmit.py): enough to reach a
        peer that lost it, while a copy still on its way on a slow link (MBs at full load) is
        not sent again at every Status in front of the new view's first pre-prepares."""
        if self._vc.new_view is None or not self._resend_new_view.take(peer, self._now):
            return
        self._out.messages.append(Outbound(peer, self._vc.new_view))

    # ------------------------------------------------------------------ helpers

    def _sign(self, msg: M) -> tuple[M, bytes]:
        return seal(msg, self._signer, self._c.chain_id)

    def _persist(self, record: Record) -> None:
        if self._bugs.vote_before_persist and record.kind in DEFERRABLE:
            self._deferred.append(record)
        else:
            self._out.persist.append(record)

    def _persist_pre_prepare(self, kind: RecordKind, pp: PrePrepare, data: bytes) -> None:
        assert kind in PRE_PREPARE_KINDS
        self._persist(Record(kind, pp.seq, pp.view, data))
        if not self._bugs.vote_before_persist:  # a deferred record may come after the others
            self._pp_records.setdefault(pp.seq, {})[pp.view] = pp.digest

    def _stored_form(self, pp: PrePrepare) -> PrePrepare:
        """How a PREPARED/COMMITTED record holds ``pp``: without the batch if one of our
        pre-prepare records (persisted in this Ready or before) holds it (records.py)."""
        if self._pp_records.get(pp.seq, {}).get(pp.view) == pp.digest:
            return without_payload(pp)
        return pp

    def _forget_below(self, seq: int) -> None:
        self._out.forget_below = seq
        self._pp_records = {s: v for s, v in self._pp_records.items() if s > seq}

    def _broadcast(self, data: bytes) -> None:
        self._out.messages.append(Outbound(None, data))

    def _evidence_against(self, replica: ReplicaId, kind: str, detail: str) -> None:
        self._evidence[replica] = self._evidence.get(replica, 0) + 1
        self._out.events.append(MisbehaviourDetected(replica, kind, detail))

    def _reject(self, reason: str) -> Ready:
        self._out.rejected = reason
        return self._flush()

    def _flush(self) -> Ready:
        out, self._out = self._out, ReadyBuilder()
        return out.freeze()
