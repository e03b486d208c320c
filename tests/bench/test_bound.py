"""The verification bound is the best of its samples: interference only slows a sample down, so
one unlucky sample must not lower the bound (and raise achieved/bound) for the whole run."""

from __future__ import annotations

import pytest

from baaskit.bench import bound as bound_module
from baaskit.bench.bound import measure_bound
from baaskit.bench.report import format_report


def test_the_bound_is_the_best_sample_before_and_after_the_load(monkeypatch: pytest.MonkeyPatch) -> None:
    rates = iter([9_000.0, 16_000.0, 12_000.0, 17_000.0, 8_000.0])
    monkeypatch.setattr(bound_module, "measure_verify_rate", lambda: next(rates))
    before = measure_bound(nodes=4, cores=2, samples=3)
    assert before.verifications_per_s == 16_000.0
    assert before.tx_per_s == 8_000.0
    after = measure_bound(nodes=4, cores=2, samples=2, earlier=before)
    assert after.samples == (9_000.0, 16_000.0, 12_000.0, 17_000.0, 8_000.0)
    assert after.verifications_per_s == 17_000.0
    assert after.median_verifications_per_s == 12_000.0
    report = format_report(after.to_json(), [], {})
    assert report.splitlines()[0] == (
        "verification bound: 2 cores x 17,000 Ed25519 verifies/s / 4 nodes = 8,500 tx/s"
        " (best of 5 samples before and after the load; median 12,000/s)"
    )

