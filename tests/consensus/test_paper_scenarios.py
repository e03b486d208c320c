"""Named scenarios from Castro & Liskov (OSDI '99 / TOCS 2002), driven step by step."""

from __future__ import annotations

from baaskit.consensus import Batch, ClusterConfig, Replica
from baaskit.consensus.codec import KIND_PRE_PREPARE, KIND_PREPARE
from tests.harness.app import make_batch
from tests.harness.cluster import Cluster
from tests.harness.keys import FakeSigner, FakeVerifier
from tests.harness.schedule import converge


def make_cluster(n: int = 4, k: int = 2, window: int = 4, status_interval: int = 2) -> Cluster:
    return Cluster(
        ClusterConfig(
            n,
            "paper",
            checkpoint_interval=k,
            watermark_window=window,
            view_change_timeout_ticks=4,
            request_timeout_ticks=4,
            status_interval_ticks=status_interval,
            max_timeout_doublings=2,
        )
    )


def flow(c: Cluster, until: object, rounds: int = 300) -> None:
    """Deliver everything in flight (FIFO), tick everyone, let primaries propose; repeat."""
    for _ in range(rounds):
        if until():  # type: ignore[operator]
            return
        batch, c.inflight = c.inflight, []
        for env in batch:
            c.inflight.append(env)
            c.deliver(len(c.inflight) - 1)
        c.tick()
        c.pump()
    raise AssertionError("condition not reached")


def executed_everywhere(c: Cluster, rids: list[int]) -> bool:
    return all(set(c.submitted) <= c.nodes[r].app.executed_set for r in rids)


def replica(c: Cluster, r: int) -> Replica:
    rep = c.nodes[r].replica
    assert rep is not None
    return rep


def test_primary_crashes_after_sending_a_pre_prepare_to_one_backup() -> None:
    c = make_cluster()
    c.submit()
    c.pump()  # primary 0 pre-prepares seq 1 to everyone
    keep = [e for e in c.inflight if e.src == 0 and e.dst == 1 and e.data[1] == KIND_PRE_PREPARE]
    assert len(keep) == 1
    c.inflight = keep
    c.crash(0)
    c.deliver(0)  # only backup 1 has the pre-prepare (and it validates and prepares)
    flow(c, lambda: executed_everywhere(c, [1, 2, 3]))
    assert all(replica(c, r).view >= 1 for r in (1, 2, 3))  # the backups replaced the primary
    assert c.decided[1] == make_batch([1]).digest
    c.restart(0)
    flow(c, lambda: executed_everywhere(c, [0, 1, 2, 3]))
    assert c.nodes[0].app.executed == [1]  # once, at the recovered replica too


def test_view_change_where_only_one_replica_holds_a_prepared_certificate() -> None:
    # Status gossip slower than the request timeout: otherwise its retransmissions deliver the
    # lost prepares, and seq 1 commits in view 0 before the backups agree to leave it.
    c = make_cluster(status_interval=8)
    c.submit()
    c.pump()
    while c.inflight:  # deliver the pre-prepares; backups validate and broadcast prepares
        if c.inflight[0].data[1] == KIND_PRE_PREPARE:
            c.deliver(0)
        else:
            c.inflight.append(c.inflight.pop(0))
        if all(e.data[1] != KIND_PRE_PREPARE for e in c.inflight):
            break
    # prepares reach replica 2 only; everything else is lost
    c.inflight = [e for e in c.inflight if e.data[1] == KIND_PREPARE and e.dst == 2]
    while c.inflight:
        c.deliver(0)
    c.inflight.clear()
    certs = {r: replica(c, r)._log.certs for r in range(4)}  # test-only peek at the log
    assert [r for r in range(4) if 1 in certs[r]] == [2]
    c.crash(0)  # the view-change quorum is then {1, 2, 3}: the certificate must survive in it
    flow(c, lambda: executed_everywhere(c, [1, 2, 3]))
    assert replica(c, 1).view >= 1
    assert c.decided[1] == make_batch([1]).digest  # the prepared batch kept its seq
    assert c.decided_view[1] >= 1  # ... and was committed in the new view


