"""Schedules: what hypothesis generates, and the runner that replays one against a Cluster.

A ``Scenario`` is plain data (its repr is valid Python), so a failing schedule printed by
hypothesis can be pasted into tests/consensus/regressions.py and replayed forever.
"""

from __future__ import annotations

import dataclasses
import random
import time
from dataclasses import dataclass, field
from typing import ClassVar

from hypothesis import strategies as st

from baaskit.consensus import ClusterConfig, PlantedBugs

from .byzantine import Behaviour
from .cluster import Cluster, Envelope

# Operation names, repeated to weight how often hypothesis picks them.
OPS = (
    ("deliver",) * 10
    + ("burst",) * 3
    + ("tick",) * 3
    + ("tick_one",) * 1
    + ("submit",) * 2
    + ("drop",) * 1
    + ("duplicate",) * 1
    + ("crash",) * 1
    + ("restart",) * 1
    + ("partition",) * 1
    + ("heal",) * 1
    + ("byz",) * 1
    + ("flush_to",) * 1
    + ("flush_from",) * 1
    + ("drop_to",) * 1
    + ("drop_from",) * 1
    + ("link",) * 1
)
MAX_REQUESTS = 10
LIVENESS_ROUNDS = 400


@dataclass(frozen=True)
class Scenario:
    n: int
    byzantine: dict[int, Behaviour] = field(default_factory=dict)
    checkpoint_interval: int = 2
    watermark_window: int = 4
    view_change_timeout: int = 4
    request_timeout: int = 4
    steps: tuple[tuple[str, int, int], ...] = ()

    def config(self) -> ClusterConfig:
        return ClusterConfig(
            n=self.n,
            chain_id="sim-chain",
            checkpoint_interval=self.checkpoint_interval,
            watermark_window=self.watermark_window,
            view_change_timeout_ticks=self.view_change_timeout,
            request_timeout_ticks=self.request_timeout,
            status_interval_ticks=2,
            max_timeout_doublings=2,
        )


def behaviours() -> st.SearchStrategy[Behaviour]:
    return st.builds(
        Behaviour,
        silent=st.sampled_from([False, False, False, True]),
        equivocate=st.booleans(),
        eager_votes=st.booleans(),
        lie_in_view_change=st.booleans(),
        omit_certificates=st.booleans(),
        forge=st.booleans(),
        replay=st.booleans(),
        invalid_batches=st.booleans(),
    )


@st.composite
def scenarios(
    draw: st.DrawFn,
    n: int = 4,
    min_byzantine: int = 1,
    min_steps: int = 20,
    max_steps: int = 100,
) -> Scenario:
    f = (n - 1) // 3
    count = draw(st.integers(min(min_byzantine, f), f))
    ids = draw(st.lists(st.integers(0, n - 1), min_size=count, max_size=count, unique=True))
    byz = {r: draw(behaviours()) for r in sorted(ids)}
    k = draw(st.sampled_from([2, 4]))
    # One binary draw, three bytes per step: cheap to generate and easy to shrink.
    length = draw(st.integers(min_steps, max_steps))
    raw = draw(st.binary(min_size=3 * length, max_size=3 * length))
    steps = [(OPS[raw[i] % len(OPS)], raw[i + 1], raw[i + 2]) for i in range(0, len(raw) - 2, 3)]
    return Scenario(
        n=n,
        byzantine=byz,
        checkpoint_interval=k,
        watermark_window=k * draw(st.sampled_from([1, 2])),
        view_change_timeout=draw(st.sampled_from([3, 5])),
        request_timeout=draw(st.sampled_from([3, 6])),
        steps=tuple(steps),
    )


def random_scenario(
    rng: random.Random, n: int = 4, min_byzantine: int = 1, max_steps: int = 60
) -> Scenario:
    """A schedule from a seeded PRNG: uniform over OPS (hypothesis' own byte draws favour
    zeros, i.e. plain deliveries), with random byzantine behaviours."""
    f = (n - 1) // 3
    count = rng.randint(min(min_byzantine, f), f)
    fields = [fd.name for fd in dataclasses.fields(Behaviour)]
    byz = {
        r: Behaviour(**{name: rng.random() < 0.4 for name in fields})
        for r in sorted(rng.sample(range(n), count))
    }
    k = rng.choice([2, 4])
    steps = tuple(
        (rng.choice(OPS), rng.randrange(256), rng.randrange(256))
        for _ in range(rng.randint(1, max_steps))
    )
    return Scenario(
        n=n,
        byzantine=byz,
        checkpoint_interval=k,
        watermark_window=k * rng.choice([1, 2]),
        view_change_timeout=rng.choice([3, 5]),
        request_timeout=rng.choice([3, 6]),
        steps=steps,
    )


