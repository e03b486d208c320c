"""Quorum math, checked against brute force (differential, as etcd-io/raft does)."""

from __future__ import annotations

from itertools import combinations

import pytest

from baaskit.consensus import ClusterConfig, Quorums


def brute_force_strong(n: int, f: int) -> int:
    """Smallest q such that ANY two q-subsets of n replicas share at least f+1 replicas."""
    replicas = range(n)
    for q in range(1, n + 1):
        sets = [set(c) for c in combinations(replicas, q)]
        if all(len(a & b) >= f + 1 for a in sets for b in sets):
            return q
    return n + 1


def brute_force_weak(n: int, f: int) -> int:
    """Smallest q such that every q-subset contains an honest replica, whichever f are faulty."""
    for q in range(1, n + 1):
        if all(
            any(r not in faulty for r in chosen)
            for faulty in combinations(range(n), f)
            for chosen in combinations(range(n), q)
        ):
            return q
    return n + 1


@pytest.mark.parametrize("n", range(1, 12))
def test_quorums_match_brute_force(n: int) -> None:
    q = Quorums(n)
    f = ClusterConfig(n, "c").f
    assert q.f == f == (n - 1) // 3
    assert q.strong == brute_force_strong(n, f)
    assert q.weak == brute_force_weak(n, f)
    # liveness: the honest replicas alone can always form every quorum
    assert q.strong <= n - f
    assert q.prepared == q.strong - 1
    assert q.committed_local == q.view_change == q.checkpoint == q.strong


@pytest.mark.parametrize("f", range(0, 5))
def test_classic_sizes_for_3f_plus_1(f: int) -> None:
    q = Quorums(3 * f + 1)
    assert (q.prepared, q.committed_local, q.weak) == (2 * f, 2 * f + 1, f + 1)
