"""HoldTracker: a Submit's txs are safe once f distinct peers hold them, or once committed."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from baaskit.node import pbconv
from baaskit.node.grpc_errors import ApiError
from baaskit.node.holds import HoldTracker
from baaskit.node.mempool import Mempool
from baaskit.node.metrics import SUBMITS_NOT_HELD, Metrics
from baaskit.node.service import CommitWatch, NodeService
from baaskit.node.storage import MemoryStore
from baaskit.node.verified import VerifiedTxCache
from baaskit.tx import TxEnvelope

from .chain import kv_app, make_chain

A, B, C = b"a" * 32, b"b" * 32, b"c" * 32
SHORT_S = 0.05  # only for the waits that must time out
GUARD_S = 10.0  # failure guard: the others finish as soon as the tx is safe


def test_a_tx_is_safe_once_enough_distinct_peers_hold_it() -> None:
    holds = HoldTracker(needed=2)
    holds.admitted([A, B])
    holds.held(1, [A])
    holds.held(1, [A])  # the same peer again does not count twice
    assert holds.unsafe([A, B]) == [A, B]
    holds.held(2, [A, C])  # C was not admitted here: ignored
    assert holds.unsafe([A, B, C]) == [B]
    holds.committed([B])  # committed is final whoever holds it
    assert holds.unsafe([A, B]) == [] and len(holds) == 0


def test_a_wait_returns_when_the_last_of_its_txs_becomes_safe_and_times_out_otherwise() -> None:
    async def scenario() -> None:
        holds = HoldTracker(needed=1)
        holds.admitted([A, B])
        waiting = asyncio.create_task(holds.wait([A, B, C], GUARD_S))
        await asyncio.sleep(0)
        holds.held(3, [A])
        await asyncio.sleep(0)
        assert not waiting.done()  # B still waits
        holds.committed([B])
        assert await waiting is True

        holds.admitted([C])
        assert await holds.wait([C], SHORT_S) is False  # nobody holds it: the caller reports it
        assert holds.unsafe([C]) == [C]  # still tracked: a later hold settles it
        holds.held(2, [C])
        assert await holds.wait([C], SHORT_S) is True

    asyncio.run(asyncio.wait_for(scenario(), GUARD_S))


def test_nothing_waits_when_no_peer_is_needed_or_nothing_was_admitted_here() -> None:
    async def scenario() -> None:
        alone = HoldTracker(needed=0)  # a one-member consortium (f = 0)
        alone.admitted([A])
        assert alone.unsafe([A]) == [] and await alone.wait([A], SHORT_S) is True
        assert await HoldTracker(needed=1).wait([B], SHORT_S) is True  # forwarded here, not admitted

    asyncio.run(asyncio.wait_for(scenario(), GUARD_S))


def test_a_submit_whose_txs_no_peer_holds_is_answered_unavailable_with_a_message() -> None:
    """NodeService.await_held (what the Submit RPC awaits after admission): without f holders in
    time, UNAVAILABLE saying so, counted in `submits_not_held`; the txs stay admitted and are
    answered at once when a peer's report arrives later."""
    chain = make_chain()
    store, metrics = MemoryStore(), Metrics()
    mempool = Mempool(100, VerifiedTxCache(), chain.genesis.enrolled_keys(), chain.genesis.chain_id, metrics)
    holds = HoldTracker(chain.genesis.f)
    handed: list[TxEnvelope] = []
    service = NodeService(
        genesis=chain.genesis,
        me=1,
        store=store,
        mempool=mempool,
        app=kv_app(),
        metrics=metrics,
        watch=CommitWatch(),
        holds=holds,
        on_admitted=handed.extend,
        consensus_status=lambda: (0, 0, 0),
        tx_proof=lambda tx_id: None,
        ready=lambda: True,
    )
    tx = chain.tx("k", "v")
    acks = service.admit([pbconv.envelope_to_pb(tx)])
    assert handed == [tx]  # forwarded after it was tracked
    with pytest.raises(ApiError) as refused:
        asyncio.run(service.await_held(acks, timeout_s=SHORT_S))
    assert refused.value.code == grpc.StatusCode.UNAVAILABLE
    assert "not yet held by 1 other member" in refused.value.message
    assert metrics.get(SUBMITS_NOT_HELD) == 1
    assert service.status().metrics["txs_awaiting_holders"] == 1 and tx.tx_id in mempool
    holds.held(2, [tx.tx_id])
    asyncio.run(service.await_held(acks, timeout_s=SHORT_S))  # held now: answered at once
    assert service.status().metrics["txs_awaiting_holders"] == 0
