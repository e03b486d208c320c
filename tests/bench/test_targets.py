"""The bench judges its figures against the targets: met just inside each threshold, not met just
outside, "not measured" when the call made no run that measures it; a run with a killed primary
counts only for the recovery target. Printed in the report, carried in --json."""

from __future__ import annotations

from typing import Any

import pytest

from baaskit.bench import targets
from baaskit.bench.offline import LABELS, measure_offline
from baaskit.bench.report import format_report
from baaskit.bench.targets import MET, NOT_MEASURED, NOT_MET, Verdict, judge, rss_growth

BOUND = {"cores": 2, "verifications_per_s": 18_000.0, "nodes": 4, "tx_per_s": 9_000.0}
PER_NODE = {m: 1.0 for m in range(4)}


def run(rate: float | None, tx_per_s: float = 1000.0, p50: float = 20.0, p99: float = 90.0, **extra: Any) -> dict[str, Any]:
    r: dict[str, Any] = {
        "mode": "open-loop" if rate else "closed-loop",
        "offered_rate": rate,
        "committed_tx_per_s": tx_per_s,
        "load_s": 10.0,
        "latency_ms": {"p50": p50, "p95": p99, "p99": p99, "max": p99},
        "cpu_us_per_tx": PER_NODE,
        "peak_rss_mb": PER_NODE,
        "fsyncs_per_block": PER_NODE,
        "txs_per_block": 20.0,
        "store_bytes_written_per_tx": PER_NODE,
        "disk_bytes_per_tx": PER_NODE,
        "slow_syncs": {m: 0 for m in range(4)},
        "views": [0],
    }
    r.update(extra)
    return r


def killed(resumed_s: float | None, lost: int) -> dict[str, Any]:
    fault = {"kind": "kill-primary", "killed_member": 0, "killed_at_wall": "12:00:00.000",
             "first_commit_after_kill_s": 0.1, "first_new_view_commit_after_kill_s": resumed_s,
             "acknowledged_lost": lost, "view_change": {}}
    return run(None, tx_per_s=100.0, p50=5000.0, p99=9000.0, views=[0, 1], fault=fault)


def series(values: list[float], step_s: float = 30.0) -> list[tuple[float, dict[int, float]]]:
    return [(i * step_s, {m: v for m in range(4)}) for i, v in enumerate(values)]


def statuses(verdicts: list[Verdict]) -> list[str]:
    return [v.status for v in verdicts]


def test_each_target_is_met_just_inside_its_threshold() -> None:
    flat = series([300.0, 200.0] + [150.0] * 20)  # the first minute (t < 60 s) is warm-up
    runs = [
        run(1000.0, p50=targets.MAX_P50_MS, p99=targets.MAX_P99_MS),
        run(None, tx_per_s=4500.0, load_s=650.0, rss_mb_over_time=flat),
        killed(targets.MAX_RESUME_S, 0),
    ]
    extras = {"aggregation_docs_per_s": 200_000.0, "receipt_verify_us": 1000.0}
    verdicts = judge(BOUND, runs, extras)
    assert statuses(verdicts) == [MET] * 6
    assert verdicts[0].measured == "0.50 (4,500 of 9,000 tx/s)"
    assert verdicts[1].measured == "p50 25.0 ms, p99 100.0 ms"
    assert verdicts[2].measured == "per node +0%, +0%, +0%, +0%"
    assert verdicts[3].measured == "first commit in the new view 2.00 s, 0 acknowledged lost"


@pytest.mark.parametrize(
    ("index", "runs", "extras"),
    [
        (0, [run(None, tx_per_s=4499.0)], {}),
        (1, [run(1000.0, p50=25.1)], {}),
        (1, [run(1000.0, p99=100.1)], {}),
        (1, [run(1000.0, p50=float("nan"), p99=float("nan"))], {}),  # nothing committed
        (2, [run(None, load_s=600.0, rss_mb_over_time=series([100.0] * 11 + [112.0] * 11))], {}),
        (3, [killed(2.01, 0)], {}),
        (3, [killed(0.5, 1)], {}),
        (3, [killed(None, 0)], {}),
        (4, [], {"aggregation_docs_per_s": 199_999.0}),
        (5, [], {"receipt_verify_us": 1001.0}),
    ],
)
def test_each_target_is_not_met_just_outside_its_threshold(
    index: int, runs: list[dict[str, Any]], extras: dict[str, Any]
) -> None:
    assert judge(BOUND, runs, extras)[index].status == NOT_MET


