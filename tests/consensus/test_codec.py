"""Canonical encoding: round trips, and decoding garbage raises MalformedMessage and nothing else."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from baaskit.consensus import (
    MalformedMessage,
    Message,
    Record,
    decode_message,
    decode_record,
    encode_message,
    encode_record,
)
from baaskit.consensus.codec import (
    decode_certificate,
    decode_checkpoint_proof,
    decode_signed,
    encode_body,
)
from tests.budget import budget
from tests.harness.messages import messages, records


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
    raw = bytearray(encode_message(msg))
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
    assert encode_message(out) == bytes(raw)  # anything accepted is canonical


def test_non_bytes_is_malformed() -> None:
    for bad in (None, 3, "text"):
        try:
            decode_message(bad)  # type: ignore[arg-type]
        except MalformedMessage:
            continue
        raise AssertionError("accepted a non-bytes input")
