"""A small key-value contract: the simplest useful application, and the node's test workload.

Transactions (contract "kv"):
  set    {key: str 1..256, value: str 0..4096}  -> {"key", "created": bool}; event KeySet
  delete {key: str 1..256}                      -> {"key"}; event KeyDeleted; NOT_FOUND if absent
Queries:
  get  {key}                                    -> value or None
  list {prefix: str 0..256, after?: str, limit?: 1..1000 (default 100)}
       -> {"entries": [{"key", "value"}, ...] in key order, "next": key to pass as `after`, or None}
Lengths count characters (code points). Keys order by their UTF-8 bytes (= code point order).
State: c/kv/k/<key UTF-8> -> value UTF-8.
Genesis params: {} or {"entries": {key: value, ...}}.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from baaskit.tx import Tx

from .app import BAD_REQUEST, NOT_FOUND, BlockContext, ContractError, Event, TxResult
from .state import StateView

NAME = "kv"
MAX_KEY = 256
MAX_VALUE = 4096
LIST_DEFAULT = 100
LIST_MAX = 1000
_DATA = b"k/"


def _bad(message: str) -> ContractError:
    return ContractError(BAD_REQUEST, message)


def _fields(
    args: Mapping[str, Any], required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> None:
    missing = [name for name in required if name not in args]
    unknown = sorted(name for name in args if name not in required and name not in optional)
    if missing:
        raise _bad(f"missing argument(s): {', '.join(missing)}")
    if unknown:
        raise _bad(f"unknown argument(s): {', '.join(unknown)}")


def _text(args: Mapping[str, Any], name: str, lo: int, hi: int) -> str:
    value = args[name]
    if not isinstance(value, str):
        raise _bad(f"{name} must be a string")
    if not lo <= len(value) <= hi:
        raise _bad(f"{name} must be {lo}..{hi} characters, got {len(value)}")
    return value


def _limit(args: Mapping[str, Any]) -> int:
    value = args.get("limit", LIST_DEFAULT)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= LIST_MAX:
        raise _bad(f"limit must be an integer 1..{LIST_MAX}")
    return value


class KvContract:
    name = NAME

    def init_chain(self, state: StateView, params: Mapping[str, Any]) -> None:
        _fields(params, (), ("entries",))
        entries = params.get("entries", {})
        if not isinstance(entries, Mapping):
            raise _bad("genesis kv.entries must be an object")
        for key in sorted(entries):
            pair = {"key": key, "value": entries[key]}
            state.set(
                _DATA + _text(pair, "key", 1, MAX_KEY).encode(),
                _text(pair, "value", 0, MAX_VALUE).encode(),
            )

    def execute(self, state: StateView, tx: Tx, ctx: BlockContext) -> TxResult:
        if tx.method == "set":
            _fields(tx.args, ("key", "value"))
            key = _text(tx.args, "key", 1, MAX_KEY)
            value = _text(tx.args, "value", 0, MAX_VALUE)
            created = state.get(_DATA + key.encode()) is None
            state.set(_DATA + key.encode(), value.encode())
            event = Event(NAME, "KeySet", {"key": key, "created": created})
            return TxResult(code=0, data={"key": key, "created": created}, events=(event,))
        if tx.method == "delete":
            _fields(tx.args, ("key",))
            key = _text(tx.args, "key", 1, MAX_KEY)
            if state.get(_DATA + key.encode()) is None:
                raise ContractError(NOT_FOUND, f"no key {key!r}")
            state.delete(_DATA + key.encode())
            return TxResult(
                code=0, data={"key": key}, events=(Event(NAME, "KeyDeleted", {"key": key}),)
            )
        raise _bad(f"kv has no method {tx.method!r} (set, delete)")

    def query(self, state: StateView, method: str, args: Mapping[str, Any]) -> Any:
        if method == "get":
            _fields(args, ("key",))
            raw = state.get(_DATA + _text(args, "key", 1, MAX_KEY).encode())
            return None if raw is None else raw.decode()
        if method == "list":
            _fields(args, ("prefix",), ("after", "limit"))
            prefix = _text(args, "prefix", 0, MAX_KEY)
            after = _text(args, "after", 1, MAX_KEY).encode() if "after" in args else None
            limit = _limit(args)
            entries: list[dict[str, str]] = []
            more = False
            for raw_key, raw_value in state.iterate(_DATA + prefix.encode()):
                key = raw_key[len(_DATA) :]
                if after is not None and key <= after:
                    continue
                if len(entries) == limit:
                    more = True
                    break
                entries.append({"key": key.decode(), "value": raw_value.decode()})
            return {"entries": entries, "next": entries[-1]["key"] if more else None}
        raise _bad(f"kv has no query {method!r} (get, list)")
