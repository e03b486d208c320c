"""The local API contract: disallowed calls are rejected and leave state unchanged; remote garbage
is evidence, never an exception; a restored replica never contradicts what it sent."""

from __future__ import annotations

import pytest

from baaskit.consensus import (
    Batch,
    BatchCarriedOver,
    ClusterConfig,
    MisbehaviourDetected,
    NewView,
    Outbound,
    Prepare,
    PreparedCertificate,
    PrePrepare,
    Ready,
    Record,
    RecordKind,
    Replica,
    Status,
    ViewChange,
    decode_message,
    encode_message,
    encode_wire,
)
from baaskit.consensus.replica import VIEW_CHANGE_RESEND_PERIODS
from baaskit.consensus.signing import seal
from tests.harness.keys import FakeSigner, FakeVerifier

CFG = ClusterConfig(4, "api", checkpoint_interval=2, watermark_window=4)


def make(r: int) -> Replica:
    return Replica(CFG, r, FakeSigner(r), FakeVerifier(4))


def snapshot(rep: Replica) -> tuple[object, ...]:
    return (
        rep.view,
        rep.in_view_change,
        rep.last_committed,
        rep.last_executed,
        rep.low_watermark,
        rep.next_sequence,
        dict(rep.evidence_counts),
    )


def pre_prepare(seq: int, payload: bytes, view: int = 0) -> bytes:
    b = Batch(payload)
    return seal(PrePrepare(view, seq, b.digest, payload, view % 4), FakeSigner(view % 4), "api")[1]


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        ClusterConfig(4, "c", checkpoint_interval=3, watermark_window=4)
    with pytest.raises(ValueError):
        ClusterConfig(0, "c")
    assert ClusterConfig(7, "c").f == 2
    assert ClusterConfig(4, "c").primary(5) == 1


def test_propose_on_a_backup_is_rejected_and_changes_nothing() -> None:
    backup = make(1)
    before = snapshot(backup)
    ready = backup.propose(Batch(b"x"))
    assert ready.rejected is not None and "primary" in ready.rejected
    assert ready.persist == () and ready.messages == ()
    assert snapshot(backup) == before


def test_stale_answers_from_the_node_are_rejected() -> None:
    rep = make(1)
    before = snapshot(rep)
    assert rep.validated(0, 1, b"\x00" * 32, True).rejected is not None
    assert rep.executed(1, b"d").rejected is not None  # nothing committed yet
    assert rep.state_installed(0, b"d").rejected is not None
    assert snapshot(rep) == before


@pytest.mark.parametrize("garbage", [b"", b"\x00", b"\x01\x09junk", b"\xff" * 50])
def test_malformed_bytes_are_evidence_not_exceptions(garbage: bytes) -> None:
    rep = make(1)
    ready = rep.receive(garbage, 2)
    assert [type(e) for e in ready.events] == [MisbehaviourDetected]
    assert rep.evidence_counts == {2: 1}
    assert not ready.messages and not ready.persist


def test_backup_prepares_only_after_validation() -> None:
    rep = make(1)
    ready = rep.receive(pre_prepare(1, b"tx"), 0)
    assert [(v.view, v.seq) for v in ready.validate] == [(0, 1)]
    assert not ready.messages  # no prepare before the node said the batch is valid
    ready = rep.validated(0, 1, Batch(b"tx").digest, True)
    kinds = [type(decode_message(m.data)).__name__ for m in ready.messages]
    assert kinds == ["Prepare"]
    assert ready.persist  # ... and the vote is to be persisted before it is sent


def test_invalid_batch_starts_a_view_change() -> None:
    rep = make(1)
    rep.receive(pre_prepare(1, b"bad"), 0)
    ready = rep.validated(0, 1, Batch(b"bad").digest, False)
    assert rep.in_view_change and rep.view == 1
    assert rep.evidence_counts == {0: 1}
    assert any(type(decode_message(m.data)).__name__ == "ViewChange" for m in ready.messages)


def test_restored_replica_does_not_vote_for_a_conflicting_batch() -> None:
    rep = make(1)
    records: list[Record] = []
    records += rep.receive(pre_prepare(1, b"first"), 0).persist
    records += rep.validated(0, 1, Batch(b"first").digest, True).persist
    restored = Replica.restore(CFG, 1, FakeSigner(1), FakeVerifier(4), records, 0, b"")
    assert restored.view == 0
    ready = restored.receive(pre_prepare(1, b"second"), 0)  # the primary equivocates
    sent = [type(decode_message(m.data)).__name__ for m in ready.messages]
    assert "Prepare" not in sent and not ready.validate
    assert restored.evidence_counts == {0: 1}