def test_checkpoint_garbage_collection_and_watermarks() -> None:
    c = make_cluster(k=2, window=4)
    for _ in range(10):
        c.submit()
    flow(c, lambda: executed_everywhere(c, [0, 1, 2, 3]) and replica(c, 3).stable_checkpoint >= 4)
    for node in c.nodes:
        rep = replica(c, node.rid)
        assert rep.stable_checkpoint % 2 == 0 and rep.stable_checkpoint >= 4
        assert rep.low_watermark == rep.stable_checkpoint
        stale = [r for r in node.store.values() if r.sequence_bound and r.seq <= rep.low_watermark]
        assert stale == []  # the log below the stable checkpoint is gone from storage
        assert all(s > rep.low_watermark for s in rep._log.slots)  # and from memory


def test_watermark_window_rejects_proposals_beyond_it_and_leaves_state_unchanged() -> None:
    cfg = ClusterConfig(4, "paper", checkpoint_interval=2, watermark_window=4)
    primary = Replica(cfg, 0, FakeSigner(0), FakeVerifier(4))
    for i in range(4):
        assert primary.propose(Batch(bytes([i]))).rejected is None
    before = primary.next_sequence
    ready = primary.propose(Batch(b"late"))
    assert ready.rejected == "watermark window full"
    assert not ready.persist and not ready.messages
    assert primary.next_sequence == before


def test_lagging_replica_catches_up_by_state_transfer() -> None:
    c = make_cluster(k=2, window=4)
    c.partition({0: 0, 1: 0, 2: 0, 3: 1})
    for _ in range(14):
        c.submit()
    flow(c, lambda: executed_everywhere(c, [0, 1, 2]) and replica(c, 0).stable_checkpoint >= 6)
    assert c.nodes[3].app.last_executed == 0
    c.partition(None)
    flow(c, lambda: executed_everywhere(c, [0, 1, 2, 3]))
    transfers = [t for t in c.transfers if t[0] == 3]
    assert transfers, "replica 3 should have fetched a stable checkpoint's state"
    lagging, leader = c.nodes[3].app, c.nodes[0].app
    assert lagging.history[lagging.last_executed][0] == leader.history[lagging.last_executed][0]
    assert lagging.executed == leader.executed[: len(lagging.executed)]


def test_crashed_replicas_recover_from_their_records_only() -> None:
    c = make_cluster()
    for _ in range(6):
        c.submit()
    c.pump()
    for r in (1, 2):
        c.crash(r)
        c.restart(r)
    converge(c)
    assert all(node.app.executed == c.nodes[0].app.executed for node in c.nodes)


def _ticks_until_suspected(c: Cluster, backups: list[int]) -> int:
    """Rounds (deliver all in flight, tick everyone) until every given backup left its view."""
    for n in range(1, 300):
        batch, c.inflight = c.inflight, []
        for env in batch:
            c.inflight.append(env)
            c.deliver(len(c.inflight) - 1)
        c.tick()
        c.pump()
        if all(replica(c, r).in_view_change for r in backups):
            return n
    raise AssertionError("the backups never suspected the primary")


def test_the_request_timer_grows_after_each_suspicion_and_resets_after_steady_progress() -> None:
    # Timeouts only decide when a backup suspects the primary (liveness), never what commits.
    c = make_cluster()
    c.submit()
    flow(c, lambda: executed_everywhere(c, [0, 1, 2, 3]))
    c.crash(0)
    c.submit()
    first = _ticks_until_suspected(c, [2, 3])
    flow(c, lambda: all(replica(c, r).view == 1 and not replica(c, r).in_view_change for r in (1, 2, 3)))
    flow(c, lambda: executed_everywhere(c, [1, 2, 3]))
    c.restart(0)
    flow(c, lambda: executed_everywhere(c, [0, 1, 2, 3]))
    c.crash(1)  # the next primary fails before the view made steady progress
    c.submit()
    second = _ticks_until_suspected(c, [2, 3])
    assert second >= first + 3  # the limit doubled (request_timeout_ticks=4 -> 8)
    flow(c, lambda: all(replica(c, r).view >= 2 and not replica(c, r).in_view_change for r in (2, 3)))
    c.restart(1)
    for _ in range(12):  # steady progress in one view: more than STEADY_COMMITS x K commits
        c.submit()
        flow(c, lambda: executed_everywhere(c, [0, 1, 2, 3]))
    primary = replica(c, 2).primary
    backups = [r for r in range(4) if r != primary][:2]
    c.crash(primary)
    c.submit()
    third = _ticks_until_suspected(c, backups)
    assert third < second  # back to the base limit
