"""The test vector in docs/receipt.md (appendix) is what the code produces, and it verifies.

To regenerate after a deliberate format change: `.venv/bin/python -m tests.client.test_receipt_vector`
prints the appendix; paste it over the old one."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from baaskit.client import build_receipt, parse_receipt, verify_receipt
from baaskit.client.sandbox import Sandbox
from baaskit.genesis import parse_genesis
from baaskit.tx import make_tx

DOC = Path(__file__).resolve().parents[2] / "docs" / "receipt.md"
DOCUMENT = b"baaskit receipt test vector\n"


def vector() -> tuple[bytes, bytes]:
    box = Sandbox.create(chain_id="baaskit-test-vector", seed="baaskit-receipt-test-vector")
    key = box.client_keys["alice"]
    chain = box.genesis.chain_id
    args = {"digest": hashlib.sha256(DOCUMENT).hexdigest(), "kind": "document", "metadata": {"label": "test vector"}}
    env = make_tx(key, chain, "notary", "register", args, nonce="00" * 16)
    filler = [make_tx(key, chain, "kv", "set", {"key": f"k{i}", "value": "v"}, nonce=f"{i:032x}") for i in range(1, 3)]
    box.commit([filler[0], env, filler[1]])
    receipt = build_receipt(box.proof(env.tx_id), hashlib.sha256(DOCUMENT).digest())
    return box.genesis.raw, receipt.encode()


def appendix() -> str:
    genesis, receipt = vector()
    pretty = json.dumps(json.loads(receipt), indent=1, sort_keys=True)
    parsed = parse_receipt(receipt)
    header_hash = hashlib.sha256(parsed.header).hexdigest()
    return (
        "Document (28 bytes, hex): `" + DOCUMENT.hex() + "`\n\n"
        "Intermediate values: SHA-256(document) = `" + hashlib.sha256(DOCUMENT).hexdigest() + "`, "
        "tx_id = `" + parsed.tx_id.hex() + "`, header_hash = `" + header_hash + "`, "
        f"n = 4, f = 1, quorum = 3, tx_index = {parsed.tx_index}, tx_count = {parsed.tx_count}.\n\n"
        "Genesis (exact bytes, one line):\n\n```\n" + genesis.decode() + "\n```\n\n"
        "Receipt (pretty-printed here; the file is canonical JSON + LF):\n\n```json\n" + pretty + "\n```\n"
    )


def test_docs_vector_is_current_and_verifies() -> None:
    text = DOC.read_text()
    assert appendix() in text, "docs/receipt.md test vector is stale: regenerate it (see this module's docstring)"
    genesis = re.search(r"Genesis \(exact bytes, one line\):\n\n```\n(.*?)\n```", text, re.S)
    receipt = re.search(r"Receipt \(pretty-printed.*?```json\n(.*?)\n```", text, re.S)
    assert genesis and receipt
    v = verify_receipt(parse_receipt(receipt.group(1).encode()), DOCUMENT, parse_genesis(genesis.group(1).encode()))
    assert v.registered_by_name == "alice" and v.record["metadata"] == {"label": "test vector"}


if __name__ == "__main__":
    print(appendix(), end="")
