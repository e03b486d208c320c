"""Mempool: all-or-nothing admission, permissioning, duplicates, bounds, in-flight bookkeeping."""

from __future__ import annotations

import pytest
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from baaskit.node.mempool import Ack, AckCode, AdmissionError, Mempool
from baaskit.node.metrics import Metrics
from baaskit.node.verified import VerifiedTxCache
from baaskit.tx import TxEnvelope, make_tx
from tests.budget import budget

from .chain import CHAIN as CHAIN_ID
from .chain import make_chain

CHAIN = make_chain()


def never(_: bytes) -> bool:
    return False


def pool(capacity: int = 10) -> Mempool:
    return Mempool(capacity, VerifiedTxCache(), CHAIN.genesis.enrolled_keys(), CHAIN_ID, Metrics())


def test_admit_acks_accepted_duplicate_committed() -> None:
    m = pool()
    a, b, c = CHAIN.tx("a", "1"), CHAIN.tx("b", "1"), CHAIN.tx("c", "1")
    assert m.admit([a, b], never) == [Ack(a.tx_id, AckCode.ACCEPTED), Ack(b.tx_id, AckCode.ACCEPTED)]
    acks = m.admit([a, c, c], lambda tx_id: tx_id == c.tx_id)
    assert [x.code for x in acks] == [AckCode.DUPLICATE, AckCode.COMMITTED, AckCode.COMMITTED]
    d = CHAIN.tx("d", "1")
    assert [x.code for x in m.admit([d, d], never)] == [AckCode.ACCEPTED, AckCode.DUPLICATE]
    assert len(m) == 3 and m.pending_count == 3


@pytest.mark.parametrize(
    ("bad", "code", "text"),
    [
        (TxEnvelope(b"not json", bytes(32), bytes(64)), "INVALID_ARGUMENT", "payload"),
        (make_tx(CHAIN.clients[0], "other-chain", "kv", "set", {"key": "k", "value": "v"}), "INVALID_ARGUMENT", "chain"),
        (make_tx(CHAIN.outsider, CHAIN_ID, "kv", "set", {"key": "k", "value": "v"}), "PERMISSION_DENIED", "not an enrolled"),
        ("forged", "INVALID_ARGUMENT", "signature"),
    ],
)
def test_one_bad_tx_refuses_the_whole_request(bad: TxEnvelope | str, code: str, text: str) -> None:
    m = pool()
    good = CHAIN.tx("g", "1")
    if bad == "forged":
        t = CHAIN.tx("f", "1")
        bad = TxEnvelope(t.payload, t.signer, bytes(64))
    assert isinstance(bad, TxEnvelope)
    with pytest.raises(AdmissionError, match=text) as info:
        m.admit([good, bad, CHAIN.tx("h", "1")], never)
    assert info.value.code == code
    assert "transaction 1" in info.value.message
    assert len(m) == 0


def test_full_mempool_refuses_whole_request_and_keeps_acknowledged_txs() -> None:
    m = pool(capacity=3)
    first = [CHAIN.tx(f"k{i}", "v") for i in range(2)]
    m.admit(first, never)
    with pytest.raises(AdmissionError) as info:
        m.admit([CHAIN.tx("x", "1"), CHAIN.tx("y", "1")], never)
    assert info.value.code == "RESOURCE_EXHAUSTED"
    assert len(m) == 2 and all(t.tx_id in m for t in first)
    m.admit([CHAIN.tx("x", "1")], never)  # exactly fits
    assert len(m) == 3
    assert [a.code for a in m.admit(first, never)] == [AckCode.DUPLICATE] * 2  # duplicates need no room
    taken = m.take(2)
    assert len(m) == 3  # in-flight still counts against capacity
    with pytest.raises(AdmissionError):
        m.admit([CHAIN.tx("z", "1")], never)
    assert m.remove_committed([t.tx_id for t in taken]) == 2
    m.admit([CHAIN.tx("z", "1")], never)


def test_take_requeue_and_remove() -> None:
    m = pool(capacity=10)
    txs = [CHAIN.tx(f"k{i}", "v") for i in range(6)]
    m.admit(txs[:3], never)
    m.tick()
    m.admit(txs[3:], never)
    assert m.take(2) == txs[:2]
    assert m.inflight_count == 2 and m.pending_count == 4
    assert m.take(3) == txs[2:5]
    m.remove_committed([txs[0].tx_id])
    assert m.requeue_inflight() == 4
    assert m.take(10) == [txs[1], txs[2], txs[3], txs[4], txs[5]]  # admission order restored
    assert m.requeue_inflight() == 5
    m.mark_inflight([txs[3].tx_id])
    assert m.pending_ids() == [t.tx_id for t in (txs[1], txs[2], txs[4], txs[5])]
    assert m.get(txs[3].tx_id) == txs[3]


def test_ages_in_ticks() -> None:
    m = pool()
    assert m.oldest_pending_age_ticks() is None and m.oldest_age_ticks() is None
    a, b = CHAIN.tx("a", "1"), CHAIN.tx("b", "1")
    m.admit([a], never)
    m.tick()
    m.tick()
    m.admit([b], never)
    m.tick()
    assert m.oldest_pending_age_ticks() == 3
    m.take(1)
    assert m.oldest_pending_age_ticks() == 1
    assert m.oldest_age_ticks() == 3


