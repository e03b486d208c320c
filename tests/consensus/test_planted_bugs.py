"""The tests prove they can fail: with each planted bug switched on, the same property search
(same generator, same runner, same invariants) must find a violation within the CI budget.
Phases are limited to generation (no shrinking) so the search stops at the first violation."""

from __future__ import annotations

import time

import pytest
from hypothesis import Phase, given, settings

from baaskit.consensus import PlantedBugs
from tests.budget import budget
from tests.harness.cluster import Violation
from tests.harness.schedule import Scenario, Stats, run, scenarios

BUGS = {
    "weak_commit_quorum": PlantedBugs(weak_commit_quorum=True),
    "vote_before_persist": PlantedBugs(vote_before_persist=True),
    "unchecked_new_view": PlantedBugs(unchecked_new_view=True),
    "premature_gc": PlantedBugs(premature_gc=True),
}


@pytest.mark.parametrize("name", sorted(BUGS))
def test_planted_bug_is_found(name: str) -> None:
    bugs = BUGS[name]
    tried = [0]

    @settings(max_examples=budget(1000), phases=[Phase.generate], database=None)
    @given(scenarios(n=4, min_byzantine=1))
    def search(scenario: Scenario) -> None:
        tried[0] += 1
        run(scenario, bugs=bugs)

    start = time.perf_counter()
    with pytest.raises(Violation) as found:
        search()
    elapsed = time.perf_counter() - start
    what = str(found.value).splitlines()[0]
    Stats.bug_searches[name] = (tried[0], elapsed, what)


def test_no_bug_switched_on_by_default() -> None:
    assert not PlantedBugs().any
