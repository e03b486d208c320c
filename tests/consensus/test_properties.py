"""The adversarial property search: hypothesis generates hostile schedules (drops, duplicates,
reordering, delays, partitions, crashes and restarts from persisted records, up to f byzantine
replicas) and the harness checks after every step: agreement, validity, at-most-once, the
paper's invariants (committed predicate, no honest equivocation, complete view-changes, the
new-view lemma), no false evidence against honest replicas; and liveness after the heal.

Two generators: ``scenarios`` (hypothesis draws every step: shrinkable) and ``seeded_scenarios``
(hypothesis draws a seed, a PRNG draws uniform steps: broader, and the printed Scenario replays).
Budgets (profile "ci"): n=4 (f=1, always one byzantine replica): 1,000 + 1,500 seeded + 300
long (150 steps) = 2,800; n=7 (f=2, one or two byzantine): 100 + 150 seeded = 250. scripts/soak.sh raises them with BAASKIT_BUDGET_SCALE.
"""

from __future__ import annotations

from hypothesis import given, settings

from tests.budget import budget
from tests.harness.schedule import Scenario, run, scenarios, seeded_scenarios


@settings(max_examples=budget(1000))
@given(scenarios(n=4, min_byzantine=1))
def test_n4_with_a_byzantine_replica(scenario: Scenario) -> None:
    run(scenario)


@settings(max_examples=budget(1500))
@given(seeded_scenarios(n=4, min_byzantine=1))
def test_n4_seeded_schedules(scenario: Scenario) -> None:
    run(scenario)


@settings(max_examples=budget(300))
@given(scenarios(n=4, min_byzantine=1, min_steps=150, max_steps=150))
def test_n4_long_schedules(scenario: Scenario) -> None:
    run(scenario)


@settings(max_examples=budget(100))
@given(scenarios(n=7, min_byzantine=1, min_steps=20, max_steps=80))
def test_n7_with_byzantine_replicas(scenario: Scenario) -> None:
    run(scenario)


@settings(max_examples=budget(150))
@given(seeded_scenarios(n=7, min_byzantine=1))
def test_n7_seeded_schedules(scenario: Scenario) -> None:
    run(scenario)
