"""The storage interface every backend implements, and the block record it stores.

The rule (docs/storage.md): a committed block, its tx index, its results, its state writes, the
new last height, last block hash and state digest are written in ONE write batch with sync=True.
Consensus records are written many at a time in one sync batch (group commit).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from baaskit.contracts.state import StateReader
from baaskit.genesis import Genesis
from baaskit.tx import TxEnvelope

StateWrites = Sequence[tuple[bytes, bytes | None]]  # (state key, value or None = delete)


class StoreError(Exception):
    """Storage misuse or a data directory that cannot be used (wrong chain, out-of-order block)."""


class StoreLockedError(StoreError):
    """The data directory is open in another process (LevelDB's LOCK is held)."""


class CorruptStoreError(StoreError):
    """Bytes in the data directory do not decode as what the schema says they are."""


@dataclass(frozen=True, slots=True)
class StoredBlock:
    height: int
    header: bytes  # canonical JSON header bytes; the block hash is SHA-256 of these
    header_hash: bytes
    envelopes: tuple[TxEnvelope, ...]
    results: tuple[bytes, ...]  # canonical JSON TxResult of each envelope, block order

    def __post_init__(self) -> None:
        if len(self.envelopes) != len(self.results):
            raise StoreError(
                f"block {self.height}: {len(self.envelopes)} transactions but {len(self.results)} results"
            )

    @property
    def tx_ids(self) -> tuple[bytes, ...]:
        return tuple(e.tx_id for e in self.envelopes)


class Store(Protocol):
    # -- contract state (a StateReader for baaskit.contracts via state_reader()) --
    def get_state(self, key: bytes) -> bytes | None: ...

    def iterate_state(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]: ...

    def state_reader(self) -> StateReader: ...

    # -- chain --
    def init_genesis(self, genesis: Genesis, writes: StateWrites) -> bool: ...

    def genesis_hash(self) -> bytes | None: ...

    def commit_block(
        self,
        block: StoredBlock,
        state_writes: StateWrites,
        state_digest: bytes,
        certificate: bytes | None = None,
    ) -> None: ...

    def put_certificate(self, height: int, certificate: bytes) -> None: ...

    def get_header(self, height: int) -> bytes | None: ...

    def get_block(self, height: int) -> StoredBlock | None: ...

    def get_tx_location(self, tx_id: bytes) -> tuple[int, int] | None: ...

    def is_committed(self, tx_id: bytes) -> bool: ...

    def get_tx(self, height: int, index: int) -> TxEnvelope | None: ...

    def get_result(self, height: int, index: int) -> bytes | None: ...

    def get_certificate(self, height: int) -> bytes | None: ...

    def last_height(self) -> int: ...

    def last_block_hash(self) -> bytes: ...

    def state_digest(self) -> bytes: ...

    # -- consensus records --
    def write_consensus_records(
        self, records: Sequence[tuple[bytes, bytes]], forget_below: int | None = None
    ) -> None: ...

    def stage_consensus_records(
        self, records: Sequence[tuple[bytes, bytes]], forget_below: int | None = None
    ) -> None: ...

    def flush_consensus_records(self) -> None: ...

    def load_consensus_records(self) -> list[bytes]: ...

    def consensus_record_items(self) -> list[tuple[bytes, bytes]]: ...

    # -- housekeeping --
    @property
    def sync_batches(self) -> int: ...

    def close(self) -> None: ...
