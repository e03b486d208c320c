"""End to end on a real 4-node cluster (separate `baaskit node` processes on 127.0.0.1, TLS): the
HKD -> PHP corridor set up by governance, a transfer from a Hong Kong wallet to a Philippine
wallet with both sides watching the event stream, a compliance rejection ending in a refund,
a backup SIGKILLed mid-flow changing nothing, and the `baaskit remit` CLI against the cluster.

One cluster for the module (the tests share the corridor and compare balance deltas)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from baaskit.client import Client, Settings
from baaskit.client import remittance as sdk
from tests.integration.cluster import Cluster, running_cluster

from .world import (
    APPROVER_INSTITUTIONS,
    CORRIDOR,
    EXPONENTS,
    FEE_BPS,
    FEE_FIXED,
    HKD_MINT,
    PHP_MINT,
    RATE,
    Corridor,
    balances,
    commit_all,
    now_ms,
    set_up_corridor,
)

pytestmark = pytest.mark.integration

HOUR_MS = 3_600_000
JOIN_S = 60.0
DETAILS = {"name": "Juan dela Cruz", "wallet": "+63-917-555-0100", "country": "PH"}

Balances = dict[tuple[str, str], tuple[int, int]]


@pytest.fixture(scope="module")
def corridor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corridor]:
    with running_cluster(tmp_path_factory.mktemp("remit")) as c:
        yield set_up_corridor(c)


@pytest.fixture(scope="module")
def sender(corridor: Corridor) -> Iterator[Client]:
    with Client(corridor.settings("alipayhk")) as client:
        yield client


class Watcher(threading.Thread):
    """One party following a transfer's StatusChanged events from the block stream (its own
    client and gRPC stream) until a final status."""

    def __init__(
        self, settings: Settings, corridor: Corridor, inst: str, uetr: str, start: int
    ) -> None:
        super().__init__(name=f"watch-{inst}", daemon=True)
        self.settings, self.corridor, self.inst = settings, corridor, inst
        self.uetr, self.start_height = uetr, start
        self.events: list[dict[str, Any]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with Client(self.settings) as client:
                session = self.corridor.session(client, self.inst)
                for event in session.watch(self.uetr, self.start_height):
                    self.events.append(event)
        except BaseException as exc:  # reported by finish()
            self.error = exc

    def finish(self) -> list[dict[str, Any]]:
        self.join(JOIN_S)
        assert not self.is_alive(), f"{self.inst} still watching after {JOIN_S}s; saw {self.events}"
        assert self.error is None, f"{self.inst} watcher failed: {self.error!r}"
        return self.events


def watchers(
    corridor: Corridor, client: Client, uetr: str, first: int | None = None
) -> tuple[Watcher, Watcher]:
    """The sending and the receiving wallet start watching before the transfer exists."""
    start = client.status().height + 1
    hk = Watcher(corridor.settings("alipayhk", first), corridor, "alipayhk", uetr, start)
    ph = Watcher(corridor.settings("gcash"), corridor, "gcash", uetr, start)
    hk.start()
    ph.start()
    return hk, ph


def statuses(events: list[dict[str, Any]]) -> list[tuple[str | None, str, str | None]]:
    return [(e["previous"], e["status"], e["reason"]) for e in events]


def start_transfer(corridor: Corridor, client: Client, amount: int, uetr: str) -> dict[str, Any]:
    """hkbank quotes, alipayhk initiates (escrow held). Returns the quote."""
    fx = corridor.session(client, "hkbank")
    quote = fx.quote(CORRIDOR, amount, RATE, fee=100, expires_at_ms=now_ms() + HOUR_MS)
    digest = sdk.beneficiary_hash(DETAILS, sdk.new_salt())
    hk = corridor.session(client, "alipayhk")
    t = hk.send(quote["id"], amount, "gcash", digest, expires_at_ms=now_ms() + HOUR_MS, uetr=uetr)
    assert (t["uetr"], t["status"]) == (uetr, "PDNG")
    assert t["beneficiary_hash"] == digest and "Juan" not in json.dumps(t)  # only the salted hash
    return quote


def approve_in_parallel(corridor: Corridor, client: Client, uetr: str) -> None:
    """Every required approver decides; the approvals travel in one batch (parallel, any order)."""
    commit_all(
        client,
        [
            sdk.build_approve(corridor.keys[i], corridor.chain_id, uetr)
            for i in reversed(APPROVER_INSTITUTIONS)
        ],
    )


def expected_after_completion(before: Balances, amount: int, quote: dict[str, Any]) -> Balances:
    fee = sdk.corridor_fee(amount, FEE_FIXED, FEE_BPS)
    target = sdk.convert(amount, *RATE, EXPONENTS["HKD"], EXPONENTS["PHP"])
    assert quote["target_amount"] == target
    moves = {
        ("alipayhk", "HKD"): -(amount + fee + quote["fee"]),
        ("hkbank", "HKD"): amount + quote["fee"],
        ("phbank", "HKD"): fee,
        ("hkbank", "PHP"): -target,
        ("gcash", "PHP"): target,
    }
    return {k: (avail + moves.get(k, 0), escrow) for k, (avail, escrow) in before.items()}


def assert_supply_is_mints(client: Client) -> None:
    totals = client.query(sdk.CONTRACT, "totals", {})
    for code, minted in (("HKD", HKD_MINT), ("PHP", PHP_MINT)):
        row = totals[code]
        assert (row["minted"], row["burned"], row["balanced"]) == (minted, 0, True), row
        assert row["available"] + row["escrow"] == minted
        assert row["escrow"] == 0


def test_hkd_to_php_completes_and_both_wallets_see_every_status(
    corridor: Corridor, sender: Client
) -> None:
    before = balances(sender)
    assert all(escrow == 0 for _, escrow in before.values())
    uetr = sdk.new_uetr()
    hk_watch, ph_watch = watchers(corridor, sender, uetr)

    amount = 1_000_000  # HKD 10,000.00
    quote = start_transfer(corridor, sender, amount, uetr)
    held = amount + sdk.corridor_fee(amount, FEE_FIXED, FEE_BPS) + quote["fee"]
    pending = balances(sender)
    assert pending[("alipayhk", "HKD")] == (before[("alipayhk", "HKD")][0] - held, held)
    assert pending[("hkbank", "PHP")][1] == quote["target_amount"] == 7_123_400  # PHP 71,234.00

    approve_in_parallel(corridor, sender, uetr)
    gcash = corridor.session(sender, "gcash")
    assert gcash.status(uetr)["status"] == "ACSC"
    done = gcash.confirm(uetr, payout_ref="gcash-payout-1")
    assert done["transfer"]["status"] == "ACCC"

    want = [(None, "PDNG", None), ("PDNG", "ACSC", None), ("ACSC", "ACCC", None)]
    hk_events, ph_events = hk_watch.finish(), ph_watch.finish()
    assert statuses(hk_events) == want
    assert statuses(ph_events) == want
    assert hk_events == ph_events  # the same events, at the same heights
    assert [e["height"] for e in hk_events] == sorted(e["height"] for e in hk_events)
    assert {"alipayhk", "gcash", "hkbank", "phbank"} <= set(hk_events[0]["parties"])
    assert all(e["uetr"] == uetr for e in hk_events)

    assert balances(sender) == expected_after_completion(before, amount, quote)
    assert [p["memo"] for p in gcash.journal(uetr)][-1] == "payout"
    assert_supply_is_mints(sender)


def test_compliance_rejection_refunds_the_sender_exactly(
    corridor: Corridor, sender: Client
) -> None:
    before = balances(sender)
    uetr = sdk.new_uetr()
    hk_watch, ph_watch = watchers(corridor, sender, uetr)
    start_transfer(corridor, sender, 2_500_000, uetr)
    corridor.session(sender, "hkbank").approve(uetr)
    rejected = corridor.session(sender, "phbank").reject(uetr, "RR04")  # regulatory reason
    assert (rejected["transfer"]["status"], rejected["transfer"]["reason"]) == ("RJCT", "RR04")

    want = [(None, "PDNG", None), ("PDNG", "RJCT", "RR04")]
    assert statuses(hk_watch.finish()) == want
    assert statuses(ph_watch.finish()) == want
    assert balances(sender) == before  # sender refunded exactly, FX liquidity released, escrow 0
    assert [p["memo"] for p in corridor.session(sender, "alipayhk").journal(uetr)] == [
        "hold",
        "fx hold",
        "refund",
        "fx release",
    ]
    # a final status never changes: a late approval is refused and moves nothing
    with pytest.raises(sdk.RemittanceRejected) as late:
        corridor.session(sender, "gcash").approve(uetr)
    assert late.value.code == 4
    assert balances(sender) == before
    assert_supply_is_mints(sender)


def test_sigkill_of_a_backup_mid_flow_changes_nothing(corridor: Corridor, sender: Client) -> None:
    c: Cluster = corridor.cluster
    primary = c.status(0).primary
    victim = max(i for i in range(c.n) if i != primary)
    live = next(i for i in range(c.n) if i != victim)
    before = balances(sender)
    uetr = sdk.new_uetr()
    with Client(corridor.settings("hkbank", first=live)) as client:
        # the sender's watcher streams from the node about to die: it must resume elsewhere
        hk_watch, ph_watch = watchers(corridor, client, uetr, first=victim)
        amount = 3_000_000
        quote = start_transfer(corridor, client, amount, uetr)
        c.kill(victim)  # SIGKILL, by PID
        approve_in_parallel(corridor, client, uetr)
        corridor.session(client, "gcash").confirm(uetr)
        want = [(None, "PDNG", None), ("PDNG", "ACSC", None), ("ACSC", "ACCC", None)]
        assert statuses(hk_watch.finish()) == want
        assert statuses(ph_watch.finish()) == want
        assert balances(client) == expected_after_completion(before, amount, quote)

        c.restart(victim)
        # keep the chain moving while the restarted node catches up
        commit_all(client, [c.kv_tx(f"after-restart-{i}", "x", client=0) for i in range(20)])
        top = client.status().height
    c.wait_height(top, members=range(c.n), timeout_s=60)

    views = []
    for i in range(c.n):
        with Client(corridor.only(i)) as node:
            views.append(
                {
                    "transfer": node.query(sdk.CONTRACT, "transfer", {"uetr": uetr}),
                    "journal": node.query(sdk.CONTRACT, "journal", {"uetr": uetr}),
                    "balances": balances(node),
                    "totals": node.query(sdk.CONTRACT, "totals", {}),
                }
            )
    assert views[victim]["transfer"]["status"] == "ACCC"
    assert all(v == views[0] for v in views), f"node {victim} differs after catching up"
    hashes = [c.block_hashes(i, top) for i in range(c.n)]
    assert all(h == hashes[0] for h in hashes)


def _cli(corridor: Corridor, inst: str, *args: str) -> subprocess.CompletedProcess[str]:
    c = corridor.cluster
    conn = [
        "--genesis",
        str(c.genesis_path),
        "--key",
        str(corridor.key_path(inst)),
        "--ca",
        str(c.ca_path),
    ]
    for ep in c.endpoints:
        conn += ["--endpoint", ep]
    return subprocess.run(
        [sys.executable, "-m", "baaskit.cli.main", "remit", *args, *conn],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_status_and_watch_against_the_cluster(corridor: Corridor, sender: Client) -> None:
    uetr = sdk.new_uetr()
    start_transfer(corridor, sender, 100_000, uetr)
    approve_in_parallel(corridor, sender, uetr)
    # the receiver confirms through the CLI, then the sender asks for the status and watches
    proc = _cli(corridor, "gcash", "confirm", uetr, "--payout-ref", "cli-1")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "ACCC"
    proc = _cli(corridor, "alipayhk", "status", uetr, "--journal")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["transfer"]["status"] == "ACCC" and out["transfer"]["final"] is True
    assert [p["memo"] for p in out["journal"]][-1] == "payout"
    proc = _cli(corridor, "alipayhk", "watch", uetr)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[0]) == {
        "uetr": uetr,
        "status": "ACCC",
        "reason": None,
        "current": True,
    }


def test_cli_bad_input_fails_cleanly(corridor: Corridor) -> None:
    unknown = sdk.new_uetr()
    proc = _cli(corridor, "alipayhk", "status", unknown)
    assert proc.returncode != 0
    assert f"no transfer {unknown}" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    proc = _cli(corridor, "gcash", "approve", unknown)  # a refusal by the chain: exit code 3
    assert proc.returncode == 3
    assert "refused" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    proc = _cli(
        corridor,
        "hkbank",
        "quote",
        "--corridor",
        CORRIDOR,
        "--amount",
        "10.005",
        "--rate",
        "7.1234",
    )
    assert proc.returncode != 0
    assert "decimals" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