def status(peer: int, last_committed: int) -> bytes:
    return seal(Status(0, False, last_committed, 0, False, peer), FakeSigner(peer), "api")[1]


def resent_pre_prepares(ready: Ready) -> list[int]:
    return [msg.seq for m in ready.messages if isinstance(msg := decode_message(m.data), PrePrepare)]


def ticks(rep: Replica, n: int) -> None:
    for _ in range(n):
        rep.tick()


def test_batches_in_flight_are_resent_only_to_a_peer_that_stopped_committing() -> None:
    """A peer whose Status moved since its last one is committing: what it lacks is on its way.
    A peer whose Status stands still may have lost a message, and gets the batches again."""
    primary = make(0)
    primary.propose(Batch(b"one"))
    assert resent_pre_prepares(primary.receive(status(1, 0), 1)) == [1]  # first word from it
    ticks(primary, CFG.status_interval_ticks)
    assert resent_pre_prepares(primary.receive(status(1, 0), 1)) == [1]  # stuck at 0
    primary.receive(status(2, 0), 2)
    primary.propose(Batch(b"two"))
    assert resent_pre_prepares(primary.receive(status(2, 1), 2)) == []  # moved: 0 -> 1
    assert resent_pre_prepares(primary.receive(status(2, 1), 2)) == [2]  # stuck at 1
    ticks(primary, 2 * CFG.status_interval_ticks)
    assert resent_pre_prepares(primary.receive(status(1, 0), 1)) == [1, 2]  # still stuck at 0


