"""A mixed kv + notary workload (valid and invalid transactions) for determinism tests.

An op is a small tuple of ints so hypothesis can shrink it; `to_tx` turns it into a real signed
transaction with a fixed nonce, so the same ops always give byte-identical transactions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from baaskit import canonical
from baaskit.contracts import BlockOutcome
from baaskit.tx import Tx

from .support import Chain, key, tx

SIGNERS = [key(100 + i) for i in range(3)]
DIGESTS = [hashlib.sha256(bytes([i])).hexdigest() for i in range(5)]
CASES = ["case-a", "case-b"]
STEPS = ["capture", "preservation", "analysis", "submission", "other"]
KINDS = 8  # number of op kinds below

Op = tuple[int, int, int, int]  # (kind, signer, a, b)


def to_tx(op: Op, nonce: int) -> Tx:
    kind, s, a, b = op
    signer = SIGNERS[s % len(SIGNERS)]
    digest, case, step = DIGESTS[a % len(DIGESTS)], CASES[b % len(CASES)], STEPS[b % len(STEPS)]
    args: dict[str, Any]
    if kind == 0:
        contract, method, args = "kv", "set", {"key": f"k{a % 4}", "value": "v" * b}
    elif kind == 1:
        contract, method, args = "kv", "delete", {"key": f"k{a % 4}"}
    elif kind == 2:
        contract, method, args = (
            "notary",
            "register",
            {"digest": digest, "kind": "document", "metadata": {"size": b}},
        )
    elif kind == 3:
        contract, method = "notary", "register"
        args = {"digest": digest, "kind": "merkle_root", "case_id": case, "step": step}
    elif kind == 4:
        contract, method, args = "notary", "link", {"case_id": case, "digest": digest, "step": step}
    elif kind == 5:
        grantee = bytes(SIGNERS[a % len(SIGNERS)].verify_key).hex()
        contract, method, args = "notary", "grant", {"case_id": case, "submitter": grantee}
    elif kind == 6:  # invalid arguments
        contract, method, args = "notary", "register", {"digest": digest[:b], "kind": "document"}
    else:  # unknown method / contract
        contract, method, args = ("kv", "nope", {}) if b % 2 else ("nope", "x", {})
    return tx(signer, contract, method, args, nonce=f"{nonce:08x}")


def blocks_of(ops: Sequence[Sequence[Op]]) -> list[list[Tx]]:
    n = 0
    out = []
    for block in ops:
        txs = []
        for op in block:
            txs.append(to_tx(op, n))
            n += 1
        out.append(txs)
    return out


def fingerprint(outcome: BlockOutcome) -> bytes:
    """The bytes a replica hashes: results (as results-root leaves) and the block's writes."""
    results = [canonical.dumps(r.to_json()) for r in outcome.results]
    writes = [[k.hex(), None if v is None else v.hex()] for k, v in outcome.writes]
    return canonical.dumps({"results": [r.decode() for r in results], "writes": writes})


def run(blocks: Sequence[Sequence[Tx]], chain: Chain | None = None) -> list[bytes]:
    chain = chain or Chain()
    return [fingerprint(chain.block(txs, time_ms=1_000 * (i + 1))) for i, txs in enumerate(blocks)]


def fixed_ops() -> list[list[Op]]:
    """A fixed workload touching every op kind, for the cross-process check."""
    return [
        [(k % KINDS, i % 3, i, (i * 7) % 11) for i, k in enumerate(range(b, b + 12))]
        for b in range(6)
    ]


if __name__ == "__main__":  # used by test_determinism: prints the workload's fingerprint
    print(hashlib.sha256(b"".join(run(blocks_of(fixed_ops())))).hexdigest())
