"""Step the offered rate, record committed throughput and latency, draw the curve."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .cluster import BenchCluster
from .runner import RunSpec, run_load


def run_sweep(bc: BenchCluster, rates: list[float], duration_s: float, say: Callable[[str], None]) -> list[dict[str, Any]]:
    points = []
    for rate in rates:
        say(f"sweep: {rate:.0f} tx/s offered for {duration_s:.0f} s")
        r = run_load(bc, RunSpec(rate, duration_s, max(1, int(rate / 100)), 64), show_progress=False)
        points.append(
            {
                "offered": rate,
                "committed_tx_per_s": r["committed_tx_per_s"],
                "p50": r["latency_ms"]["p50"],
                "p95": r["latency_ms"]["p95"],
                "p99": r["latency_ms"]["p99"],
            }
        )
    return points


def plot(points: list[dict[str, Any]], out: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise RuntimeError("the sweep plot needs matplotlib: pip install -e '.[bench]'") from exc
    fig, ax = plt.subplots(figsize=(7, 4.5))
    x = [p["committed_tx_per_s"] for p in points]
    for key, style in (("p50", "o-"), ("p95", "s--"), ("p99", "^:")):
        ax.plot(x, [p[key] for p in points], style, label=key)
    for p in points:
        ax.annotate(f"{p['offered']:.0f}", (p["committed_tx_per_s"], p["p50"]), fontsize=7, alpha=0.7)
    ax.set_xlabel("committed tx/s (labels: offered tx/s)")
    ax.set_ylabel("submit -> commit latency (ms)")
    ax.set_yscale("log")
    ax.set_title("baaskit 4-node cluster on one machine: latency vs throughput")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
