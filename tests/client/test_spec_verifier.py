"""docs/receipt.md is enough to write a verifier: an independent one, written from the page alone
(hashlib + PyNaCl + json, no baaskit import), agrees with `verify_receipt` on valid receipts and on
the check name of every tampering case."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import nacl.exceptions
import nacl.signing
import pytest

from baaskit import canonical
from baaskit.client import ReceiptError, verify_receipt
from baaskit.client.sandbox import Sandbox

from .helpers import notarize, notarize_many, tamper


class Fail(Exception):
    def __init__(self, check: str) -> None:
        super().__init__(check)
        self.check = check


def _leaf(d: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + d).digest()


def _node(a: bytes, b: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + a + b).digest()


def _inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def _ed25519(pk: bytes, msg: bytes, sig: bytes) -> bool:
    try:
        nacl.signing.VerifyKey(pk).verify(msg, sig)
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        return False
    return True


def spec_verify(receipt_text: bytes, document: bytes | None, genesis_text: bytes) -> dict[str, Any]:
    genesis = json.loads(genesis_text)
    r = json.loads(receipt_text)
    if r.get("format") != "baaskit-receipt/1":
        raise Fail("format")
    header_bytes = base64.b64decode(r["header"], validate=True)
    header = json.loads(header_bytes)
    if r["chain_id"] != genesis["chain_id"] or header["chain_id"] != genesis["chain_id"]:
        raise Fail("header-chain-id")
    keys = {m["index"]: bytes.fromhex(m["node_key"]) for m in genesis["members"]}
    f = (len(keys) - 1) // 3
    sign_bytes = b"baaskit/header/v1\x00" + hashlib.sha256(header_bytes).digest()
    seen = set()
    for entry in r["certificate"]:
        if entry["member"] not in keys:
            raise Fail("unknown-signer")
        if entry["member"] in seen:
            raise Fail("duplicate-signer")
        if not _ed25519(keys[entry["member"]], sign_bytes, bytes.fromhex(entry["signature"])):
            raise Fail("bad-signature")
        seen.add(entry["member"])
    if len(seen) < 2 * f + 1:
        raise Fail("too-few-signatures")
    payload = base64.b64decode(r["tx"]["payload"], validate=True)
    tx_id = hashlib.sha256(payload).digest()
    tx_path = [bytes.fromhex(p) for p in r["tx_path"]]
    if r["tx_count"] != header["tx_count"] or not _inclusion(
        _leaf(tx_id), r["tx_index"], r["tx_count"], tx_path, bytes.fromhex(header["tx_root"])
    ):
        raise Fail("tx-inclusion")
    signer = bytes.fromhex(r["tx"]["signer"])
    if not _ed25519(signer, b"baaskit/tx/v1\x00" + payload, bytes.fromhex(r["tx"]["signature"])):
        raise Fail("tx-signature")
    body = json.loads(payload)
    args = body["args"]
    if (
        body["chain_id"] != genesis["chain_id"]
        or body["signer"] != signer.hex()
        or (body["contract"], body["method"]) != ("notary", "register")
        or args.get("kind") not in ("document", "merkle_root")
    ):
        raise Fail("tx-payload")
    result_bytes = base64.b64decode(r["result"], validate=True)
    result_path = [bytes.fromhex(p) for p in r["result_path"]]
    if not _inclusion(_leaf(result_bytes), r["tx_index"], r["tx_count"], result_path, bytes.fromhex(header["results_root"])):
        raise Fail("result-inclusion")
    result = json.loads(result_bytes)
    record = result["data"]["record"] if isinstance(result.get("data"), dict) else {}
    expected = {"digest": args["digest"], "kind": args["kind"], "submitter": signer.hex(), "tx_id": tx_id.hex(),
                "height": header["height"], "time_ms": header["time_ms"]}
    if result["code"] != 0 or result["data"].get("status") != "registered" or any(record.get(k) != v for k, v in expected.items()):
        raise Fail("result")
    if r["registration"] != args or record["metadata"] != args.get("metadata", {}) or record["case_id"] != args.get(
        "case_id"
    ) or record["step"] != args.get("step"):
        raise Fail("metadata")
    digest = bytes.fromhex(r["document"]["digest"])
    agg = r["document"]["aggregation"]
    if args["kind"] == "document":
        if agg is not None or digest.hex() != args["digest"]:
            raise Fail("aggregation-path")
    elif agg is None or not _inclusion(
        _leaf(digest), agg["index"], agg["size"], [bytes.fromhex(p) for p in agg["path"]], bytes.fromhex(args["digest"])
    ):
        raise Fail("aggregation-path")
    if document is not None and hashlib.sha256(document).digest() != digest:
        raise Fail("document-digest")
    return {"signer": signer.hex(), "time_ms": header["time_ms"], "digest": args["digest"]}


def _flip(hex_text: str) -> str:
    raw = bytearray(bytes.fromhex(hex_text))
    raw[0] ^= 1
    return raw.hex()


@pytest.fixture(scope="module")
def box() -> Sandbox:
    return Sandbox.create(chain_id="spec-test")


EDITS: list[Any] = [
    lambda b: None,
    lambda b: b["registration"].update(metadata={"label": "edited"}),
    lambda b: b["tx"].update(signature=_flip(b["tx"]["signature"])),
    lambda b: b["tx_path"].__setitem__(0, _flip(b["tx_path"][0])),
    lambda b: b["result_path"].__setitem__(0, _flip(b["result_path"][0])),
    lambda b: b.update(chain_id="other"),
    lambda b: b["certificate"].pop(),
    lambda b: b["certificate"].append(b["certificate"][0]),
    lambda b: b["certificate"].append({"member": 7, "signature": b["certificate"][0]["signature"]}),
    lambda b: b["certificate"][0].update(signature=_flip(b["certificate"][0]["signature"])),
    lambda b: b["document"].update(digest=_flip(b["document"]["digest"])),
]


@pytest.mark.parametrize("edit", range(len(EDITS)))
def test_spec_verifier_agrees_with_reference(box: Sandbox, edit: int) -> None:
    for doc, receipt in [(b"spec doc", notarize(box, b"spec doc %d" % edit, metadata={"label": "x"})), (b"p1", notarize_many(box, [b"p0 %d" % edit, b"p1"])[1])]:
        document = doc if receipt.aggregation is not None else b"spec doc %d" % edit
        changed = tamper(receipt, EDITS[edit])
        data = canonical.dumps(changed.to_json())
        try:
            verify_receipt(changed, document, box.genesis)
            reference = "ok"
        except ReceiptError as exc:
            reference = exc.check
        try:
            spec_verify(data, document, box.genesis.raw)
            independent = "ok"
        except Fail as exc:
            independent = exc.check
        assert independent == reference
    assert reference != "ok" or edit == 0
