"""Client-side aggregation: many documents, one registered Merkle root, one receipt per document.

The tree is RFC 6962 over the documents in the order given; leaf i is the 32-byte SHA-256 digest
of document i, hashed as SHA-256(0x00 || digest). Its root is registered with kind "merkle_root";
each document's receipt carries its audit path to that root (docs/receipt.md §3.2).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

from baaskit import merkle

from .receipt import Aggregation, Receipt, TxProof, build_receipt


@dataclass(frozen=True, slots=True)
class Batch:
    digests: tuple[bytes, ...]
    tree: merkle.MerkleTree

    @property
    def root(self) -> bytes:
        return self.tree.root

    def aggregation(self, index: int) -> Aggregation:
        return Aggregation(index=index, size=len(self.digests), path=tuple(self.tree.proof(index)))


def aggregate(digests: Sequence[bytes]) -> Batch:
    if not digests:
        raise ValueError("aggregation needs at least one document")
    for i, digest in enumerate(digests):
        if len(digest) != 32:
            raise ValueError(f"document {i}: a digest is 32 bytes, got {len(digest)}")
    leaves = [merkle.leaf_hash(d) for d in digests]
    return Batch(digests=tuple(digests), tree=merkle.MerkleTree(leaves))


def batch_receipts(proof: TxProof, batch: Batch) -> list[Receipt]:
    """One receipt per document of `batch`, from the proof of the transaction registering its root."""
    template = build_receipt(proof)
    return [
        replace(template, document_digest=digest, aggregation=batch.aggregation(i))
        for i, digest in enumerate(batch.digests)
    ]


def encode_batch_receipts(proof: TxProof, batch: Batch) -> list[bytes]:
    """The file bytes of every receipt of `batch`, equal to `Receipt.encode()` of each one.

    All receipts of a batch share everything but the "document" member, so the shared part is
    encoded once and each document's member (digest and aggregation path, all hex and integers:
    nothing to escape) is spliced in. A random marker locates the member; it must occur once.
    """
    marker = uuid.uuid4().hex
    shared = build_receipt(proof).to_json()
    shared["document"] = marker
    text = json.dumps(shared, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
    quoted = f'"{marker}"'
    if text.count(quoted) != 1:
        raise ValueError("receipt template marker is not unique")
    head, tail = (part.encode() for part in text.split(quoted))
    size = len(batch.digests)
    out = []
    for i, digest in enumerate(batch.digests):
        path = ",".join(f'"{p.hex()}"' for p in batch.tree.proof(i))
        # keys in canonical (sorted) order: aggregation{index, path, size}, digest
        document = f'{{"aggregation":{{"index":{i},"path":[{path}],"size":{size}}},"digest":"{digest.hex()}"}}'
        out.append(head + document.encode() + tail)
    return out
