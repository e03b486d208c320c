"""What a replica asks the node to persist, and how the node may key and collect it.

One small frozen dataclass, ``Record(kind, seq, view, data)``. ``data`` is canonical bytes (a
signed message exactly as sent or accepted, a prepared certificate, a batch payload, ...).

Storage contract for the node:
* ``record.key`` identifies the slot a record lives in; a later record with the same key
  supersedes the earlier one (the node may overwrite, or keep both: ``Replica.restore`` keeps
  the one with the highest view / seq). A pre-prepare record's key holds its view too, so a
  pre-prepare of a later view at the same seq does not supersede it (see below).
* records with ``record.sequence_bound`` may be deleted once ``seq <= Ready.forget_below``;
  the others (view state, last view-change, last new-view, stable checkpoint) are never
  collected, only superseded.

Each batch is written once per slot. A PREPARED or COMMITTED record carries its pre-prepare
without the payload (``without_payload``) when this replica persisted that pre-prepare (same seq,
view and digest) in a SENT/ACCEPTED_PRE_PREPARE record; recovery puts the payload back from it.
Measured at 1,000 tx/s: the three copies of every batch were ~1.7 KB of the ~3.4 KB a
notarization tx wrote to LevelDB per node (the memtable filled, and all four nodes flushed and
compacted together, every ~10 s). The pre-prepare record lives as long as the records naming it:
all are sequence-bound, and no later record has its key.
"""

from __future__ import annotations

import dataclasses
import struct
from dataclasses import dataclass
from enum import IntEnum

from .types import PrePrepare, sha256


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

PRE_PREPARE_KINDS = frozenset({RecordKind.SENT_PRE_PREPARE, RecordKind.ACCEPTED_PRE_PREPARE})

_EMPTY_DIGEST = sha256(b"")


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
        """Storage key: kind byte, then the big-endian seq for sequence-bound records, then the
        big-endian view for pre-prepare records."""
        if self.kind in PRE_PREPARE_KINDS:
            return struct.pack(">BQQ", int(self.kind), self.seq, self.view)
        if self.sequence_bound:
            return struct.pack(">BQ", int(self.kind), self.seq)
        return struct.pack(">B", int(self.kind))

    def forgettable(self, forget_below: int | None) -> bool:
        return forget_below is not None and self.sequence_bound and self.seq <= forget_below


def without_payload(pp: PrePrepare) -> PrePrepare:
    """``pp`` as a PREPARED/COMMITTED record stores it when a pre-prepare record holds the batch:
    digest and signature kept, payload empty. A null batch (digest of b"") is stored as is."""
    return dataclasses.replace(pp, payload=b"")


def payload_elided(pp: PrePrepare) -> bool:
    return not pp.payload and pp.digest != _EMPTY_DIGEST


def with_payload(pp: PrePrepare, payload: bytes) -> PrePrepare | None:
    """``pp`` with its batch put back, or None if ``payload`` is not the batch it names."""
    if sha256(payload) != pp.digest:
        return None
    return dataclasses.replace(pp, payload=payload)
