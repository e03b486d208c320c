"""An in-process certified chain: real keys, real contracts, real certificates, no node, no network.

For tests, demos and benchmarks of the offline receipt path. It generates n member keys and a
genesis, executes transactions through the real `Application` (the built-in contracts), builds each block
header exactly as docs/architecture.md specifies (tx_root over tx ids, results_root over canonical
JSON results, state digest chain), and certifies it with the signatures of `signers` members.
It is NOT a consensus implementation: one process plays all members.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import nacl.signing

from baaskit import canonical, merkle
from baaskit.block import GENESIS_PREV_HASH, BlockHeader, sign_header
from baaskit.contracts import Application, BlockContext, MemoryStore
from baaskit.contracts.builtin import default_application
from baaskit.genesis import Enrollment, Genesis, Member, parse_genesis
from baaskit.tx import TxEnvelope, decode_payload

from .receipt import TxProof

GENESIS_TIME_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def _key(seed_text: str) -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey(hashlib.sha256(seed_text.encode()).digest())


@dataclass
class _Block:
    header: bytes
    txs: list[TxEnvelope]
    results: list[bytes]
    tx_tree: merkle.MerkleTree
    result_tree: merkle.MerkleTree
    certificate: tuple[tuple[int, bytes], ...]


@dataclass
class Sandbox:
    """`Sandbox.create()` then `commit([envelopes])` and `proof(tx_id)`."""

    genesis: Genesis
    member_keys: list[nacl.signing.SigningKey]
    client_keys: dict[str, nacl.signing.SigningKey]
    app: Application = field(default_factory=default_application)  # the contracts every node runs
    store: MemoryStore = field(default_factory=MemoryStore)
    blocks: list[_Block] = field(default_factory=list)
    _index: dict[bytes, tuple[int, int]] = field(default_factory=dict)
    _state_digest: bytes = b""

    @classmethod
    def create(
        cls,
        chain_id: str = "sandbox",
        members: int = 4,
        clients: Sequence[str] = ("alice", "bob"),
        seed: str | None = None,
    ) -> Sandbox:
        """Keys are random, or derived from `seed` (reproducible, for demos only)."""

        def key(label: str) -> nacl.signing.SigningKey:
            return nacl.signing.SigningKey.generate() if seed is None else _key(f"{seed}/{label}")

        member_keys = [key(f"member-{i}") for i in range(members)]
        client_keys = {name: key(f"client-{name}") for name in clients}
        draft = Genesis(
            chain_id=chain_id,
            genesis_time_ms=GENESIS_TIME_MS,
            members=tuple(
                Member(i, f"member-{i}", bytes(k.verify_key), "127.0.0.1", 0, 0, "")
                for i, k in enumerate(member_keys)
            ),
            ca_cert_pem="",
            clients=tuple(
                Enrollment(name, bytes(k.verify_key), f"member-{i % members}")
                for i, (name, k) in enumerate(client_keys.items())
            ),
            admins=(),
        )
        genesis = parse_genesis(draft.encode())
        box = cls(genesis=genesis, member_keys=member_keys, client_keys=client_keys)
        box.store.apply(box.app.init_chain(box.store, genesis.app_state))
        box._state_digest = hashlib.sha256(genesis.raw).digest()
        return box

    @property
    def height(self) -> int:
        return len(self.blocks)

    def commit(
        self, envelopes: Sequence[TxEnvelope], time_ms: int | None = None, signers: Sequence[int] | None = None
    ) -> BlockHeader:
        """Execute one block of `envelopes` and certify it (default signers: members 0..2f)."""
        height = self.height + 1
        when = time_ms if time_ms is not None else GENESIS_TIME_MS + 1000 * height
        txs = [decode_payload(env, self.genesis.chain_id) for env in envelopes]
        for env in envelopes:
            if not env.verify_signature():
                raise ValueError(f"tx {env.tx_id.hex()}: bad signature")
        ctx = BlockContext(self.genesis.chain_id, height, when, 0)
        outcome = self.app.execute_block(self.store, ctx, txs)
        results = [canonical.dumps(r.to_json()) for r in outcome.results]
        writes = [[k.hex(), None if v is None else v.hex()] for k, v in outcome.writes]
        self._state_digest = hashlib.sha256(self._state_digest + canonical.dumps(writes)).digest()
        tx_tree = merkle.MerkleTree([merkle.leaf_hash(e.tx_id) for e in envelopes])
        result_tree = merkle.MerkleTree([merkle.leaf_hash(r) for r in results])
        prev = BlockHeader.decode(self.blocks[-1].header).hash if self.blocks else GENESIS_PREV_HASH
        header = BlockHeader(
            chain_id=self.genesis.chain_id,
            height=height,
            prev_hash=prev,
            time_ms=when,
            view=0,
            proposer=0,
            tx_count=len(envelopes),
            tx_root=tx_tree.root,
            results_root=result_tree.root,
            state_digest=self._state_digest,
        )
        who = list(signers) if signers is not None else list(range(self.genesis.certificate_quorum))
        cert = tuple((m, sign_header(self.member_keys[m], header.hash)) for m in who)
        self.store.apply(outcome.writes)
        self.blocks.append(_Block(header.encode(), list(envelopes), results, tx_tree, result_tree, cert))
        for i, env in enumerate(envelopes):
            self._index.setdefault(env.tx_id, (height, i))
        return header

    def proof(self, tx_id: bytes) -> TxProof:
        height, i = self._index[tx_id]
        block = self.blocks[height - 1]
        return TxProof(
            tx=block.txs[i],
            height=height,
            index=i,
            tx_count=len(block.txs),
            tx_path=tuple(block.tx_tree.proof(i)),
            result=block.results[i],
            result_path=tuple(block.result_tree.proof(i)),
            header=block.header,
            certificate=block.certificate,
        )

    def result(self, tx_id: bytes) -> Any:
        height, i = self._index[tx_id]
        return canonical.loads(self.blocks[height - 1].results[i])

    def query(self, contract: str, method: str, args: dict[str, Any]) -> Any:
        return self.app.query(self.store, contract, method, args)
