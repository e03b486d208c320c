"""Who else suspects the primary of this replica's view (docs/consensus.md, "Suspicion before
leaving").

A backup whose request timer runs out does not leave its view alone. It says so in its Status
(``suspects``), keeps voting in the view, and leaves once f+1 replicas, itself included, suspect
the primary. Alone, a replica kept waiting by stalled peers (found under full load: two backups
held ~1.2 s in a synced write) would leave for a view nobody else joins, and never come back.
A faulty primary is still replaced: every honest backup holding work suspects it.

This is soft state. A peer's suspicion counts while its latest Status of the view says so, and
for ``ttl_ticks`` after that Status arrived; a suspecting replica repeats its Status every status
period, and withdraws the suspicion with its next Status once it sees progress.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .types import ReplicaId

# A suspicion stays fresh this many status periods after its Status arrived: one period between
# repeats, plus room for a Status that arrives late behind a busy event loop.
TTL_STATUS_PERIODS = 3


@dataclass
class Suspicions:
    """Peers that suspect the primary of the current view, with the tick their Status came."""

    ttl_ticks: int
    _since: dict[ReplicaId, int] = field(default_factory=dict)

    def heard(self, replica: ReplicaId, suspects: bool, now: int) -> None:
        """A Status of the current view from ``replica`` arrived at tick ``now``."""
        if suspects:
            self._since[replica] = now
        else:
            self._since.pop(replica, None)

    def fresh(self, now: int) -> list[ReplicaId]:
        """The peers whose suspicion still counts at tick ``now``, in replica order."""
        return sorted(r for r, t in self._since.items() if now - t <= self.ttl_ticks)

    def clear(self) -> None:
        """A view change: suspicions were about the old view's primary."""
        self._since.clear()
