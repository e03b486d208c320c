#!/usr/bin/env python3
"""Receipt benchmark (in-process, no cluster): prints numbers, asserts nothing about speed.

  documents/s through client-side aggregation: SHA-256 of each document (in memory), the RFC 6962
      tree, every document's audit path, and (separately) assembling + encoding every receipt;
  µs per offline receipt verification (verify_receipt: 3 header signatures, 1 tx signature,
      2-3 audit paths, JSON parsing), for single-document and aggregated receipts;
  receipt size in bytes.

With --cluster DIR (a running `baaskit up` cluster), also: notarize_many end to end through the
cluster (hash, tree, one transaction, commit, proof, verified receipts) and single notarize latency.

Usage: .venv/bin/python scripts/bench_receipts.py [--docs 100000] [--doc-bytes 4096] [--verify 2000]
                                                  [--cluster .baaskit/cluster]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time

from baaskit import merkle
from baaskit.client.aggregate import Batch, batch_receipts
from baaskit.client.builders import register_args, register_tx
from baaskit.client.receipt import build_receipt, parse_receipt
from baaskit.client.sandbox import Sandbox
from baaskit.client.verify import verify_receipt
from baaskit.tx import make_tx


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=100_000, help="documents in the aggregated batch")
    ap.add_argument("--doc-bytes", type=int, default=4096, help="size of each in-memory document")
    ap.add_argument("--verify", type=int, default=2000, help="receipts to verify per kind")
    ap.add_argument("--cluster", help="also measure through this running cluster (baaskit up --dir ...)")
    ap.add_argument("--singles", type=int, default=20, help="single notarizations to time with --cluster")
    opts = ap.parse_args()

    base = os.urandom(opts.doc_bytes)
    docs = [i.to_bytes(8, "big") + base[8:] for i in range(opts.docs)]
    box = Sandbox.create(chain_id="bench")
    key = box.client_keys["alice"]

    t0 = time.perf_counter()
    digests = [hashlib.sha256(d).digest() for d in docs]
    t1 = time.perf_counter()
    tree = merkle.MerkleTree([merkle.leaf_hash(d) for d in digests])
    t2 = time.perf_counter()
    paths = [tree.proof(i) for i in range(len(digests))]
    t3 = time.perf_counter()
    batch = Batch(digests=tuple(digests), tree=tree)
    env = register_tx(key, box.genesis.chain_id, register_args(batch.root, "merkle_root"))
    fillers = [make_tx(key, box.genesis.chain_id, "kv", "set", {"key": f"k{i}", "value": "v"}) for i in range(255)]
    box.commit([*fillers[:100], env, *fillers[100:]])  # a 256-tx block: realistic tx path
    t4 = time.perf_counter()
    receipts = batch_receipts(box.proof(env.tx_id), batch)
    files = [r.encode() for r in receipts]
    t5 = time.perf_counter()
    del paths

    n = opts.docs
    print(f"aggregation: {n} documents of {opts.doc_bytes} B, in memory, one process")
    print(f"  hash            {t1 - t0:8.3f} s  {n / (t1 - t0):12,.0f} documents/s")
    print(f"  tree            {t2 - t1:8.3f} s")
    print(f"  all proofs      {t3 - t2:8.3f} s")
    print(f"  hash+tree+proofs{t3 - t0:8.3f} s  {n / (t3 - t0):12,.0f} documents/s")
    print(f"  receipts built+encoded {t5 - t4:6.3f} s  {n / (t5 - t4):12,.0f} receipts/s")
    print(f"  end to end (without the tx commit) {n / ((t3 - t0) + (t5 - t4)):,.0f} documents/s")

    single_doc = b"contract of sale" * 100
    meta = {"file_name": "contract-of-sale-2026-01-02.pdf", "media_type": "application/pdf", "size": len(single_doc)}
    single_env = register_tx(
        key, box.genesis.chain_id, register_args(hashlib.sha256(single_doc).digest(), metadata=meta)
    )
    box.commit([*fillers[:100], single_env, *fillers[100:]])
    single = build_receipt(box.proof(single_env.tx_id), hashlib.sha256(single_doc).digest())

    k = min(opts.verify, n)
    for label, items in (
        ("single document", [(single.encode(), single_doc)] * k),
        ("aggregated", [(files[i], docs[i]) for i in range(0, n, max(1, n // k))][:k]),
    ):
        parsed = [parse_receipt(data) for data, _ in items]
        t0 = time.perf_counter()
        for r, (_, doc) in zip(parsed, items, strict=True):
            verify_receipt(r, doc, box.genesis)
        t1 = time.perf_counter()
        t2 = time.perf_counter()
        for data, doc in items:
            verify_receipt(data, doc, box.genesis)
        t3 = time.perf_counter()
        print(
            f"verify {label:16s}: {1e6 * (t1 - t0) / len(items):7.1f} µs/receipt (parsed), "
            f"{1e6 * (t3 - t2) / len(items):7.1f} µs/receipt (from file bytes incl. parsing), n={len(items)}"
        )

    print("receipt size (4 members, 3 signatures, 256-tx block):")
    print(f"  single document with metadata: {len(single.encode())} bytes")
    print(f"  aggregated, batch of {n}:       {len(files[0])} bytes (path of {len(receipts[0].aggregation.path) if receipts[0].aggregation else 0})")


    if opts.cluster:
        through_cluster(opts.cluster, docs, opts.singles)


def through_cluster(folder: str, docs: list[bytes], singles: int) -> None:
    from baaskit.client import Client, verify_receipt

    nonce = os.urandom(8)  # fresh digests: a re-run must not hit "already registered"
    docs = [nonce + d for d in docs]
    with Client.from_cluster(folder, timeout_s=120) as client:
        t0 = time.perf_counter()
        receipts = client.notarize_many(docs)
        t1 = time.perf_counter()
        files = [r.encode() for r in receipts]
        t2 = time.perf_counter()
        verify_receipt(files[-1], docs[-1], client.settings.genesis or b"")
        print(f"through the cluster at {folder} (4 nodes on this host):")
        print(f"  notarize_many({len(docs)}): {t1 - t0:.3f} s  {len(docs) / (t1 - t0):,.0f} documents/s "
              f"(hash, tree, 1 tx, commit, proof, verified receipts); +{t2 - t1:.3f} s encoding")
        lat = []
        for i in range(singles):
            s0 = time.perf_counter()
            client.notarize(nonce + b"single %d" % i)
            lat.append(time.perf_counter() - s0)
        lat.sort()
        print(f"  notarize (1 document, wait for commit + receipt): median {1000 * lat[len(lat) // 2]:.1f} ms, "
              f"max {1000 * lat[-1]:.1f} ms over {singles}")


if __name__ == "__main__":
    main()
