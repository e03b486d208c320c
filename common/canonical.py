"""Canonical JSON: the one byte encoding of structured data that is hashed or signed.

Why JSON: receipts and transaction payloads must be readable by a court's expert with any tool.
Canonical form: UTF-8, keys sorted, no insignificant whitespace, no floats (money and anything
hashed are integers), no NaN. Two equal values always encode to the same bytes.
"""

from __future__ import annotations

import json
from typing import Any


class CanonicalError(ValueError):
    """The value cannot be encoded canonically (a float, a non-string key, an unknown type)."""


def _check(value: Any, path: str) -> None:
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        return
    if isinstance(value, float):
        raise CanonicalError(f"{path}: floats are not allowed in canonical data")
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalError(f"{path}: object keys must be strings, got {type(key).__name__}")
            _check(item, f"{path}.{key}")
        return
    raise CanonicalError(f"{path}: {type(value).__name__} is not canonical JSON data")


def dumps(value: Any) -> bytes:
    """Encode `value` canonically. Raises CanonicalError for data that has no canonical form."""
    try:
        _check(value, "$")
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return text.encode()
    except CanonicalError:
        raise
    except (ValueError, RecursionError) as exc:  # lone surrogates, ints past the digit limit, depth
        raise CanonicalError(f"{type(exc).__name__}: {exc}") from None


def loads(data: bytes) -> Any:
    """Decode canonical JSON; rejects floats and non-canonical encodings (so a hash is unambiguous)."""
    try:
        value = json.loads(data.decode("utf-8"), parse_float=_reject_float, parse_constant=_reject_const)
    except CanonicalError:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, int digit limit
        raise CanonicalError(f"not valid JSON: {exc}") from None
    if dumps(value) != data:
        raise CanonicalError("JSON is not in canonical form (sorted keys, no spaces)")
    return value


def _reject_float(text: str) -> Any:
    raise CanonicalError(f"floats are not allowed in canonical data: {text}")


def _reject_const(text: str) -> Any:
    raise CanonicalError(f"{text} is not allowed in canonical data")
