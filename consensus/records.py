"""What a replica asks the node to persist, and how the node may key and collect it.

One small frozen dataclass, ``Record(kind, seq, view, data)``. ``data`` is canonical bytes (a
signed message exactly as sent or accepted, a prepared certificate, a batch payload, ...).

Storage contract for the node:
* ``record.key`` identifies the slot a record lives in; a later record with the same key
  supersedes the earlier one (the node may overwrite, or keep both: ``Replica.restore`` keeps
  the one with the highest view / seq).
* records with ``record.sequence_bound`` may be deleted once ``seq <= Ready.forget_below``;
  the others (view state, last view-change, last new-view, stable checkpoint) are never
  collected, only superseded.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum


class RecordKind(IntEnum):
    VIEW = 1  # data: b"\x01" while in view change to ``view``, b"\x00" when ``view`` is active
    SENT_PRE_PREPARE = 2  # data: own signed PrePrepare (primary)
    ACCEPTED_PRE_PREPARE = 3  # data: the primary's signed PrePrepare this replica prepared
    SENT_PREPARE = 4  # data: own signed Prepare
    SENT_COMMIT = 5  # data: own signed Commit
    PREPARED = 6  # data: encoded PreparedCertificate (highest view in which seq prepared here)
    COMMITTED = 7  # data: the committed batch payload
    SENT_CHECKPOINT = 8  # data: own signed Checkpoint
    STABLE_CHECKPOINT = 9  # data: encoded checkpoint proof (2f+1 signed Checkpoints)
    SENT_VIEW_CHANGE = 10  # data: own signed ViewChange (the latest)
    NEW_VIEW = 11  # data: the signed NewView that installed ``view`` (sent or accepted)


SEQUENCE_BOUND = frozenset(
    {
        RecordKind.SENT_PRE_PREPARE,
        RecordKind.ACCEPTED_PRE_PREPARE,
        RecordKind.SENT_PREPARE,
        RecordKind.SENT_COMMIT,
        RecordKind.PREPARED,
        RecordKind.COMMITTED,
        RecordKind.SENT_CHECKPOINT,
    }
)


@dataclass(frozen=True)
class Record:
    kind: RecordKind
    seq: int
    view: int
    data: bytes

    @property
    def sequence_bound(self) -> bool:
        return self.kind in SEQUENCE_BOUND

    @property
    def key(self) -> bytes:
        """Storage key: kind byte, then the big-endian seq for sequence-bound records."""
        if self.sequence_bound:
            return struct.pack(">BQ", int(self.kind), self.seq)
        return struct.pack(">B", int(self.kind))

    def forgettable(self, forget_below: int | None) -> bool:
        return forget_below is not None and self.sequence_bound and self.seq <= forget_below