def test_a_peer_that_stays_behind_gets_batches_again_only_after_doubling_waits() -> None:
    """A peer on a slow link shows no progress while what it lacks is on its way. Batches
    re-sent at every Status multiplied the bytes on such a link until nothing arrived in time
    (peer links of a 4-node cluster shaped to 80 Mbit/s, full load: the cluster stopped
    committing). So: at once, then after 1, 2, 4 ... Status periods while it stays behind, and
    at once again after it has caught up. Fails on the rule without waits (every Status)."""
    period = CFG.status_interval_ticks
    primary = make(0)
    primary.propose(Batch(b"one"))
    resent_at = []
    for tick in range(8 * period + 1):
        if tick % period == 0 and resent_pre_prepares(primary.receive(status(1, 0), 1)):
            resent_at.append(tick // period)
        primary.tick()
    assert resent_at == [0, 1, 3, 7]  # waits of 1, 2, 4 periods
    primary.receive(status(1, 1), 1)  # it caught up with the primary (its seq 1 committed)...
    primary.propose(Batch(b"two"))
    assert resent_pre_prepares(primary.receive(status(1, 1), 1)) == [2]  # ...and then lost seq 2


def test_statuses_of_an_idle_peer_do_not_use_up_the_waits() -> None:
    """The waits count re-sends, not Statuses: an idle cluster's peers stand still at every
    Status with nothing to re-send, and a batch one of them then lacks goes to it at once, not
    up to 16 Status periods later."""
    period = CFG.status_interval_ticks
    primary = make(0)
    for _ in range(8):
        assert resent_pre_prepares(primary.receive(status(1, 0), 1)) == []  # nothing in flight
        ticks(primary, period)
    primary.propose(Batch(b"one"))
    assert resent_pre_prepares(primary.receive(status(1, 0), 1)) == [1]


def test_a_replica_in_a_view_change_broadcasts_it_again_only_after_doubling_waits() -> None:
    """At full load a view-change holds MBs (the prepared batches). Broadcast again at every
    Status period, it filled slow links: on 40 Mbit/s peer links one replica that had left the
    view alone sent its 7 MB view-change five times in 20 s, and on 80 Mbit/s links waits from
    one period still sent it 5 times in 4 s. Now: again VIEW_CHANGE_RESEND_PERIODS after the
    first broadcast, then at doubling waits (capped). Fails on every-period re-sends, and on
    waits that start at one period."""
    period = CFG.status_interval_ticks
    rep = make(1)
    rep.receive(pre_prepare(1, b"bad"), 0)
    rep.validated(0, 1, Batch(b"bad").digest, False)  # leaves view 0 alone: a lone view change
    assert rep.in_view_change and rep.view == 1
    sent_at = []
    for tick in range(1, 60 * period + 1):
        if any(isinstance(decode_message(m.data), ViewChange) for m in rep.tick().messages):
            sent_at.append(tick / period)
    assert VIEW_CHANGE_RESEND_PERIODS == 4
    assert sent_at == [4, 12, 28, 44, 60]  # then waits of 8, 16 and 16 (the cap) periods


class CountingVerifier(FakeVerifier):
    def __init__(self, n: int) -> None:
        super().__init__(n)
        self.calls = 0

    def verify(self, replica: int, data: bytes, signature: bytes) -> bool:
        self.calls += 1
        return super().verify(replica, data, signature)


def test_a_new_view_is_not_verified_again_nor_are_the_view_changes_already_verified() -> None:
    """Verify once: the view-changes in a new-view that arrived on their own (or are our own) are
    not checked again, and a copy of a new-view already installed is dropped unverified."""
    verifier = CountingVerifier(4)
    backup = Replica(CFG, 2, FakeSigner(2), verifier)
    vcs = [seal(ViewChange(1, 0, b"", (), (), r), FakeSigner(r), "api") for r in (1, 2, 3)]
    for r in (1, 3):
        backup.receive(vcs[r - 1][1], r)  # f+1 left view 0: the backup joins with its own
    assert backup.in_view_change and backup.view == 1
    new_view = seal(NewView(1, tuple(vc for vc, _ in vcs), (), 1), FakeSigner(1), "api")[1]
    before = verifier.calls
    backup.receive(new_view, 1)
    assert (backup.view, backup.in_view_change) == (1, False)
    assert verifier.calls - before == 1  # the new-view's own signature only
    backup.receive(new_view, 1)  # a copy that crossed our Status
    assert verifier.calls - before == 1 and backup.evidence_counts == {}


def new_views_sent(ready: Ready) -> list[int | None]:
    return [m.to for m in ready.messages if isinstance(decode_message(m.data), NewView)]


def test_the_new_view_is_resent_to_a_peer_that_asks_only_after_doubling_waits() -> None:
    """The new primary broadcasts its new-view; a Status or a view-change from a peer that
    crossed it asks for it again. At full load it is MBs, so a copy goes to a peer one Status
    period after the broadcast at the earliest, then after 2, 4 ... periods while it keeps
    asking (a copy on its way on a slow link is not sent again at every Status)."""
    primary = make(1)
    vcs = [seal(ViewChange(1, 0, b"", (), (), r), FakeSigner(r), "api")[1] for r in (2, 3)]
    primary.receive(vcs[0], 2)
    ready = primary.receive(vcs[1], 3)  # f+1 left: it joins, and with 2f+1 it installs view 1
    assert (primary.view, primary.in_view_change) == (1, False)
    assert new_views_sent(ready) == [None]  # the broadcast
    in_view_change = seal(Status(1, True, 0, 0, False, 2), FakeSigner(2), "api")[1]
    assert new_views_sent(primary.receive(in_view_change, 2)) == []
    assert new_views_sent(primary.receive(vcs[0], 2)) == []  # its view-change, late
    ticks(primary, CFG.status_interval_ticks - 1)
    assert new_views_sent(primary.receive(in_view_change, 2)) == []
    primary.tick()
    assert new_views_sent(primary.receive(in_view_change, 2)) == [2]
    assert new_views_sent(primary.receive(vcs[1], 3)) == [3]
    assert new_views_sent(primary.receive(vcs[0], 2)) == []
    ticks(primary, CFG.status_interval_ticks)
    assert new_views_sent(primary.receive(in_view_change, 2)) == []  # 2 periods now
    ticks(primary, CFG.status_interval_ticks)
    assert new_views_sent(primary.receive(in_view_change, 2)) == [2]


BATCH = Batch(b"a prepared batch " * 100)


def new_view_over_a_prepared_batch() -> tuple[Batch, dict[int, bytes], list[Record], bytes]:
    """Replicas 2 and 3 prepared BATCH at seq 1 in view 0 and left it; replica 1 installs view 1.
    Returns the batch, the view-changes of 1, 2 and 3, the new primary's records and the new-view
    it sent."""
    pp = seal(PrePrepare(0, 1, BATCH.digest, BATCH.payload, 0), FakeSigner(0), "api")[0]
    prepares = tuple(seal(Prepare(0, 1, BATCH.digest, r), FakeSigner(r), "api")[0] for r in (2, 3))
    cert = PreparedCertificate(pp, prepares)
    vcs = {r: seal(ViewChange(1, 0, b"", (), (cert,), r), FakeSigner(r), "api")[1] for r in (1, 2, 3)}
    primary = make(1)
    records = list(primary.receive(vcs[2], 2).persist)
    ready = primary.receive(vcs[3], 3)  # with its own, 2f+1: it installs view 1
    records += ready.persist
    [sent] = [m.data for m in ready.messages if isinstance(decode_message(m.data), NewView)]
    return BATCH, vcs, records, sent


def backup_in_view_change(vcs: dict[int, bytes]) -> Replica:
    backup = make(2)
    backup.receive(vcs[1], 1)
    backup.receive(vcs[3], 3)  # f+1 left view 0: it joins
    assert backup.in_view_change
    return backup


def test_the_new_view_is_sent_and_persisted_packed_and_either_form_installs() -> None:
    """The new primary sends and persists its new-view in the packed wire form (each prepared
    batch once, not once per view-change and again in O). A backup installs it, and also one in
    the full form (as a node of an earlier version sends); a replica restores from either."""
    batch, vcs, records, sent = new_view_over_a_prepared_batch()
    new_view = decode_message(sent)
    assert isinstance(new_view, NewView)
    assert [pp.seq for pp in new_view.pre_prepares] == [1]  # O re-proposes the prepared batch
    assert sent == encode_wire(new_view)
    full = encode_message(new_view)
    assert full.count(batch.payload) == 3  # in the view-changes of 2 and 3, and in O
    assert sent.count(batch.payload) == 1
    assert [rec.data for rec in records if rec.kind is RecordKind.NEW_VIEW] == [sent]

    for form in (sent, full):
        backup = backup_in_view_change(vcs)
        ready = backup.receive(form, 1)
        assert (backup.view, backup.in_view_change) == (1, False)
        assert backup.evidence_counts == {}
        carried = [(ev.seq, ev.batch.payload) for ev in ready.events if isinstance(ev, BatchCarriedOver)]
        assert carried == [(1, batch.payload)]  # O's batch, from a prepared certificate

    legacy = [Record(rec.kind, rec.seq, rec.view, full) if rec.kind is RecordKind.NEW_VIEW else rec for rec in records]
    for persisted in (records, legacy):
        restored = Replica.restore(CFG, 1, FakeSigner(1), FakeVerifier(4), persisted, 0, b"")
        assert (restored.view, restored.in_view_change, restored.is_primary) == (1, False, True)


def test_a_packed_new_view_whose_batch_was_swapped_fails_its_signature() -> None:
    """The packed bytes are not what was signed: the new-view is checked over its full form,
    rebuilt from the table, so a payload changed in the table is a bad signature (evidence),
    and the backup stays in its view change."""
    batch, vcs, _, sent = new_view_over_a_prepared_batch()
    forged = b"a forged batch!! " * 100
    assert len(forged) == len(batch.payload)
    tampered = sent.replace(batch.payload, forged)
    assert tampered != sent
    backup = backup_in_view_change(vcs)
    before = snapshot(backup)
    ready = backup.receive(tampered, 1)
    assert snapshot(backup)[:2] == before[:2] == (1, True)
    assert backup.evidence_counts == {1: 1}
    assert [ev.kind for ev in ready.events if isinstance(ev, MisbehaviourDetected)] == ["bad-signature"]
    backup.receive(sent, 1)  # the real one still installs
    assert (backup.view, backup.in_view_change) == (1, False)


def test_ready_merge_keeps_order_and_the_highest_forget_below() -> None:
    a = Ready(messages=(Outbound(None, b"a"),), forget_below=2)
    b = Ready(messages=(Outbound(1, b"b"),), forget_below=4, rejected="no")
    m = a.merge(b)
    assert [o.data for o in m.messages] == [b"a", b"b"]
    assert m.forget_below == 4 and m.rejected == "no"
    assert Ready().empty and not m.empty
