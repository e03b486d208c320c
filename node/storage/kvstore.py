"""The Store implementation, written once over a tiny ordered key-value backend.

Both backends (LevelDB and memory) only provide get / ordered prefix iteration / atomic write
batch; every schema decision lives here and in keys.py, so one test suite covers both.

Threads: with the LevelDB backend, write_consensus_records may run in a worker thread while the
event loop thread commits blocks and reads (LevelDB serialises writers; keep ONE thread writing
consensus records and ONE committing blocks). The memory backend is single-threaded only.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Protocol

from baaskit.block import GENESIS_PREV_HASH
from baaskit.genesis import Genesis
from baaskit.node.metrics import FSYNCS, STORE_BYTES_WRITTEN, STORE_SLOW_SYNCS, Metrics
from baaskit.tx import TxEnvelope

from . import keys
from .codec import CodecError, pack_envelope, unpack_envelope
from .interface import CorruptStoreError, StateWrites, StoredBlock, StoreError

log = logging.getLogger(__name__)

SLOW_SYNC_S = 0.1  # a synced batch slower than this is counted (store_slow_syncs) ...
STALLED_SYNC_S = 1.0  # ... and one slower than this is also logged: the node stood still
_clock = time.perf_counter  # a module attribute, so that tests can stall the disk without sleeping


class RawKV(Protocol):
    def get(self, key: bytes) -> bytes | None: ...

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) with `prefix`, ascending byte order."""
        ...

    def write(self, puts: Sequence[tuple[bytes, bytes]], deletes: Sequence[bytes], sync: bool) -> None:
        """Apply deletes then puts atomically."""
        ...

    def close(self) -> None: ...


class StateAdapter:
    """Committed contract state as a baaskit.contracts StateReader (keys without the s/ prefix)."""

    def __init__(self, store: KVStore) -> None:
        self._store = store

    def get(self, key: bytes) -> bytes | None:
        return self._store.get_state(key)

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return self._store.iterate_state(prefix)


