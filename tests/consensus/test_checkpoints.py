"""A backup a few seqs short of a checkpoint that 2f+1 others already proved commits those seqs
itself instead of asking for a state transfer; one that cannot still gets the state.

Same rounds and filters as test_request_timer.py (checkpoint interval 16), with a request timeout
long enough that backup 3 does not suspect the primary while it waits."""

from __future__ import annotations

from baaskit.consensus import Checkpoint, decode_message
from tests.consensus.test_request_timer import (
    Envelope,
    make_cluster,
    replica,
    round_,
    seq_of,
    settle,
)
from tests.harness.cluster import Cluster

TIMEOUT = 12  # request_timeout_ticks: also how long a proved checkpoint waits for the seqs


def at_checkpoint_boundary(c: Cluster) -> int:
    """Run rounds until the primary's next proposal is a checkpoint seq; return that seq."""
    interval = replica(c, 0).config.checkpoint_interval
    c.submit()
    settle(c, [0, 1, 2, 3])
    while replica(c, 0).next_sequence % interval:
        round_(c)
        settle(c, [0, 1, 2, 3])
    return replica(c, 0).next_sequence


def test_a_backup_one_seq_short_of_a_proved_checkpoint_commits_it_without_a_state_transfer() -> None:
    c = make_cluster(request_timeout=TIMEOUT)
    k = at_checkpoint_boundary(c)

    def late(e: Envelope) -> bool:  # backup 3 gets seq k's messages only after the checkpoint
        return e.dst == 3 and seq_of(e.data) == k

    rounds = 0
    while len([r for r in (0, 1, 2) if replica(c, r).stable_checkpoint >= k]) < 3:
        round_(c, hold=late, submit=rounds == 0)
        rounds += 1
        assert rounds < 20
    # 0-2 executed k and sent their checkpoints; backup 3 holds 2f+1 matching votes for k while
    # it has not committed k: before, it stabilized k at once and asked for the state.
    r3 = replica(c, 3)
    assert r3.last_committed == k - 1 and r3.stable_checkpoint < k
    while c.inflight:  # the held messages arrive (before the next tick): backup 3 commits k
        c.deliver(0)
    c.pump()
    assert r3.last_committed >= k and r3.stable_checkpoint >= k
    settle(c, [0, 1, 2, 3])
    assert [t for t in c.transfers if t[0] == 3] == []
    assert c.nodes[3].app.executed == c.nodes[0].app.executed


def test_a_backup_that_never_gets_the_seq_still_gets_the_state() -> None:
    c = make_cluster(request_timeout=TIMEOUT)
    k = at_checkpoint_boundary(c)

    def lost(e: Envelope) -> bool:  # seq k never reaches backup 3 (nor its checkpoint: only votes)
        return e.dst == 3 and seq_of(e.data) == k and not isinstance(decode_message(e.data), Checkpoint)

    c.submit()
    rounds = 0
    while not any(t[0] == 3 and t[1] >= k for t in c.transfers):  # it waits, then fetches
        round_(c, drop=lost, submit=False)
        rounds += 1
        assert rounds <= 2 * TIMEOUT, "backup 3 never asked for the state"
    assert rounds > TIMEOUT // 2  # ... after waiting for the seq first
    settle(c, [0, 1, 2, 3])
    assert replica(c, 3).stable_checkpoint >= k
    assert c.nodes[3].app.executed == c.nodes[0].app.executed
