"""Client-side figures measured in-process: documents/s through aggregation, offline receipt
verification cost, receipt size. The chain is the client's in-process sandbox (real keys, real
contracts, signed headers), so only client work is timed."""

from __future__ import annotations

import hashlib
import os
import time
from typing import Any

from baaskit.client.aggregate import aggregate, encode_batch_receipts
from baaskit.client.builders import register_args, register_tx
from baaskit.client.receipt import parse_receipt
from baaskit.client.sandbox import Sandbox
from baaskit.client.verify import verify_receipt


def measure_offline(docs: int = 100_000, doc_bytes: int = 4096, verify: int = 1000) -> dict[str, Any]:
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
        "aggregation documents/s (SHA-256 of 4 KiB docs + Merkle tree)": f"{docs / (t1 - t0):,.0f}",
        "aggregation documents/s incl. every audit path and receipt file": f"{docs / ((t1 - t0) + (t3 - t2)):,.0f}",
        "offline receipt verification us/receipt": f"{1e6 * (t5 - t4) / len(sample):.0f}",
        "offline receipt verifications/s (one core)": f"{len(sample) / (t5 - t4):,.0f}",
        "receipt bytes (aggregated)": len(files[0]),
    }
