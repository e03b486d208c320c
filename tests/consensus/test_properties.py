"""The adversarial property search: hypothesis generates hostile schedules (drops, duplicates,
reordering, delays, partitions, crashes and restarts from persisted records, up to f byzantine
replicas) and the harness checks after every step: agreement, validity, at-most-once, the
paper's invariants (committed predicate, no honest equivocation, complete view-changes, the
new-view lemma), no false evidence against honest replicas; and liveness after the heal.

Budgets (profile "ci"): 2,000 schedules with n=4 (f=1, always one byzantine replica) of 20-100
steps, 300 more of 150 steps, and 200 with n=7 (f=2, one or two byzantine). scripts/soak.sh raises them with BAASKIT_BUDGET_SCALE.
"""

from __future__ import annotations

from hypothesis import given, settings

from tests.budget import budget
from tests.harness.schedule import Scenario, run, scenarios


@settings(max_examples=budget(2000))
@given(scenarios(n=4, min_byzantine=1))
def test_n4_with_a_byzantine_replica(scenario: Scenario) -> None:
    run(scenario)


@settings(max_examples=budget(300))
@given(scenarios(n=4, min_byzantine=1, min_steps=150, max_steps=150))
def test_n4_long_schedules(scenario: Scenario) -> None:
    run(scenario)


@settings(max_examples=budget(200))
@given(scenarios(n=7, min_byzantine=1, min_steps=20, max_steps=80))
def test_n7_with_byzantine_replicas(scenario: Scenario) -> None:
    run(scenario)
