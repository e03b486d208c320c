"""The final table (and the numbers behind it) for people; --json for machines."""

from __future__ import annotations

from typing import Any

from .failover import describe
from .offline import LABELS
from .targets import judge


def _avg(values: dict[Any, float]) -> float:
    return sum(values.values()) / len(values) if values else float("nan")


def format_report(bound: dict[str, Any], runs: list[dict[str, Any]], extras: dict[str, Any]) -> str:
    lines = [
        f"verification bound: {bound['cores']} cores x {bound['verifications_per_s']:,.0f} Ed25519 verifies/s "
        f"/ {bound['nodes']} nodes = {bound['tx_per_s']:,.0f} tx/s"
        + (
            f" (best of {bound['samples']} samples before and after the load; median "
            f"{bound['median_verifications_per_s']:,.0f}/s)"
            if bound.get("samples")
            else ""
        ),
        "",
    ]
    head = ("mode", "offered/s", "committed tx/s", "achieved/bound", "p50 ms", "p95 ms", "p99 ms",
            "CPU us/tx/node", "peak RSS MB", "fsyncs/block", "tx/block", "written B/tx", "disk B/tx")
    rows = [head]
    for r in runs:
        lat = r["latency_ms"]
        rows.append((
            r["mode"],
            f"{r['offered_rate']:.0f}" if r["offered_rate"] else "max",
            f"{r['committed_tx_per_s']:,.0f}",
            f"{r['committed_tx_per_s'] / bound['tx_per_s']:.2f}",
            f"{lat['p50']:.1f}",
            f"{lat['p95']:.1f}",
            f"{lat['p99']:.1f}",
            f"{_avg(r['cpu_us_per_tx']):.0f}",
            f"{max(r['peak_rss_mb'].values(), default=0):.0f}",
            f"{_avg(r['fsyncs_per_block']):.2f}",
            f"{r['txs_per_block']:.0f}",
            f"{_avg(r['store_bytes_written_per_tx']):.0f}",
            f"{_avg(r['disk_bytes_per_tx']):.0f}",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    for r in runs:
        if "fault" in r:
            f = r["fault"]
            lines.append("")
            lines.append(
                f"kill-primary: member {f['killed_member']} killed at {f['killed_at_wall']}; first commit after the kill "
                f"{_s(f['first_commit_after_kill_s'])}, first commit in a new view {_s(f['first_new_view_commit_after_kill_s'])}; "
                f"acknowledged transactions lost: {f['acknowledged_lost']}"
            )
            if f.get("view_change"):
                lines.append("view change, per surviving node (from its log; seconds after the kill):")
                lines += describe(f["view_change"])
        lines.append(_disturbances(r))
        if r.get("consensus_bytes_sent_per_tx"):
            sent = ", ".join(f"{v:.0f}" for _, v in sorted(r["consensus_bytes_sent_per_tx"].items()))
            lines.append(f"consensus messages sent to peers, B per committed tx, per node: {sent}")
        series = r.get("rss_mb_over_time") or []
        if len(series) >= 3:
            picks = [series[0], series[len(series) // 2], series[-1]]
            lines.append(
                f"RSS MB per node during the {r['mode']} run: "
                + "; ".join(f"t={t:.0f}s " + ",".join(str(v) for _, v in sorted(per.items())) for t, per in picks)
            )
        if r.get("errors"):
            lines.append(f"errors during {r['mode']} run: {r['errors']}")
    if extras:
        lines.append("")
        for name, value in extras.items():
            label, shown = LABELS.get(name, (name, "{}"))
            lines.append(f"{label}: {shown.format(value)}")
    lines += ["", "targets (printed, never asserted):"]
    verdicts = judge(bound, runs, extras)
    width = max(len(v.target) for v in verdicts)
    lines += [f"  {v.target:<{width}}  {v.status:<12}  {v.measured}" for v in verdicts]
    return "\n".join(lines)


def _disturbances(r: dict[str, Any]) -> str:
    """What a latency tail is made of: disk stalls and view changes during the run."""
    stalls = ",".join(str(n) for _, n in sorted(r["slow_syncs"].items()))
    views = r["views"]
    changed = f"views {views[0]}..{views[-1]}" if len(views) > 1 else f"view {views[0]} throughout" if views else "no block"
    return f"during the {r['mode']} run: synced writes over 100 ms per node {stalls}; {changed}"


def _s(v: float | None) -> str:
    return "never" if v is None else f"{v:.2f} s"
