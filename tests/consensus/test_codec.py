"""Canonical encoding: round trips, and decoding garbage raises MalformedMessage and nothing else."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baaskit.consensus import (
    MalformedMessage,
    Message,
    NewView,
    PreparedCertificate,
    PrePrepare,
    Record,
    ViewChange,
    codec,
    decode_message,
    decode_record,
    encode_message,
    encode_record,
    encode_wire,
)
from baaskit.consensus.codec import (
    decode_certificate,
    decode_checkpoint_proof,
    decode_signed,
    encode_body,
)
from tests.budget import budget
from tests.harness.messages import digest, messages, new_views_of, records, rid, sig, u64


@settings(max_examples=budget(300))
@given(messages)
def test_message_round_trip(msg: Message) -> None:
    data = encode_message(msg)
    assert decode_message(data) == msg
    decoded, body = decode_signed(data)
    assert body == encode_body(msg)  # the signed bytes are exactly the received prefix
    assert encode_message(decoded) == data  # canonical: one encoding per value


@settings(max_examples=budget(200))
@given(records)
def test_record_round_trip(rec: Record) -> None:
    assert decode_record(encode_record(rec)) == rec


def _only_malformed(data: bytes) -> None:
    for decode in (decode_message, decode_record, decode_certificate, decode_checkpoint_proof):
        with contextlib.suppress(MalformedMessage):
            decode(data)


@settings(max_examples=budget(500))
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data: bytes) -> None:
    _only_malformed(data)


@settings(max_examples=budget(500))
@given(messages, st.data())
def test_fuzz_mutated_encodings(msg: Message, data: st.DataObject) -> None:
    _mutated_is_malformed_or_canonical(encode_message(msg), data)


def _mutated_is_malformed_or_canonical(encoded: bytes, data: st.DataObject) -> None:
    raw = bytearray(encoded)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        i = data.draw(st.integers(0, max(0, len(raw) - 1)))
        if op == "flip" and raw:
            raw[i] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del raw[i:]
        else:
            raw[i:i] = data.draw(st.binary(min_size=1, max_size=8))
    try:
        out = decode_message(bytes(raw))
    except MalformedMessage:
        return
    assert bytes(raw) in (encode_message(out), encode_wire(out))  # anything accepted is canonical


def test_non_bytes_is_malformed() -> None:
    for bad in (None, 3, "text"):
        try:
            decode_message(bad)  # type: ignore[arg-type]
        except MalformedMessage:
            continue
        raise AssertionError("accepted a non-bytes input")


# ---- the packed new-view (what is sent and persisted): each distinct batch once

# Payloads from a small pool, so that view-changes and O share batches as they do in a real
# new-view (each prepared batch is in every view-change and again in O).
shared_payloads = st.sampled_from([b"", b"batch one", b"batch two" * 50, bytes(range(256))])
shared_new_views = new_views_of(st.builds(PrePrepare, u64, u64, digest, shared_payloads, rid, sig), size=3)


def _payload_uses(nv: NewView) -> list[bytes]:
    pps = [cert.pre_prepare for vc in nv.view_changes for cert in vc.prepared] + list(nv.pre_prepares)
    return [pp.payload for pp in pps]


@settings(max_examples=budget(300))
@given(st.one_of(shared_new_views, messages))
def test_wire_form_round_trip(msg: Message) -> None:
    """The wire form decodes to the same message, with the FULL body as the signed bytes (a
    packed new-view's signature is over its full encoding), and re-encodes to itself."""
    wire = encode_wire(msg)
    decoded, body = decode_signed(wire)
    assert decoded == msg
    assert body == encode_body(msg)
    assert encode_wire(decoded) == wire
    if isinstance(msg, NewView):
        uses = _payload_uses(msg)
        distinct = set(uses)
        saved = sum(len(p) + 4 for p in uses) - sum(len(p) + 4 for p in distinct)
        # Each use costs a 2-byte index instead of a 4-byte length and the payload, each
        # distinct payload is in the table once, which adds its count; the packed form adds its
        # own version and kind.
        assert len(encode_message(msg)) - len(wire) == saved - 2 * len(uses) - 4
    else:
        assert wire == encode_message(msg)


@settings(max_examples=budget(500))
@given(shared_new_views, st.data())
def test_fuzz_mutated_packed_new_views(msg: NewView, data: st.DataObject) -> None:
    _mutated_is_malformed_or_canonical(encode_wire(msg), data)


A, B = b"A" * 300, b"B" * 300


def _pp(payload: bytes, seq: int = 1) -> PrePrepare:
    return PrePrepare(1, seq, bytes(32), payload, 1, b"s" * 64)


def _new_view(*payloads: bytes) -> NewView:
    certs = tuple(PreparedCertificate(_pp(p, i + 1), ()) for i, p in enumerate(payloads))
    vcs = tuple(ViewChange(1, 0, b"", (), certs, r, b"v" * 64) for r in (1, 2, 3))
    return NewView(1, vcs, tuple(_pp(p, i + 1) for i, p in enumerate(payloads)), 1, b"n" * 64)


def _packed(table: list[bytes], nv: NewView, order: list[bytes]) -> bytes:
    """A packed new-view with the table and the payload indexes chosen by hand (`order` is the
    index assignment the writer uses; `table` what is written)."""
    writer_table = codec._PayloadTable()
    writer_table.index = {p: i for i, p in enumerate(order)}
    skeleton = codec._encode_message(nv, writer_table)
    w = codec._Writer()
    w.u8(codec.VERSION)
    w.u8(codec.KIND_NEW_VIEW_PACKED)
    w.count(len(table))
    for p in table:
        w.blob(p)
    w.parts.append(skeleton)
    return w.bytes()


def test_a_new_view_is_packed_with_each_batch_once() -> None:
    nv = _new_view(A, B)
    wire = encode_wire(nv)
    assert wire == _packed([A, B], nv, [A, B])
    assert len(encode_message(nv)) - len(wire) == (8 - 2) * (len(A) + 4) - 8 * 2 - 4  # 4 copies -> 1
    assert decode_message(wire) == nv


@pytest.mark.parametrize(
    "table, order, problem",
    [
        ([A, B, b"unused"], [A, B], "unused payload"),
        ([B, A], [B, A], "out of order"),  # index 1 is named before index 0
        ([A], [A, B], "out of order or range"),
    ],
)
def test_a_packed_new_view_that_is_not_canonical_is_malformed(
    table: list[bytes], order: list[bytes], problem: str
) -> None:
    with pytest.raises(MalformedMessage, match=problem):
        decode_message(_packed(table, _new_view(A, B), order))


def test_a_packed_new_view_with_a_repeated_payload_is_malformed() -> None:
    nv = NewView(1, (), (_pp(A, 1), _pp(A, 2)), 1, b"n" * 64)
    twice = _packed([A, A], nv, [A])  # both uses name index 0: the second entry is unused
    with pytest.raises(MalformedMessage, match="unused"):
        decode_message(twice)
    # Naming the second copy for the second use is in order, but the table repeats a payload.
    w_table = codec._PayloadTable()
    first = codec._encode_message(_pp(A, 1), w_table)
    w_table.index = {A: 1}
    second = codec._encode_message(_pp(A, 2), w_table)
    skeleton = codec._Writer()
    skeleton.u8(codec.VERSION)
    skeleton.u8(codec.KIND_NEW_VIEW)
    skeleton.u64(1)
    skeleton.count(0)
    skeleton.count(2)
    skeleton.blob(first)
    skeleton.blob(second)
    skeleton.u32(1)
    skeleton.short_blob(b"n" * 64)
    head = codec._Writer()
    head.u8(codec.VERSION)
    head.u8(codec.KIND_NEW_VIEW_PACKED)
    head.count(2)
    head.blob(A)
    head.blob(A)
    with pytest.raises(MalformedMessage, match="repeated payload"):
        decode_message(head.bytes() + skeleton.bytes())


def test_a_packed_new_view_may_not_name_more_batch_bytes_than_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """A small forged message naming one payload many times must not expand into GBs."""
    nv = _new_view(A, B)  # names 4 x 600 bytes
    monkeypatch.setattr(codec, "MAX_PACKED_BATCH_BYTES", 4 * 600 - 1)
    with pytest.raises(MalformedMessage, match="too many batch bytes"):
        decode_message(encode_wire(nv))
    monkeypatch.setattr(codec, "MAX_PACKED_BATCH_BYTES", 4 * 600)
    assert decode_message(encode_wire(nv)) == nv


def test_a_packed_form_holds_only_a_new_view() -> None:
    pp = encode_message(_pp(A))
    head = codec._Writer()
    head.u8(codec.VERSION)
    head.u8(codec.KIND_NEW_VIEW_PACKED)
    head.count(0)
    with pytest.raises(MalformedMessage, match="must hold a new-view"):
        decode_message(head.bytes() + pp)