def test_forwarded_txs_checked_one_by_one() -> None:
    m = pool(capacity=3)
    t = CHAIN.tx("f", "1")
    forged = TxEnvelope(t.payload, t.signer, bytes(64))
    outsider = make_tx(CHAIN.outsider, CHAIN_ID, "kv", "set", {"key": "k", "value": "v"})
    good = [CHAIN.tx(f"k{i}", "v") for i in range(4)]
    got = m.add_forwarded([forged, good[0], outsider, good[0], good[1], good[2], good[3]], never)
    assert got.added == 3 and len(m) == 3
    assert m.forwarded_rejected == 2
    # The sender is told what this node holds: not the rejected ones, not the one left out (full).
    assert got.held == [good[0].tx_id, good[0].tx_id, good[1].tx_id, good[2].tx_id]


def test_verify_once_across_admit_and_forward() -> None:
    cache = VerifiedTxCache()
    m = Mempool(10, cache, CHAIN.genesis.enrolled_keys(), CHAIN_ID)
    tx = CHAIN.tx("a", "1")
    m.admit([tx], never)
    m.admit([tx], never)
    m.add_forwarded([tx], never)
    assert cache.verifications == 1


class MempoolMachine(RuleBasedStateMachine):
    """Model: the set of acknowledged, uncommitted txs is exactly what the mempool holds."""

    @initialize()
    def setup(self) -> None:
        self.m = pool(capacity=5)
        self.acked: set[bytes] = set()
        self.committed: set[bytes] = set()
        self.inflight: list[bytes] = []
        self.n = 0

    @rule(k=st.integers(1, 4), dup=st.booleans())
    def admit(self, k: int, dup: bool) -> None:
        txs = [CHAIN.tx(f"s{self.n + i}", "v") for i in range(k)]
        self.n += k
        if dup and self.acked:
            txs.append(self.m.get(sorted(self.acked)[0]) or txs[0])
        try:
            acks = self.m.admit(txs, self.committed.__contains__)
        except AdmissionError as exc:
            assert exc.code == "RESOURCE_EXHAUSTED"
            return
        self.acked |= {a.tx_id for a in acks if a.code is AckCode.ACCEPTED}

    @rule(k=st.integers(0, 3))
    def take(self, k: int) -> None:
        self.inflight += [t.tx_id for t in self.m.take(k)]

    @rule()
    def requeue(self) -> None:
        self.m.requeue_inflight()
        self.inflight = []

    @precondition(lambda self: bool(self.inflight))
    @rule()
    def commit_first_inflight(self) -> None:
        tx_id = self.inflight.pop(0)
        self.committed.add(tx_id)
        self.acked.discard(tx_id)
        self.m.remove_committed([tx_id])

    @invariant()
    def bounded_and_nothing_lost(self) -> None:
        assert len(self.m) <= self.m.capacity
        assert all(tx_id in self.m for tx_id in self.acked)
        assert len(self.m) == len(self.acked)


MempoolMachine.TestCase.settings = hsettings(max_examples=budget(60), stateful_step_count=30)
test_mempool_model = MempoolMachine.TestCase


def test_a_stale_tx_is_resent_to_a_primary_once_per_view() -> None:
    from baaskit.node.mempool import Mempool
    from baaskit.node.verified import VerifiedTxCache

    from .chain import make_chain

    chain = make_chain()
    pool = Mempool(100, VerifiedTxCache(), frozenset(bytes(k.verify_key) for k in chain.clients), chain.genesis.chain_id)
    old, young = chain.tx("a", "1"), chain.tx("b", "2")
    pool.admit([old], lambda _: False)
    for _ in range(10):
        pool.tick()
    pool.admit([young], lambda _: False)
    assert pool.stale_for_resend(10, view=0, limit=100) == [old]  # the young one is not stale
    assert pool.stale_for_resend(10, view=0, limit=100) == []  # not again in the same view
    assert pool.stale_for_resend(10, view=1, limit=100) == [old]  # a new primary may lack it


def test_preverify_fills_the_cache_and_admits_nothing() -> None:
    cache = VerifiedTxCache()
    m = Mempool(10, cache, CHAIN.genesis.enrolled_keys(), CHAIN_ID, Metrics())
    good = CHAIN.tx("a", "1")
    forged = TxEnvelope(good.payload, good.signer, bytes(64))
    m.preverify([good, forged])
    assert len(m) == 0
    assert cache.verifications == 2 and good in cache and forged not in cache
    assert [a.code for a in m.admit([good], never)] == [AckCode.ACCEPTED]
    assert cache.verifications == 2  # admission looked the verified one up
    with pytest.raises(AdmissionError, match="signature does not verify"):
        m.admit([forged], never)


def test_late_forwarded_copies_cost_no_verification() -> None:
    cache = VerifiedTxCache()
    m = Mempool(10, cache, CHAIN.genesis.enrolled_keys(), CHAIN_ID, Metrics())
    tx = CHAIN.tx("late", "1")
    assert m.add_forwarded([tx], never).added == 1 and cache.verifications == 1
    again = m.add_forwarded([tx], never)  # pending already: held, not added again
    assert again.added == 0 and again.held == [tx.tx_id]
    m.take(1)
    m.remove_committed([tx.tx_id])
    cache.forget([tx])  # what the executor does at commit
    late = m.add_forwarded([tx], lambda tx_id: tx_id == tx.tx_id)  # committed meanwhile: held
    assert late.added == 0 and late.held == [tx.tx_id]
    assert cache.verifications == 1 and len(m) == 0
