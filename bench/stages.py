"""Per-transaction cost of each stage a node runs, measured in one process on real components.

`python -m baaskit.bench.stages [--txs N]` prints µs per tx for: admission (decode + Ed25519
verify), peer forwarding (protobuf frame out and in), proposal encode/decode, validation of a
pre-prepare (cache warm), and execution (notary contract + one synced LevelDB batch).
This is where the per-node CPU budget goes; the cluster benchmark shows the sum.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nacl.signing

from baaskit.contracts.builtin import default_application
from baaskit.genesis import Enrollment, Genesis, Member
from baaskit.node.executor import BlockExecutor
from baaskit.node.mempool import Mempool
from baaskit.node.pbconv import envelope_from_pb, envelope_to_pb
from baaskit.node.proposal import decode_proposal, encode_proposal
from baaskit.node.storage.leveldb import LevelStore
from baaskit.node.validation import ProposalValidator
from baaskit.node.verified import VerifiedTxCache
from baaskit.tx import make_tx
from baaskit.wire.v1 import peer_pb2

CHAIN = "bench-stages"


def _genesis(node_keys: list[nacl.signing.SigningKey], clients: list[nacl.signing.SigningKey]) -> Genesis:
    members = tuple(
        Member(i, f"m{i}", bytes(k.verify_key), "127.0.0.1", 1 + 2 * i, 2 + 2 * i, "") for i, k in enumerate(node_keys)
    )
    return Genesis(
        chain_id=CHAIN,
        genesis_time_ms=1_700_000_000_000,
        members=members,
        ca_cert_pem="",
        clients=tuple(Enrollment(f"c{i}", bytes(k.verify_key), "m0") for i, k in enumerate(clients)),
        admins=(),
        app_state={"kv": {}, "notary": {}},
        raw=b"{}",
    )


def _timed(label: str, n: int, fn: Callable[[], object], out: dict[str, float]) -> None:
    start = time.process_time()
    fn()
    out[label] = (time.process_time() - start) / n * 1e6


def measure(n: int) -> dict[str, float]:
    node_keys = [nacl.signing.SigningKey.generate() for _ in range(4)]
    clients = [nacl.signing.SigningKey.generate() for _ in range(8)]
    genesis = _genesis(node_keys, clients)
    seed = os.urandom(8)
    envs = [
        make_tx(clients[i % 8], CHAIN, "notary", "register",
                {"digest": hashlib.sha256(seed + i.to_bytes(8, "big")).hexdigest(), "kind": "document"})
        for i in range(n)
    ]
    enrolled = frozenset(bytes(k.verify_key) for k in clients)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = LevelStore(Path(tmp) / "db")
        cache = VerifiedTxCache()
        mempool = Mempool(10 * n, cache, enrolled, CHAIN)
        _timed("admit (decode + verify, API batch)", n, lambda: mempool.admit(envs, store.is_committed), out)
        frame_bytes: list[bytes] = []
        _timed("forward out (tx -> protobuf frame bytes)", n,
               lambda: frame_bytes.append(peer_pb2.PeerFrame(txs=[envelope_to_pb(e) for e in envs]).SerializeToString()), out)
        peer_cache = VerifiedTxCache()
        peer_pool = Mempool(10 * n, peer_cache, enrolled, CHAIN)

        def forward_in() -> None:
            frame = peer_pb2.PeerFrame.FromString(frame_bytes[0])
            peer_pool.add_forwarded([envelope_from_pb(t) for t in frame.txs], store.is_committed)

        _timed("forward in (frame -> decode + verify at a peer)", n, forward_in, out)
        payload: list[bytes] = []
        _timed("proposal encode", n, lambda: payload.append(encode_proposal(1_700_000_001_000, envs)), out)
        _timed("proposal decode", n, lambda: decode_proposal(payload[0]), out)
        validator = ProposalValidator(CHAIN, peer_cache, enrolled, store)
        now = 1_700_000_001_000
        _timed("validate pre-prepare (cache warm)", n,
               lambda: validator.check(1, payload[0], 1_700_000_000_000, now, 10_000), out)
        executor = BlockExecutor(store, default_application(), genesis, 0, node_keys[0], verified=peer_cache)
        executor.ensure_genesis()
        _timed("execute block (notary + one synced batch)", n, lambda: executor.execute(1, 0, 0, payload[0]), out)
        store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--txs", type=int, default=2000)
    args = parser.parse_args()
    costs = measure(args.txs)
    width = max(len(k) for k in costs)
    for name, us in costs.items():
        print(f"{name:<{width}}  {us:7.1f} us/tx")
    print(f"{'sum (one node sees admit or forward-in, not both)':<{width}}  {sum(costs.values()) - costs['admit (decode + verify, API batch)']:7.1f} us/tx")


if __name__ == "__main__":
    main()
