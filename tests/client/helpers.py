"""Offline notarization on a real certified chain (client.sandbox): no node, no network."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from baaskit import canonical
from baaskit.client.aggregate import aggregate, batch_receipts
from baaskit.client.builders import register_args, register_tx
from baaskit.client.receipt import Receipt, build_receipt, parse_receipt
from baaskit.client.sandbox import Sandbox
from baaskit.tx import make_tx


def notarize(box: Sandbox, document: bytes, client: str = "alice", **kwargs: Any) -> Receipt:
    """Register one document in a block among other transactions (so every path is non-trivial)."""
    digest = hashlib.sha256(document).digest()
    key = box.client_keys[client]
    env = register_tx(key, box.genesis.chain_id, register_args(digest, **kwargs))
    filler = [make_tx(key, box.genesis.chain_id, "kv", "set", {"key": f"k{i}", "value": "v"}) for i in range(4)]
    box.commit([*filler[:2], env, *filler[2:]])
    return build_receipt(box.proof(env.tx_id), digest)


def notarize_many(box: Sandbox, documents: list[bytes], client: str = "alice") -> list[Receipt]:
    batch = aggregate([hashlib.sha256(d).digest() for d in documents])
    key = box.client_keys[client]
    env = register_tx(key, box.genesis.chain_id, register_args(batch.root, "merkle_root"))
    filler = [make_tx(key, box.genesis.chain_id, "kv", "set", {"key": f"m{i}", "value": "v"}) for i in range(2)]
    box.commit([filler[0], env, filler[1]])
    return batch_receipts(box.proof(env.tx_id), batch)


def tamper(receipt: Receipt, edit: Callable[[dict[str, Any]], None]) -> Receipt:
    body = receipt.to_json()
    edit(body)
    return parse_receipt(canonical.dumps(body))
