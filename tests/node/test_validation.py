"""ProposalValidator: every reason a replica refuses to prepare a proposal."""

from __future__ import annotations

import pytest

from baaskit.node.mempool import Mempool
from baaskit.node.storage import MemoryStore
from baaskit.node.validation import ProposalValidator
from baaskit.node.verified import VerifiedTxCache
from baaskit.tx import TxEnvelope, make_tx

from .chain import CHAIN as CHAIN_ID
from .chain import GENESIS_TIME, make_chain

CHAIN = make_chain()
NOW = GENESIS_TIME + 60_000
SKEW = 10_000


@pytest.fixture
def store() -> MemoryStore:
    s = MemoryStore()
    s.init_genesis(CHAIN.genesis, [])
    return s


def validator(store: MemoryStore, cache: VerifiedTxCache | None = None) -> ProposalValidator:
    return ProposalValidator(CHAIN_ID, cache or VerifiedTxCache(), CHAIN.genesis.enrolled_keys(), store, max_txs=50)


def check(v: ProposalValidator, seq: int, txs: list[TxEnvelope], time_ms: int = NOW, prev: int = GENESIS_TIME, **kw: int) -> str | None:
    return v.check(seq, CHAIN.proposal(time_ms, txs), prev, NOW, SKEW, **kw)


def test_valid_proposal_and_null_batch(store: MemoryStore) -> None:
    v = validator(store)
    assert check(v, 1, [CHAIN.tx("a", "1"), CHAIN.tx("b", "1")]) is None
    assert check(v, 2, [], time_ms=NOW + 1) is None
    assert v.check(3, b"", GENESIS_TIME, NOW, SKEW) is None
    assert v.accepted_seqs == [1, 2]


def _forged() -> TxEnvelope:
    t = CHAIN.tx("f", "1")
    return TxEnvelope(t.payload, t.signer, bytes(64))


@pytest.mark.parametrize(
    ("txs", "kwargs", "reason"),
    [
        ([CHAIN.tx("a", "1"), CHAIN.tx("a", "1")], {}, "appears twice"),
        ([TxEnvelope(b"{}", bytes(32), bytes(64))], {}, "payload"),
        ([make_tx(CHAIN.clients[0], "elsewhere", "kv", "set", {})], {}, "chain"),
        ([make_tx(CHAIN.outsider, CHAIN_ID, "kv", "set", {})], {}, "not enrolled"),
        ([_forged()], {}, "signature does not verify"),
        ([CHAIN.tx("a", "1")], {"time_ms": GENESIS_TIME}, "not after the previous"),
        ([CHAIN.tx("a", "1")], {"time_ms": NOW + SKEW + 1}, "skew"),
        ([CHAIN.tx("a", "1")], {"time_ms": NOW - SKEW - 1}, "skew"),
        ([CHAIN.tx(f"k{i}", "v") for i in range(51)], {}, "limit 50"),
        ([CHAIN.tx("a", "1")], {"view": 3}, "view"),
        ([CHAIN.tx("a", "1")], {"primary": 2}, "proposer"),
    ],
)
def test_each_bad_case_is_rejected_with_its_reason(
    store: MemoryStore, txs: list[TxEnvelope], kwargs: dict[str, int], reason: str
) -> None:
    v = validator(store)
    result = check(v, 1, txs, **kwargs)
    assert result is not None and reason in result
    assert v.accepted_seqs == []


def test_undecodable_payload(store: MemoryStore) -> None:
    reason = validator(store).check(1, b"\x00garbage", GENESIS_TIME, NOW, SKEW)
    assert reason is not None and "undecodable" in reason


def test_already_committed_tx_is_rejected(store: MemoryStore) -> None:
    from baaskit.node.executor import BlockExecutor

    from .chain import kv_app

    ex = BlockExecutor(store, kv_app(), CHAIN.genesis, 0, CHAIN.node_keys[0])
    tx = CHAIN.tx("a", "1")
    ex.execute(1, 0, 0, CHAIN.proposal(NOW - 5, [tx]))
    reason = check(validator(store), 2, [tx], prev=NOW - 5)
    assert reason is not None and "already committed" in reason


def test_tx_in_another_uncommitted_proposal(store: MemoryStore) -> None:
    v = validator(store)
    tx = CHAIN.tx("a", "1")
    assert check(v, 1, [tx], time_ms=NOW - 10) is None
    reason = check(v, 2, [tx])
    assert reason is not None and "sequence 1" in reason
    assert check(v, 1, [tx, CHAIN.tx("b", "1")], time_ms=NOW - 10) is None  # same seq: re-proposal
    v.committed(1)  # executed: now the store's index answers for it
    assert check(v, 2, [tx]) is None
    v.reset()
    assert v.accepted_seqs == []


