"""The kill-primary report says when each surviving node noticed the loss, left the view and
installed the next one, read from the node's own log."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from baaskit.bench.failover import read_steps
from baaskit.bench.report import format_report
from baaskit.node.driver import LOG_INSTALLED, LOG_LEFT, LOG_SUSPECTED

DRIVER = "baaskit.node.driver"  # the lines are written with the driver's own formats
KILLED_AT = datetime(2026, 11, 22, 13, 38, 7, 553_000).timestamp()


def _log(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def test_the_steps_after_the_kill_are_read_from_the_log_in_seconds_after_it(tmp_path: Path) -> None:
    log = _log(
        tmp_path / "node.log",
        [
            f"2026-11-22 13:38:01,100 WARNING {DRIVER}: {LOG_LEFT % (7, 'from an earlier fault')}",
            f"2026-11-22 13:38:07,836 WARNING {DRIVER}: {LOG_SUSPECTED % (0, 'link to the primary lost')}",
            f"2026-11-22 13:38:07,836 WARNING {DRIVER}: {LOG_LEFT % (1, 'the primary is also suspected by [1]')}",
            f"2026-11-22 13:38:08,000 INFO {DRIVER}: view 0 makes progress again: no longer suspecting",
            "  a traceback line without a time stamp",
            f"2026-11-22 13:38:08,523 WARNING {DRIVER}: {LOG_INSTALLED % (1, 1, 250)}",
            f"2026-11-22 13:38:09,100 WARNING {DRIVER}: {LOG_LEFT % (2, 'request timeout')}",
            f"2026-11-22 13:38:09,900 WARNING {DRIVER}: {LOG_INSTALLED % (2, 2, 0)}",
            f"2026-11-22 13:39:30,000 WARNING {DRIVER}: {LOG_INSTALLED % (3, 3, 0)}",
        ],
    )
    steps = read_steps(3, log, KILLED_AT, until=KILLED_AT + 60)
    assert steps.suspected_s == 0.283
    assert steps.left == ((1, 0.283), (2, 1.547))
    assert steps.installed == ((1, 0.97), (2, 2.347))

    silent = read_steps(2, _log(tmp_path / "quiet.log", []), KILLED_AT, until=KILLED_AT + 60)
    missing = read_steps(1, tmp_path / "no-such.log", KILLED_AT, until=KILLED_AT + 60)
    run = {
        "mode": "closed-loop",
        "offered_rate": None,
        "committed_tx_per_s": 2000.0,
        "latency_ms": {"p50": 1.0, "p95": 1.0, "p99": 1.0, "max": 1.0},
        "cpu_us_per_tx": {0: 1.0},
        "peak_rss_mb": {0: 1.0},
        "fsyncs_per_block": {0: 1.0},
        "txs_per_block": 400.0,
        "store_bytes_written_per_tx": {0: 1.0},
        "disk_bytes_per_tx": {0: 1.0},
        "slow_syncs": {0: 0},
        "views": [0, 1, 2],
        "fault": {
            "kind": "kill-primary",
            "killed_member": 0,
            "first_commit_after_kill_s": 0.0,
            "first_new_view_commit_after_kill_s": 2.61,
            "acknowledged_lost": 0,
            "killed_at_wall": time.strftime("%H:%M:%S", time.localtime(KILLED_AT)),
            "view_change": {3: steps.to_json(), 2: silent.to_json(), 1: missing.to_json()},
        },
    }
    lines = format_report({"cores": 2, "verifications_per_s": 1.0, "nodes": 4, "tx_per_s": 1.0}, [run], {}).splitlines()
    at = lines.index("view change, per surviving node (from its log; seconds after the kill):")
    assert lines[at + 1 : at + 4] == [
        "  member 1: logged no view change",
        "  member 2: logged no view change",
        "  member 3: suspected the primary +0.28 s, left for view 1 +0.28 s, installed view 1 +0.97 s, "
        "left for view 2 +1.55 s, installed view 2 +2.35 s",
    ]
