"""Offline receipt verification against a real certified block (real Ed25519 keys, real contracts).

Every tampering case fails with the name of its check (docs/receipt.md §4)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import nacl.signing
import pytest

from baaskit import canonical
from baaskit.block import BlockHeader, sign_header
from baaskit.client.receipt import FORMAT, ReceiptError, load_receipt, parse_receipt
from baaskit.client.sandbox import Sandbox
from baaskit.client.verify import CHECKS, verify_receipt

from .helpers import notarize, notarize_many, tamper

DOC = b"%PDF-1.7 contract of sale, signed 2026-01-02\n" * 40
META = {"file_name": "contract.pdf", "media_type": "application/pdf", "size": len(DOC), "label": "sale"}


@pytest.fixture(scope="module")
def box() -> Sandbox:
    return Sandbox.create(chain_id="offline-test")


@pytest.fixture(scope="module")
def receipt(box: Sandbox) -> Any:
    return notarize(box, DOC, metadata=META, case_id="case-42", step="capture")


def _flip_hex(text: str, pos: int = 0) -> str:
    raw = bytearray(bytes.fromhex(text))
    raw[pos] ^= 0x01
    return raw.hex()


def _b64_edit(text: str, old: bytes, new: bytes) -> str:
    raw = base64.b64decode(text)
    assert old in raw
    return base64.b64encode(raw.replace(old, new, 1)).decode()


def _fails(receipt: Any, check: str, document: Any = DOC, genesis: Any = None, box: Sandbox | None = None) -> None:
    assert check in CHECKS
    gen = genesis if genesis is not None else box.genesis  # type: ignore[union-attr]
    with pytest.raises(ReceiptError) as info:
        verify_receipt(receipt, document, gen)
    assert info.value.check == check, str(info.value)


# --- the happy path -------------------------------------------------------------------------------


def test_notarized_document_verifies_with_facts(box: Sandbox, receipt: Any) -> None:
    v = verify_receipt(receipt, DOC, box.genesis)
    header = BlockHeader.decode(receipt.header)
    assert v.document_checked
    assert v.document_digest == hashlib.sha256(DOC).digest() == v.registered_digest
    assert v.kind == "document"
    assert v.registered_by == bytes(box.client_keys["alice"].verify_key)
    assert v.registered_by_name == "alice"
    assert v.registered_at_ms == header.time_ms
    assert v.height == header.height
    assert v.certified_by == (0, 1, 2)
    assert v.record["metadata"] == META
    assert (v.record["case_id"], v.record["step"]) == ("case-42", "capture")
    assert receipt.tx_count == 5 and receipt.tx_index == 2


def test_receipt_file_roundtrip_and_path_inputs(tmp_path: Path, box: Sandbox, receipt: Any) -> None:
    doc = tmp_path / "contract.pdf"
    doc.write_bytes(DOC)
    gen = tmp_path / "genesis.json"
    gen.write_bytes(box.genesis.raw)
    out = receipt.save(tmp_path / "contract.pdf.receipt.json")
    data = out.read_bytes()
    assert data.endswith(b"\n") and canonical.loads(data[:-1])["format"] == FORMAT
    assert load_receipt(out) == receipt
    assert verify_receipt(out, doc, gen).document_checked
    assert verify_receipt(data, None, box.genesis.raw).document_checked is False


def test_all_members_signing_verifies_and_reports_them(box: Sandbox) -> None:
    r = notarize(box, b"signed by everyone")
    header = BlockHeader.decode(r.header)
    cert = tuple((m, sign_header(k, header.hash)) for m, k in enumerate(box.member_keys))
    r4 = tamper(r, lambda b: b.update(certificate=[{"member": m, "signature": s.hex()} for m, s in cert]))
    assert verify_receipt(r4, b"signed by everyone", box.genesis).certified_by == (0, 1, 2, 3)


# --- tampering: one check each --------------------------------------------------------------------


def test_one_changed_byte_in_document(box: Sandbox, receipt: Any) -> None:
    changed = bytearray(DOC)
    changed[100] ^= 0x20
    _fails(receipt, "document-digest", bytes(changed), box=box)


def test_changed_metadata_in_receipt(box: Sandbox, receipt: Any) -> None:
    bad = tamper(receipt, lambda b: b["registration"]["metadata"].update(file_name="other.pdf"))
    _fails(bad, "metadata", box=box)
    bad = tamper(receipt, lambda b: b["registration"].update(step="submission"))
    _fails(bad, "metadata", box=box)


def test_changed_metadata_in_signed_payload(box: Sandbox, receipt: Any) -> None:
    # The payload is covered by the tx id (inclusion) and the signature: editing it breaks inclusion.
    bad = tamper(receipt, lambda b: b["tx"].update(payload=_b64_edit(b["tx"]["payload"], b"contract.pdf", b"contrakt.pdf")))
    _fails(bad, "tx-inclusion", box=box)


def test_forged_tx_signature(box: Sandbox, receipt: Any) -> None:
    _fails(tamper(receipt, lambda b: b["tx"].update(signature=_flip_hex(b["tx"]["signature"], 5))), "tx-signature", box=box)
    other = bytes(box.client_keys["bob"].verify_key).hex()
    _fails(tamper(receipt, lambda b: b["tx"].update(signer=other)), "tx-signature", box=box)


def test_tx_path_and_index(box: Sandbox, receipt: Any) -> None:
    _fails(tamper(receipt, lambda b: b["tx_path"].__setitem__(0, _flip_hex(b["tx_path"][0]))), "tx-inclusion", box=box)
    _fails(tamper(receipt, lambda b: b.update(tx_index=1)), "tx-inclusion", box=box)
    _fails(tamper(receipt, lambda b: b.update(tx_count=6)), "tx-inclusion", box=box)


def test_changed_result(box: Sandbox, receipt: Any) -> None:
    bad = tamper(receipt, lambda b: b.update(result=_b64_edit(b["result"], b'"capture"', b'"analysis"')))
    _fails(bad, "result-inclusion", box=box)
    _fails(tamper(receipt, lambda b: b["result_path"].pop()), "result-inclusion", box=box)


def test_header_of_another_chain(box: Sandbox, receipt: Any) -> None:
    bad = tamper(receipt, lambda b: b.update(header=_b64_edit(b["header"], b'"offline-test"', b'"offline-tesT"')))
    _fails(bad, "header-chain-id", box=box)
    _fails(tamper(receipt, lambda b: b.update(chain_id="elsewhere")), "header-chain-id", box=box)


def test_certificate_signature_checks(box: Sandbox, receipt: Any) -> None:
    header_hash = BlockHeader.decode(receipt.header).hash
    outsider = nacl.signing.SigningKey.generate()
    stranger = {"member": 9, "signature": sign_header(outsider, header_hash).hex()}
    _fails(tamper(receipt, lambda b: b["certificate"].append(stranger)), "unknown-signer", box=box)
    # a non-member key signing under a member's index
    impostor = {"member": 3, "signature": sign_header(outsider, header_hash).hex()}
    _fails(tamper(receipt, lambda b: b["certificate"].append(impostor)), "bad-signature", box=box)
    _fails(tamper(receipt, lambda b: b["certificate"].append(b["certificate"][0])), "duplicate-signer", box=box)
    forged = lambda b: b["certificate"][1].update(signature=_flip_hex(b["certificate"][1]["signature"], 7))  # noqa: E731
    _fails(tamper(receipt, forged), "bad-signature", box=box)
    _fails(tamper(receipt, lambda b: b["certificate"].pop()), "too-few-signatures", box=box)
    _fails(tamper(receipt, lambda b: b.update(certificate=[])), "too-few-signatures", box=box)


def test_different_genesis(box: Sandbox, receipt: Any) -> None:
    same_name = Sandbox.create(chain_id="offline-test").genesis  # same chain id, other member keys
    _fails(receipt, "bad-signature", genesis=same_name)
    _fails(receipt, "header-chain-id", genesis=Sandbox.create(chain_id="another-chain").genesis)


def test_unusable_genesis_input(tmp_path: Path, receipt: Any) -> None:
    _fails(receipt, "genesis", genesis=tmp_path / "missing.json")
    _fails(receipt, "genesis", genesis=b"{not json")


def test_failed_and_duplicate_registrations_are_not_receipts(box: Sandbox, receipt: Any) -> None:
    first = notarize(box, b"registered twice", metadata={"label": "first"})
    second = notarize(box, b"registered twice", metadata={"label": "second"})
    assert verify_receipt(first, b"registered twice", box.genesis).record["metadata"] == {"label": "first"}
    with pytest.raises(ReceiptError) as info:
        verify_receipt(second, b"registered twice", box.genesis)
    assert info.value.check == "result" and first.tx_id.hex() in info.value.detail
    rejected = notarize(box, b"bad label", metadata={"label": "line\nbreak"})  # contract says BAD_REQUEST
    _fails(rejected, "result", b"bad label", box=box)


def test_not_a_notary_transaction(box: Sandbox) -> None:
    from baaskit.client.receipt import build_receipt
    from baaskit.tx import make_tx

    key = box.client_keys["alice"]
    env = make_tx(key, box.genesis.chain_id, "kv", "set", {"key": "digest", "value": "x"})
    box.commit([env])
    proof = box.proof(env.tx_id)
    with pytest.raises(ReceiptError):
        build_receipt(proof)
    r = notarize(box, b"real")
    faked = tamper(r, lambda b: b.update(tx={"payload": base64.b64encode(env.payload).decode(), "signer": env.signer.hex(), "signature": env.signature.hex()}))
    _fails(faked, "tx-inclusion", b"real", box=box)


def test_malformed_receipts_fail_format(box: Sandbox, receipt: Any) -> None:
    good = receipt.encode()
    for data in (
        b"[]",
        b"{",
        good.replace(FORMAT.encode(), b"baaskit-receipt/2"),
        good.replace(b'"tx_index":2', b'"tx_index":2.0'),
        good.replace(b'"tx_index":2', b'"tx_index":2,"tx_index":1'),
        good.replace(b'"tx_index":2', b'"tx_index":-1'),
        good.replace(b'"chain_id"', b'"extra":1,"chain_id"', 1),
        good.replace(b'"header":"', b'"header":"*', 1),
    ):
        with pytest.raises(ReceiptError) as info:
            parse_receipt(data)
        assert info.value.check == "format", data[:80]
    # pretty-printed JSON is still the same receipt
    import json

    assert parse_receipt(json.dumps(json.loads(good), indent=2).encode()) == receipt


# --- aggregation ----------------------------------------------------------------------------------


def test_aggregated_documents_each_verify_and_tampering_the_path_fails(box: Sandbox) -> None:
    docs = [f"scan {i}\n".encode() * (i + 1) for i in range(7)]
    receipts = notarize_many(box, docs)
    for i, (doc, r) in enumerate(zip(docs, receipts, strict=True)):
        v = verify_receipt(r, doc, box.genesis)
        assert (v.kind, v.aggregation_index, v.aggregation_size) == ("merkle_root", i, 7)
        assert v.registered_digest != v.document_digest
    r = receipts[3]
    path = lambda b: b["document"]["aggregation"]["path"].__setitem__(1, _flip_hex(b["document"]["aggregation"]["path"][1]))  # noqa: E731
    _fails(tamper(r, path), "aggregation-path", docs[3], box=box)
    _fails(tamper(r, lambda b: b["document"]["aggregation"].update(index=4)), "aggregation-path", docs[3], box=box)
    _fails(tamper(r, lambda b: b["document"].update(aggregation=None)), "aggregation-path", docs[3], box=box)
    # swapping in another document's digest: its path does not lead to the root from this index
    other = hashlib.sha256(docs[4]).hexdigest()
    _fails(tamper(r, lambda b: b["document"].update(digest=other)), "aggregation-path", docs[4], box=box)
    _fails(receipts[3], "document-digest", docs[4], box=box)


def test_ten_thousand_aggregated_documents_give_ten_thousand_valid_receipts(box: Sandbox) -> None:
    docs = [i.to_bytes(4, "big") * 8 for i in range(10_000)]
    receipts = notarize_many(box, docs)
    assert len(receipts) == 10_000
    assert len({r.aggregation.index for r in receipts if r.aggregation}) == 10_000
    for doc, r in zip(docs, receipts, strict=True):
        verify_receipt(r, doc, box.genesis)


def test_batch_encoding_is_byte_identical_to_encoding_each_receipt() -> None:
    import hashlib

    from baaskit.client.aggregate import aggregate, batch_receipts, encode_batch_receipts
    from baaskit.client.builders import register_args, register_tx
    from baaskit.client.sandbox import Sandbox

    box = Sandbox.create(chain_id="batch-encode")
    key = next(iter(box.client_keys.values()))
    for n in (1, 2, 3, 7, 64):
        batch = aggregate([hashlib.sha256(f"doc {n} {i}".encode()).digest() for i in range(n)])
        env = register_tx(key, box.genesis.chain_id, register_args(batch.root, "merkle_root"))
        box.commit([env])
        proof = box.proof(env.tx_id)
        assert encode_batch_receipts(proof, batch) == [r.encode() for r in batch_receipts(proof, batch)]