class KVStore:
    def __init__(self, raw: RawKV, metrics: Metrics | None = None) -> None:
        self._raw = raw
        self._metrics = metrics
        self._sync_batches = 0
        self._count_lock = threading.Lock()
        self._closed = False
        self._staged_records: list[tuple[bytes, bytes]] = []  # see stage_consensus_records
        self._staged_forget: int | None = None
        last = raw.get(keys.META_LAST_HEIGHT)
        try:
            self._last_height = keys.read_u64(last) if last is not None else 0
        except ValueError as exc:
            raise CorruptStoreError(f"meta last_height: {exc}") from None
        self._last_hash = raw.get(keys.META_LAST_BLOCK_HASH) or GENESIS_PREV_HASH
        self._digest = raw.get(keys.META_STATE_DIGEST) or b""
        self._genesis_hash = raw.get(keys.META_GENESIS_HASH)

    # -- plumbing ------------------------------------------------------------------------------

    def _write(self, puts: Sequence[tuple[bytes, bytes]], deletes: Sequence[bytes] = (), sync: bool = True) -> None:
        if self._closed:
            raise StoreError("store is closed")
        if sync and (self._staged_records or self._staged_forget is not None):
            # Staged consensus records ride in this synced batch (and only in a synced one:
            # an unsynced write would unstage them without making them durable).
            staged_puts, staged_deletes = self._take_staged()
            puts = [*puts, *staged_puts]
            deletes = [*deletes, *staged_deletes]
            if not puts and not deletes:
                return
        started = _clock()
        self._raw.write(puts, deletes, sync)
        took = _clock() - started
        with self._count_lock:  # the runtime may group-commit records from a worker thread
            if sync:
                self._sync_batches += 1
            if self._metrics is not None:
                written = sum(len(k) + len(v) for k, v in puts) + sum(len(k) for k in deletes)
                self._metrics.incr(STORE_BYTES_WRITTEN, written)
                self._metrics.incr(FSYNCS, int(sync))
                self._metrics.incr(STORE_SLOW_SYNCS, int(sync and took > SLOW_SYNC_S))
        if sync and took > STALLED_SYNC_S:
            log.warning(
                "a synced write batch of %d keys took %d ms: the disk stalled, and this node waited (store_slow_syncs)",
                len(puts) + len(deletes), took * 1000,
            )

    @property
    def sync_batches(self) -> int:
        """sync=True write batches issued through this handle (each is one fsync)."""
        return self._sync_batches

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._raw.close()

    def __enter__(self) -> KVStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- contract state ------------------------------------------------------------------------

    def get_state(self, key: bytes) -> bytes | None:
        return self._raw.get(keys.state_key(key))

    def iterate_state(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        cut = len(keys.STATE)
        for key, value in self._raw.iterate(keys.state_key(prefix)):
            yield key[cut:], value

    def state_reader(self) -> StateAdapter:
        return StateAdapter(self)

    # -- chain ---------------------------------------------------------------------------------

    def genesis_hash(self) -> bytes | None:
        return self._genesis_hash

    def init_genesis(self, genesis: Genesis, writes: StateWrites) -> bool:
        """Write genesis state once. Returns False if this genesis is already initialised;
        raises StoreError if the directory holds another chain."""
        if self._genesis_hash is not None:
            if self._genesis_hash != genesis.hash:
                raise StoreError(
                    f"data directory belongs to another genesis (hash {self._genesis_hash.hex()[:16]}…, "
                    f"this genesis is {genesis.hash.hex()[:16]}…): use a fresh data_dir"
                )
            return False
        if not genesis.raw:
            raise StoreError("genesis has no raw bytes: load it with baaskit.genesis.parse_genesis")
        digest = hashlib.sha256(genesis.raw).digest()
        puts, deletes = _state_ops(writes)
        puts += [
            (keys.META_GENESIS_HASH, genesis.hash),
            (keys.META_LAST_HEIGHT, keys.u64(0)),
            (keys.META_LAST_BLOCK_HASH, GENESIS_PREV_HASH),
            (keys.META_STATE_DIGEST, digest),
        ]
        self._write(puts, deletes)
        self._genesis_hash = genesis.hash
        self._last_height = 0
        self._last_hash = GENESIS_PREV_HASH
        self._digest = digest
        return True

    def commit_block(
        self,
        block: StoredBlock,
        state_writes: StateWrites,
        state_digest: bytes,
        certificate: bytes | None = None,
    ) -> None:
        """Header, txs, results, tx index, state writes and meta in ONE sync write batch."""
        if self._genesis_hash is None:
            raise StoreError("commit_block before init_genesis")
        if block.height != self._last_height + 1:
            raise StoreError(f"block {block.height} does not follow the last height {self._last_height}")
        if hashlib.sha256(block.header).digest() != block.header_hash:
            raise StoreError(f"block {block.height}: header_hash is not SHA-256 of the header bytes")
        if len(state_digest) != 32:
            raise StoreError("state digest must be 32 bytes")
        puts, deletes = _state_ops(state_writes)
        h = block.height
        puts.append((keys.header_key(h), block.header))
        for i, (envelope, result) in enumerate(zip(block.envelopes, block.results, strict=True)):
            loc = keys.location(h, i)
            puts.append((keys.TX + loc, pack_envelope(envelope)))
            puts.append((keys.RESULT + loc, result))
            puts.append((keys.tx_index_key(envelope.tx_id), loc))
        if certificate is not None:
            puts.append((keys.certificate_key(h), certificate))
        puts += [
            (keys.META_LAST_HEIGHT, keys.u64(h)),
            (keys.META_LAST_BLOCK_HASH, block.header_hash),
            (keys.META_STATE_DIGEST, state_digest),
        ]
        self._write(puts, deletes)
        self._last_height = h
        self._last_hash = block.header_hash
        self._digest = state_digest

    def put_certificate(self, height: int, certificate: bytes) -> None:
        """Not synced: a certificate is derived data (2f+1 header signatures any peer can resend,
        and catch-up fetches certified blocks). LevelDB appends it to its log before returning,
        so it survives a crash of the process, and the next synced batch (the next block or
        consensus group) makes it durable on disk too."""
        if not 1 <= height <= self._last_height:
            raise StoreError(f"certificate for height {height}, but the last block is {self._last_height}")
        self._write([(keys.certificate_key(height), certificate)], sync=False)

    def get_header(self, height: int) -> bytes | None:
        if not 0 <= height <= keys.MAX_U64:
            return None
        return self._raw.get(keys.header_key(height))

    def get_block(self, height: int) -> StoredBlock | None:
        header = self.get_header(height)
        if header is None:
            return None
        try:
            envelopes = tuple(
                unpack_envelope(v) for _, v in self._raw.iterate(keys.block_prefix(keys.TX, height))
            )
        except CodecError as exc:
            raise CorruptStoreError(f"block {height}: {exc}") from None
        results = tuple(v for _, v in self._raw.iterate(keys.block_prefix(keys.RESULT, height)))
        return StoredBlock(
            height=height,
            header=header,
            header_hash=hashlib.sha256(header).digest(),
            envelopes=envelopes,
            results=results,
        )

    def get_tx_location(self, tx_id: bytes) -> tuple[int, int] | None:
        if len(tx_id) != 32:
            return None
        raw = self._raw.get(keys.tx_index_key(tx_id))
        if raw is None:
            return None
        try:
            return keys.read_location(raw)
        except ValueError as exc:
            raise CorruptStoreError(f"tx index {tx_id.hex()}: {exc}") from None

    def is_committed(self, tx_id: bytes) -> bool:
        return self.get_tx_location(tx_id) is not None

    def get_tx(self, height: int, index: int) -> TxEnvelope | None:
        try:
            raw = self._raw.get(keys.tx_key(height, index))
        except ValueError:
            return None
        if raw is None:
            return None
        try:
            return unpack_envelope(raw)
        except CodecError as exc:
            raise CorruptStoreError(f"tx {height}/{index}: {exc}") from None

    def get_result(self, height: int, index: int) -> bytes | None:
        try:
            return self._raw.get(keys.result_key(height, index))
        except ValueError:
            return None

    def get_certificate(self, height: int) -> bytes | None:
        if not 0 <= height <= keys.MAX_U64:
            return None
        return self._raw.get(keys.certificate_key(height))

    def last_height(self) -> int:
        return self._last_height

    def last_block_hash(self) -> bytes:
        return self._last_hash

    def state_digest(self) -> bytes:
        return self._digest

    # -- consensus records ---------------------------------------------------------------------

    def write_consensus_records(
        self, records: Sequence[tuple[bytes, bytes]], forget_below: int | None = None
    ) -> None:
        """Many records in ONE sync batch (group commit). A later record with the same key
        supersedes the earlier one. With `forget_below`, sequence-bound records (key = kind byte +
        u64 seq) with seq <= forget_below are deleted in the same batch. Records staged before
        are written in the same batch."""
        self.stage_consensus_records(records, forget_below)
        self.flush_consensus_records()

    def stage_consensus_records(
        self, records: Sequence[tuple[bytes, bytes]], forget_below: int | None = None
    ) -> None:
        """Hold records for the next SYNCED batch: a block's (commit_block) or
        flush_consensus_records. Nothing that depends on them may leave the node before one of
        those returns. This lets a block and the votes of the same driver step share one fsync."""
        self._staged_records.extend(records)
        if forget_below is not None:
            self._staged_forget = forget_below if self._staged_forget is None else max(self._staged_forget, forget_below)

    def flush_consensus_records(self) -> None:
        """Write the staged records (one sync batch); nothing if none are staged."""
        if self._staged_records or self._staged_forget is not None:
            self._write([], [])

    def _take_staged(self) -> tuple[list[tuple[bytes, bytes]], list[bytes]]:
        """Puts and deletes of the staged consensus records (and forget_below), unstaged."""
        records, forget_below = self._staged_records, self._staged_forget
        self._staged_records, self._staged_forget = [], None
        deletes: list[bytes] = []
        if forget_below is not None:
            cut = len(keys.CONSENSUS)
            for key, _ in self._raw.iterate(keys.CONSENSUS):
                seq = keys.consensus_seq(key[cut:])
                if seq is not None and seq <= forget_below:
                    deletes.append(key)
        latest: dict[bytes, bytes] = {}
        for suffix, value in records:
            seq = keys.consensus_seq(suffix)
            if forget_below is not None and seq is not None and seq <= forget_below:
                continue
            latest[keys.consensus_key(suffix)] = value
        return list(latest.items()), deletes

    def load_consensus_records(self) -> list[bytes]:
        """Every stored consensus record value, in key order."""
        return [value for _, value in self._raw.iterate(keys.CONSENSUS)]

    def consensus_record_items(self) -> list[tuple[bytes, bytes]]:
        cut = len(keys.CONSENSUS)
        return [(key[cut:], value) for key, value in self._raw.iterate(keys.CONSENSUS)]


def _state_ops(writes: StateWrites) -> tuple[list[tuple[bytes, bytes]], list[bytes]]:
    puts: list[tuple[bytes, bytes]] = []
    deletes: list[bytes] = []
    for key, value in writes:
        if value is None:
            deletes.append(keys.state_key(key))
        else:
            puts.append((keys.state_key(key), value))
    return puts, deletes
