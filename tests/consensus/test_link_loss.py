"""Lost link to the primary: a backup told its link to the primary dropped suspects it after
LINK_LOSS_TICKS without progress instead of the request timeout; evidence of progress still
resets the wait, a short blip changes nothing, and nothing happens without work held.

Same round-driven harness as test_request_timer.py, with a request timeout (20 ticks) well above
LINK_LOSS_TICKS so the two bounds are told apart."""

from __future__ import annotations

from baaskit.consensus.replica import LINK_LOSS_TICKS
from tests.consensus.test_request_timer import make_cluster as make_timer_cluster
from tests.consensus.test_request_timer import replica, round_, settle
from tests.harness.cluster import Cluster

TIMEOUT = 20


def make_cluster() -> Cluster:
    c = make_timer_cluster(request_timeout=TIMEOUT)
    c.submit()
    settle(c, [0, 1, 2, 3])
    return c


def report(c: Cluster, backups: tuple[int, ...], peer: int, up: bool) -> None:
    for r in backups:
        c.call(r, replica(c, r).peer_link(peer, up))
    c.pump()


def left_view_0(c: Cluster, backups: tuple[int, ...]) -> bool:
    return all(replica(c, r).in_view_change or replica(c, r).view >= 1 for r in backups)


def test_a_crashed_primary_whose_links_dropped_is_suspected_after_link_loss_ticks() -> None:
    assert LINK_LOSS_TICKS < TIMEOUT
    c = make_cluster()
    c.crash(0)
    report(c, (1, 2, 3), 0, up=False)
    rounds = 0
    while not left_view_0(c, (1, 2, 3)):
        round_(c)
        rounds += 1
        # +2, not TIMEOUT: a round for the tick that counts past the limit, and one for the
        # suspecting Statuses to reach the others (each leaves once f+1 suspect the primary)
        assert rounds <= LINK_LOSS_TICKS + 2
    settle(c, [1, 2, 3])
    assert all(replica(c, r).view >= 1 and not replica(c, r).in_view_change for r in (1, 2, 3))


def test_without_the_report_the_same_crash_waits_for_the_request_timeout() -> None:
    c = make_cluster()
    c.crash(0)
    for _ in range(TIMEOUT - 1):
        round_(c)
    assert not any(replica(c, r).in_view_change for r in (1, 2, 3))
    for _ in range(3):
        round_(c)
    assert left_view_0(c, (1, 2, 3))


def test_a_blip_shorter_than_link_loss_ticks_changes_nothing() -> None:
    c = make_cluster()
    for _ in range(3):
        report(c, (1,), 0, up=False)
        for _ in range(LINK_LOSS_TICKS - 2):
            round_(c)
        report(c, (1,), 0, up=True)
        round_(c)
    settle(c, [0, 1, 2, 3])
    assert all((replica(c, r).view, replica(c, r).in_view_change) == (0, False) for r in range(4))


def test_progress_still_counts_while_the_link_is_reported_down() -> None:
    """The report is a hint, not a verdict: a backup that keeps seeing its view commit (the
    messages reach it some other way, or the report is stale) does not leave the view."""
    c = make_cluster()
    report(c, (1,), 0, up=False)
    for _ in range(4 * LINK_LOSS_TICKS):
        round_(c)  # a request per round: the primary keeps committing
    assert (replica(c, 1).view, replica(c, 1).in_view_change) == (0, False)
    assert replica(c, 1).last_committed == replica(c, 0).last_committed


def test_no_work_held_means_no_suspicion() -> None:
    c = make_cluster()
    c.crash(0)
    report(c, (1, 2, 3), 0, up=False)
    for _ in range(2 * TIMEOUT):
        round_(c, submit=False)
    assert all((replica(c, r).view, replica(c, r).in_view_change) == (0, False) for r in (1, 2, 3))


def test_peer_link_rejects_itself_and_unknown_peers_without_a_change() -> None:
    c = make_cluster()
    r1 = replica(c, 1)
    for peer in (1, -1, 4):
        ready = r1.peer_link(peer, up=False)
        assert ready.rejected is not None and "peer_link" in ready.rejected
    c.crash(0)
    for _ in range(LINK_LOSS_TICKS + 1):
        round_(c)
    assert not r1.in_view_change  # nothing was marked unreachable by the rejected calls


def test_a_backup_that_lost_every_link_waits_for_the_request_timeout() -> None:
    """All links dropped at once: the likelier cause is the backup itself (paused, starved,
    cut off), so the link report does not shorten its wait; the request timer still applies."""
    c = make_cluster()
    c.crash(0)
    for peer in (0, 2, 3):
        report(c, (1,), peer, up=False)
    report(c, (2, 3), 0, up=False)
    rounds = 0
    while not left_view_0(c, (2, 3)):
        round_(c)
        rounds += 1
        assert rounds <= LINK_LOSS_TICKS + 2  # +1: the suspecting Statuses' hop
    assert not replica(c, 1).in_view_change and replica(c, 1).view == 0  # 1 still waits
    settle(c, [1, 2, 3])
    assert all(replica(c, r).view >= 1 and not replica(c, r).in_view_change for r in (1, 2, 3))
