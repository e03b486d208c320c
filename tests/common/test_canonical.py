"""Canonical JSON: one encoding per value, and nothing else decodes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baaskit import canonical
from tests.budget import budget

scalars = st.none() | st.booleans() | st.integers() | st.text()
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