@st.composite
def seeded_scenarios(
    draw: st.DrawFn, n: int = 4, min_byzantine: int = 1, max_steps: int = 60
) -> Scenario:
    """Hypothesis picks the seed (derandomized in CI); the printed Scenario replays exactly."""
    seed = draw(st.integers(0, 2**64 - 1))
    return random_scenario(random.Random(seed), n, min_byzantine, max_steps)


# ------------------------------------------------------------------------------------ runner


class Stats:
    """Counters the consensus conftest prints at the end of a run (schedules/s, bug searches)."""

    schedules = 0
    seconds = 0.0
    bug_searches: ClassVar[dict[str, tuple[int, float, str]]] = {}


def run(scenario: Scenario, bugs: PlantedBugs | None = None, liveness: bool = True) -> Cluster:
    Stats.schedules += 1
    start = time.perf_counter()
    try:
        return _run(scenario, bugs, liveness)
    finally:
        Stats.seconds += time.perf_counter() - start


def _run(scenario: Scenario, bugs: PlantedBugs | None, liveness: bool) -> Cluster:
    c = Cluster(scenario.config(), scenario.byzantine, bugs)
    n = scenario.n
    for op, a, b in scenario.steps:
        c.steps += 1
        if op == "deliver":
            if c.inflight:
                c.deliver(a)
        elif op == "burst":
            for _ in range(a % 12 + 1):
                if c.inflight:
                    c.deliver(0)
        elif op == "tick":
            c.tick()
        elif op == "tick_one":
            c.tick(a % n)
        elif op == "submit":
            if len(c.submitted) < MAX_REQUESTS:
                c.submit()
        elif op == "drop":
            if c.inflight:
                c.inflight.pop(a % len(c.inflight))
        elif op == "duplicate":
            if c.inflight:
                e = c.inflight[a % len(c.inflight)]
                c.inflight.append(Envelope(e.src, e.dst, e.data))
        elif op == "crash":
            c.crash(a % n)
        elif op == "restart":
            c.restart(a % n)
        elif op == "partition":
            if b % 2:
                c.partition({r: int(r == a % n) for r in range(n)})
            else:
                c.partition({r: (a >> r) & 1 for r in range(n)})
        elif op == "heal":
            c.partition(None)
        elif op == "byz":
            c.byzantine_act(a, b)
        elif op == "link":
            # The node's report that its link to a peer dropped or came back. Arbitrary here,
            # true or not: it may only change when a replica suspects the primary.
            node = c.nodes[a % n]
            if node.replica is not None and node.honest:
                c.call(node.rid, node.replica.peer_link(b % n, up=bool(b & 0x80)))
        elif op in ("flush_to", "flush_from"):
            x = a % n
            i = 0
            while i < len(c.inflight):
                e = c.inflight[i]
                if (e.dst if op == "flush_to" else e.src) == x:
                    c.deliver(i)
                else:
                    i += 1
        elif op in ("drop_to", "drop_from"):
            x = a % n
            c.inflight = [e for e in c.inflight if (e.dst if op == "drop_to" else e.src) != x]
        c.pump()
    if liveness:
        converge(c)
    return c


def converge(c: Cluster, rounds: int = LIVENESS_ROUNDS) -> None:
    """Heal, restart everyone, then let messages and ticks flow; every request must execute at
    every honest replica within ``rounds`` rounds (a round: deliver all in flight, tick all)."""
    c.partition(None)
    for node in c.nodes:
        c.restart(node.rid)
    c.pump()
    start_views = max(node.replica.view for node in c.honest if node.replica is not None)
    for i in range(rounds):
        if all(set(c.submitted) <= node.app.executed_set for node in c.honest):
            c.liveness_rounds = i
            return
        batch, c.inflight = c.inflight, []
        for env in batch:
            c.inflight.append(env)
            c.deliver(len(c.inflight) - 1)
        c.tick()
        c.pump()
    views = [node.replica.view for node in c.honest if node.replica is not None]
    missing = {
        node.rid: sorted(set(c.submitted) - node.app.executed_set)
        for node in c.honest
        if not set(c.submitted) <= node.app.executed_set
    }
    c.fail(
        f"LIVENESS: after heal and {rounds} rounds, requests still missing {missing} "
        f"(views at heal {start_views}, now {views})"
    )
