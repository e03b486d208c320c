"""The router's promises as contracts see them: a failed tx writes nothing, a raise is INTERNAL."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pytest

from baaskit.contracts import (
    CONFLICT,
    INTERNAL,
    OK,
    UNKNOWN_CONTRACT,
    Application,
    BlockContext,
    StateView,
    TxResult,
)
from baaskit.contracts.builtin import builtin_contracts
from baaskit.contracts.kv import KvContract
from baaskit.contracts.notary import NotaryContract
from baaskit.tx import Tx

from .support import Chain, key, tx

ALICE = key(1)
DOC = "ab" * 32


class Faulty:
    """Writes, then fails in the way `method` says."""

    name = "faulty"

    def init_chain(self, state: StateView, params: Mapping[str, Any]) -> None:
        return None

    def execute(self, state: StateView, tx: Tx, ctx: BlockContext) -> TxResult:
        state.set(b"half", b"written")
        if tx.method == "raise":
            raise ZeroDivisionError("bug")
        if tx.method == "code":
            return TxResult(code=CONFLICT, message="refused after writing")
        return TxResult(code=OK)

    def query(self, state: StateView, method: str, args: Mapping[str, Any]) -> Any:
        return state.get(b"half")


def make_chain() -> Chain:
    return Chain(Application([KvContract(), NotaryContract(), Faulty()]))


def test_builtin_contracts_are_kv_and_notary_with_distinct_names() -> None:
    names = [c.name for c in builtin_contracts()]
    assert names[:2] == ["kv", "notary"] and len(set(names)) == len(names)
    assert Chain().app.contract_names == sorted(names)


def test_contract_exception_becomes_internal_and_the_block_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    chain = make_chain()
    with caplog.at_level(logging.ERROR):
        outcome = chain.block(
            [
                tx(ALICE, "kv", "set", {"key": "before", "value": "1"}),
                tx(ALICE, "faulty", "raise", {}),
                tx(ALICE, "kv", "set", {"key": "after", "value": "2"}),
            ]
        )
    assert [r.code for r in outcome.results] == [OK, INTERNAL, OK]
    assert outcome.results[1].message == "contract error: ZeroDivisionError"
    assert outcome.writes == [(b"c/kv/k/after", b"2"), (b"c/kv/k/before", b"1")]
    assert "faulty" in caplog.text


@pytest.mark.parametrize("method", ["code", "raise"])
def test_rejected_tx_leaves_state_unchanged(method: str) -> None:
    chain = make_chain()
    chain.one(tx(ALICE, "notary", "register", {"digest": DOC, "kind": "document"}))
    before = chain.snapshot()
    result = chain.one(tx(ALICE, "faulty", method, {}))
    assert result.code != OK
    assert chain.snapshot() == before
    assert chain.query("faulty", "peek", {}) is None
    assert (
        chain.one(tx(ALICE, "faulty", "ok", {})).code == OK
    )  # the probe does write when it succeeds
    assert chain.query("faulty", "peek", {}) == b"written"


def test_unknown_contract() -> None:
    result = Chain().one(tx(ALICE, "escrow", "open", {}))
    assert result.code == UNKNOWN_CONTRACT


def test_corrupt_notary_state_is_internal_not_a_crash() -> None:
    chain = Chain()
    chain.store.data[b"c/notary/d/" + DOC.encode()] = b"{not json"
    result = chain.one(tx(ALICE, "notary", "register", {"digest": DOC, "kind": "document"}))
    assert result.code == INTERNAL
    assert chain.store.data[b"c/notary/d/" + DOC.encode()] == b"{not json"


def test_non_canonical_result_fails_the_tx_and_discards_its_writes() -> None:
    from baaskit.contracts import Application, MemoryStore, TxResult

    class FloatResult:
        name = "floaty"

        def init_chain(self, state, params):  # type: ignore[no-untyped-def]
            return None

        def execute(self, state, tx, ctx):  # type: ignore[no-untyped-def]
            state.set(b"k", b"v")
            return TxResult(code=0, data={"x": 1.5})

        def query(self, state, method, args):  # type: ignore[no-untyped-def]
            return None

    import nacl.signing

    from baaskit.contracts import BlockContext
    from baaskit.tx import decode_payload, make_tx

    key = nacl.signing.SigningKey.generate()
    tx = decode_payload(make_tx(key, "c", "floaty", "m", {}), "c")
    outcome = Application([FloatResult()]).execute_block(MemoryStore(), BlockContext("c", 1, 1, 0), [tx])
    assert outcome.results[0].code != 0
    assert outcome.writes == []
