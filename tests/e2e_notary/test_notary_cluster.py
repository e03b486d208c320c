"""End to end on a real 4-node cluster (separate `baaskit node` processes on 127.0.0.1, TLS):
notarize -> receipt -> offline verification, also after the cluster is stopped and deleted;
duplicate registration; the client failing over when its node is killed mid-stream."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from baaskit.client import Client, Receipt, Settings, verify_receipt
from baaskit.client.connection import resolve_settings
from tests.integration.cluster import Cluster, running_cluster

pytestmark = pytest.mark.integration

TIMEOUT_S = 60.0


def _settings(c: Cluster, client: int = 0) -> Settings:
    return resolve_settings(c.endpoints, c.genesis_path, c.client_keys[client], c.ca_path, TIMEOUT_S)


def test_receipts_verify_offline_after_the_cluster_is_gone(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    contract = docs / "contract.pdf"
    contract.write_bytes(b"%PDF-1.7 sale of the house at 1 Main St" * 100)
    pages = []
    for i in range(200):
        page = docs / f"page-{i:03}.txt"
        page.write_text(f"page {i}\n" * (i + 1))
        pages.append(page)
    held = tmp_path / "held"  # what a third party keeps: the genesis file, receipts, documents
    held.mkdir()
    with running_cluster(tmp_path) as c:
        shutil.copy(c.genesis_path, held / "genesis.json")
        with Client(_settings(c)) as client:
            single = client.notarize(contract, metadata={"file_name": "contract.pdf", "label": "sale"})
            batch = client.notarize_many(pages)
            assert client.lookup(hashlib.sha256(contract.read_bytes()).digest()) is not None
        single.save(held / "contract.pdf.receipt.json")
        for page, r in zip(pages, batch, strict=True):
            r.save(held / f"{page.name}.receipt.json")
        root = c.root
    shutil.rmtree(root)  # the nodes are stopped; their data, keys and configs are gone
    assert not root.exists()

    v = verify_receipt(held / "contract.pdf.receipt.json", contract, held / "genesis.json")
    assert v.document_checked and v.record["metadata"]["label"] == "sale"
    assert len(v.certified_by) >= 3
    for i, page in enumerate(pages):
        v = verify_receipt(held / f"{page.name}.receipt.json", page, held / "genesis.json")
        assert (v.kind, v.aggregation_index, v.aggregation_size) == ("merkle_root", i, 200)
    proc = subprocess.run(
        [sys.executable, "-m", "baaskit.cli.main", "verify", str(contract), str(held / "contract.pdf.receipt.json"),
         "--genesis", str(held / "genesis.json")],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0 and proc.stdout.startswith("VERIFIED"), proc.stderr
    contract.write_bytes(contract.read_bytes()[:-1] + b"!")
    proc = subprocess.run(
        [sys.executable, "-m", "baaskit.cli.main", "verify", str(contract), str(held / "contract.pdf.receipt.json"),
         "--genesis", str(held / "genesis.json")],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1 and "document-digest" in proc.stderr and "Traceback" not in proc.stderr


def test_duplicate_registration_returns_the_original(tmp_path: Path) -> None:
    with running_cluster(tmp_path) as c, Client(_settings(c, 0)) as first, Client(_settings(c, 1)) as second:
        original = first.notarize(b"the same evidence", metadata={"label": "first"})
        env = second.make_tx(
            "notary", "register",
            {"digest": hashlib.sha256(b"the same evidence").hexdigest(), "kind": "document", "metadata": {"label": "second"}},
        )
        result = second.submit_and_wait(env)
        assert result["code"] == 0 and result["data"]["status"] == "already_registered"
        assert result["data"]["record"]["tx_id"] == original.tx_id.hex()
        again = second.notarize(b"the same evidence", metadata={"label": "second"})
        assert again.tx_id == original.tx_id
        # resubmitting the very same transaction is idempotent
        assert [a.status for a in second.submit([env])] == ["committed"]
    v = verify_receipt(again, b"the same evidence", c.genesis)
    assert v.record["metadata"] == {"label": "first"}
    assert v.registered_by == bytes(c.client_key(0).verify_key)


def test_client_fails_over_when_its_node_is_killed_mid_stream(tmp_path: Path) -> None:
    with running_cluster(tmp_path) as c, Client(_settings(c)) as client:
        assert client.endpoint == c.endpoints[0]
        warmup = client.notarize(b"before the failure")
        blocks = client.subscribe_blocks(from_height=1)
        assert next(blocks).height == 1
        receipts: list[Receipt] = []
        errors: list[BaseException] = []
        started = threading.Event()

        def notarize_stream() -> None:
            try:
                for i in range(12):
                    receipts.append(client.notarize(f"document {i}".encode()))
                    started.set()
            except BaseException as exc:  # reported below
                errors.append(exc)
                started.set()

        worker = threading.Thread(target=notarize_stream)
        worker.start()
        assert started.wait(TIMEOUT_S)
        c.kill(0)  # SIGKILL the node the client is talking to, while it notarizes
        worker.join(timeout=4 * TIMEOUT_S)
        assert not worker.is_alive() and not errors, errors
        assert len(receipts) == 12
        assert client.endpoint != c.endpoints[0]
        for i, r in enumerate(receipts):
            verify_receipt(r, f"document {i}".encode(), c.genesis)
        # the block subscription resumes on another node without gaps
        heights = [next(blocks).height for _ in range(3)]
        assert heights == [2, 3, 4]
        blocks.close()
        verify_receipt(warmup, b"before the failure", c.genesis)
