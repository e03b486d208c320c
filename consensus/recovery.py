"""Rebuilding what a replica knew from the records it persisted (pure parsing; no state changes).

For every storage key the record with the highest view (then seq) wins, so the node may either
overwrite superseded records or keep them all. PREPARED and COMMITTED records whose pre-prepare
was stored without its batch get it back from the pre-prepare record of the same seq and view
(records.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .checkpoint import GENESIS, StableCheckpoint
from .codec import decode_certificate, decode_checkpoint_proof, decode_message, encode_message
from .errors import LocalMisuse, MalformedMessage
from .log import Slot, in_window
from .ready import BatchCarriedOver, BatchCommitted
from .records import PRE_PREPARE_KINDS, Record, RecordKind, payload_elided, with_payload
from .types import (
    Checkpoint,
    Commit,
    CommitCertificate,
    Message,
    NewView,
    Prepare,
    PreparedCertificate,
    PrePrepare,
    ViewChange,
)


@dataclass
class Recovered:
    view: int = 0
    in_view_change: bool = False
    view_change: tuple[ViewChange, bytes] | None = None
    new_view: tuple[NewView, bytes] | None = None
    stable: StableCheckpoint = GENESIS
    certificates: dict[int, PreparedCertificate] = field(default_factory=dict)
    committed: dict[int, CommitCertificate] = field(default_factory=dict)  # unsigned proofs
    pre_prepares: dict[int, tuple[PrePrepare, bytes]] = field(default_factory=dict)
    prepares: dict[int, tuple[Prepare, bytes]] = field(default_factory=dict)
    commits: dict[int, tuple[Commit, bytes]] = field(default_factory=dict)
    checkpoints: dict[int, tuple[Checkpoint, bytes]] = field(default_factory=dict)


def _decode(record: Record) -> Message:
    try:
        return decode_message(record.data)
    except MalformedMessage as exc:
        raise LocalMisuse(f"corrupt {record.kind.name} record: {exc}") from None


def _by_key(records: Iterable[Record]) -> list[Record]:
    best: dict[bytes, Record] = {}
    for r in records:
        cur = best.get(r.key)
        if cur is None or (r.view, r.seq) >= (cur.view, cur.seq):
            best[r.key] = r
    return [best[k] for k in sorted(best)]


def _restored(pp: PrePrepare, batches: Mapping[tuple[int, int], bytes], what: str) -> PrePrepare:
    """``pp`` with its batch, taken from our pre-prepare record of the same seq and view if the
    record holding ``pp`` left it out."""
    if not payload_elided(pp):
        return pp
    payload = batches.get((pp.seq, pp.view))
    full = with_payload(pp, payload) if payload is not None else None
    if full is None:
        raise LocalMisuse(f"{what} record for seq {pp.seq} names a batch no pre-prepare record holds")
    return full


def recover(records: Iterable[Record]) -> Recovered:
    out = Recovered()
    view_records: list[Record] = []
    per_view: list[tuple[Record, Message]] = []
    for rec in _by_key(records):
        kind = rec.kind
        if kind is RecordKind.VIEW:
            view_records.append(rec)
        elif kind is RecordKind.STABLE_CHECKPOINT:
            try:
                proof = decode_checkpoint_proof(rec.data)
            except MalformedMessage as exc:
                raise LocalMisuse(f"corrupt stable checkpoint record: {exc}") from None
            if proof and rec.seq > out.stable.seq:
                out.stable = StableCheckpoint(rec.seq, proof[0].state_digest, proof)
        elif kind is RecordKind.PREPARED:
            try:
                out.certificates[rec.seq] = decode_certificate(rec.data)
            except MalformedMessage as exc:
                raise LocalMisuse(f"corrupt prepared record: {exc}") from None
        elif kind is RecordKind.COMMITTED:
            cc = _decode(rec)
            if not isinstance(cc, CommitCertificate):
                raise LocalMisuse("corrupt committed record")
            out.committed[rec.seq] = cc
        else:
            per_view.append((rec, _decode(rec)))
    batches = {
        (msg.seq, msg.view): msg.payload
        for rec, msg in per_view
        if rec.kind in PRE_PREPARE_KINDS and isinstance(msg, PrePrepare) and not payload_elided(msg)
    }
    out.certificates = {
        seq: PreparedCertificate(_restored(c.pre_prepare, batches, "prepared"), c.prepares)
        for seq, c in out.certificates.items()
    }
    out.committed = {
        seq: CommitCertificate(_restored(c.pre_prepare, batches, "committed"), c.commits, c.replica, c.signature)
        for seq, c in out.committed.items()
    }
    for rec in view_records:
        out.view, out.in_view_change = rec.view, rec.data == b"\x01"
    for rec, msg in per_view:
        if isinstance(msg, ViewChange) and rec.kind is RecordKind.SENT_VIEW_CHANGE:
            if msg.view > out.view or (msg.view == out.view and out.in_view_change):
                out.view, out.in_view_change = msg.view, True
                out.view_change = (msg, rec.data)
        elif isinstance(msg, NewView) and rec.kind is RecordKind.NEW_VIEW:
            if msg.view > out.view or (msg.view == out.view and not out.in_view_change):
                out.view, out.in_view_change = msg.view, False
                out.new_view = (msg, rec.data)
        elif isinstance(msg, Checkpoint):
            out.checkpoints[msg.seq] = (msg, rec.data)
    for rec, msg in per_view:
        if isinstance(msg, PrePrepare | Prepare | Commit) and msg.view == out.view:
            if isinstance(msg, PrePrepare):
                out.pre_prepares[msg.seq] = (msg, rec.data)
            elif isinstance(msg, Prepare):
                out.prepares[msg.seq] = (msg, rec.data)
            else:
                out.commits[msg.seq] = (msg, rec.data)
    if out.view_change is not None and out.view_change[0].view != out.view:
        out.view_change = None
    if out.new_view is not None and out.new_view[0].view != out.view:
        out.new_view = None
    s = out.stable.seq
    out.certificates = {k: v for k, v in out.certificates.items() if k > s}
    out.checkpoints = {k: v for k, v in out.checkpoints.items() if k > s}
    return out


def rebuild_slots(rec: Recovered, low: int, window: int) -> dict[int, Slot]:
    """The log of the recovered view (active views only): O of its new-view, own or accepted
    pre-prepares, own prepares and commits, and the prepared / committed flags."""
    slots: dict[int, Slot] = {}
    pps: list[tuple[PrePrepare, bytes, bool]] = []
    if rec.new_view is not None:
        pps = [(pp, encode_message(pp), True) for pp in rec.new_view[0].pre_prepares]
    pps += [(pp, data, False) for _, (pp, data) in sorted(rec.pre_prepares.items())]
    for pp, data, carried in pps:
        if in_window(pp.seq, low, window):
            slot = slots.setdefault(pp.seq, Slot(pp.seq))
            slot.pre_prepare, slot.pre_prepare_bytes = pp, data
            slot.validated, slot.carried = True, slot.carried or carried
    me_votes: list[tuple[int, Prepare | Commit, bytes]] = [
        (s, p, d) for s, (p, d) in sorted(rec.prepares.items())
    ] + [(s, c, d) for s, (c, d) in sorted(rec.commits.items())]
    for seq, vote, data in me_votes:
        target = slots.get(seq)
        if target is None:
            continue
        if isinstance(vote, Prepare):
            target.prepares[vote.replica], target.my_prepare = vote, data
        else:
            target.commits[vote.replica], target.my_commit = vote, data
    for seq, slot in sorted(slots.items()):
        cert = rec.certificates.get(seq)
        slot.prepared = cert is not None and cert.view == rec.view
        slot.committed = seq in rec.committed
    return slots


def in_flight(
    view: int, slots: Mapping[int, Slot], queue: Mapping[int, BatchCommitted], last_committed: int
) -> list[BatchCarriedOver]:
    """After a restore: the batches pre-prepared (or committed out of order) but not delivered,
    so that the node does not propose or accept their requests again."""
    out: list[BatchCarriedOver] = []
    for seq in sorted(set(slots) | set(queue)):
        pp = slots[seq].pre_prepare if seq in slots else None
        batch = queue[seq].batch if seq in queue else (pp.batch if pp is not None else None)
        if seq > last_committed and batch is not None and batch.payload:
            out.append(BatchCarriedOver(view, seq, batch))
    return out
