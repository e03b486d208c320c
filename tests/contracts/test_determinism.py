"""Every replica reaches byte-identical writes and results from the same blocks."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from baaskit.contracts import OK, MemoryStore
from tests.budget import budget

from .support import Chain
from .workload import KINDS, blocks_of, fingerprint, fixed_ops, run

ROOT = Path(__file__).resolve().parents[2]

op = st.tuples(st.integers(0, KINDS - 1), st.integers(0, 2), st.integers(0, 4), st.integers(0, 64))
ops = st.lists(st.lists(op, max_size=12), min_size=1, max_size=5)


class ShuffledStore(MemoryStore):
    """Same contents, reversed insertion order: contracts must not depend on how a store was filled."""

    def apply(self, writes: list[tuple[bytes, bytes | None]]) -> None:
        super().apply(writes)
        items: list[tuple[bytes, bytes]] = list(self.data.items())
        self.data.clear()
        self.data.update(reversed(items))


@settings(max_examples=budget(150))
@given(ops)
def test_same_blocks_on_two_fresh_stores_give_identical_bytes(
    block_ops: list[list[tuple[int, int, int, int]]],
) -> None:
    blocks = blocks_of(block_ops)
    first = Chain()
    second = Chain()
    second.store = ShuffledStore()
    assert run(blocks, first) == run(blocks, second)
    assert first.store.data == second.store.data


@settings(max_examples=budget(100))
@given(ops)
def test_failed_transactions_have_no_effect(
    block_ops: list[list[tuple[int, int, int, int]]],
) -> None:
    """Dropping every rejected tx from the blocks changes neither the state nor the other results."""
    blocks = blocks_of(block_ops)
    full, only_ok = Chain(), Chain()
    for i, txs in enumerate(blocks):
        outcome = full.block(txs, time_ms=1_000 * (i + 1))
        kept = [t for t, r in zip(txs, outcome.results, strict=True) if r.code == OK]
        pruned = only_ok.block(kept, time_ms=1_000 * (i + 1))
        assert pruned.writes == outcome.writes
        assert pruned.results == tuple(r for r in outcome.results if r.code == OK)
    assert full.store.data == only_ok.store.data


def test_fixed_workload_exercises_every_outcome() -> None:
    codes: set[int] = set()
    chain = Chain()
    for txs in blocks_of(fixed_ops()):
        codes.update(r.code for r in chain.block(txs).results)
    assert {
        0,
        1,
        2,
        3,
        4,
        6,
    } <= codes  # OK, BAD_REQUEST, UNAUTHORIZED, NOT_FOUND, CONFLICT, UNKNOWN_CONTRACT


def test_identical_across_processes_with_different_hash_seeds() -> None:
    """String hashing differs per process; nothing replicated may depend on it."""
    prints = []
    for seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-m", "tests.contracts.workload"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        prints.append(out.stdout.strip())
    expected = hashlib.sha256(b"".join(run(blocks_of(fixed_ops())))).hexdigest()
    assert prints == [expected, expected]


def test_fingerprint_sees_a_changed_result() -> None:
    chain_a, chain_b = Chain(), Chain()
    (block,) = blocks_of([[(0, 0, 1, 3)]])
    (other,) = blocks_of([[(0, 0, 1, 4)]])
    assert fingerprint(chain_a.block(block)) != fingerprint(chain_b.block(other))
