"""Remittance on a real local 4-process cluster: set up the HKD -> PHP corridor by governance, then
measure completed (ACCC) transfers per second end to end. Prints numbers; asserts nothing.

    .venv/bin/python scripts/remit_demo.py [--transfers 1200] [--batch 300] [--workers 2]

Every transfer is 6 signed txs (quote, initiate, 3 approvals, confirm), all built before the clock
starts. Each worker thread (own client, own node) takes a batch of transfers through four
`submit_many_and_wait` rounds: quotes -> initiates -> approvals -> confirms. A transfer counts when
its confirm result says ACCC.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from baaskit.client import Client
from baaskit.client import remittance as sdk
from baaskit.tx import TxEnvelope
from tests.e2e_remit.world import (
    APPROVER_INSTITUTIONS,
    CORRIDOR,
    RATE,
    Corridor,
    now_ms,
    set_up_corridor,
)
from tests.integration.cluster import running_cluster

AMOUNT = 10_000  # HKD 100.00
HOUR_MS = 3_600_000


@dataclass
class Batch:
    uetrs: list[str]
    quotes: list[TxEnvelope]
    initiates: list[TxEnvelope]
    approvals: list[TxEnvelope]
    confirms: list[TxEnvelope]


def build_batch(cor: Corridor, n: int) -> Batch:
    chain, keys = cor.chain_id, cor.keys
    expires = now_ms() + HOUR_MS
    b = Batch([], [], [], [], [])
    for _ in range(n):
        uetr, quote_id = sdk.new_uetr(), sdk.new_uetr()
        b.uetrs.append(uetr)
        b.quotes.append(
            sdk.build_quote(keys["hkbank"], chain, CORRIDOR, AMOUNT, RATE, 0, expires, quote_id)
        )
        digest = sdk.beneficiary_hash({"wallet": uetr}, sdk.new_salt())
        b.initiates.append(
            sdk.build_initiate(
                keys["alipayhk"], chain, quote_id, AMOUNT, "gcash", digest, expires, uetr
            )
        )
        b.approvals += [sdk.build_approve(keys[i], chain, uetr) for i in APPROVER_INSTITUTIONS]
        b.confirms.append(sdk.build_confirm(keys["gcash"], chain, uetr))
    return b


def run_batches(cor: Corridor, member: int, batches: list[Batch], done: list[int]) -> None:
    with Client(cor.settings("hkbank", first=member)) as client:
        for b in batches:
            for phase in (b.quotes, b.initiates, b.approvals):
                client.submit_many_and_wait(phase, timeout_s=120)
            results = client.submit_many_and_wait(b.confirms, timeout_s=120)
            done.append(
                sum(
                    1
                    for r in results
                    if r.result.get("code") == 0
                    and r.result["data"]["transfer"]["status"] == "ACCC"
                )
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--transfers", type=int, default=1200)
    ap.add_argument("--batch", type=int, default=300, help="transfers per batch")
    ap.add_argument("--workers", type=int, default=2, help="concurrent batch pipelines")
    args = ap.parse_args()
    command = shlex.join([".venv/bin/python", "scripts/remit_demo.py", *sys.argv[1:]])
    with tempfile.TemporaryDirectory() as tmp, running_cluster(Path(tmp)) as c:
        t0 = time.monotonic()
        cor = set_up_corridor(c, daily_limit=10**15)
        print(f"corridor set up by governance in {time.monotonic() - t0:.1f}s")
        sizes = [min(args.batch, args.transfers - s) for s in range(0, args.transfers, args.batch)]
        batches = [build_batch(cor, n) for n in sizes]
        per_worker: list[list[Batch]] = [batches[w :: args.workers] for w in range(args.workers)]
        done: list[int] = []
        threads = [
            threading.Thread(target=run_batches, args=(cor, w % c.n, per_worker[w], done))
            for w in range(args.workers)
        ]
        t0 = time.monotonic()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        dt = time.monotonic() - t0
        completed = sum(done)
        with Client(cor.settings("hkbank")) as client:
            totals = client.query(sdk.CONTRACT, "totals", {})
            height = client.status().height
        balanced = all(row["balanced"] and row["escrow"] == 0 for row in totals.values())
        print(
            f"{completed}/{args.transfers} transfers ACCC ({6 * completed} txs) in {dt:.2f}s: "
            f"{completed / dt:.1f} transfers/s, {6 * completed / dt:.0f} tx/s; "
            f"height {height}; supply balanced and escrow empty: {balanced}"
        )
        print(f"command: {command}")


if __name__ == "__main__":
    main()
