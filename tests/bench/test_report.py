"""The bench's printed report names what a latency tail is made of: each node's disk stalls and
any view change during the run; and what each node sent its peers in consensus messages."""

from __future__ import annotations

from typing import Any

from baaskit.bench.report import format_report

BOUND = {"cores": 2, "verifications_per_s": 14_000.0, "nodes": 4, "tx_per_s": 7_000.0}


def _run(mode: str, slow_syncs: dict[int, int], views: list[int]) -> dict[str, Any]:
    per_node = {m: 1.0 for m in range(4)}
    return {
        "mode": mode,
        "offered_rate": 1000.0 if mode == "open-loop" else None,
        "committed_tx_per_s": 998.0,
        "latency_ms": {"p50": 60.0, "p95": 200.0, "p99": 900.0, "max": 1200.0},
        "cpu_us_per_tx": per_node,
        "peak_rss_mb": per_node,
        "fsyncs_per_block": per_node,
        "txs_per_block": 24.0,
        "store_bytes_written_per_tx": per_node,
        "disk_bytes_per_tx": per_node,
        "slow_syncs": slow_syncs,
        "consensus_bytes_sent_per_tx": {1: 18.4, 0: 1212.0, 3: 8.0, 2: 19.0},
        "views": views,
    }


def test_the_report_lists_each_nodes_slow_syncs_in_member_order_and_the_views() -> None:
    text = format_report(
        BOUND,
        [_run("open-loop", {2: 1, 0: 3, 3: 0, 1: 2}, [0]), _run("closed-loop", {0: 0, 1: 0, 2: 0, 3: 0}, [0, 1])],
        {},
    )
    lines = text.splitlines()
    assert "during the open-loop run: synced writes over 100 ms per node 3,2,1,0; view 0 throughout" in lines
    assert "during the closed-loop run: synced writes over 100 ms per node 0,0,0,0; views 0..1" in lines
    assert "consensus messages sent to peers, B per committed tx, per node: 1212, 18, 19, 8" in lines
