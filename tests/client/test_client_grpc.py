"""Client and AsyncClient against real gRPC/TLS servers of the node's Api service (over an
in-process certified chain): receipts, duplicates, aggregation, failover, idempotent resubmission."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import nacl.signing
import pytest

from baaskit.client import (
    AsyncClient,
    Client,
    ClientError,
    Rejected,
    Settings,
    Unavailable,
    verify_receipt,
)
from baaskit.client.sandbox import Sandbox

from .fake_node import FakeCluster


@pytest.fixture
def box() -> Sandbox:
    return Sandbox.create(chain_id="grpc-test")


@pytest.fixture
def cluster(box: Sandbox) -> Iterator[FakeCluster]:
    c = FakeCluster(box, 3)
    yield c
    c.close()


def _client(box: Sandbox, cluster: FakeCluster, key: str = "alice", timeout_s: float = 10.0) -> Client:
    return Client(Settings.from_genesis(box.genesis, box.client_keys[key], cluster.endpoints, cluster.ca_pem, timeout_s))


def test_notarize_gives_a_receipt_that_verifies_offline(tmp_path: Path, box: Sandbox, cluster: FakeCluster) -> None:
    doc = tmp_path / "evidence.jpg"
    doc.write_bytes(b"\xff\xd8 jpeg bytes" * 1000)
    with _client(box, cluster) as c:
        receipt = c.notarize(doc, metadata={"file_name": "evidence.jpg", "label": "photo"}, case_id="C-1", step="capture")
        record = c.lookup(hashlib.sha256(doc.read_bytes()).digest())
        assert c.status().height == box.height
    out = receipt.save(tmp_path / "evidence.jpg.receipt.json")
    v = verify_receipt(out, doc, box.genesis.raw)
    assert v.registered_by_name == "alice" and v.record["case_id"] == "C-1"
    assert record is not None and record["tx_id"] == receipt.tx_id.hex()


def test_duplicate_registration_returns_the_original(box: Sandbox, cluster: FakeCluster) -> None:
    with _client(box, cluster) as alice, _client(box, cluster, "bob") as bob:
        first = alice.notarize(b"same bytes", metadata={"label": "first"})
        again = bob.notarize(b"same bytes", metadata={"label": "second"})
    assert again.tx_id == first.tx_id
    v = verify_receipt(again, b"same bytes", box.genesis)
    assert v.registered_by_name == "alice" and v.record["metadata"] == {"label": "first"}


def test_resubmitting_the_same_tx_is_idempotent(box: Sandbox, cluster: FakeCluster) -> None:
    with _client(box, cluster) as c:
        env = c.make_tx("kv", "set", {"key": "a", "value": "1"})
        assert c.submit_and_wait(env)["code"] == 0
        height = box.height
        assert [a.status for a in c.submit([env, env])] == ["committed", "committed"]
        assert c.submit_and_wait(env)["code"] == 0
        assert box.height == height  # nothing executed twice
        assert c.query("kv", "get", {"key": "a"}) == "1"


def _files(folder: Path, stem: str, count: int) -> list[Path]:
    """`count` small files of distinct content, `stem-000.txt` ..."""
    files = []
    for i in range(count):
        f = folder / f"{stem}-{i:03}.txt"
        f.write_text(f"{stem} {i}\n" * (i + 1))
        files.append(f)
    return files


def test_notarize_many_one_transaction_many_receipts(tmp_path: Path, box: Sandbox, cluster: FakeCluster) -> None:
    files = _files(tmp_path, "page", 40)
    seen: list[tuple[int, int]] = []
    with _client(box, cluster) as c:
        before = box.height
        receipts = c.notarize_many(files, metadata={"label": "scan batch"}, progress=lambda d, n: seen.append((d, n)))
    assert box.height == before + 1 and len({r.tx_id for r in receipts}) == 1
    assert seen[-1] == (40, 40)
    for i, (f, r) in enumerate(zip(files, receipts, strict=True)):
        v = verify_receipt(r, f, box.genesis)
        assert (v.kind, v.aggregation_index, v.aggregation_size) == ("merkle_root", i, 40)


def test_notarize_each_one_transaction_per_document_submitted_together(tmp_path: Path, box: Sandbox, cluster: FakeCluster) -> None:
    files = _files(tmp_path, "deed", 30)
    dup = tmp_path / "deed-copy.txt"
    dup.write_bytes(files[3].read_bytes())  # same content twice in one call
    docs = [*files, dup]
    metas = [{"label": f"deed {i}"} for i in range(len(docs))]
    with _client(box, cluster) as c:
        before = box.height
        receipts = c.notarize_each(docs, metas, case_id="C-9", step="submission")
        with pytest.raises(ClientError, match="2 metadata entries for 3 documents"):
            c.notarize_each([b"x", b"y", b"z"], [None, None])
    assert box.height == before + 1  # one Submit, one block: not a round trip per document
    assert len({r.tx_id for r in receipts[:30]}) == 30
    assert receipts[30].tx_id == receipts[3].tx_id  # the duplicate gets the original registration
    for i, (d, r) in enumerate(zip(docs, receipts, strict=True)):
        v = verify_receipt(r, d, box.genesis)
        assert v.kind == "document" and v.aggregation_index is None
        assert v.record["metadata"] == {"label": f"deed {3 if i == 30 else i}"} and v.record["case_id"] == "C-9"


def test_fails_over_when_a_node_is_down(box: Sandbox, cluster: FakeCluster) -> None:
    cluster.stop(0)
    with _client(box, cluster) as c:
        r = c.notarize(b"node 0 is down")
        assert c.endpoint == cluster.endpoints[1]
    verify_receipt(r, b"node 0 is down", box.genesis)


def test_fails_over_and_resubmits_when_its_node_dies_while_waiting(box: Sandbox, cluster: FakeCluster) -> None:
    cluster.chain.hold = True  # admitted, not yet in a block: like a node that dies before proposing
    results: list[object] = []
    with _client(box, cluster, timeout_s=20) as c:
        env = c.make_tx("notary", "register", {"digest": hashlib.sha256(b"mid").hexdigest(), "kind": "document"})
        worker = threading.Thread(target=lambda: results.append(c.submit_and_wait(env)))
        worker.start()
        _until(lambda: env.tx_id in cluster.chain.pending)
        cluster.stop(0)  # the node it submitted to and waits on
        cluster.chain.pending.clear()  # ... and its mempool dies with it
        _until(lambda: env.tx_id in cluster.chain.pending)  # resubmitted to the next node
        cluster.chain.hold = False
        cluster.call(cluster.chain.commit_pending)
        worker.join(timeout=20)
        assert c.endpoint != cluster.endpoints[0]
    assert results and results[0]["code"] == 0  # type: ignore[index]


def test_waits_for_a_complete_certificate(box: Sandbox, cluster: FakeCluster) -> None:
    cluster.chain.incomplete_certificates = 2
    with _client(box, cluster) as c:
        r = c.notarize(b"fresh block")
    assert len(r.certificate) == 3
    verify_receipt(r, b"fresh block", box.genesis)


def test_errors_are_clear(box: Sandbox, cluster: FakeCluster) -> None:
    stranger = nacl.signing.SigningKey.generate()
    c = Client(Settings.from_genesis(box.genesis, stranger, cluster.endpoints, cluster.ca_pem, 5.0))
    with pytest.raises(Rejected) as info:
        c.notarize(b"x")
    assert info.value.code == grpc.StatusCode.PERMISSION_DENIED
    c.close()
    for i in range(3):
        cluster.stop(i)
    with _client(box, cluster, timeout_s=2) as c, pytest.raises(Unavailable):
        c.status()


def test_subscribe_blocks_survives_a_node_failure(box: Sandbox, cluster: FakeCluster) -> None:
    with _client(box, cluster) as c:
        c.notarize(b"block one")
        stream = c.subscribe_blocks(from_height=1)
        assert next(stream).height == 1
        cluster.stop(0)
        c2 = _client(box, cluster)
        c2._current = 1
        c2.notarize(b"block two")
        event = next(stream)
        assert event.height == 2 and event.results[0]["data"]["status"] == "registered"
        stream.close()
        c2.close()


def test_async_client(tmp_path: Path, box: Sandbox, cluster: FakeCluster) -> None:
    docs = [b"async one", b"async two", b"async three"]

    async def main() -> None:
        settings = Settings.from_genesis(box.genesis, box.client_keys["bob"], cluster.endpoints, cluster.ca_pem, 10.0)
        async with AsyncClient(settings) as c:
            single = await c.notarize(b"async single")
            verify_receipt(single, b"async single", box.genesis)
            cluster.stop(0)
            many = await c.notarize_many(docs)
            for d, r in zip(docs, many, strict=True):
                verify_receipt(r, d, box.genesis)
            each = await c.notarize_each([b"async each 1", b"async each 2"], {"label": "each"})
            assert len({r.tx_id for r in each}) == 2
            for d, r in zip([b"async each 1", b"async each 2"], each, strict=True):
                assert verify_receipt(r, d, box.genesis).record["metadata"] == {"label": "each"}
            assert (await c.lookup(hashlib.sha256(b"async single").digest()) or {})["tx_id"] == single.tx_id.hex()
            events = c.subscribe_blocks(from_height=1)
            assert (await anext(events)).height == 1
            await events.aclose()

    asyncio.run(main())


def _until(cond: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)
