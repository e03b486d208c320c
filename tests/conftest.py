"""Shared test configuration: hypothesis profiles.

HYPOTHESIS_PROFILE selects one:
  ci   (default) derandomized, so CI is stable; the budget the README test command runs.
  dev  random, small: quick local iteration.
  soak random, large: scripts/soak.sh; every failure it finds becomes a regression example.
Suites scale their own example counts with `budget(n)` from tests/budget.py.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

settings.register_profile("ci", _COMMON, derandomize=True, print_blob=True, database=None)
settings.register_profile("dev", _COMMON, max_examples=20, print_blob=True)
settings.register_profile("soak", _COMMON, max_examples=10_000, print_blob=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
