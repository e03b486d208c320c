"""Each batch is persisted once per slot: PREPARED and COMMITTED records name the batch of a
pre-prepare record of the same seq and view, and a restore puts it back (records.py)."""

from __future__ import annotations

import pytest

from baaskit.consensus import (
    Batch,
    ClusterConfig,
    Commit,
    LocalMisuse,
    Prepare,
    PrePrepare,
    Record,
    RecordKind,
    Replica,
    encode_record,
)
from baaskit.consensus.codec import encode_certificate
from baaskit.consensus.records import payload_elided, without_payload
from baaskit.consensus.recovery import recover
from baaskit.consensus.signing import seal
from baaskit.consensus.types import PreparedCertificate
from tests.harness.keys import FakeSigner, FakeVerifier

CFG = ClusterConfig(4, "records", checkpoint_interval=4, watermark_window=8)
BATCH_A = b"batch A " * 64
BATCH_B = b"batch B " * 64


def signed(msg: object, by: int) -> bytes:
    return seal(msg, FakeSigner(by), CFG.chain_id)[1]  # type: ignore[type-var]


def pre_prepare(view: int, seq: int, payload: bytes) -> bytes:
    primary = view % 4
    return signed(PrePrepare(view, seq, Batch(payload).digest, payload, primary), primary)


def stored(store: dict[bytes, Record], records: tuple[Record, ...]) -> None:
    """What a node does with Ready.persist: a later record with the same key supersedes."""
    for rec in records:
        store[rec.key] = rec


def commit_seq_1(rep: Replica, store: dict[bytes, Record], payload: bytes) -> None:
    """Backup 1 accepts, prepares and commits `payload` at seq 1 of view 0."""
    digest = Batch(payload).digest
    stored(store, rep.receive(pre_prepare(0, 1, payload), 0).persist)
    stored(store, rep.validated(0, 1, digest, True).persist)
    stored(store, rep.receive(signed(Prepare(0, 1, digest, 2), 2), 2).persist)
    for r in (0, 2):
        stored(store, rep.receive(signed(Commit(0, 1, digest, r), r), r).persist)


def test_a_committed_batch_is_written_once_and_comes_back_on_restore() -> None:
    rep = Replica(CFG, 1, FakeSigner(1), FakeVerifier(4))
    store: dict[bytes, Record] = {}
    commit_seq_1(rep, store, BATCH_A)
    kinds = {rec.kind for rec in store.values()}
    assert {RecordKind.ACCEPTED_PRE_PREPARE, RecordKind.PREPARED, RecordKind.COMMITTED} <= kinds
    holding = sorted(rec.kind.name for rec in store.values() if BATCH_A in encode_record(rec))
    assert holding == ["ACCEPTED_PRE_PREPARE"]  # not also in PREPARED and COMMITTED
    restored = Replica.restore(CFG, 1, FakeSigner(1), FakeVerifier(4), store.values(), 0, b"")
    ready = restored.tick()
    assert [(c.seq, c.batch.payload) for c in ready.committed] == [(1, BATCH_A)]
    rec = recover(store.values())
    assert rec.certificates[1].pre_prepare.payload == BATCH_A


def test_a_later_views_batch_at_the_same_seq_does_not_take_the_prepared_ones_place() -> None:
    """Backup 1 prepared A at seq 1 in view 0; in view 1 it accepts B at seq 1 (A prepared
    nowhere else). Until it prepares B, its PREPARED record names A, which must survive."""
    rep = Replica(CFG, 1, FakeSigner(1), FakeVerifier(4))
    store: dict[bytes, Record] = {}
    digest = Batch(BATCH_A).digest
    stored(store, rep.receive(pre_prepare(0, 1, BATCH_A), 0).persist)
    stored(store, rep.validated(0, 1, digest, True).persist)
    stored(store, rep.receive(signed(Prepare(0, 1, digest, 2), 2), 2).persist)
    assert any(rec.kind is RecordKind.PREPARED for rec in store.values())
    pp_b = pre_prepare(1, 1, BATCH_B)
    stored(store, (Record(RecordKind.ACCEPTED_PRE_PREPARE, 1, 1, pp_b), Record(RecordKind.VIEW, 1, 1, b"\x00")))
    rec = recover(store.values())
    assert rec.view == 1
    assert rec.certificates[1].pre_prepare.payload == BATCH_A
    assert rec.certificates[1].pre_prepare.view == 0
    assert rec.pre_prepares[1][0].payload == BATCH_B


def test_a_record_naming_a_batch_nobody_holds_is_a_clear_local_error() -> None:
    pp = PrePrepare(0, 3, Batch(BATCH_A).digest, BATCH_A, 0, b"sig")
    cert = PreparedCertificate(without_payload(pp), ())
    with pytest.raises(LocalMisuse, match="seq 3 names a batch no pre-prepare record holds"):
        recover([Record(RecordKind.PREPARED, 3, 0, encode_certificate(cert))])


def test_the_null_batch_is_not_an_elided_one() -> None:
    null = PrePrepare(0, 2, Batch(b"").digest, b"", 0)
    assert not payload_elided(null)
    assert payload_elided(without_payload(PrePrepare(0, 2, Batch(b"x").digest, b"x", 0)))
