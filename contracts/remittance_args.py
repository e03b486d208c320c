"""Argument checking for remittance operations: every malformed request is a BAD_REQUEST (FF01)
that names the offending field, raised before anything is read or written."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .app import BAD_REQUEST, ContractError
from .remittance_model import REASON_FORMAT

_IDENT = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_HEX32 = re.compile(r"[0-9a-f]{64}")
MAX_TEXT = 128


def bad(message: str) -> ContractError:
    return ContractError(BAD_REQUEST, message, {"reason": REASON_FORMAT})


def fields(
    args: Mapping[str, Any], required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> None:
    missing = [name for name in required if name not in args]
    unknown = sorted(name for name in args if name not in required and name not in optional)
    if missing:
        raise bad(f"missing argument(s): {', '.join(missing)}")
    if unknown:
        raise bad(f"unknown argument(s): {', '.join(unknown)}")


def integer(args: Mapping[str, Any], name: str, lo: int, hi: int) -> int:
    value = args[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(f"{name} must be an integer")
    if not lo <= value <= hi:
        raise bad(f"{name} must be in {lo}..{hi}, got {value}")
    return value


def text(args: Mapping[str, Any], name: str, lo: int = 1, hi: int = MAX_TEXT) -> str:
    value = args[name]
    if not isinstance(value, str) or not lo <= len(value) <= hi:
        raise bad(f"{name} must be a string of {lo}..{hi} characters")
    return value


def optional_text(args: Mapping[str, Any], name: str, hi: int = MAX_TEXT) -> str | None:
    if args.get(name) is None:
        return None
    return text(args, name, 1, hi)


def _match(pattern: re.Pattern[str], value: Any, name: str, what: str) -> str:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise bad(f"{name} must be {what}, got {value!r}"[:200])
    return value


def ident(args: Mapping[str, Any], name: str) -> str:
    return ident_value(args[name], name)


def ident_value(value: Any, name: str) -> str:
    return _match(
        _IDENT, value, name, "an id of 1..32 characters [a-z0-9_.-], starting alphanumeric"
    )


def currency(args: Mapping[str, Any], name: str) -> str:
    return _match(_CURRENCY, args[name], name, "an ISO 4217 alphabetic code (three capitals)")


def uetr(args: Mapping[str, Any], name: str = "uetr") -> str:
    return _match(_UUID, args[name], name, "a lowercase UUID v4 (UETR)")


def digest_hex(args: Mapping[str, Any], name: str) -> str:
    return digest_value(args[name], name)


def digest_value(value: Any, name: str) -> str:
    return _match(_HEX32, value, name, "64 lowercase hex characters")


def string_list(args: Mapping[str, Any], name: str, lo: int, hi: int) -> list[Any]:
    value = args[name]
    if not isinstance(value, list) or not lo <= len(value) <= hi:
        raise bad(f"{name} must be a list of {lo}..{hi} items")
    if len(set(map(repr, value))) != len(value):
        raise bad(f"{name} has duplicate items")
    return value


def reason(
    args: Mapping[str, Any], name: str, table: Mapping[str, str], default: str | None = None
) -> str:
    value = args.get(name, default)
    if not isinstance(value, str) or value not in table:
        raise bad(f"{name} must be one of {', '.join(sorted(table))}")
    return value
