"""Every quorum size, named in one place.

For the classic n = 3f+1 these are: prepared = 2f prepares matching a pre-prepare,
committed-local = 2f+1 commits, view-change / checkpoint = 2f+1, weak = f+1 ("at least one honest").
For other n the byzantine quorum is ceil((n+f+1)/2): the smallest size whose any two instances
intersect in at least f+1 replicas (one honest), which is what safety needs. It equals 2f+1 when
n = 3f+1 and never exceeds n-f, so it is always reachable by the honest replicas alone.
The differential test in tests/consensus/test_quorum.py checks this against brute force.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .types import ReplicaId


def max_faulty(n: int) -> int:
    return (n - 1) // 3


@dataclass(frozen=True)
class Quorums:
    n: int

    @property
    def f(self) -> int:
        return max_faulty(self.n)

    @property
    def strong(self) -> int:
        """Byzantine quorum: any two intersect in >= f+1 replicas. 2f+1 when n = 3f+1."""
        return (self.n + self.f + 2) // 2

    @property
    def weak(self) -> int:
        """f+1: contains at least one honest replica."""
        return self.f + 1

    @property
    def prepared(self) -> int:
        """Matching prepares from distinct backups (with the pre-prepare): 2f when n = 3f+1."""
        return self.strong - 1

    @property
    def committed_local(self) -> int:
        """Matching commits from distinct replicas: 2f+1 when n = 3f+1."""
        return self.strong

    @property
    def view_change(self) -> int:
        return self.strong

    @property
    def checkpoint(self) -> int:
        return self.strong


def count_distinct(voters: Iterable[ReplicaId]) -> int:
    return len(set(voters))


def reached(voters: Iterable[ReplicaId], size: int) -> bool:
    return count_distinct(voters) >= size
