"""In-memory backend with the same semantics as LevelDB (for tests and the simulator)."""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence

from baaskit.node.metrics import Metrics

from .kvstore import KVStore


class _DictKV:
    def __init__(self) -> None:
        self._data: dict[bytes, bytes] = {}
        self._sorted: list[bytes] = []
        self.writes = 0

    def get(self, key: bytes) -> bytes | None:
        return self._data.get(key)

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        # Snapshot the matching keys first: writes during iteration must not shift positions.
        start = bisect.bisect_left(self._sorted, prefix)
        matched: list[bytes] = []
        for key in self._sorted[start:]:
            if not key.startswith(prefix):
                break
            matched.append(key)
        for key in matched:
            value = self._data.get(key)
            if value is not None:
                yield key, value

    def write(self, puts: Sequence[tuple[bytes, bytes]], deletes: Sequence[bytes], sync: bool) -> None:
        for key in deletes:
            if key in self._data:
                del self._data[key]
                self._sorted.pop(bisect.bisect_left(self._sorted, key))
        for key, value in puts:
            if key not in self._data:
                bisect.insort(self._sorted, key)
            self._data[key] = bytes(value)
        self.writes += 1

    def close(self) -> None:
        pass


class MemoryStore(KVStore):
    """A Store that lives in memory; `sync_batches` counts as if each sync batch were an fsync."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        super().__init__(_DictKV(), metrics)