def test_pipelined_times_must_increase(store: MemoryStore) -> None:
    v = validator(store)
    assert check(v, 1, [CHAIN.tx("a", "1")], time_ms=NOW) is None
    reason = check(v, 2, [CHAIN.tx("b", "1")], time_ms=NOW)  # block 1 not executed yet
    assert reason is not None and "not after" in reason
    assert check(v, 2, [CHAIN.tx("b", "1")], time_ms=NOW + 1) is None


def test_tx_verified_once_via_api_then_pre_prepare(store: MemoryStore) -> None:
    cache = VerifiedTxCache()
    mempool = Mempool(10, cache, CHAIN.genesis.enrolled_keys(), CHAIN_ID)
    txs = [CHAIN.tx(f"k{i}", "v") for i in range(5)]
    mempool.admit(txs, store.is_committed)
    v = validator(store, cache)
    assert check(v, 1, txs) is None
    assert check(v, 1, txs) is None  # the same pre-prepare again (retransmission)
    assert cache.verifications == 5


def test_forged_signature_reproposed_with_a_verified_payload(store: MemoryStore) -> None:
    cache = VerifiedTxCache()
    tx = CHAIN.tx("a", "1")
    assert cache.verify(tx)
    forged = TxEnvelope(tx.payload, tx.signer, bytes(reversed(tx.signature)))
    reason = check(validator(store, cache), 1, [forged])
    assert reason is not None and "signature" in reason


def test_the_accepted_proposal_tx_ids_are_kept_for_the_driver() -> None:
    from baaskit.node.storage import MemoryStore
    from baaskit.node.validation import ProposalValidator
    from baaskit.node.verified import VerifiedTxCache

    from .chain import CHAIN, GENESIS_TIME, make_chain

    chain = make_chain()
    validator = ProposalValidator(CHAIN, VerifiedTxCache(), frozenset(bytes(k.verify_key) for k in chain.clients), MemoryStore())
    txs = [chain.tx("a", "1"), chain.tx("b", "2")]
    now = GENESIS_TIME + 1_000
    assert validator.check(1, chain.proposal(now, txs), GENESIS_TIME, now, 10_000) is None
    assert validator.accepted_tx_ids(1) == tuple(t.tx_id for t in txs)
    assert validator.accepted_tx_ids(2) == ()


def test_behind_ms_tells_a_lagging_replica_from_a_faulty_primary(store: MemoryStore) -> None:
    """Only a block time too far BEHIND the clock is reported (the driver then abstains); one
    ahead of it, within the skew, null and undecodable proposals are left to check()."""
    v = validator(store)
    txs = [CHAIN.tx("a", "1")]
    assert v.behind_ms(CHAIN.proposal(NOW - SKEW - 12_000, txs), NOW, SKEW) == SKEW + 12_000
    assert v.behind_ms(CHAIN.proposal(NOW - SKEW, txs), NOW, SKEW) is None
    assert v.behind_ms(CHAIN.proposal(NOW + SKEW + 1, txs), NOW, SKEW) is None
    assert v.behind_ms(b"", NOW, SKEW) is None
    assert v.behind_ms(b"\x00garbage", NOW, SKEW) is None
    assert v.accepted_seqs == []  # asking accepts nothing


def test_block_time_is_judged_against_the_window_the_frame_arrived_in(store: MemoryStore) -> None:
    """The driver passes the earliest frame arrival of its round (now_ms) and the clock now
    (latest_ms). A pre-prepare that arrived late in a long round is not "from the future"."""
    v = validator(store)
    late = NOW + SKEW + 11_000  # 11 s past the skew after the round's earliest frame arrived ...
    assert v.check(1, CHAIN.proposal(late, [CHAIN.tx("a", "1")]), GENESIS_TIME, NOW, SKEW, latest_ms=NOW + 12_000) is None
    ahead = v.check(2, CHAIN.proposal(NOW + 12_000 + SKEW + 1, [CHAIN.tx("b", "1")]), GENESIS_TIME, NOW, SKEW, latest_ms=NOW + 12_000)
    assert ahead is not None and "ahead" in ahead and "skew" in ahead  # ... but not past the clock now
    assert v.accepted_seqs == [1]
    behind = validator(store).check(1, CHAIN.proposal(NOW - SKEW - 1, [CHAIN.tx("b", "1")]), GENESIS_TIME, NOW, SKEW, latest_ms=NOW + 12_000)
    assert behind is not None and "behind" in behind
