"""The benchmark's targets, judged on the figures of one `baaskit bench` call.

Printed with the final table and put in --json; never asserted in tests (a verdict on a shared
2-core machine is a measurement, not a pass/fail gate). Each target names the run that measures
it; a call that did not make that run says so instead of guessing ("not measured").

The thresholds are the ones our users compare us on (issue 6): a Python BFT pool they know
commits ~100 writes/s with seconds of latency; we aim for tens of times that.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

MET = "met"
NOT_MET = "not met"
NOT_MEASURED = "not measured"

MIN_BOUND_RATIO = 0.5  # committed signed tx/s at maximum, over the Ed25519 verification bound
LATENCY_RATE = 1000.0  # tx/s offered open loop for the latency target
MAX_P50_MS = 25.0
MAX_P99_MS = 100.0
RSS_RUN_S = 600.0  # a closed-loop run at least this long judges RSS growth
RSS_WARMUP_S = 60.0  # caches and memtables fill first: samples before this are not judged
MAX_RSS_GROWTH = 0.10  # mean RSS of the later half of the samples over the earlier half, per node
MAX_RESUME_S = 2.0  # kill-primary: first commit in a new view after the kill
MIN_DOCS_PER_S = 200_000.0  # documents/s through client-side aggregation
MAX_RECEIPT_VERIFY_US = 1000.0  # one offline receipt verification


@dataclass(frozen=True, slots=True)
class Verdict:
    target: str
    status: str  # MET, NOT_MET or NOT_MEASURED
    measured: str  # the figures judged, or what run would measure it

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def judge(bound: dict[str, Any], runs: Sequence[dict[str, Any]], extras: dict[str, Any]) -> list[Verdict]:
    """One verdict per target, in the order the issue lists them. Runs with a fault count only
    for the fault target: a killed primary is not a measure of throughput or latency."""
    clean = [r for r in runs if "fault" not in r]
    suffix = " without --fault" if len(clean) < len(runs) else ""  # a faulted run was made instead
    return [
        _throughput(bound, clean, suffix),
        _latency(clean, suffix),
        _rss(clean, suffix),
        _recovery([r for r in runs if "fault" in r]),
        _client_figure(
            f"≥ {MIN_DOCS_PER_S:,.0f} documents/s through client-side aggregation",
            extras.get("aggregation_docs_per_s"), lambda v: v >= MIN_DOCS_PER_S, "{:,.0f} documents/s",
        ),
        _client_figure(
            f"≤ {MAX_RECEIPT_VERIFY_US / 1000:g} ms per offline receipt verification",
            extras.get("receipt_verify_us"), lambda v: v <= MAX_RECEIPT_VERIFY_US, "{:.0f} us",
        ),
    ]


def _throughput(bound: dict[str, Any], runs: Sequence[dict[str, Any]], suffix: str) -> Verdict:
    target = f"committed tx/s ≥ {MIN_BOUND_RATIO:.0%} of the verification bound (closed loop at maximum)"
    closed = [r for r in runs if r["offered_rate"] is None]
    if not closed:
        return Verdict(target, NOT_MEASURED, "needs --max" + suffix)
    best = max(r["committed_tx_per_s"] for r in closed)
    ratio = best / bound["tx_per_s"]
    return Verdict(
        target,
        MET if ratio >= MIN_BOUND_RATIO else NOT_MET,
        f"{ratio:.2f} ({best:,.0f} of {bound['tx_per_s']:,.0f} tx/s)",
    )


def _latency(runs: Sequence[dict[str, Any]], suffix: str) -> Verdict:
    target = f"p50 ≤ {MAX_P50_MS:g} ms and p99 ≤ {MAX_P99_MS:g} ms at {LATENCY_RATE:,.0f} tx/s offered"
    at_rate = [r for r in runs if r["offered_rate"] == LATENCY_RATE]
    if not at_rate:
        return Verdict(target, NOT_MEASURED, f"needs --rate {LATENCY_RATE:.0f}" + suffix)
    r = at_rate[-1]
    p50, p99 = r["latency_ms"]["p50"], r["latency_ms"]["p99"]
    ok = p50 <= MAX_P50_MS and p99 <= MAX_P99_MS  # NaN (nothing committed) compares False
    return Verdict(target, MET if ok else NOT_MET, f"p50 {p50:.1f} ms, p99 {p99:.1f} ms")


def _rss(runs: Sequence[dict[str, Any]], suffix: str) -> Verdict:
    target = f"RSS flat over a {RSS_RUN_S / 60:g}-minute run at full load (≤ {MAX_RSS_GROWTH:.0%} growth per node)"
    long_runs = [r for r in runs if r["offered_rate"] is None and r.get("load_s", 0.0) >= RSS_RUN_S]
    if not long_runs:
        return Verdict(target, NOT_MEASURED, f"needs --max --duration {RSS_RUN_S:.0f}" + suffix)
    growth = rss_growth(long_runs[-1]["rss_mb_over_time"])
    if not growth:
        return Verdict(target, NOT_MEASURED, "too few RSS samples after the warm-up")
    worst = max(growth.values())
    shown = ", ".join(f"{g:+.0%}" for _, g in sorted(growth.items()))
    return Verdict(target, MET if worst <= MAX_RSS_GROWTH else NOT_MET, f"per node {shown}")


def rss_growth(series: Sequence[tuple[float, dict[int, float]]]) -> dict[int, float]:
    """Per node: mean RSS over the later half of the samples taken after the warm-up, over the
    mean of the earlier half, minus one. Empty when fewer than 4 samples are left."""
    judged = [per for t, per in series if t >= RSS_WARMUP_S]
    if len(judged) < 4:
        return {}
    early, late = judged[: len(judged) // 2], judged[len(judged) // 2 :]
    growth: dict[int, float] = {}
    for member in sorted(judged[0]):
        a = [per[member] for per in early if member in per]
        b = [per[member] for per in late if member in per]
        if a and b:
            growth[member] = (sum(b) / len(b)) / (sum(a) / len(a)) - 1.0
    return growth


def _recovery(runs: Sequence[dict[str, Any]]) -> Verdict:
    target = f"commits resume ≤ {MAX_RESUME_S:g} s after the primary is killed, nothing acknowledged lost"
    if not runs:
        return Verdict(target, NOT_MEASURED, "needs --fault kill-primary")
    fault = runs[-1]["fault"]
    resumed, lost = fault["first_new_view_commit_after_kill_s"], fault["acknowledged_lost"]
    ok = resumed is not None and resumed <= MAX_RESUME_S and lost == 0
    when = "no commit in a new view" if resumed is None else f"first commit in the new view {resumed:.2f} s"
    return Verdict(target, MET if ok else NOT_MET, f"{when}, {lost} acknowledged lost")


def _client_figure(target: str, value: float | None, ok: Callable[[float], bool], shown: str) -> Verdict:
    """A figure of the in-process client measurements (`--extras`)."""
    if value is None:
        return Verdict(target, NOT_MEASURED, "needs --extras")
    return Verdict(target, MET if ok(value) else NOT_MET, shown.format(value))
