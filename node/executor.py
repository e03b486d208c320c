"""The block executor: the one bridge from a decided batch to the application and the store.

execute(height, view, proposer, payload):
  1. decode the proposal (time, txs, and the view/proposer it was first proposed in);
  2. drop txs already committed or repeated in the block (deterministic at-most-once);
  3. run the application with BlockContext(chain_id, height, time_ms, proposer);
  4. results = canonical JSON of TxResult.to_json(); tx_root = RFC 6962 over tx_ids;
     results_root = RFC 6962 over results; state_digest per docs/architecture.md;
  5. write block, tx index, results, state writes and meta in ONE sync batch;
  6. sign the header hash and return an ExecutedBlock.
The null batch (b"") makes an empty block with time = previous time + 1 and the previous header's
view/proposer, so it is identical on every replica. A proposal's time is clamped to at least the
previous block time + 1 (only matters right after a null block), so block times strictly increase.
"""

from __future__ import annotations

import hashlib
import struct
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import nacl.signing

from baaskit import merkle
from baaskit.block import BlockHeader, CertificateError, HeaderError, header_hash, sign_header
from baaskit.contracts.app import BlockContext
from baaskit.contracts.router import Application
from baaskit.genesis import Genesis
from baaskit.tx import Tx, TxEnvelope, TxError, decode_payload
from baaskit.wire.v1 import api_pb2, types_pb2

from .certificates import BlockCertificate, CertificateDecodeError, HeaderSignature
from .metrics import BLOCKS, TXS, TXS_SKIPPED, Metrics
from .proposal import ProposalError, RecentProposals, is_null
from .storage.interface import Store, StoredBlock, StoreError
from .verified import VerifiedTxCache


class ExecutionError(Exception):
    """A batch or block that cannot be executed here (out of order, undecodable, bad input)."""


class InvalidCertifiedBlock(ExecutionError):
    """A block offered for catch-up whose header, transactions or certificate do not check out."""


class ExecutionMismatch(ExecutionError):
    """Re-executing a certified block gave a different header: local state or code diverged."""


@dataclass(frozen=True, slots=True)
class ExecutedBlock:
    height: int
    header: BlockHeader
    header_bytes: bytes
    header_hash: bytes
    tx_ids: tuple[bytes, ...]
    results: tuple[bytes, ...]  # canonical JSON results, aligned with tx_ids
    signature: bytes  # this member's Ed25519 signature over the header sign-bytes
    state_digest: bytes
    member: int
    envelopes: tuple[TxEnvelope, ...] = ()
    skipped: tuple[bytes, ...] = ()  # proposed tx ids dropped at execution (already committed)

    def vote(self) -> HeaderSignature:
        return HeaderSignature(self.height, self.header_hash, self.member, self.signature)


@dataclass(frozen=True, slots=True)
class TxProofData:
    """Everything api.proto TxProof carries."""

    envelope: TxEnvelope
    height: int
    index: int
    tx_count: int
    tx_path: tuple[bytes, ...]
    result: bytes
    result_path: tuple[bytes, ...]
    header: bytes
    certificate: BlockCertificate | None

    def to_proto(self) -> api_pb2.TxProof:
        msg = api_pb2.TxProof(
            tx=types_pb2.TxEnvelope(
                payload=self.envelope.payload, signer=self.envelope.signer, signature=self.envelope.signature
            ),
            height=self.height,
            index=self.index,
            tx_count=self.tx_count,
            tx_path=list(self.tx_path),
            result=self.result,
            result_path=list(self.result_path),
            header=self.header,
        )
        if self.certificate is not None:
            msg.certificate.CopyFrom(self.certificate.to_proto())
        return msg


_LEN = struct.Struct(">I")
_DELETED = b"\xff\xff\xff\xff"  # a length no value can have: marks a deleted key


def next_state_digest(prev: bytes, writes: Sequence[tuple[bytes, bytes | None]]) -> bytes:
    """SHA-256(prev || for each write in key order: u32be(len key) || key || (u32be(len value) ||
    value, or ff ff ff ff for a deletion)). Binary and streamed: no copy of the block's writes."""
    h = hashlib.sha256(prev)
    update, pack = h.update, _LEN.pack
    for key, value in sorted(writes, key=lambda kv: kv[0]):
        update(pack(len(key)))
        update(key)
        if value is None:
            update(_DELETED)
        else:
            update(pack(len(value)))
            update(value)
    return h.digest()


