"""One storage suite, run against both backends (ethereum/py-evm style)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from baaskit.block import GENESIS_PREV_HASH
from baaskit.contracts.state import Overlay, StateView
from baaskit.node.metrics import Metrics
from baaskit.node.storage import (
    KVStore,
    LevelStore,
    MemoryStore,
    Store,
    StoredBlock,
    StoreError,
    StoreLockedError,
    keys,
)
from tests.budget import budget

from .chain import Chain, make_chain


@pytest.fixture(scope="module")
def chain() -> Chain:
    return make_chain()


@pytest.fixture(params=["memory", "leveldb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KVStore]:
    metrics = Metrics()
    s: KVStore = MemoryStore(metrics) if request.param == "memory" else LevelStore(tmp_path / "db", metrics)
    s.metrics = metrics  # type: ignore[attr-defined]
    yield s
    s.close()


def _block(chain: Chain, height: int, n_txs: int, prev: str = "") -> StoredBlock:
    envelopes = tuple(chain.tx(f"k{height}-{i}", f"v{prev}{i}") for i in range(n_txs))
    header = f'{{"height":{height},"prev":"{prev}"}}'.encode()
    return StoredBlock(
        height=height,
        header=header,
        header_hash=hashlib.sha256(header).digest(),
        envelopes=envelopes,
        results=tuple(f'{{"i":{i}}}'.encode() for i in range(n_txs)),
    )


def _digest(height: int) -> bytes:
    return hashlib.sha256(b"digest %d" % height).digest()


def test_fresh_store_has_no_chain(store: KVStore, chain: Chain) -> None:
    assert store.genesis_hash() is None
    assert store.last_height() == 0
    assert store.last_block_hash() == GENESIS_PREV_HASH
    with pytest.raises(StoreError, match="before init_genesis"):
        store.commit_block(_block(chain, 1, 1), [], _digest(1))


def test_init_genesis_writes_state_and_digest_once(store: KVStore, chain: Chain) -> None:
    assert store.init_genesis(chain.genesis, [(b"c/kv/d/a", b"1"), (b"c/kv/d/b", b"2")]) is True
    assert store.sync_batches == 1
    assert store.genesis_hash() == chain.genesis.hash
    assert store.state_digest() == hashlib.sha256(chain.genesis.raw).digest()
    assert store.get_state(b"c/kv/d/a") == b"1"
    # idempotent: the same genesis again is a no-op (no write at all)
    assert store.init_genesis(chain.genesis, [(b"c/kv/d/a", b"changed")]) is False
    assert store.sync_batches == 1
    assert store.get_state(b"c/kv/d/a") == b"1"
    other = make_chain(app_state={"kv": {"entries": {"x": "y"}}}).genesis
    with pytest.raises(StoreError, match="another genesis"):
        store.init_genesis(other, [])


def test_commit_block_is_one_sync_batch_and_reads_back(store: KVStore, chain: Chain) -> None:
    store.init_genesis(chain.genesis, [(b"c/kv/d/old", b"x")])
    before = store.sync_batches
    block = _block(chain, 1, 5)
    store.commit_block(block, [(b"c/kv/d/new", b"1"), (b"c/kv/d/old", None)], _digest(1))
    assert store.sync_batches == before + 1
    assert store.metrics.snapshot()["fsyncs"] == before + 1  # type: ignore[attr-defined]
    written = store.metrics.snapshot()["store_bytes_written"]  # type: ignore[attr-defined]
    store.write_consensus_records([(bytes([4]) + keys.u64(9), b"vote")], forget_below=None)
    # key p/ + kind + seq, and the value: what LevelDB takes in
    assert store.metrics.snapshot()["store_bytes_written"] == written + 2 + 9 + 4  # type: ignore[attr-defined]
    assert store.last_height() == 1
    assert store.last_block_hash() == block.header_hash
    assert store.state_digest() == _digest(1)
    assert store.get_header(1) == block.header
    assert store.get_block(1) == block
    for i, envelope in enumerate(block.envelopes):
        assert store.get_tx_location(envelope.tx_id) == (1, i)
        assert store.is_committed(envelope.tx_id)
        assert store.get_tx(1, i) == envelope
        assert store.get_result(1, i) == block.results[i]
    assert store.get_state(b"c/kv/d/new") == b"1"
    assert store.get_state(b"c/kv/d/old") is None
    assert store.get_tx_location(bytes(32)) is None
    assert store.get_block(2) is None and store.get_header(2) is None


def test_many_blocks_cost_one_fsync_each(store: KVStore, chain: Chain) -> None:
    store.init_genesis(chain.genesis, [])
    start = store.sync_batches
    for h in range(1, 21):
        store.commit_block(_block(chain, h, 50 if h == 7 else h % 3), [(b"c/kv/h", b"%d" % h)], _digest(h))
    assert store.sync_batches - start == 20  # O(1) per block, not per tx (block 7 holds 50 txs)


def test_blocks_do_not_bleed_into_each_other(store: KVStore, chain: Chain) -> None:
    store.init_genesis(chain.genesis, [])
    blocks = [_block(chain, h, (h % 4) + 1) for h in range(1, 13)]
    for b in blocks:
        store.commit_block(b, [], _digest(b.height))
    for b in blocks:  # height 1's prefix must not see 10, 11, 12 (fixed-width big-endian keys)
        assert store.get_block(b.height) == b


def test_out_of_order_or_inconsistent_blocks_are_refused_and_write_nothing(store: KVStore, chain: Chain) -> None:
    store.init_genesis(chain.genesis, [])
    with pytest.raises(StoreError, match="does not follow"):
        store.commit_block(_block(chain, 2, 1), [], _digest(2))
    bad = _block(chain, 1, 1)
    bad = StoredBlock(bad.height, bad.header, bytes(32), bad.envelopes, bad.results)
    with pytest.raises(StoreError, match="header_hash"):
        store.commit_block(bad, [], _digest(1))
    with pytest.raises(StoreError, match="results"):
        StoredBlock(1, b"{}", hashlib.sha256(b"{}").digest(), (chain.tx("a", "b"),), ())
    assert store.last_height() == 0
    assert store.sync_batches == 1


def test_certificates_unsynced_alone_or_in_the_block_batch(store: KVStore, chain: Chain) -> None:
    store.init_genesis(chain.genesis, [])
    with pytest.raises(StoreError, match="certificate for height 1"):
        store.put_certificate(1, b"cert-1")
    store.commit_block(_block(chain, 1, 1), [], _digest(1))
    assert store.get_certificate(1) is None
    n = store.sync_batches
    store.put_certificate(1, b"cert-1")  # derived data: no fsync of its own
    assert store.sync_batches == n
    store.commit_block(_block(chain, 2, 1), [], _digest(2), certificate=b"cert-2")
    assert store.sync_batches == n + 1
    assert store.get_certificate(1) == b"cert-1"
    assert store.get_certificate(2) == b"cert-2"


def test_consensus_records_group_commit_supersede_and_forget(store: KVStore) -> None:
    def rec(kind: int, seq: int | None) -> bytes:
        return bytes([kind]) + (keys.u64(seq) if seq is not None else b"")

    records = [(rec(2, s), b"pp%d" % s) for s in range(1, 11)] + [(rec(1, None), b"view0")]
    store.write_consensus_records(records)
    assert store.sync_batches == 1  # eleven records, one fsync
    loaded = store.load_consensus_records()
    assert loaded == [b"view0"] + [b"pp%d" % s for s in range(1, 11)]  # key order
    store.write_consensus_records([(rec(1, None), b"view1"), (rec(2, 3), b"pp3-v1")])
    assert store.load_consensus_records()[0] == b"view1"
    assert b"pp3-v1" in store.load_consensus_records() and b"pp3" not in store.load_consensus_records()
    # forget_below deletes sequence-bound records with seq <= 6 and skips new ones below it
    store.write_consensus_records([(rec(5, 4), b"late"), (rec(5, 12), b"c12")], forget_below=6)
    assert store.load_consensus_records() == [b"view1"] + [b"pp%d" % s for s in range(7, 11)] + [b"c12"]
    n = store.sync_batches
    store.write_consensus_records([])
    assert store.sync_batches == n  # nothing to write: no fsync
    with pytest.raises(ValueError):
        store.write_consensus_records([(b"", b"x")])


def test_staged_records_share_the_next_synced_batch(store: KVStore, chain: Chain) -> None:
    """A driver step stages its votes; the block it executes carries them in ONE fsync."""
    store.init_genesis(chain.genesis, [])
    store.commit_block(_block(chain, 1, 2), [], _digest(1))
    store.write_consensus_records([(bytes([2]) + keys.u64(1), b"old")])
    n = store.sync_batches
    store.stage_consensus_records([(bytes([3]) + keys.u64(1), b"commit-1"), (bytes([3]) + keys.u64(2), b"commit-2")], forget_below=1)
    store.put_certificate(1, b"cert")  # unsynced: must not take (and lose) the staged records
    assert store.load_consensus_records() == [b"old"]
    store.commit_block(_block(chain, 2, 2), [], _digest(2))
    assert store.sync_batches == n + 1  # block + records + forget: one fsync
    assert store.load_consensus_records() == [b"commit-2"]  # seq 1 forgotten in the same batch
    store.stage_consensus_records([(bytes([3]) + keys.u64(3), b"commit-3")])
    store.flush_consensus_records()
    store.flush_consensus_records()  # nothing staged: no fsync
    assert store.sync_batches == n + 2
    assert store.load_consensus_records() == [b"commit-2", b"commit-3"]


def test_state_reader_serves_contract_overlays(store: KVStore, chain: Chain) -> None:
    store.init_genesis(chain.genesis, [(b"c/kv/b", b"2"), (b"c/kv/a", b"1"), (b"c/kx/z", b"9"), (b"c/kv/c", b"3")])
    view = StateView(Overlay(store.state_reader()), "kv")
    assert list(view.iterate()) == [(b"a", b"1"), (b"b", b"2"), (b"c", b"3")]
    assert view.get(b"b") == b"2"
    assert list(store.iterate_state(b"c/kx/")) == [(b"c/kx/z", b"9")]


def test_store_satisfies_the_protocol(store: KVStore) -> None:
    s: Store = store  # mypy checks the structural match
    assert s.last_height() == 0


def test_leveldb_reopen_keeps_everything(tmp_path: Path, chain: Chain) -> None:
    path = tmp_path / "db"
    s = LevelStore(path)
    s.init_genesis(chain.genesis, [(b"c/kv/a", b"1")])
    blocks = [_block(chain, h, 3) for h in (1, 2, 3)]
    for b in blocks:
        s.commit_block(b, [(b"c/kv/h", b"%d" % b.height)], _digest(b.height), certificate=b"cert")
    s.write_consensus_records([(b"\x01", b"view")])
    with pytest.raises(StoreLockedError, match="in use"):
        LevelStore(path)
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.put_certificate(1, b"x")
    r = LevelStore(path)
    try:
        assert r.genesis_hash() == chain.genesis.hash
        assert r.last_height() == 3
        assert r.last_block_hash() == blocks[-1].header_hash
        assert r.state_digest() == _digest(3)
        assert r.get_state(b"c/kv/h") == b"3"
        assert [r.get_block(h) for h in (1, 2, 3)] == blocks
        assert r.get_certificate(2) == b"cert"
        assert r.load_consensus_records() == [b"view"]
        assert r.init_genesis(chain.genesis, []) is False
        r.commit_block(_block(chain, 4, 1), [], _digest(4))
    finally:
        r.close()


def test_leveldb_unusable_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot"):
        LevelStore(blocker / "db")


@hsettings(max_examples=budget(200))
@given(st.lists(st.integers(0, 2**64 - 1), min_size=2, max_size=20))
def test_height_keys_sort_numerically(heights: list[int]) -> None:
    assert sorted(heights) == [keys.read_u64(k[len(keys.HEADER):]) for k in sorted(keys.header_key(h) for h in heights)]


@hsettings(max_examples=budget(200))
@given(st.lists(st.tuples(st.integers(0, 2**64 - 1), st.integers(0, 2**32 - 1)), min_size=2, max_size=20))
def test_tx_keys_sort_by_height_then_index(locs: list[tuple[int, int]]) -> None:
    assert sorted(locs) == [keys.read_location(k[len(keys.TX):]) for k in sorted(keys.tx_key(h, i) for h, i in locs)]


def test_key_builders_reject_out_of_range() -> None:
    with pytest.raises(ValueError):
        keys.u64(-1)
    with pytest.raises(ValueError):
        keys.location(1, 2**32)
    with pytest.raises(ValueError):
        keys.tx_index_key(b"short")
    with pytest.raises(ValueError):
        keys.read_location(b"123")


def test_real_consensus_records_round_trip_and_forget_like_the_core(store: KVStore) -> None:
    from baaskit.consensus import Record, RecordKind, decode_record, encode_record

    records = [Record(RecordKind.VIEW, 0, 2, b"\x00")] + [
        Record(kind, seq, 2, b"m%d" % seq)
        for seq in (1, 2, 3, 300)
        for kind in (RecordKind.ACCEPTED_PRE_PREPARE, RecordKind.SENT_PREPARE, RecordKind.COMMITTED)
    ] + [Record(RecordKind.ACCEPTED_PRE_PREPARE, 2, 3, b"view 3")]  # pre-prepare keys hold the view
    store.write_consensus_records([(r.key, encode_record(r)) for r in records])
    assert sorted(decode_record(b).key for b in store.load_consensus_records()) == sorted(r.key for r in records)
    store.write_consensus_records([], forget_below=2)
    kept = [decode_record(b) for b in store.load_consensus_records()]
    assert sorted(r.key for r in kept) == sorted(r.key for r in records if not r.forgettable(2))


def test_a_stalled_synced_write_is_counted_and_logged(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A synced batch that held the node over SLOW_SYNC_S is counted, and one over STALLED_SYNC_S
    is also logged. The disk is a backend whose writes advance a fake clock."""
    from baaskit.node.storage import kvstore
    from baaskit.node.storage.memory import _DictKV

    now = [0.0]
    delays = iter([0.0, 0.3, 2.5, 0.05])

    class StallingKV(_DictKV):
        def write(self, puts: Sequence[tuple[bytes, bytes]], deletes: Sequence[bytes], sync: bool) -> None:
            now[0] += next(delays)
            super().write(puts, deletes, sync)

    monkeypatch.setattr(kvstore, "_clock", lambda: now[0])
    metrics = Metrics()
    store = KVStore(StallingKV(), metrics)
    with caplog.at_level(logging.WARNING):
        for seq in range(1, 5):
            store.write_consensus_records([(bytes([4]) + keys.u64(seq), b"vote")])
    assert metrics.get("store_slow_syncs") == 2  # the 300 ms and the 2.5 s batch
    stalled = [r.getMessage() for r in caplog.records if "the disk stalled" in r.getMessage()]
    assert stalled == ["a synced write batch of 1 keys took 2500 ms: the disk stalled, and this node waited (store_slow_syncs)"]
