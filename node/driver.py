"""The driver: the ONLY caller of the PBFT Replica. One asyncio loop, one order of work.

Inputs (peer frames, ticks, admitted txs, proposal timers) are queued; the loop drains everything
queued, feeds it to the replica, then acts on the merged Ready outputs, in the order the Ready type
prescribes (consensus/ready.py):

  1. persist ALL records of the round in ONE sync write batch (group commit)
  2. then send the messages (batched per peer by the transport)
  3. validate requested batches (node/validation.py) -> replica.validated(...)
  4. execute committed batches in order (executor, one sync batch per block) -> replica.executed(...)
     -> broadcast our header signature -> collect block certificates
  5. follow-up outputs (from 3 and 4) go round the same loop: persist, then send.

The primary proposes when the mempool holds `max_batch_txs` or the oldest pending tx has waited
`batch_delay_ms` (and, for a block that is not full, `min_block_interval_ms` has passed since its
last proposal), with up to `max_inflight` proposals in flight (pipelining) — but with a proposal
in flight only for a backlog of a quarter block or more (see _maybe_propose). Block time is the
primary's clock, strictly increasing (ticker.BlockClock).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from baaskit.consensus import (
    Batch,
    BatchCarriedOver,
    BatchCommitted,
    MisbehaviourDetected,
    Outbound,
    PrimarySuspected,
    Ready,
    RecordKind,
    Replica,
    StateTransferRequested,
    SuspicionWithdrawn,
    ValidationRequested,
    ViewChanged,
    ViewChangeStarted,
    encode_record,
)
from baaskit.genesis import Genesis
from baaskit.tx import TxEnvelope
from baaskit.wire.v1 import api_pb2, peer_pb2

from . import pbconv
from .api import SubscriptionHub
from .certificates import CertificateCollector
from .config import TUNING_DEFAULTS
from .executor import BlockExecutor, ExecutedBlock, ExecutionError
from .holds import HoldTracker
from .mempool import Mempool
from .metrics import EVIDENCE, PROPOSALS_ABSTAINED, CpuMeter, Metrics
from .proposal import Proposal, ProposalError, encode_proposal, is_null
from .service import CommitWatch
from .storage import KVStore
from .ticker import BlockClock, monotonic_ms, now_ms
from .transport import Transport
from .validation import ProposalValidator

log = logging.getLogger(__name__)

EMPTY = Ready()
FRAME_QUEUE_LIMIT = 2_000

VIEW_CHANGES = "view_changes"
PROPOSALS = "proposals"
CATCHUP_BLOCKS = "catchup_blocks"  # blocks the store gained in catch-ups (with any the loop ran meanwhile)
DRIVER_ROUNDS = "driver_rounds"  # iterations of the driver loop (each ends with one flush)
TICKS_COALESCED = "ticks_coalesced"  # ticks that arrived while a round was busy (see run())
MAX_TICKS_PER_ROUND = 3
RESEND_TICKS = 10  # how often a backup looks for txs to re-send to the primary
# A backup forwards its clients' txs to the primary at once; it re-sends one still pending after
# this long (a lost frame, a restarted primary). Under a backlog txs legitimately wait seconds
# at the primary: at 0.5 s the primary received most txs twice at full load.
RESEND_AGE_TICKS = 100
RESEND_MAX = 5_000
# Forwarded txs held back while a catch-up runs (see _loop); past this many, the oldest go in.
DEFERRED_TXS_LIMIT = 20_000  # ~10 s of full load; ~1 KB each as protobuf objects
# A gap this long between two ticks means this node was not running (paused, starved of CPU):
# for LINK_GRACE_MS after it, links found down are not reported (see _report_links).
SELF_PAUSE_MS = 2_000
LINK_GRACE_MS = 3_000


# The view-change steps a node logs; the bench reads them back after a kill-primary run
# (bench/failover.py), so they are written in one place.
LOG_SUSPECTED = "suspecting the primary of view %d (leaving once f+1 replicas do): %s"
LOG_LEFT = "leaving view for view %d: %s"
LOG_INSTALLED = "view %d installed, primary is member %d (%d txs requeued)"


@dataclass(frozen=True)
class DriverParams:
    max_batch_txs: int = TUNING_DEFAULTS["max_batch_txs"]
    batch_delay_ms: int = TUNING_DEFAULTS["batch_delay_ms"]
    min_block_interval_ms: int = TUNING_DEFAULTS["min_block_interval_ms"]
    max_inflight: int = TUNING_DEFAULTS["max_inflight"]
    block_time_skew_ms: int = TUNING_DEFAULTS["block_time_skew_ms"]
    catchup_lag: int = 8  # f+1 peers' header votes this far above us -> fetch certified blocks


CatchUp = Callable[[int], Awaitable[int]]  # target height (0 = latest) -> new last height


class Driver:
    def __init__(
        self,
        *,
        genesis: Genesis,
        me: int,
        replica: Replica,
        store: KVStore,
        executor: BlockExecutor,
        mempool: Mempool,
        validator: ProposalValidator,
        collector: CertificateCollector,
        transport: Transport,
        metrics: Metrics,
        hub: SubscriptionHub,
        watch: CommitWatch,
        holds: HoldTracker,
        params: DriverParams,
        catch_up: CatchUp | None = None,
    ) -> None:
        self.genesis = genesis
        self.me = me
        self.replica = replica
        self._store = store
        self._executor = executor
        self._mempool = mempool
        self._validator = validator
        self._collector = collector
        self._transport = transport
        self._metrics = metrics
        self._hub = hub
        self._watch = watch
        self._holds = holds
        self._p = params
        self._catch_up = catch_up
        self._cpu = CpuMeter(metrics)
        self._cpu.count_gc()
        self._clock = BlockClock(executor.last_time_ms())
        self._items: deque[tuple[Any, ...]] = deque()
        self._has_items = asyncio.Event()
        self._space = asyncio.Event()
        self._space.set()
        self._my_seqs: set[int] = set()  # seqs this node proposed, not yet executed
        self._links_up: frozenset[int] = frozenset()  # peer links up at the last tick
        self._last_tick_ms = 0
        self._link_grace_until = 0
        self._retry: list[TxEnvelope] = []  # taken from the mempool, proposal refused: propose first
        self._pending_since: int | None = None
        self._proposed_at_ms: int | None = None  # when this node last proposed (pacing)
        self._timer: asyncio.TimerHandle | None = None
        self._requests_pending = False
        self._ticks = 0
        self._peer_tops: dict[int, int] = {}  # per peer link: the highest height its votes named
        self._last_catchup_ms = 0
        self._catching_up: asyncio.Task[None] | None = None  # a catch-up beside the loop
        self._transfer_to = 0  # a state transfer's target height (consensus/ready.py rule 3)
        self._held: list[BatchCommitted] = []  # committed batches held until it is reached
        self._booked = store.last_height()  # height up to which fetched blocks were accounted for
        self._fetch_from = 0  # our height when the running (or last) fetch started
        self._deferred: deque[tuple[int, peer_pb2.PeerFrame]] = deque()  # (sender, frame) of forwarded txs held back
        self._deferred_txs = 0
        self._arrival_ms: int | None = None  # when the earliest frame of this round arrived
        self.last_commit_ms = 0

    # ---- inputs (called from other tasks) ------------------------------------------------

    async def on_frame(self, sender: int, frame: peer_pb2.PeerFrame) -> None:
        while len(self._items) >= FRAME_QUEUE_LIMIT:
            self._space.clear()
            await self._space.wait()
        self._post(("frame", sender, frame, now_ms()))

    async def on_tick(self) -> None:
        self._post(("tick",))

    def on_admitted(self, envelopes: list[TxEnvelope]) -> None:
        """Txs a client got ACCEPTED for. The primary proposes them (a round is kicked); a backup
        sends them to the primary now. Every other peer gets them lazily, with the next frame
        that goes there anyway, so that a future primary has them (pre-prepares carry them to
        every backup too, and pending txs are re-sent to a new primary after a view change)."""
        pbs = [pbconv.envelope_to_pb(e) for e in envelopes]
        r = self.replica
        self._note_pending()
        if r.in_view_change:
            self._transport.send_txs(pbs)  # no primary to favour: every peer, now
            self._transport.flush()
            return
        if r.is_primary:
            self._transport.send_txs(pbs, urgent=False)
            self._post(("kick",))
            return
        for member in range(self.genesis.n):
            if member != self.me:
                self._transport.send_txs(pbs, to=member, urgent=member == r.primary)
        self._transport.flush()

    def _post(self, item: tuple[Any, ...]) -> None:
        self._items.append(item)
        self._has_items.set()

    def _note_pending(self) -> None:
        if self._pending_since is None:
            self._pending_since = monotonic_ms()

    def consensus_status(self) -> tuple[int, int, int]:
        r = self.replica
        return r.view, r.primary, r.stable_checkpoint

    # ---- the loop ------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._loop()
        finally:
            if self._catching_up is not None:
                self._catching_up.cancel()

    async def _loop(self) -> None:
        self._process(self.replica.tick())  # re-delivers commits after a restore
        while True:
            await self._has_items.wait()
            batch = list(self._items)
            self._items.clear()
            self._has_items.clear()
            self._space.set()
            self._metrics.incr(DRIVER_ROUNDS)
            ready = EMPTY
            ticks = 0
            forwarded: list[tuple[int, peer_pb2.PeerFrame]] = []
            # Proposals are checked against the clock when their frames ARRIVED: a node whose
            # loop lags (frames queued for seconds) must not blame an honest primary's block
            # time for its own backlog.
            arrivals = [item[3] for item in batch if item[0] == "frame"]
            self._arrival_ms = min(arrivals) if arrivals else None
            for item in batch:
                if item[0] == "tick":
                    # At most MAX_TICKS_PER_ROUND logical ticks per round: the timers follow real
                    # time while rounds are short, but one long round (this node busy executing)
                    # cannot run the request timer out on our own slowness before the commits
                    # queued behind it reset it.
                    if ticks >= MAX_TICKS_PER_ROUND:
                        self._metrics.incr(TICKS_COALESCED)
                        continue
                    ticks += 1
                elif item[0] == "frame" and item[2].txs:
                    forwarded.append((item[1], item[2]))
                ready = ready.merge(self._handle(item))
            if ticks:
                self._maybe_catch_up()
            self._process(ready)  # events (a view change) are handled before proposing
            # The writers are woken here, but they run only when this round yields, i.e. after
            # the forwarded txs below are verified (~60 us each). Yielding here instead measured
            # no end-to-end gain: a hop also waits for the receiver's round (12 alternating
            # pairs at 1,000 tx/s, p50 better in 6, worse in 5). A pre-prepare that names a tx
            # not verified yet gets it verified by validation (the cache-miss path).
            self._transport.flush(force=ticks > 0)
            if forwarded and self._catching_up is not None:
                # Most txs forwarded while this node is far behind are in blocks the fetch is
                # about to apply: ingested after it, they cost a committed-index lookup instead of
                # an Ed25519 verification each (pausing a backup for 12 s under load: its store
                # got within 8 blocks of the others after 11-35 s without this, 7-19 s with it).
                self._defer_forwarded(forwarded)
            elif forwarded:
                self._ingest_forwarded(forwarded)
            with self._cpu.section("propose"):
                proposal = self._maybe_propose()
            self._process(proposal)
            # One frame per peer per round (records were persisted first); lazy items (header
            # signatures, txs forwarded for a future primary) are forced out on ticks.
            self._transport.flush()
            await asyncio.sleep(0)  # let network tasks run between rounds

    def _handle(self, item: tuple[Any, ...]) -> Ready:
        kind = item[0]
        if kind == "frame":
            return self._on_frame(item[1], item[2])
        if kind == "tick":
            self._mempool.tick()
            ready = EMPTY
            pending = len(self._mempool) > 0 or bool(self._retry)
            self._ticks += 1
            if self._ticks % RESEND_TICKS == 0:
                self._resend_pending()
            if pending != self._requests_pending:
                self._requests_pending = pending
                ready = ready.merge(self.replica.requests_pending(pending))
            ready = ready.merge(self._report_links())
            if self._catching_up is not None:
                # Blocks fetched so far reach the replica every tick (installed state is
                # progress), not only when the fetch ends: with the loop running beside it, the
                # request timer runs too, and a fetch can take a minute under full load.
                ready = ready.merge(self._install_fetched())
            return ready.merge(self.replica.tick())
        if kind == "caught_up":
            if self._store.last_height() > self._fetch_from:
                log.warning("caught up from height %d to %d", self._fetch_from, self._store.last_height())
            ready = self._install_fetched()
            self._ingest_deferred()  # after the install: the mempool has dropped what it covers
            return ready
        return EMPTY  # "kick": only proposes

    def _report_links(self) -> Ready:
        """Tell the replica which peer links dropped (after being up) or came back since the last
        tick: a backup whose stream to the primary broke (the primary's process died) suspects
        it after LINK_LOSS_TICKS without progress instead of the full request timeout.

        A link that dropped while THIS node was not running says nothing about the primary.
        Found by pausing a backup for 12 s under load: on resuming, its stream from the primary
        broke (the others did not), it suspected the primary and left view 0 alone. So after a
        gap of SELF_PAUSE_MS between ticks, drops are not reported for LINK_GRACE_MS (a link
        that drops then leaves the baseline unreported); the request timer still applies."""
        now = monotonic_ms()
        if self._last_tick_ms and now - self._last_tick_ms > SELF_PAUSE_MS:
            self._link_grace_until = now + LINK_GRACE_MS
            log.warning(
                "no tick handled for %d ms: this node was paused, starved of CPU, or waiting on a stalled disk",
                now - self._last_tick_ms,
            )
        self._last_tick_ms = now
        now_up = frozenset(self._transport.connected_peers())
        dropped = frozenset() if now < self._link_grace_until else self._links_up - now_up
        ready = EMPTY
        for peer in sorted(dropped):
            ready = ready.merge(self.replica.peer_link(peer, up=False))
        for peer in sorted(now_up - self._links_up):
            ready = ready.merge(self.replica.peer_link(peer, up=True))
        self._links_up = now_up
        return ready

    def _resend_pending(self) -> None:
        """Backups re-send txs pending for a while to the primary (it may have missed them)."""
        r = self.replica
        if r.is_primary or r.in_view_change:
            return
        envelopes = self._mempool.stale_for_resend(RESEND_AGE_TICKS, r.view, RESEND_MAX)
        if envelopes:
            self._transport.send_txs([pbconv.envelope_to_pb(e) for e in envelopes], to=r.primary)

    def _on_frame(self, sender: int, frame: peer_pb2.PeerFrame) -> Ready:
        ready = EMPTY
        with self._cpu.section("consensus_in"):
            for data in frame.consensus:
                ready = ready.merge(self.replica.receive(bytes(data), sender))
        with self._cpu.section("header_signatures_in"):
            self._on_header_signatures(sender, frame)
        if frame.held_tx_ids:
            self._holds.held(sender, frame.held_tx_ids)
        return ready

    def _defer_forwarded(self, frames: list[tuple[int, peer_pb2.PeerFrame]]) -> None:
        self._deferred.extend(frames)
        self._deferred_txs += sum(len(f.txs) for _, f in frames)
        oldest: list[tuple[int, peer_pb2.PeerFrame]] = []
        while self._deferred_txs > DEFERRED_TXS_LIMIT and self._deferred:
            sender, frame = self._deferred.popleft()
            self._deferred_txs -= len(frame.txs)
            oldest.append((sender, frame))
        if oldest:
            self._ingest_forwarded(oldest)

    def _ingest_deferred(self) -> None:
        if self._deferred:
            frames, self._deferred, self._deferred_txs = list(self._deferred), deque(), 0
            self._ingest_forwarded(frames)

    def _ingest_forwarded(self, frames: list[tuple[int, peer_pb2.PeerFrame]]) -> None:
        """Txs peers forwarded (their clients' requests): verified once, into the mempool. Each
        sender is told which of its txs this node now holds (it answers its client's Submit once
        f peers hold them: node/holds.py)."""
        added = 0
        with self._cpu.section("txs_in"):
            for sender, frame in frames:
                envelopes = [pbconv.envelope_from_pb(t) for t in frame.txs]
                got = self._mempool.add_forwarded(envelopes, self._store.is_committed)
                added += got.added
                if got.held:
                    self._transport.send_held_tx_ids(sender, got.held)
        if added:
            self._note_pending()

    def _on_header_signatures(self, sender: int, frame: peer_pb2.PeerFrame) -> None:
        for vote in frame.header_signatures:
            if vote.height > self._peer_tops.get(sender, 0):
                self._peer_tops[sender] = vote.height
            cert = self._collector.add(vote)
            if cert is not None:
                self._store.put_certificate(cert.height, cert.encode())

    # ---- proposing -----------------------------------------------------------------------

    def _maybe_propose(self) -> Ready:
        r = self.replica
        if not r.is_primary or r.in_view_change:
            return EMPTY
        out = EMPTY
        done = self.replica.last_executed
        if any(seq <= done for seq in self._my_seqs):  # executed another way (catch-up)
            self._my_seqs = {seq for seq in self._my_seqs if seq > done}
        while len(self._my_seqs) < self._p.max_inflight:
            available = len(self._retry) + self._mempool.pending_count
            if available == 0:
                self._pending_since = None
                break
            if self._my_seqs and available < self._p.max_batch_txs // 4:
                # Pipelining only for a backlog: every block costs every node ~5 ms of CPU
                # whatever its size (votes, fsyncs, frames, header), so small blocks proposed
                # back to back at moderate load used up the machine (50 blocks/s at 200 tx/s)
                # and made each block slower. Below a quarter block of backlog, wait for the
                # block in flight: its commit kicks the next proposal.
                break
            now = monotonic_ms()
            if available < self._p.max_batch_txs:
                wait_ms = self._p.batch_delay_ms - (now - (self._pending_since or now))
                if self._proposed_at_ms is not None:
                    # Pacing: at most one block that is not full per min_block_interval_ms. Every
                    # block costs every node ~5 ms of CPU whatever its size, and without a floor
                    # the block rate follows the round time, not the load: at 100 tx/s the four
                    # nodes of a one-machine cluster made ~80 blocks/s of 1-2 txs and used 1.6 of
                    # its 2 cores. A tx arriving after a quiet spell is proposed at once.
                    wait_ms = max(wait_ms, self._proposed_at_ms + self._p.min_block_interval_ms - now)
                if wait_ms > 0:
                    self._schedule_kick(wait_ms)
                    break
            envelopes = self._retry[: self._p.max_batch_txs]
            self._retry = self._retry[len(envelopes) :]
            envelopes += self._mempool.take(self._p.max_batch_txs - len(envelopes))
            time_ms = self._clock.next()
            payload = encode_proposal(time_ms, envelopes, view=r.view, proposer=self.me)
            self._executor.proposals.remember(payload, Proposal(time_ms, tuple(envelopes), r.view, self.me))
            ready = r.propose(Batch(payload))
            if ready.rejected is not None:
                self._retry = envelopes + self._retry
                log.debug("proposal refused: %s", ready.rejected)
                break
            self._metrics.incr(PROPOSALS)
            self._proposed_at_ms = now
            self._my_seqs.update(
                rec.seq for rec in ready.persist if rec.kind == RecordKind.SENT_PRE_PREPARE
            )
            self._pending_since = monotonic_ms() if self._mempool.pending_count else None
            out = out.merge(ready)
        return out

    def _schedule_kick(self, delay_ms: int) -> None:
        if self._timer is not None:
            return
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timer = None
            self._post(("kick",))

        self._timer = loop.call_later(max(delay_ms, 1) / 1000, fire)

    # ---- acting on outputs ---------------------------------------------------------------

    def _process(self, ready: Ready) -> None:
        # The records of every step (a pre-prepare, then the prepare our validation produced;
        # a commit record, then the block it commits) are staged in the store and go to disk in
        # ONE synced batch: the block's if this call executes one, else a group commit at the
        # end. The steps' messages go to the transport only after that: persist before send.
        unsent: list[Outbound] = []
        while not ready.empty:
            with self._cpu.section("persist"):
                self._stage(ready)
            unsent += ready.messages
            follow = EMPTY
            follow = follow.merge(self._on_events(ready))
            with self._cpu.section("validate"):
                for v in ready.validate:
                    follow = follow.merge(self._validate(v))
            # State transfer before executing (consensus/ready.py): the fetch runs beside the
            # loop, and committed batches are held until the store reaches its target.
            for st in ready.state_transfer:
                self._state_transfer(st)
            with self._cpu.section("execute"):
                for c in ready.committed:
                    follow = follow.merge(self._execute_or_hold(c))
            if ready.rejected is not None:
                log.debug("replica refused: %s", ready.rejected)
            ready = follow
        self._persist_then_send(unsent)

    def _stage(self, ready: Ready) -> None:
        if ready.persist or ready.forget_below is not None:
            records = [(rec.key, encode_record(rec)) for rec in ready.persist]
            self._store.stage_consensus_records(records, ready.forget_below)

    def _persist_then_send(self, messages: list[Outbound]) -> None:
        with self._cpu.section("persist"):
            # Inline, not in a worker thread: a synced LevelDB batch takes ~0.2-0.4 ms on this
            # disk, while a thread hand-off waits for the GIL (up to the 5 ms switch interval
            # when this loop is busy), which put that wait into every vote's latency.
            self._store.flush_consensus_records()
        with self._cpu.section("send"):
            for out in messages:
                self._transport.send_consensus(out.to, out.data)

    def _on_events(self, ready: Ready) -> Ready:
        for ev in ready.events:
            if isinstance(ev, ViewChanged):
                moved = self._mempool.requeue_inflight()
                self._validator.reset()
                self._my_seqs.clear()
                self._retry.clear()  # requeue_inflight put them back in the pending queue
                self._metrics.incr(VIEW_CHANGES)
                if self._mempool.pending_count:
                    self._note_pending()
                if ev.primary != self.me:  # the new primary may never have seen our clients' txs
                    resend = self._mempool.stale_for_resend(0, ev.view, RESEND_MAX)
                    if resend:
                        self._transport.send_txs([pbconv.envelope_to_pb(e) for e in resend], to=ev.primary)
                log.warning(LOG_INSTALLED, ev.view, ev.primary, moved)
            elif isinstance(ev, ViewChangeStarted):
                log.warning(LOG_LEFT, ev.view, ev.reason)
            elif isinstance(ev, PrimarySuspected):
                log.warning(LOG_SUSPECTED, ev.view, ev.reason)
            elif isinstance(ev, SuspicionWithdrawn):
                log.info("view %d makes progress again: no longer suspecting its primary", ev.view)
            elif isinstance(ev, MisbehaviourDetected):
                self._metrics.incr(EVIDENCE)
                log.warning("evidence against member %d: %s (%s)", ev.replica, ev.kind, ev.detail)
        for ev in ready.events:
            if isinstance(ev, BatchCarriedOver):
                self._mempool.mark_inflight(self._tx_ids(ev.batch.payload))
        if any(isinstance(ev, ViewChanged) for ev in ready.events) and self.replica.is_primary:
            self._post(("kick",))
        return EMPTY

    def _validate(self, v: ValidationRequested) -> Ready:
        if v.seq <= self._store.last_height():
            # Already executed here (catch-up passed it): nothing to vote on, and checking it
            # against our newest block's time would call a valid batch invalid.
            log.debug("not validating seq %d: already executed up to %d", v.seq, self._store.last_height())
            return EMPTY
        now = self._arrival_ms or now_ms()
        behind = self._validator.behind_ms(v.batch.payload, now, self._p.block_time_skew_ms)
        if behind is not None:
            # Found in a 14-minute full-load run: a backup that had fallen behind got pre-prepares
            # 12 s after they were sent, called the primary's batch invalid, left view 0 alone
            # and stayed out for the rest of the run. Lagging is ours to fix, not the primary's.
            self._metrics.incr(PROPOSALS_ABSTAINED)
            log.warning(
                "not voting on seq %d (view %d): its block time is %d ms behind this replica's clock "
                "(skew limit %d ms); this replica is lagging, or the primary's clock is behind",
                v.seq, v.view, behind, self._p.block_time_skew_ms,
            )
            return EMPTY
        # The pre-prepare's frame arrived between the round's earliest frame and now: "behind"
        # is judged against the earliest arrival, "ahead" against the clock now. (Both against
        # the earliest arrival made a proposal look 11 s in the future to a node whose round
        # also held frames queued during an 11 s catch-up: found in a 7-minute full-load run.)
        reason = self._validator.check(
            v.seq, v.batch.payload, self._executor.last_time_ms(), now, self._p.block_time_skew_ms,
            latest_ms=now_ms(),
        )
        if reason is not None:
            log.warning("proposal at seq %d (view %d) is invalid: %s", v.seq, v.view, reason)
        else:
            self._mempool.mark_inflight(self._validator.accepted_tx_ids(v.seq))
        return self.replica.validated(v.view, v.seq, v.batch.digest, reason is None)

    def _execute(self, c: BatchCommitted) -> Ready:
        last = self._store.last_height()
        if c.seq <= last:  # already applied (e.g. by catch-up): just tell the replica
            if c.seq == self.replica.last_executed + 1:
                return self.replica.executed(c.seq, self._executor.executed_block(c.seq).state_digest)
            return EMPTY
        try:
            blk = self._executor.execute(c.seq, c.view, c.view % self.genesis.n, c.batch.payload)
        except ExecutionError as exc:
            log.error("cannot execute committed batch %d: %s", c.seq, exc)
            return EMPTY
        self._after_block(blk)
        self._my_seqs.discard(c.seq)
        return self.replica.executed(c.seq, blk.state_digest)

    def _after_block(self, blk: ExecutedBlock) -> None:
        if blk.height == self._booked + 1:  # else fetched blocks below it await _install_fetched
            self._booked = blk.height
        self._mempool.remove_committed([*blk.tx_ids, *blk.skipped])
        self._holds.committed([*blk.tx_ids, *blk.skipped])
        self._validator.committed(blk.height)
        self._clock.observe(blk.header.time_ms)
        vote = blk.vote()
        self._transport.send_header_signature(vote.to_proto())
        cert = self._collector.add_local(blk)
        if cert is not None:
            self._store.put_certificate(cert.height, cert.encode())
        self._watch.committed(blk.tx_ids)
        self._hub.publish(
            api_pb2.BlockEvent(
                height=blk.height, header=blk.header_bytes, tx_ids=list(blk.tx_ids), results=list(blk.results)
            )
        )
        self.last_commit_ms = monotonic_ms()
        if blk.height % 64 == 0 and blk.height > 128:
            self._collector.forget_below(blk.height - 128)

    # ---- catch-up ------------------------------------------------------------------------

    def _state_transfer(self, st: StateTransferRequested) -> None:
        if self._catch_up is None:
            return
        log.warning("state transfer requested up to %d (from %s)", st.seq, list(st.replicas))
        self._transfer_to = max(self._transfer_to, st.seq)
        self._start_catch_up()

    def _execute_or_hold(self, c: BatchCommitted) -> Ready:
        # Held while the transferred state is not in, and behind batches held before it (the
        # fetch can reach the target between two installs: found in a 7-minute full-load run,
        # where seq 1399 bypassed the held 1393-1398 and could not execute).
        if self._transfer_to > self._store.last_height() or self._held:
            self._held.append(c)
            return EMPTY
        return self._execute(c)

    def _maybe_catch_up(self) -> None:
        """Peers certify blocks well above ours, or a state transfer has not reached its target:
        fetch BESIDE the loop (one fetch at a time, at most one a second). Found in long
        full-load runs: a catch-up awaited inside a round re-executed 237 blocks while the loop
        read no frame, so the node came back further behind than it left (with its queued frames
        seconds old). Beside the loop, the node keeps validating and voting; the fetcher applies
        one block at a time between rounds (a block is applied atomically, and one the loop
        executed meanwhile is only compared), and its end is queued as an item."""
        if self._catch_up is None or self._catching_up is not None:
            return
        behind = self._peer_top() - self._store.last_height() >= self._p.catchup_lag
        if not behind and self._transfer_to <= self._store.last_height():
            return
        # One fetch a second, except while committed batches wait for a state transfer's
        # target: the replica sees no progress then, and its request timer (then 1 s at base) ran out
        # before the next fetch in a pause run (it left the view alone, "executed 390,
        # committed 394"). A fetch that finds nothing new is one short RPC.
        if not self._held and monotonic_ms() - self._last_catchup_ms < 1_000:
            return
        self._start_catch_up()

    def _peer_top(self) -> int:
        """The highest height f+1 peers have named in header votes (by the link they came on,
        so at least one of them is honest and really executed it): one faulty peer naming a
        height far ahead cannot keep this node fetching."""
        tops = sorted(self._peer_tops.values(), reverse=True)
        f = self.replica.config.f
        return tops[f] if len(tops) > f else 0

    def _start_catch_up(self) -> None:
        if self._catching_up is None:
            self._fetch_from = self._store.last_height()
            self._catching_up = asyncio.create_task(self._catch_up_beside(), name="catch-up")

    async def _catch_up_beside(self) -> None:
        try:
            await self._fetch_blocks()
        finally:
            self._catching_up = None
        self._post(("caught_up",))

    def _install_fetched(self) -> Ready:
        """Account for the blocks fetched since the last call, and install what the store holds
        (the loop may have executed some of them meanwhile: accounting twice is harmless)."""
        last = self._store.last_height()
        if last > self._booked:
            self._after_catch_up(self._booked, last)
            self._booked = last
        ready = EMPTY
        if last > self.replica.last_executed:
            ready = self.replica.state_installed(last, self._store.state_digest())
        if self._transfer_to <= last and self._held:
            # Target reached: the held batches go through _process in order (those the store
            # now covers are skipped by _execute).
            held, self._held = self._held, []
            ready = ready.merge(Ready(committed=tuple(held)))
        return ready

    async def _fetch_blocks(self) -> None:
        """Fetch every block peers have certified (applied to the store as they come)."""
        assert self._catch_up is not None
        self._last_catchup_ms = monotonic_ms()
        try:
            await self._catch_up(0)
        except Exception:
            log.exception("catch-up failed")

    def _after_catch_up(self, before: int, height: int) -> None:
        if height <= before:
            return
        self._metrics.incr(CATCHUP_BLOCKS, height - before)
        ids = self._committed_ids(before + 1, height)
        self._mempool.remove_committed(ids)
        self._holds.committed(ids)
        self._validator.committed(height)
        header = self._executor.last_header()
        if header is not None:
            self._clock.observe(header.time_ms)

    def _tx_ids(self, payload: bytes) -> list[bytes]:
        if is_null(payload):
            return []
        with contextlib.suppress(ProposalError):
            return [e.tx_id for e in self._executor.proposals.decode(payload).envelopes]
        return []

    def _committed_ids(self, lo: int, hi: int) -> list[bytes]:
        ids: list[bytes] = []
        for h in range(lo, hi + 1):
            block = self._store.get_block(h)
            if block is not None:
                ids.extend(block.tx_ids)
        self._watch.committed(ids)
        return ids