@dataclass(frozen=True, slots=True)
class _Computed:
    header: BlockHeader
    header_bytes: bytes
    stored: StoredBlock
    writes: list[tuple[bytes, bytes | None]]
    digest: bytes
    skipped: tuple[bytes, ...]
    trees: tuple[merkle.MerkleTree, merkle.MerkleTree]


class BlockExecutor:
    def __init__(
        self,
        store: Store,
        app: Application,
        genesis: Genesis,
        member_index: int,
        node_signing_key: nacl.signing.SigningKey,
        metrics: Metrics | None = None,
        proof_cache_blocks: int = 16,
        verified: VerifiedTxCache | None = None,
        proposals: RecentProposals | None = None,
    ) -> None:
        keys = genesis.member_keys()
        if member_index not in keys:
            raise ExecutionError(f"member {member_index} is not in genesis (members 0..{genesis.n - 1})")
        if bytes(node_signing_key.verify_key) != keys[member_index]:
            raise ExecutionError(f"the node key does not match genesis member {member_index}'s node_key")
        self._store = store
        self._app = app
        self._genesis = genesis
        self._member = member_index
        self._key = node_signing_key
        self._metrics = metrics
        self._trees: OrderedDict[int, tuple[merkle.MerkleTree, merkle.MerkleTree]] = OrderedDict()
        self._tree_cap = proof_cache_blocks
        self._last_header: BlockHeader | None = None
        self._verified = verified  # decoded txs from admission/validation: decode once per node
        self._proposals = proposals if proposals is not None else RecentProposals()  # ditto, batches

    # -- genesis and chain position ------------------------------------------------------------

    def ensure_genesis(self) -> bool:
        """Initialise the store from genesis if new (True); no-op if already (False)."""
        if self._store.genesis_hash() is not None:
            return self._store.init_genesis(self._genesis, [])  # checks it is the same genesis
        writes = self._app.init_chain(self._store.state_reader(), self._genesis.app_state)
        return self._store.init_genesis(self._genesis, writes)

    @property
    def proposals(self) -> RecentProposals:
        """Recently seen batches, decoded once (shared with validation and the proposer)."""
        return self._proposals

    @property
    def last_height(self) -> int:
        return self._store.last_height()

    def last_header(self) -> BlockHeader | None:
        height = self._store.last_height()
        if height == 0:
            return None
        if self._last_header is None or self._last_header.height != height:
            raw = self._store.get_header(height)
            if raw is None:
                raise ExecutionError(f"store says last height {height} but has no header for it")
            self._last_header = BlockHeader.decode(raw)
        return self._last_header

    def last_time_ms(self) -> int:
        """Time of the last block (genesis_time_ms before block 1): proposals must be later."""
        last = self.last_header()
        return self._genesis.genesis_time_ms if last is None else last.time_ms

    # -- executing -----------------------------------------------------------------------------

    def execute(self, height: int, view: int, proposer: int, payload: bytes) -> ExecutedBlock:
        """Execute the committed batch at `height` (= PBFT seq). A height already applied returns
        the stored block (idempotent replay after a restart). `view`/`proposer` are used only as a
        sanity check: the header takes them from the proposal."""
        last = self._store.last_height()
        if height <= last:
            return self.executed_block(height)
        if height != last + 1:
            raise ExecutionError(f"cannot execute height {height}: the last executed height is {last}")
        prev = self.last_header()
        if is_null(payload):
            time_ms = self.last_time_ms() + 1
            h_view, h_proposer = (0, 0) if prev is None else (prev.view, prev.proposer)
            envelopes: tuple[TxEnvelope, ...] = ()
        else:
            try:
                proposal = self._proposals.decode(payload)
            except ProposalError as exc:
                raise ExecutionError(f"committed batch at height {height} does not decode: {exc}") from None
            # Validators check time > the previous proposal's; a null block in between (time =
            # previous + 1) could tie, so clamp: block times stay strictly increasing everywhere.
            time_ms = max(proposal.time_ms, self.last_time_ms() + 1)
            h_view, h_proposer, envelopes = proposal.view, proposal.proposer, proposal.envelopes
        computed = self._compute(height, time_ms, h_view, h_proposer, envelopes)
        self._store.commit_block(computed.stored, computed.writes, computed.digest)
        return self._finish(computed)

    def apply_certified(
        self, header_bytes: bytes, envelopes: Sequence[TxEnvelope], certificate: BlockCertificate | bytes
    ) -> ExecutedBlock:
        """Catch-up: verify the certificate (2f+1 genesis members over this header), re-execute,
        and commit only if the recomputed header is byte-identical (else ExecutionMismatch)."""
        try:
            cert = certificate if isinstance(certificate, BlockCertificate) else BlockCertificate.decode(certificate)
        except CertificateDecodeError as exc:
            raise InvalidCertifiedBlock(str(exc)) from None
        try:
            header = BlockHeader.decode(header_bytes)
        except HeaderError as exc:
            raise InvalidCertifiedBlock(str(exc)) from None
        h_hash = header_hash(header_bytes)
        if cert.header_hash != h_hash or cert.height != header.height:
            raise InvalidCertifiedBlock(f"certificate is for another header (height {cert.height})")
        try:
            cert.check(self._genesis)
        except CertificateError as exc:
            raise InvalidCertifiedBlock(f"block {header.height} certificate: {exc}") from None
        if header.chain_id != self._genesis.chain_id:
            raise InvalidCertifiedBlock(f"block is for chain {header.chain_id!r}")
        last = self._store.last_height()
        if header.height <= last:
            if self._store.get_header(header.height) != header_bytes:
                raise ExecutionMismatch(f"certified block {header.height} differs from the stored one")
            return self.executed_block(header.height)
        if header.height != last + 1:
            raise ExecutionError(f"cannot apply block {header.height}: the last executed height is {last}")
        envelopes = tuple(envelopes)
        if header.tx_count != len(envelopes) or merkle.root([e.tx_id for e in envelopes]) != header.tx_root:
            raise InvalidCertifiedBlock(f"block {header.height}: transactions do not match the header's tx_root")
        if header.prev_hash != self._store.last_block_hash():
            raise ExecutionMismatch(f"block {header.height}: prev_hash does not match our block {last}")
        computed = self._compute(header.height, header.time_ms, header.view, header.proposer, envelopes)
        if computed.header_bytes != header_bytes:
            raise ExecutionMismatch(
                f"block {header.height}: re-execution gives header {header_hash(computed.header_bytes).hex()[:16]}…, "
                f"certified {h_hash.hex()[:16]}…"
            )
        self._store.commit_block(computed.stored, computed.writes, computed.digest, certificate=cert.encode())
        return self._finish(computed)

    def _compute(
        self, height: int, time_ms: int, view: int, proposer: int, envelopes: Sequence[TxEnvelope]
    ) -> _Computed:
        chain_id = self._genesis.chain_id
        included: list[TxEnvelope] = []
        txs: list[Tx] = []
        skipped: list[bytes] = []
        seen: set[bytes] = set()
        for envelope in envelopes:
            tx_id = envelope.tx_id
            if tx_id in seen or self._store.is_committed(tx_id):
                skipped.append(tx_id)
                continue
            tx = self._verified.take(envelope) if self._verified is not None else None
            try:
                if tx is None:
                    tx = decode_payload(envelope, chain_id)
            except TxError:
                skipped.append(tx_id)  # validated before prepare; deterministic even if not
                continue
            seen.add(tx_id)
            included.append(envelope)
            txs.append(tx)
        ctx = BlockContext(chain_id=chain_id, height=height, time_ms=time_ms, proposer=proposer)
        outcome = self._app.execute_block(self._store.state_reader(), ctx, txs)
        results = outcome.encoded  # canonical JSON of each result, encoded once by the router
        tx_ids = [tx.tx_id for tx in txs]
        tx_tree = merkle.MerkleTree([merkle.leaf_hash(t) for t in tx_ids])
        result_tree = merkle.MerkleTree([merkle.leaf_hash(r) for r in results])
        digest = next_state_digest(self._store.state_digest(), outcome.writes)
        header = BlockHeader(
            chain_id=chain_id,
            height=height,
            prev_hash=self._store.last_block_hash(),
            time_ms=time_ms,
            view=view,
            proposer=proposer,
            tx_count=len(included),
            tx_root=tx_tree.root,
            results_root=result_tree.root,
            state_digest=digest,
        )
        header_bytes = header.encode()
        stored = StoredBlock(
            height=height,
            header=header_bytes,
            header_hash=header_hash(header_bytes),
            envelopes=tuple(included),
            results=results,
        )
        return _Computed(header, header_bytes, stored, outcome.writes, digest, tuple(skipped), (tx_tree, result_tree))

    def _finish(self, computed: _Computed) -> ExecutedBlock:
        self._last_header = computed.header
        self._remember_trees(computed.header.height, computed.trees)
        if self._metrics is not None:
            self._metrics.incr(BLOCKS)
            self._metrics.incr(TXS, len(computed.stored.envelopes))
            self._metrics.incr(TXS_SKIPPED, len(computed.skipped))
        return ExecutedBlock(
            height=computed.header.height,
            header=computed.header,
            header_bytes=computed.header_bytes,
            header_hash=computed.stored.header_hash,
            tx_ids=computed.stored.tx_ids,
            results=computed.stored.results,
            signature=sign_header(self._key, computed.stored.header_hash),
            state_digest=computed.digest,
            member=self._member,
            envelopes=computed.stored.envelopes,
            skipped=computed.skipped,
        )

    # -- reading back --------------------------------------------------------------------------

    def executed_block(self, height: int) -> ExecutedBlock:
        """A stored block as an ExecutedBlock (signature recomputed: Ed25519 is deterministic)."""
        block = self._store.get_block(height)
        if block is None:
            raise ExecutionError(f"no block at height {height} (last is {self._store.last_height()})")
        try:
            header = BlockHeader.decode(block.header)
        except HeaderError as exc:
            raise StoreError(f"stored header {height}: {exc}") from None
        return ExecutedBlock(
            height=height,
            header=header,
            header_bytes=block.header,
            header_hash=block.header_hash,
            tx_ids=block.tx_ids,
            results=block.results,
            signature=sign_header(self._key, block.header_hash),
            state_digest=header.state_digest,
            member=self._member,
            envelopes=block.envelopes,
        )

    def _remember_trees(self, height: int, trees: tuple[merkle.MerkleTree, merkle.MerkleTree]) -> None:
        self._trees[height] = trees
        self._trees.move_to_end(height)
        while len(self._trees) > self._tree_cap:
            self._trees.popitem(last=False)

    def tx_proof(self, tx_id: bytes) -> TxProofData | None:
        """Inclusion proof of a committed tx (None if not committed). Certificate may be None
        while the block's certificate is still being collected."""
        location = self._store.get_tx_location(tx_id)
        if location is None:
            return None
        height, index = location
        header = self._store.get_header(height)
        envelope = self._store.get_tx(height, index)
        result = self._store.get_result(height, index)
        if header is None or envelope is None or result is None:
            raise StoreError(f"tx index points at {height}/{index}, which is missing")
        trees = self._trees.get(height)
        if trees is None:
            block = self._store.get_block(height)
            assert block is not None
            trees = (
                merkle.MerkleTree([merkle.leaf_hash(t) for t in block.tx_ids]),
                merkle.MerkleTree([merkle.leaf_hash(r) for r in block.results]),
            )
            self._remember_trees(height, trees)
        cert_raw = self._store.get_certificate(height)
        return TxProofData(
            envelope=envelope,
            height=height,
            index=index,
            tx_count=len(trees[0]),
            tx_path=tuple(trees[0].proof(index)),
            result=result,
            result_path=tuple(trees[1].proof(index)),
            header=header,
            certificate=BlockCertificate.decode(cert_raw) if cert_raw is not None else None,
        )
