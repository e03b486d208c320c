"""The message log of the current view: one slot per sequence number, plus predicates over it.

A ``Slot`` is a plain container; only ``replica.py`` decides what goes into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .types import Commit, Prepare, PreparedCertificate, PrePrepare, ReplicaId


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