def test_a_target_without_the_run_that_measures_it_is_not_measured_and_says_which_run() -> None:
    verdicts = judge(BOUND, [], {})
    assert statuses(verdicts) == [NOT_MEASURED] * 6
    assert [v.measured for v in verdicts] == [
        "needs --max", "needs --rate 1000", "needs --max --duration 600", "needs --fault kill-primary",
        "needs --extras", "needs --extras",
    ]
    # an open-loop run at another rate, or a closed-loop run shorter than 10 minutes, does not count
    short = run(None, tx_per_s=5000.0, load_s=599.0, rss_mb_over_time=series([100.0] * 22))
    assert statuses(judge(BOUND, [run(500.0), short], {}))[:3] == [MET, NOT_MEASURED, NOT_MEASURED]
    sparse = run(None, load_s=600.0, rss_mb_over_time=series([100.0] * 5))  # 3 samples after the warm-up
    assert judge(BOUND, [sparse], {})[2] == Verdict(
        targets._rss([sparse], "").target, NOT_MEASURED, "too few RSS samples after the warm-up"
    )


def test_a_run_with_a_killed_primary_counts_only_for_the_recovery_target() -> None:
    verdicts = judge(BOUND, [killed(1.0, 0)], {})
    assert statuses(verdicts)[:4] == [NOT_MEASURED, NOT_MEASURED, NOT_MEASURED, MET]
    assert [v.measured for v in verdicts[:3]] == [
        "needs --max without --fault", "needs --rate 1000 without --fault",
        "needs --max --duration 600 without --fault",
    ]


def test_rss_growth_compares_the_later_half_with_the_earlier_half_after_the_warm_up() -> None:
    assert rss_growth(series([900.0, 900.0, 100.0, 100.0, 110.0, 110.0])) == pytest.approx({m: 0.1 for m in range(4)})
    assert rss_growth(series([100.0, 100.0, 100.0, 100.0, 100.0])) == {}  # 3 samples after 60 s: too few
    uneven = [(60.0, {0: 100.0, 1: 50.0}), (90.0, {0: 100.0, 1: 50.0}), (120.0, {0: 100.0, 1: 75.0}), (150.0, {0: 100.0, 1: 75.0})]
    assert rss_growth(uneven) == pytest.approx({0: 0.0, 1: 0.5})


def test_the_report_prints_every_target_with_its_verdict_and_the_client_figures_by_name() -> None:
    extras = {"aggregation_docs_per_s": 237_797.4, "receipt_verify_us": 268.2, "receipt_bytes": 4060}
    text = format_report(BOUND, [run(1000.0, p50=39.8, p99=126.4), run(None, tx_per_s=2823.0)], extras)
    lines = text.splitlines()
    assert "aggregation documents/s (SHA-256 of 4 KiB docs + Merkle tree): 237,797" in lines
    assert "offline receipt verification us/receipt: 268" in lines
    assert "receipt bytes (aggregated): 4,060" in lines
    start = lines.index("targets (printed, never asserted):")
    table = [" ".join(line.split()) for line in lines[start + 1 :]]
    assert table == [
        "committed tx/s ≥ 50% of the verification bound (closed loop at maximum) not met 0.31 (2,823 of 9,000 tx/s)",
        "p50 ≤ 25 ms and p99 ≤ 100 ms at 1,000 tx/s offered not met p50 39.8 ms, p99 126.4 ms",
        "RSS flat over a 10-minute run at full load (≤ 10% growth per node) not measured needs --max --duration 600",
        "commits resume ≤ 2 s after the primary is killed, nothing acknowledged lost not measured needs --fault kill-primary",
        "≥ 200,000 documents/s through client-side aggregation met 237,797 documents/s",
        "≤ 1 ms per offline receipt verification met 268 us",
    ]


def test_the_client_figures_are_measured_as_numbers_under_the_names_the_report_knows() -> None:
    figures = measure_offline(docs=64, doc_bytes=256, verify=4)
    assert set(figures) == set(LABELS)
    assert all(isinstance(v, int | float) and v > 0 for v in figures.values())
