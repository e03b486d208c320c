"""Consensus suite reporting: schedules simulated, schedules/s, and the planted-bug searches.
(Hypothesis profiles live in tests/conftest.py; budgets scale with tests/budget.py.)"""

from __future__ import annotations

import os

import pytest

from tests.harness.schedule import Stats


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not Stats.schedules:
        return
    tr = terminalreporter
    rate = Stats.schedules / Stats.seconds if Stats.seconds else 0.0
    profile = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    tr.write_sep("-", "consensus simulator")
    tr.write_line(
        f"profile {profile}: {Stats.schedules} schedules simulated in {Stats.seconds:.1f}s "
        f"of simulation ({rate:.1f} schedules/s)"
    )
    for name, (count, secs, what) in sorted(Stats.bug_searches.items()):
        tr.write_line(f"planted bug {name}: found after {count} schedules, {secs:.2f}s: {what}")
