"""Client-side figures measured in-process: documents/s through aggregation, offline receipt
verification cost, receipt size. The chain is the client's in-process sandbox (real keys, real
contracts, signed headers), so only client work is timed."""

from __future__ import annotations

import hashlib
import os
import time

from baaskit.client.aggregate import aggregate, encode_batch_receipts
from baaskit.client.builders import register_args, register_tx
from baaskit.client.receipt import parse_receipt
from baaskit.client.sandbox import Sandbox
from baaskit.client.verify import verify_receipt


def measure_offline(docs: int = 100_000, doc_bytes: int = 4096, verify: int = 1000) -> dict[str, float]:
    """The figures as numbers, keyed as in LABELS (--json carries them as they are)."""
    base = os.urandom(doc_bytes)
    documents = [i.to_bytes(8, "big") + base[8:] for i in range(docs)]
    box = Sandbox.create(chain_id="bench")
    key = next(iter(box.client_keys.values()))

    t0 = time.perf_counter()
    batch = aggregate([hashlib.sha256(d).digest() for d in documents])
    t1 = time.perf_counter()
    env = register_tx(key, box.genesis.chain_id, register_args(batch.root, "merkle_root"))
    box.commit([env])
    t2 = time.perf_counter()
    files = encode_batch_receipts(box.proof(env.tx_id), batch)
    t3 = time.perf_counter()

    step = max(1, docs // verify)
    sample = [(parse_receipt(files[i]), documents[i]) for i in range(0, docs, step)][:verify]
    t4 = time.perf_counter()
    for receipt, document in sample:
        verify_receipt(receipt, document, box.genesis)
    t5 = time.perf_counter()
    return {
        "aggregation_docs_per_s": docs / (t1 - t0),
        "aggregation_docs_per_s_with_receipts": docs / ((t1 - t0) + (t3 - t2)),
        "receipt_verify_us": 1e6 * (t5 - t4) / len(sample),
        "receipt_verifications_per_s": len(sample) / (t5 - t4),
        "receipt_bytes": len(files[0]),
    }


# How the report names each figure, and how it writes the number.
LABELS = {
    "aggregation_docs_per_s": ("aggregation documents/s (SHA-256 of 4 KiB docs + Merkle tree)", "{:,.0f}"),
    "aggregation_docs_per_s_with_receipts": ("aggregation documents/s incl. every audit path and receipt file", "{:,.0f}"),
    "receipt_verify_us": ("offline receipt verification us/receipt", "{:.0f}"),
    "receipt_verifications_per_s": ("offline receipt verifications/s (one core)", "{:,.0f}"),
    "receipt_bytes": ("receipt bytes (aggregated)", "{:,}"),
}
