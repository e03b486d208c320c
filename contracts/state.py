"""State views: what a contract reads and writes, namespaced per contract, layered as overlays.

Layers (all keys are bytes, values bytes):
  StateStore (the node's committed state, e.g. LevelDB)  <- BlockOverlay (writes of the block so far)
                                                         <- TxOverlay (writes of the current tx)
A successful tx merges its overlay into the block's; a failed one is dropped whole, so a rejected
operation leaves state byte-for-byte unchanged. The block's writes leave in one sorted list that the
node writes in one batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

_DELETED = None


class StateReader(Protocol):
    def get(self, key: bytes) -> bytes | None: ...

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) pairs with `prefix`, in ascending key order."""
        ...


class MemoryStore:
    """Committed state in memory (tests, simulator, property tests)."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        for key in sorted(k for k in self.data if k.startswith(prefix)):
            yield key, self.data[key]

    def apply(self, writes: list[tuple[bytes, bytes | None]]) -> None:
        for key, value in writes:
            if value is None:
                self.data.pop(key, None)
            else:
                self.data[key] = value


class Overlay:
    """Uncommitted writes on top of a reader."""

    def __init__(self, base: StateReader) -> None:
        self._base = base
        self._writes: dict[bytes, bytes | None] = {}

    def get(self, key: bytes) -> bytes | None:
        if key in self._writes:
            return self._writes[key]
        return self._base.get(key)

    def set(self, key: bytes, value: bytes) -> None:
        if not isinstance(value, bytes | bytearray):
            raise TypeError("state values are bytes")
        self._writes[bytes(key)] = bytes(value)

    def delete(self, key: bytes) -> None:
        self._writes[bytes(key)] = _DELETED

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        merged: dict[bytes, bytes | None] = dict(self._base.iterate(prefix))
        for key, value in self._writes.items():
            if key.startswith(prefix):
                merged[key] = value
        for key in sorted(merged):
            value = merged[key]
            if value is not None:
                yield key, value

    def merge_into(self, parent: Overlay) -> None:
        parent._writes.update(self._writes)

    def writes(self) -> list[tuple[bytes, bytes | None]]:
        """Sorted (key, value-or-None-for-delete) pairs: deterministic across replicas."""
        return sorted(self._writes.items())


class StateView:
    """A contract's window on state: keys are prefixed with the contract's namespace."""

    def __init__(self, overlay: Overlay, namespace: str) -> None:
        self._overlay = overlay
        self._prefix = b"c/" + namespace.encode() + b"/"

    def get(self, key: bytes) -> bytes | None:
        return self._overlay.get(self._prefix + key)

    def set(self, key: bytes, value: bytes) -> None:
        self._overlay.set(self._prefix + key, value)

    def delete(self, key: bytes) -> None:
        self._overlay.delete(self._prefix + key)

    def iterate(self, prefix: bytes = b"") -> Iterator[tuple[bytes, bytes]]:
        cut = len(self._prefix)
        for key, value in self._overlay.iterate(self._prefix + prefix):
            yield key[cut:], value
