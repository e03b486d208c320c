"""Replay every schedule in regressions.py (each once broke the core or the harness)."""

from __future__ import annotations

import pytest

from tests.consensus.regressions import REGRESSIONS
from tests.harness.schedule import Scenario, run


@pytest.mark.parametrize(
    "scenario", REGRESSIONS, ids=[f"regression-{i}" for i in range(len(REGRESSIONS))]
)
def test_regression(scenario: Scenario) -> None:
    run(scenario)
