"""One benchmark run: bound, load, costs; optional primary kill; optional rate sweep."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from . import procstats
from .cluster import BenchCluster, wait_committed
from .failover import read_steps
from .load import LoadResult, LoadRunner, percentile, presign


@dataclass
class RunSpec:
    rate: float | None  # None = closed loop at maximum
    duration_s: float
    batch_size: int
    concurrency: int
    fault: str | None = None  # "kill-primary"
    fault_at_s: float = 3.0
    window: int = 6000  # closed loop: outstanding uncommitted txs


@dataclass
class Costs:
    cpu_s: dict[int, float] = field(default_factory=dict)
    peak_rss: dict[int, int] = field(default_factory=dict)
    disk: dict[int, int] = field(default_factory=dict)
    metrics: dict[int, dict[str, int]] = field(default_factory=dict)


def _costs(bc: BenchCluster) -> Costs:
    c = Costs()
    for member, pid in bc.pids().items():
        s = procstats.sample(pid)
        if s is not None:
            c.cpu_s[member] = s.cpu_s
            c.peak_rss[member] = s.peak_rss_bytes
    for member, path in bc.data_dirs().items():
        c.disk[member] = procstats.dir_bytes(path)
    for member, st in bc.statuses().items():
        c.metrics[member] = dict(st.metrics)
    return c


def _progress_bar(r: LoadResult, target: int) -> None:
    done = r.committed
    width = 30
    filled = int(width * min(1.0, done / max(1, target)))
    elapsed = time.monotonic() - r.started
    sys.stderr.write(
        f"\r  [{'#' * filled}{'.' * (width - filled)}] submitted {r.acked:>7} committed {done:>7}"
        f"  {done / elapsed if elapsed > 0 else 0:7.0f} tx/s"
    )
    sys.stderr.flush()


async def _kill_primary_later(bc: BenchCluster, at_s: float, out: dict[str, Any]) -> None:
    await asyncio.sleep(at_s)
    statuses = bc.statuses()
    if not statuses:
        return
    view, primary = max((s.view, s.primary) for s in statuses.values())
    pid = bc.pids().get(primary)
    if pid is None:
        return
    out["killed_member"] = primary
    out["killed_view"] = view
    out["killed_at"] = time.monotonic()
    out["killed_at_epoch"] = time.time()  # to read the nodes' logs against (bench/failover.py)
    out["killed_at_wall"] = time.strftime("%H:%M:%S", time.localtime()) + f".{int(time.time() * 1000) % 1000:03d}"
    os.kill(pid, signal.SIGKILL)


def run_load(bc: BenchCluster, spec: RunSpec, show_progress: bool = True) -> dict[str, Any]:
    keys = bc.client_keys()
    count = int(spec.rate * spec.duration_s) if spec.rate else int(spec.duration_s * 4000)
    envelopes = presign(keys, bc.chain_id, count)
    before = _costs(bc)
    fault: dict[str, Any] = {}

    rss_series: list[tuple[float, dict[int, float]]] = []

    async def sample_rss() -> None:
        t0 = time.monotonic()
        while True:
            now = {m: s.rss_bytes / 2**20 for m, pid in bc.pids().items() if (s := procstats.sample(pid))}
            rss_series.append((time.monotonic() - t0, now))
            await asyncio.sleep(max(1.0, spec.duration_s / 20))

    async def go() -> LoadResult:
        runner = LoadRunner(bc.endpoints, bc.ca_pem)
        sampler = asyncio.create_task(sample_rss())
        killer = None
        if spec.fault == "kill-primary":
            killer = asyncio.create_task(_kill_primary_later(bc, spec.fault_at_s, fault))
        try:
            return await runner.run(
                envelopes,
                spec.rate,
                spec.batch_size,
                spec.concurrency,
                drain_timeout_s=60,
                progress=(lambda r: _progress_bar(r, count)) if show_progress else None,
                window=spec.window,
            )
        finally:
            sampler.cancel()
            if killer is not None:
                await killer
            await runner.close()

    result = asyncio.run(go())
    if show_progress:
        _progress_bar(result, count)
        sys.stderr.write("\n")
    after = _costs(bc)
    report = summarize(bc, spec, result, before, after, fault)
    report["rss_mb_over_time"] = [(round(t, 1), {m: round(v) for m, v in per.items()}) for t, per in rss_series]
    return report


def _counted(before: Costs, after: Costs, metric: str) -> dict[int, int]:
    """How much a node counter grew during the run, per member."""
    return {m: after.metrics[m].get(metric, 0) - before.metrics.get(m, {}).get(metric, 0) for m in after.metrics}


def summarize(
    bc: BenchCluster, spec: RunSpec, r: LoadResult, before: Costs, after: Costs, fault: dict[str, Any]
) -> dict[str, Any]:
    lat = r.latencies_ms
    committed = r.committed
    last_commit = max(r.commit_t.values(), default=r.started)
    window = max(1e-9, last_commit - r.started)
    members = sorted(after.cpu_s)
    cpu_per_tx_us = {
        m: (after.cpu_s[m] - before.cpu_s.get(m, 0.0)) / max(1, committed) * 1e6 for m in members
    }
    blocks = _counted(before, after, "blocks")
    fsyncs = _counted(before, after, "fsyncs")
    written = _counted(before, after, "store_bytes_written")
    consensus_sent = _counted(before, after, "peer_consensus_bytes_sent")
    disk_per_tx = {m: (after.disk[m] - before.disk.get(m, 0)) / max(1, committed) for m in after.disk}
    report: dict[str, Any] = {
        "offered_rate": spec.rate,
        "mode": "open-loop" if spec.rate else "closed-loop",
        "offered": r.offered,
        "acked": r.acked,
        "committed": committed,
        "busy_retries": r.rejected_busy,
        "errors": r.errors,
        "committed_tx_per_s": committed / window,
        "load_s": window,  # first submit to last commit seen
        "latency_ms": {
            "p50": percentile(lat, 50),
            "p95": percentile(lat, 95),
            "p99": percentile(lat, 99),
            "max": lat[-1] if lat else float("nan"),
        },
        "cpu_us_per_tx": cpu_per_tx_us,
        "peak_rss_mb": {m: after.peak_rss[m] / 2**20 for m in after.peak_rss},
        "fsyncs_per_block": {m: fsyncs[m] / max(1, blocks[m]) for m in blocks},
        "blocks": blocks,
        "txs_per_block": committed / max(1, max(blocks.values(), default=1)),
        "disk_bytes_per_tx": disk_per_tx,
        "store_bytes_written_per_tx": {m: written[m] / max(1, committed) for m in written},
        # Consensus bytes each node handed to its peer streams: the primary's batches to three
        # peers are most of it; votes are ~1% at full load. More means retransmission.
        "consensus_bytes_sent_per_tx": {m: consensus_sent[m] / max(1, committed) for m in consensus_sent},
        # Synced writes over 100 ms, per node: on one machine the four nodes' memtable flushes and
        # compactions make the disk stall, and a stalled primary holds every tx in flight, so
        # these (and a view change) are what a latency tail is made of.
        "slow_syncs": _counted(before, after, "store_slow_syncs"),
        "views": sorted({v for (_h, _t, _n, v) in r.blocks}),
    }
    if fault:
        killed_at = fault["killed_at"]
        resumed = [t for (_h, t, _n, _v) in r.blocks if t > killed_at]
        new_view_blocks = [t for (_h, t, _n, v) in r.blocks if t > killed_at and v > fault["killed_view"]]
        missing = [t for t in r.submit_t if t not in r.commit_t]
        survivor = next(ep for i, ep in enumerate(bc.endpoints) if i != fault["killed_member"])
        lost = len(missing) - wait_committed(survivor, bc.ca_pem, missing, 5000) if missing else 0
        report["fault"] = {
            "kind": "kill-primary",
            "killed_member": fault["killed_member"],
            "first_commit_after_kill_s": (min(resumed) - killed_at) if resumed else None,
            "first_new_view_commit_after_kill_s": (min(new_view_blocks) - killed_at) if new_view_blocks else None,
            "acknowledged_lost": lost,
            "killed_at_wall": fault["killed_at_wall"],
            "view_change": {
                m: read_steps(m, log, fault["killed_at_epoch"], time.time()).to_json()
                for m, log in sorted(bc.log_files().items())
                if m != fault["killed_member"]
            },
        }
    return report
