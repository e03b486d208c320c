"""KvContract through Application.execute_block with real signed transactions."""

from __future__ import annotations

from typing import Any

import pytest

from baaskit.contracts import BAD_REQUEST, NOT_FOUND, OK, Application, ContractError, MemoryStore
from baaskit.contracts.kv import KvContract

from .support import Chain, key, tx

ALICE = key(1)


def kv(method: str, args: dict[str, Any]) -> Any:
    return tx(ALICE, "kv", method, args)


def test_set_get_overwrite_delete_with_events() -> None:
    chain = Chain()
    first = chain.one(kv("set", {"key": "a", "value": "1"}))
    assert first.code == OK and first.data == {"key": "a", "created": True}
    assert [(e.name, dict(e.data)) for e in first.events] == [
        ("KeySet", {"key": "a", "created": True})
    ]
    assert chain.query("kv", "get", {"key": "a"}) == "1"
    second = chain.one(kv("set", {"key": "a", "value": ""}))
    assert second.data == {"key": "a", "created": False}
    assert chain.query("kv", "get", {"key": "a"}) == ""
    gone = chain.one(kv("delete", {"key": "a"}))
    assert gone.code == OK and [e.name for e in gone.events] == ["KeyDeleted"]
    assert chain.query("kv", "get", {"key": "a"}) is None
    assert chain.store.data == {}


def test_state_is_namespaced_and_utf8() -> None:
    chain = Chain()
    chain.one(kv("set", {"key": "é/ü", "value": "ß"}))
    assert chain.store.data == {"c/kv/k/é/ü".encode(): "ß".encode()}


def test_delete_of_missing_key_is_not_found_and_writes_nothing() -> None:
    chain = Chain()
    result = chain.one(kv("delete", {"key": "nope"}))
    assert result.code == NOT_FOUND and "nope" in result.message and result.events == ()
    assert chain.store.data == {}


@pytest.mark.parametrize(
    ("method", "args", "message"),
    [
        ("set", {"key": "a"}, "missing argument(s): value"),
        ("set", {"value": "v"}, "missing argument(s): key"),
        ("set", {"key": "a", "value": "v", "ttl": 3}, "unknown argument(s): ttl"),
        ("set", {"key": "", "value": "v"}, "key must be 1..256 characters, got 0"),
        ("set", {"key": "k" * 257, "value": "v"}, "key must be 1..256 characters, got 257"),
        ("set", {"key": 5, "value": "v"}, "key must be a string"),
        ("set", {"key": "a", "value": "v" * 4097}, "value must be 0..4096 characters, got 4097"),
        ("set", {"key": "a", "value": None}, "value must be a string"),
        ("delete", {}, "missing argument(s): key"),
        ("delete", {"key": ["a"]}, "key must be a string"),
        ("put", {"key": "a", "value": "v"}, "kv has no method 'put'"),
    ],
)
def test_bad_arguments_are_rejected_and_write_nothing(
    method: str, args: dict[str, Any], message: str
) -> None:
    chain = Chain()
    chain.one(kv("set", {"key": "a", "value": "kept"}))
    before = chain.snapshot()
    result = chain.one(kv(method, args))
    assert result.code == BAD_REQUEST
    assert message in result.message
    assert chain.snapshot() == before


def test_limits_are_inclusive() -> None:
    chain = Chain()
    result = chain.one(kv("set", {"key": "k" * 256, "value": "é" * 4096}))
    assert result.code == OK
    assert chain.query("kv", "get", {"key": "k" * 256}) == "é" * 4096


def test_list_is_ordered_bounded_and_pages() -> None:
    chain = Chain()
    chain.block(
        [kv("set", {"key": k, "value": k.upper()}) for k in ["b/2", "a/1", "b/10", "b/1", "c"]]
    )
    page = chain.query("kv", "list", {"prefix": "b/", "limit": 2})
    assert page == {
        "entries": [{"key": "b/1", "value": "B/1"}, {"key": "b/10", "value": "B/10"}],
        "next": "b/10",
    }
    rest = chain.query("kv", "list", {"prefix": "b/", "limit": 2, "after": "b/10"})
    assert rest == {"entries": [{"key": "b/2", "value": "B/2"}], "next": None}
    everything = chain.query("kv", "list", {"prefix": ""})
    assert [e["key"] for e in everything["entries"]] == ["a/1", "b/1", "b/10", "b/2", "c"]
    exact = chain.query("kv", "list", {"prefix": "b/", "limit": 3})
    assert exact["next"] is None and len(exact["entries"]) == 3


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("list", {"prefix": "a", "limit": 0}),
        ("list", {"prefix": "a", "limit": 1001}),
        ("list", {"prefix": "a", "limit": True}),
        ("list", {}),
        ("list", {"prefix": "a", "page": 2}),
        ("get", {"key": ""}),
        ("scan", {}),
    ],
)
def test_bad_queries_raise_bad_request(method: str, args: dict[str, Any]) -> None:
    with pytest.raises(ContractError) as err:
        Chain().query("kv", method, args)
    assert err.value.code == BAD_REQUEST


def test_genesis_entries() -> None:
    app = Application([KvContract()])
    writes = app.init_chain(MemoryStore(), {"kv": {"entries": {"z": "1", "a": "2"}}})
    assert writes == [(b"c/kv/k/a", b"2"), (b"c/kv/k/z", b"1")]
    with pytest.raises(ContractError):
        app.init_chain(MemoryStore(), {"kv": {"entries": {"": "x"}}})
    with pytest.raises(ContractError):
        app.init_chain(MemoryStore(), {"kv": {"other": 1}})
