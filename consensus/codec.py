"""Canonical binary encoding of every message and record.

Layout: fixed-width big-endian integers, length-prefixed byte strings, count-prefixed tuples,
nested messages embedded as length-prefixed full (signed) encodings. There is exactly one
encoding of each value (no varints, bools are 0/1, no trailing bytes), so
``encode(decode(b)) == b`` for every accepted ``b``; signatures are nevertheless verified over
the bytes as received (``decode_signed``).

A wire message is ``body || u16 len(signature) || signature`` where
``body = VERSION || kind || fields``. The signature covers ``signing.sign_bytes(chain_id, body)``.

A new-view also has a *packed* form (``encode_wire``), the one that is sent and persisted: the
same message, with every distinct batch payload of its pre-prepares (those nested in the
view-changes' certificates and those of O) written once in a table, and each pre-prepare naming
its payload by index. A new-view repeats each prepared batch 2f+2 times (once per view-change,
once in O): at full load ~5 MB in the full form, ~1.3 MB packed. Signatures do not cover the
packed bytes: a packed new-view decodes to the same message, whose full body is what was signed.
The packed form is canonical too (payloads distinct, in order of first use, each used).

``decode_*`` raise ``MalformedMessage`` on any input that is not a canonical encoding, and never
any other exception.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TypeVar

from .errors import MalformedMessage
from .records import Record, RecordKind
from .types import (
    DIGEST_SIZE,
    Checkpoint,
    Commit,
    CommitCertificate,
    Message,
    NewView,
    Prepare,
    PreparedCertificate,
    PrePrepare,
    Status,
    ViewChange,
)

VERSION = 1
MAX_U64 = (1 << 64) - 1
MAX_U32 = (1 << 32) - 1
MAX_COUNT = (1 << 16) - 1
MAX_SIGNATURE = 1024

KIND_PRE_PREPARE = 1
KIND_PREPARE = 2
KIND_COMMIT = 3
KIND_CHECKPOINT = 4
KIND_VIEW_CHANGE = 5
KIND_NEW_VIEW = 6
KIND_STATUS = 7
KIND_COMMIT_CERTIFICATE = 8
KIND_NEW_VIEW_PACKED = 9  # wire and record form of a new-view, never signed (see above)

# The batch bytes a packed new-view may name, counting a payload once per pre-prepare naming it.
# Legitimately 2f+2 copies of the prepared batches above the stable checkpoint: at most a
# watermark window (64) of the largest blocks (~0.6 MB), ~150 MB with f=1. Past this bound the
# new-view is malformed: a forged one cannot make a replica expand a small message into GBs.
MAX_PACKED_BATCH_BYTES = 256 * 1024 * 1024

_U8 = struct.Struct(">B")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


# ------------------------------------------------------------------------------------ writing


class _Writer:
    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def u8(self, v: int) -> None:
        self.parts.append(_U8.pack(v))

    def u16(self, v: int) -> None:
        self.parts.append(_U16.pack(v))

    def u32(self, v: int) -> None:
        self.parts.append(_U32.pack(v))

    def u64(self, v: int) -> None:
        if not 0 <= v <= MAX_U64:
            raise ValueError(f"integer out of range: {v}")
        self.parts.append(_U64.pack(v))

    def digest(self, v: bytes) -> None:
        if len(v) != DIGEST_SIZE:
            raise ValueError("digest must be 32 bytes")
        self.parts.append(v)

    def blob(self, v: bytes) -> None:
        if len(v) > MAX_U32:
            raise ValueError("blob too long")
        self.u32(len(v))
        self.parts.append(v)

    def short_blob(self, v: bytes) -> None:
        if len(v) > MAX_COUNT:
            raise ValueError("short blob too long")
        self.u16(len(v))
        self.parts.append(v)

    def count(self, n: int) -> None:
        if n > MAX_COUNT:
            raise ValueError("too many items")
        self.u16(n)

    def bytes(self) -> bytes:
        return b"".join(self.parts)


class _PayloadTable:
    """The payloads of a packed new-view being written, in order of first use."""

    def __init__(self) -> None:
        self.index: dict[bytes, int] = {}

    def ref(self, payload: bytes) -> int:
        i = self.index.setdefault(payload, len(self.index))
        if i > MAX_COUNT:
            raise ValueError("too many distinct batches for a packed new-view")
        return i


def _write_cert(w: _Writer, cert: PreparedCertificate, table: _PayloadTable | None) -> None:
    w.blob(_encode_message(cert.pre_prepare, table))
    w.count(len(cert.prepares))
    for p in cert.prepares:
        w.blob(encode_message(p))


def encode_body(msg: Message) -> bytes:
    """The signed part of a message: VERSION, kind and fields (no signature)."""
    return _encode_body(msg, None)


def _encode_body(msg: Message, table: _PayloadTable | None) -> bytes:
    """The body; with a `table`, pre-prepares (also nested ones) name their payload by index."""
    w = _Writer()
    w.u8(VERSION)
    if isinstance(msg, PrePrepare):
        w.u8(KIND_PRE_PREPARE)
        w.u64(msg.view)
        w.u64(msg.seq)
        w.digest(msg.digest)
        if table is None:
            w.blob(msg.payload)
        else:
            w.u16(table.ref(msg.payload))
        w.u32(msg.replica)
    elif isinstance(msg, Prepare | Commit):
        w.u8(KIND_PREPARE if isinstance(msg, Prepare) else KIND_COMMIT)
        w.u64(msg.view)
        w.u64(msg.seq)
        w.digest(msg.digest)
        w.u32(msg.replica)
    elif isinstance(msg, Checkpoint):
        w.u8(KIND_CHECKPOINT)
        w.u64(msg.seq)
        w.short_blob(msg.state_digest)
        w.u32(msg.replica)
    elif isinstance(msg, ViewChange):
        w.u8(KIND_VIEW_CHANGE)
        w.u64(msg.view)
        w.u64(msg.stable_seq)
        w.short_blob(msg.stable_digest)
        w.count(len(msg.checkpoint_proof))
        for c in msg.checkpoint_proof:
            w.blob(encode_message(c))
        w.count(len(msg.prepared))
        for cert in msg.prepared:
            _write_cert(w, cert, table)
        w.u32(msg.replica)
    elif isinstance(msg, NewView):
        w.u8(KIND_NEW_VIEW)
        w.u64(msg.view)
        w.count(len(msg.view_changes))
        for vc in msg.view_changes:
            w.blob(_encode_message(vc, table))
        w.count(len(msg.pre_prepares))
        for pp in msg.pre_prepares:
            w.blob(_encode_message(pp, table))
        w.u32(msg.replica)
    elif isinstance(msg, Status):
        w.u8(KIND_STATUS)
        w.u64(msg.view)
        w.u8(1 if msg.in_view_change else 0)
        w.u64(msg.last_committed)
        w.u64(msg.stable_seq)
        w.u8(1 if msg.suspects else 0)
        w.u32(msg.replica)
    elif isinstance(msg, CommitCertificate):
        w.u8(KIND_COMMIT_CERTIFICATE)
        w.blob(encode_message(msg.pre_prepare))  # never packed: its own, single batch
        w.count(len(msg.commits))
        for vote in msg.commits:
            w.blob(encode_message(vote))
        w.u32(msg.replica)
    else:  # pragma: no cover - exhaustive over Message
        raise TypeError(f"not a message: {type(msg).__name__}")
    return w.bytes()


def encode_message(msg: Message) -> bytes:
    """The full (signed) encoding."""
    return _encode_message(msg, None)


def _encode_message(msg: Message, table: _PayloadTable | None) -> bytes:
    sig = msg.signature
    if len(sig) > MAX_SIGNATURE:
        raise ValueError("signature too long")
    return _encode_body(msg, table) + _U16.pack(len(sig)) + sig


def encode_wire(msg: Message) -> bytes:
    """What is sent and persisted: a new-view packed (module docstring), any other message in
    full. `decode_message` reads both forms."""
    if not isinstance(msg, NewView):
        return encode_message(msg)
    table = _PayloadTable()
    packed = _encode_message(msg, table)  # fills the table
    w = _Writer()
    w.u8(VERSION)
    w.u8(KIND_NEW_VIEW_PACKED)
    w.count(len(table.index))
    for payload in table.index:  # insertion order = order of first use
        w.blob(payload)
    # The new-view itself follows, as packed above, with its own VERSION and kind.
    w.parts.append(packed)
    return w.bytes()


def encode_certificate(cert: PreparedCertificate) -> bytes:
    w = _Writer()
    w.u8(VERSION)
    _write_cert(w, cert, None)
    return w.bytes()


def encode_checkpoint_proof(proof: tuple[Checkpoint, ...]) -> bytes:
    w = _Writer()
    w.u8(VERSION)
    w.count(len(proof))
    for c in proof:
        w.blob(encode_message(c))
    return w.bytes()


def encode_record(record: Record) -> bytes:
    w = _Writer()
    w.u8(VERSION)
    w.u8(int(record.kind))
    w.u64(record.seq)
    w.u64(record.view)
    w.blob(record.data)
    return w.bytes()


# ------------------------------------------------------------------------------------ reading


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise MalformedMessage("truncated")
        out = self.data[self.pos : end]
        self.pos = end
        return out

    def u8(self) -> int:
        return int(_U8.unpack(self.take(1))[0])

    def u16(self) -> int:
        return int(_U16.unpack(self.take(2))[0])

    def u32(self) -> int:
        return int(_U32.unpack(self.take(4))[0])

    def u64(self) -> int:
        return int(_U64.unpack(self.take(8))[0])

    def boolean(self) -> bool:
        v = self.u8()
        if v > 1:
            raise MalformedMessage("bad bool")
        return v == 1

    def digest(self) -> bytes:
        return self.take(DIGEST_SIZE)

    def blob(self) -> bytes:
        return self.take(self.u32())

    def short_blob(self) -> bytes:
        return self.take(self.u16())

    def end(self) -> None:
        if self.pos != len(self.data):
            raise MalformedMessage("trailing bytes")


class _PayloadsRead:
    """The payload table of a packed new-view being read: checks that each entry is used, in
    order of first use, that entries are distinct, and bounds the batch bytes named."""

    def __init__(self, payloads: list[bytes]) -> None:
        self.payloads = payloads
        self.used = 0
        self.named_bytes = 0

    def take(self, i: int) -> bytes:
        if i > self.used or i >= len(self.payloads):
            raise MalformedMessage("packed new-view: payload index out of order or range")
        if i == self.used:
            self.used += 1
        payload = self.payloads[i]
        self.named_bytes += len(payload)
        if self.named_bytes > MAX_PACKED_BATCH_BYTES:
            raise MalformedMessage("packed new-view names too many batch bytes")
        return payload

    def finish(self) -> None:
        if self.used != len(self.payloads):
            raise MalformedMessage("packed new-view: unused payload")
        if len(set(self.payloads)) != len(self.payloads):
            raise MalformedMessage("packed new-view: repeated payload")


T = TypeVar("T")


def _nested(r: _Reader, expect: type[T], table: _PayloadsRead | None = None) -> T:
    msg = _decode(r.blob(), table)[0]
    if not isinstance(msg, expect):
        raise MalformedMessage(f"expected a nested {expect.__name__}")
    return msg


def _read_cert(r: _Reader, table: _PayloadsRead | None) -> PreparedCertificate:
    pp = _nested(r, PrePrepare, table)
    prepares = tuple(_nested(r, Prepare) for _ in range(r.u16()))
    return PreparedCertificate(pp, prepares)


def _version(r: _Reader) -> None:
    if r.u8() != VERSION:
        raise MalformedMessage("unknown version")


def _decode(data: bytes, table: _PayloadsRead | None = None) -> tuple[Message, bytes]:
    """A message and its body as received; with a `table`, one inside a packed new-view (its
    pre-prepares name their payload by index)."""
    r = _Reader(data)
    _version(r)
    kind = r.u8()
    msg: Message
    if kind == KIND_NEW_VIEW_PACKED and table is None:
        return _decode_packed_new_view(r)
    if kind == KIND_PRE_PREPARE:
        view, seq, digest = r.u64(), r.u64(), r.digest()
        payload = r.blob() if table is None else table.take(r.u16())
        replica = r.u32()
        body_end = r.pos
        msg = PrePrepare(view, seq, digest, payload, replica, _signature(r))
    elif kind in (KIND_PREPARE, KIND_COMMIT):
        view, seq, digest, replica = r.u64(), r.u64(), r.digest(), r.u32()
        body_end = r.pos
        cls = Prepare if kind == KIND_PREPARE else Commit
        msg = cls(view, seq, digest, replica, _signature(r))
    elif kind == KIND_CHECKPOINT:
        seq, sd, replica = r.u64(), r.short_blob(), r.u32()
        body_end = r.pos
        msg = Checkpoint(seq, sd, replica, _signature(r))
    elif kind == KIND_VIEW_CHANGE:
        view, stable_seq, stable_digest = r.u64(), r.u64(), r.short_blob()
        proof = tuple(_nested(r, Checkpoint) for _ in range(r.u16()))
        prepared = tuple(_read_cert(r, table) for _ in range(r.u16()))
        replica = r.u32()
        body_end = r.pos
        msg = ViewChange(view, stable_seq, stable_digest, proof, prepared, replica, _signature(r))
    elif kind == KIND_NEW_VIEW:
        view = r.u64()
        vcs = tuple(_nested(r, ViewChange, table) for _ in range(r.u16()))
        pps = tuple(_nested(r, PrePrepare, table) for _ in range(r.u16()))
        replica = r.u32()
        body_end = r.pos
        msg = NewView(view, vcs, pps, replica, _signature(r))
    elif kind == KIND_STATUS:
        view, ivc, lc, ss, suspects, replica = r.u64(), r.boolean(), r.u64(), r.u64(), r.boolean(), r.u32()
        body_end = r.pos
        msg = Status(view, ivc, lc, ss, suspects, replica, _signature(r))
    elif kind == KIND_COMMIT_CERTIFICATE:
        pp = _nested(r, PrePrepare)
        commits = tuple(_nested(r, Commit) for _ in range(r.u16()))
        replica = r.u32()
        body_end = r.pos
        msg = CommitCertificate(pp, commits, replica, _signature(r))
    else:
        raise MalformedMessage(f"unknown message kind {kind}")
    r.end()
    return msg, data[:body_end]


def _decode_packed_new_view(r: _Reader) -> tuple[Message, bytes]:
    table = _PayloadsRead([r.blob() for _ in range(r.u16())])
    rest = r.data[r.pos :]
    packed = _Reader(rest)
    _version(packed)
    if packed.u8() != KIND_NEW_VIEW:
        raise MalformedMessage("a packed new-view must hold a new-view")
    msg, _ = _decode(rest, table)
    table.finish()
    # The signature covers the full body, rebuilt here (the encoding is canonical).
    return msg, encode_body(msg)


def _signature(r: _Reader) -> bytes:
    n = r.u16()
    if n > MAX_SIGNATURE:
        raise MalformedMessage("signature too long")
    return r.take(n)


def _guard(fn: Callable[[bytes], T], data: bytes) -> T:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MalformedMessage("not bytes")
    try:
        return fn(bytes(data))
    except MalformedMessage:
        raise
    except (struct.error, ValueError, IndexError, OverflowError, RecursionError) as exc:
        raise MalformedMessage(str(exc)) from None


def decode_signed(data: bytes) -> tuple[Message, bytes]:
    """Decode a wire message; also return its body bytes as received (what the signature covers)."""
    return _guard(_decode, data)


def decode_message(data: bytes) -> Message:
    return _guard(_decode, data)[0]


def _decode_cert(data: bytes) -> PreparedCertificate:
    r = _Reader(data)
    _version(r)
    cert = _read_cert(r, None)
    r.end()
    return cert


def decode_certificate(data: bytes) -> PreparedCertificate:
    return _guard(_decode_cert, data)


def _decode_proof(data: bytes) -> tuple[Checkpoint, ...]:
    r = _Reader(data)
    _version(r)
    proof = tuple(_nested(r, Checkpoint) for _ in range(r.u16()))
    r.end()
    return proof


def decode_checkpoint_proof(data: bytes) -> tuple[Checkpoint, ...]:
    return _guard(_decode_proof, data)


def _decode_record(data: bytes) -> Record:
    r = _Reader(data)
    _version(r)
    kind_v = r.u8()
    try:
        kind = RecordKind(kind_v)
    except ValueError:
        raise MalformedMessage(f"unknown record kind {kind_v}") from None
    seq, view, blob = r.u64(), r.u64(), r.blob()
    r.end()
    return Record(kind, seq, view, blob)


def decode_record(data: bytes) -> Record:
    return _guard(_decode_record, data)
