"""Node counters: plain integers a status call or a test can read. No I/O; CpuMeter reads the
thread CPU clock."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

# Names every node reports (always present in a snapshot, even at zero).
FSYNCS = "fsyncs"  # sync=True write batches (blocks, certificates, consensus record groups)
# Key and value bytes handed to LevelDB in write batches (deletes count their key): what the
# write-ahead log and the memtable take in, before compaction and file-system overheads.
STORE_BYTES_WRITTEN = "store_bytes_written"
# Synced write batches that held the node's event loop for over 100 ms (the disk stalled: under
# load, ext4 makes an fsync wait for other files' dirty data, e.g. a compaction's new tables).
STORE_SLOW_SYNCS = "store_slow_syncs"
BLOCKS = "blocks"  # blocks executed and committed to storage
TXS = "txs"  # transactions committed in blocks
TXS_SKIPPED = "txs_skipped"  # proposed txs skipped at execution (already committed: at-most-once)
EVIDENCE = "evidence"  # misbehaviour observed (bad signatures, divergent headers, ...)
SIGNATURE_VERIFICATIONS = "signature_verifications"  # Ed25519 tx verifications actually run
SIGNATURE_CACHE_HITS = "signature_cache_hits"
TXS_ADMITTED = "txs_admitted"
TXS_REJECTED = "txs_rejected"
FORWARDED_REJECTED = "forwarded_rejected"
PROPOSALS_REJECTED = "proposals_rejected"
# Submits answered UNAVAILABLE because f peers did not report holding their txs in time (holds.py)
SUBMITS_NOT_HELD = "submits_not_held"
# Proposals this replica did not vote on: their block time was too far behind its clock when it
# got to them, i.e. it was lagging (node/validation.py ProposalValidator.behind_ms).
PROPOSALS_ABSTAINED = "proposals_abstained"
CERTIFICATES = "certificates"
DIVERGENT_HEADERS = "divergent_headers"

KNOWN = (
    FSYNCS,
    STORE_BYTES_WRITTEN,
    STORE_SLOW_SYNCS,
    BLOCKS,
    TXS,
    TXS_SKIPPED,
    EVIDENCE,
    SIGNATURE_VERIFICATIONS,
    SIGNATURE_CACHE_HITS,
    TXS_ADMITTED,
    TXS_REJECTED,
    FORWARDED_REJECTED,
    PROPOSALS_REJECTED,
    SUBMITS_NOT_HELD,
    PROPOSALS_ABSTAINED,
    CERTIFICATES,
    DIVERGENT_HEADERS,
)


class Metrics:
    """Monotonic counters by name. Unknown names may be added by incr (e.g. by the runtime)."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = dict.fromkeys(KNOWN, 0)

    def incr(self, name: str, n: int = 1) -> None:
        if n < 0:
            raise ValueError(f"counter {name!r}: counters only go up, got {n}")
        self._counts[name] = self._counts.get(name, 0) + n

    def get(self, name: str) -> int:
        return self._counts.get(name, 0)

    def snapshot(self) -> dict[str, int]:
        """A copy, sorted by name (stable output for status tables and tests)."""
        return {name: self._counts[name] for name in sorted(self._counts)}


_GC_HOOKS: list[Callable[[str, dict[str, int]], None]] = []


class CpuMeter:
    """CPU time of the event-loop thread spent per named stage, in microseconds (counters named
    `cpu_us_<stage>`). Measured with time.thread_time, so waiting (fsync, other processes on the
    core) is not counted; `cpu_us_thread` is the thread's total, the rest of which is asyncio
    and gRPC's own work. Cost: two clock reads per measured section, ~0.6 us each on the
    development machine (the thread CPU clock is a system call there, not a vDSO read)."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._start = time.thread_time()

    def section(self, stage: str) -> _Section:
        return _Section(self._metrics, "cpu_us_" + stage)

    def count_gc(self) -> None:
        """Also count the cyclic garbage collector's CPU as `cpu_us_gc` (it overlaps the stages
        during which a collection ran)."""
        started = [0.0]

        def callback(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                started[0] = time.thread_time()
            elif started[0]:
                self._metrics.incr("cpu_us_gc", int((time.thread_time() - started[0]) * 1e6))
                self._metrics.incr(f"gc_collections_gen{info.get('generation', 0)}")

        # One node per process: a newer meter replaces the older one's hook (tests make many).
        for old in _GC_HOOKS:
            if old in gc.callbacks:
                gc.callbacks.remove(old)
        _GC_HOOKS[:] = [callback]
        gc.callbacks.append(callback)

    def thread_total(self) -> dict[str, int]:
        return {"cpu_us_thread": int((time.thread_time() - self._start) * 1e6)}


class _Section:
    __slots__ = ("_metrics", "_name", "_t0")

    def __init__(self, metrics: Metrics, name: str) -> None:
        self._metrics = metrics
        self._name = name
        self._t0 = 0.0

    def __enter__(self) -> None:
        self._t0 = time.thread_time()

    def __exit__(self, *exc: object) -> None:
        self._metrics.incr(self._name, int((time.thread_time() - self._t0) * 1e6))
