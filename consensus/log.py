"""The message log: one slot per sequence number of the current view, the prepared certificates
carried across views, and the decided prefix (commit proofs and in-order delivery).

``Slot`` and ``Log`` are containers owned by the replica; they decide nothing about the protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .ready import BatchCommitted
from .types import Commit, Prepare, PreparedCertificate, PrePrepare, ReplicaId

Decision = tuple[PrePrepare, tuple[Commit, ...]]  # a pre-prepare and 2f+1 matching commits


@dataclass
class Slot:
    seq: int
    pre_prepare: PrePrepare | None = None
    pre_prepare_bytes: bytes | None = None  # signed bytes exactly as the primary sent them
    validated: bool | None = None  # None: asked / not asked yet; True: we may prepare
    carried: bool = False  # from a new-view's O: prepared without asking for validation
    prepares: dict[ReplicaId, Prepare] = field(default_factory=dict)
    commits: dict[ReplicaId, Commit] = field(default_factory=dict)
    my_prepare: bytes | None = None  # own signed Prepare as sent
    my_commit: bytes | None = None  # own signed Commit as sent
    prepared: bool = False
    committed: bool = False

    @property
    def digest(self) -> bytes | None:
        return None if self.pre_prepare is None else self.pre_prepare.digest

    def view_digest_differs(self, pp: PrePrepare) -> bool:
        mine = self.pre_prepare
        return mine is not None and mine.view == pp.view and mine.digest != pp.digest

    def matching_prepares(self, primary: ReplicaId) -> list[Prepare]:
        """Prepares from distinct backups matching the pre-prepare, sorted by replica."""
        d = self.digest
        if d is None:
            return []
        return [
            self.prepares[r]
            for r in sorted(self.prepares)
            if r != primary and self.prepares[r].digest == d
        ]

    def matching_commits(self) -> list[Commit]:
        d = self.digest
        if d is None:
            return []
        return [self.commits[r] for r in sorted(self.commits) if self.commits[r].digest == d]

    def certificate(self, primary: ReplicaId, size: int) -> PreparedCertificate | None:
        """The prepared certificate (pre-prepare + ``size`` matching prepares), if there is one."""
        if self.pre_prepare is None:
            return None
        prepares = self.matching_prepares(primary)
        if len(prepares) < size:
            return None
        return PreparedCertificate(self.pre_prepare, tuple(prepares[:size]))


def in_window(seq: int, low: int, window: int) -> bool:
    """Watermarks: a replica accepts protocol messages for ``low < seq <= low + window``."""
    return low < seq <= low + window


class Log:
    def __init__(self) -> None:
        self.slots: dict[int, Slot] = {}
        self.certs: dict[int, PreparedCertificate] = {}  # highest-view prepared cert per seq
        self.decisions: dict[int, Decision] = {}  # proofs of the committed seqs above stable
        self.queue: dict[int, BatchCommitted] = {}  # committed, waiting for lower seqs
        self.last_committed = 0

    def slot(self, seq: int) -> Slot:
        found = self.slots.get(seq)
        if found is None:
            found = self.slots[seq] = Slot(seq)
        return found

    def decided(self, seq: int) -> bool:
        return seq <= self.last_committed or seq in self.queue

    def decided_digest(self, seq: int) -> bytes | None:
        known = self.decisions.get(seq)
        return None if known is None else known[0].digest

    def add_pre_prepare(self, pp: PrePrepare, data: bytes, me: ReplicaId) -> bool | None:
        """Store the primary's pre-prepare: True if stored, None if already known, False if it
        conflicts with the one held (or with our own prepare, restored after a crash)."""
        slot = self.slot(pp.seq)
        if slot.pre_prepare is not None:
            return None if slot.digest == pp.digest else False
        mine = slot.prepares.get(me)
        if mine is not None and mine.digest != pp.digest:
            return False
        slot.pre_prepare, slot.pre_prepare_bytes = pp, data
        return True

    def add_vote(self, vote: Prepare | Commit) -> bool | None:
        """True if stored, None if a duplicate, False if the sender voted otherwise before."""
        slot = self.slot(vote.seq)
        votes: dict[ReplicaId, Prepare] | dict[ReplicaId, Commit]
        votes = slot.prepares if isinstance(vote, Prepare) else slot.commits
        old = votes.get(vote.replica)
        if old is not None:
            return None if old.digest == vote.digest else False
        votes[vote.replica] = vote  # type: ignore[assignment]
        return True

    def decide(self, pp: PrePrepare, commits: tuple[Commit, ...]) -> bool:
        if self.decided(pp.seq):
            return False
        self.decisions[pp.seq] = (pp, commits)
        self.queue[pp.seq] = BatchCommitted(pp.seq, pp.view, pp.batch)
        return True

    def deliverable(self) -> list[BatchCommitted]:
        """Pop the committed batches that are next in sequence order."""
        out = []
        while self.last_committed + 1 in self.queue:
            self.last_committed += 1
            out.append(self.queue.pop(self.last_committed))
        return out

    def skip_to(self, seq: int) -> None:
        """Everything up to ``seq`` is covered by a checkpoint or an installed state."""
        if seq > self.last_committed:
            self.last_committed = seq
            self.queue = {s: b for s, b in self.queue.items() if s > seq}

    def collect_through(self, seq: int) -> None:
        self.slots = {s: v for s, v in self.slots.items() if s > seq}
        self.certs = {s: v for s, v in self.certs.items() if s > seq}
        self.decisions = {s: v for s, v in self.decisions.items() if s > seq}

    def has_work(self) -> bool:
        """A batch we validated (or took from a new view) has not committed yet."""
        return any(s.validated and not s.committed for s in self.slots.values())

    def prepared_above(self, seq: int) -> tuple[PreparedCertificate, ...]:
        return tuple(self.certs[s] for s in sorted(self.certs) if s > seq)
