"""Planted bugs: test-only switches that weaken the protocol on purpose.

A ``Replica`` built without ``bugs=`` (the production path) has all of them off. The test suite
switches each on and asserts that the property search finds a violation (docs/consensus.md).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlantedBugs:
    weak_commit_quorum: bool = False
    """committed-local with 2f commits instead of 2f+1."""
    vote_before_persist: bool = False
    """own prepare/commit records are only handed out for persistence at the next tick, after the
    vote was already sent (a crash in between makes the restarted replica forget its vote)."""
    unchecked_new_view: bool = False
    """view-change certificates are not verified and a new-view's O is not recomputed."""
    premature_gc: bool = False
    """the log is garbage-collected at the replica's own checkpoint, before it is stable."""

    @property
    def any(self) -> bool:
        return (
            self.weak_commit_quorum
            or self.vote_before_persist
            or self.unchecked_new_view
            or self.premature_gc
        )


NO_BUGS = PlantedBugs()
