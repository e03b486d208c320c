"""Canonical JSON: one encoding per value, and nothing else decodes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baaskit import canonical
from tests.budget import budget

# Integers around orjson's 64-bit limits and text from the whole of Unicode (controls, U+2028,
# DEL, astral planes): where a fast encoder could differ from the reference one.
wide_ints = st.integers() | st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**30])
any_text = st.text(st.characters(codec="utf-8")) | st.text(st.characters(max_codepoint=0x9F))
scalars = st.none() | st.booleans() | wide_ints | any_text
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=budget(300))
@given(values)
def test_round_trip(value: Any) -> None:
    data = canonical.dumps(value)
    assert canonical.loads(data) == value
    assert canonical.dumps(canonical.loads(data)) == data


@settings(max_examples=budget(300))
@given(values)
def test_fast_path_writes_the_reference_bytes(value: Any) -> None:
    """dumps/loads take orjson when it can; the stdlib reference coder defines the bytes."""
    reference = canonical._reference_dumps(value)
    assert canonical.dumps(value) == reference
    assert canonical.loads(reference) == canonical._reference_loads(reference) == value


class _Str(str):
    pass


@settings(max_examples=budget(200))
@given(st.recursive(scalars | st.floats() | st.builds(_Str, st.text(max_size=3)) | st.just(b"x"),
                    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner) | st.dictionaries(st.text(max_size=4) | st.integers(), inner, max_size=4),
                    max_leaves=20))
def test_type_walks_agree(value: Any) -> None:
    assert canonical._is_canonical_recursive(value) == canonical._is_canonical_stack(value)


def test_type_walk_past_the_recursion_limit() -> None:
    value: Any = [1.5]
    for _ in range(5000):
        value = [value]
    assert canonical._is_canonical(value) is False  # the stack walk found the float


@pytest.mark.parametrize("depth", [250, 260, 400])
def test_deep_nesting_past_the_fast_coder_still_round_trips(depth: int) -> None:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    data = canonical.dumps(value)
    assert data == b"[" * depth + b"1" + b"]" * depth
    assert canonical.loads(data) == value


@pytest.mark.parametrize("number", [2**64, -(2**63) - 1, 10**40])
def test_integers_past_64_bits_decode_as_integers(number: int) -> None:
    data = canonical.dumps({"n": number})
    assert data == b'{"n":' + str(number).encode() + b"}"
    value = canonical.loads(data)
    assert value == {"n": number} and type(value["n"]) is int


@settings(max_examples=budget(200))
@given(st.dictionaries(st.text(max_size=6), st.integers(), min_size=2, max_size=6))
def test_key_order_does_not_change_the_bytes(mapping: dict[str, int]) -> None:
    assert canonical.dumps(dict(reversed(list(mapping.items())))) == canonical.dumps(mapping)


@settings(max_examples=budget(200))
@given(values, st.floats(allow_nan=True, allow_infinity=True))
def test_floats_are_rejected_anywhere(value: Any, number: float) -> None:
    for nested in (number, [value, number], {"a": value, "b": {"c": number}}):
        with pytest.raises(canonical.CanonicalError, match="float"):
            canonical.dumps(nested)
    text = json.dumps([number]).encode()
    with pytest.raises(canonical.CanonicalError):
        canonical.loads(text)


@settings(max_examples=budget(200))
@given(values.filter(lambda v: isinstance(v, dict | list) and len(v) > 0))
def test_spaced_or_indented_encodings_are_rejected(value: Any) -> None:
    for loose in (json.dumps(value, sort_keys=True), json.dumps(value, sort_keys=True, indent=1)):
        data = loose.encode()
        if data != canonical.dumps(value):
            with pytest.raises(canonical.CanonicalError, match="canonical form"):
                canonical.loads(data)


@pytest.mark.parametrize(
    "data",
    [
        b'{"b":1,"a":2}',  # unsorted keys
        b'{"a":1,"a":2}',  # duplicate keys
        b'{"a": 1}',  # whitespace
        b"[1, 2]",
        b" 1",
        b"1\n",
        b"-0",
        b"01",
        b'"\\u0041"',  # escaped where a literal is canonical
        b'"\\/"',
        b'"\xc3\xa9"'.replace(b"\xc3\xa9", b"\\u00e9"),
        b"1.0",
        b"1e3",
        b"NaN",
        b"Infinity",
        b"-Infinity",
        b'"\\ud800"',  # lone surrogate: no UTF-8 encoding exists
        b"\xff",  # not UTF-8
        b"1" * 5000,  # past Python's int digit limit
        b"[" * 100_000 + b"]" * 100_000,
        b"",
        b"tru",
    ],
    ids=lambda data: repr(data[:16]),
)
def test_non_canonical_or_invalid_bytes_are_rejected(data: bytes) -> None:
    with pytest.raises(canonical.CanonicalError):
        canonical.loads(data)


@pytest.mark.parametrize(
    "value",
    [b"bytes", {1: "int key"}, {"s": {1, 2}}, object(), "\ud800", 10**5000, float("nan")],
    ids=lambda value: type(value).__name__,
)
def test_values_without_a_canonical_form_are_rejected(value: Any) -> None:
    with pytest.raises(canonical.CanonicalError):
        canonical.dumps(value)


def test_exact_bytes() -> None:
    assert (
        canonical.dumps({"é": [1, True, None], "a": "x\n"})
        == '{"a":"x\\n","é":[1,true,null]}'.encode()
    )
