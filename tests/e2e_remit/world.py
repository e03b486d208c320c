"""The HKD -> PHP corridor of the e2e remittance tests (and scripts/remit_demo.py), set up on a
real cluster only through governance transactions signed by the consortium's admin key.

Institutions are built from the cluster's enrolled client keys (one per member, in member order
bank-hk, wallet-hk, bank-ph, wallet-ph):

    hkbank   (bank-hk-0)   fx_provider + settlement_bank  HKD, PHP accounts; PHP liquidity minted
    alipayhk (wallet-hk-0) sender                          HKD account; HKD minted
    phbank   (bank-ph-0)   compliance                      HKD account (the corridor's fee collector)
    gcash    (wallet-ph-0) receiver                        PHP account

Corridor `hkd-php`: approvers phbank (compliance), hkbank (settlement bank) and @receiver.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nacl.signing

from baaskit.client import Client, Settings
from baaskit.client import remittance as sdk
from baaskit.client.connection import resolve_settings
from baaskit.node.keyfiles import load_signing_key
from baaskit.tx import TxEnvelope
from tests.integration.cluster import Cluster

TIMEOUT_S = 60.0
CORRIDOR = "hkd-php"
EXPONENTS = {"HKD": 2, "PHP": 2}
RATE = (71234, 10000)  # PHP 7.1234 per HKD
FEE_FIXED = 500  # HKD 5.00 per transfer
FEE_BPS = 10  # + 0.1 %
PER_TRANSFER_LIMIT = 5_000_000  # HKD 50,000.00
HKD_MINT = 500_000_000  # HKD 5,000,000.00 to the sending wallet
PHP_MINT = 5_000_000_000  # PHP 50,000,000.00 of liquidity to the FX provider

# institution id -> (index of the cluster's client key, name, roles, currencies)
INSTITUTIONS: dict[str, tuple[int, str, tuple[str, ...], tuple[str, ...]]] = {
    "hkbank": (0, "HK Settlement Bank", ("fx_provider", "settlement_bank"), ("HKD", "PHP")),
    "alipayhk": (1, "AlipayHK", ("sender",), ("HKD",)),
    "phbank": (2, "PH Compliance Bank", ("compliance",), ("HKD",)),
    "gcash": (3, "GCash", ("receiver",), ("PHP",)),
}
APPROVERS = ("phbank", "hkbank", "@receiver")
APPROVER_INSTITUTIONS = ("phbank", "hkbank", "gcash")  # @receiver resolved


class SetupFailed(AssertionError):
    pass


@dataclass
class Corridor:
    """Keys and clients of the deployed corridor. `settings(inst)` connects as that institution."""

    cluster: Cluster
    chain_id: str
    admin: nacl.signing.SigningKey
    keys: dict[str, nacl.signing.SigningKey] = field(default_factory=dict)
    daily_limit: int = 0

    def key_path(self, inst: str) -> Path:
        return self.cluster.client_keys[INSTITUTIONS[inst][0]]

    def settings(self, inst: str, first: int | None = None) -> Settings:
        """Settings signing as `inst`, endpoints in member order, starting at member `first`."""
        eps = list(self.cluster.endpoints)
        if first is not None:
            eps = eps[first:] + eps[:first]
        return resolve_settings(
            eps, self.cluster.genesis_path, self.key_path(inst), self.cluster.ca_path, TIMEOUT_S
        )

    def only(self, member: int) -> Settings:
        """A read-only view of one node (no failover): to compare state node by node."""
        return resolve_settings(
            [self.cluster.endpoints[member]],
            self.cluster.genesis_path,
            None,
            self.cluster.ca_path,
            TIMEOUT_S,
        )

    def session(self, client: Client, inst: str) -> sdk.RemittanceSession:
        return sdk.RemittanceSession(client, key=self.keys[inst], chain_id=self.chain_id)


def commit_all(client: Client, envelopes: Sequence[TxEnvelope]) -> list[dict[str, Any]]:
    """Submit a batch, wait for every commit, and insist every tx succeeded."""
    results = [c.result for c in client.submit_many_and_wait(envelopes, timeout_s=TIMEOUT_S)]
    bad = [r for r in results if r.get("code") != 0]
    if bad:
        raise SetupFailed(f"{len(bad)} of {len(results)} txs refused, first: {bad[0]}")
    return results


def set_up_corridor(cluster: Cluster, daily_limit: int = 50_000_000) -> Corridor:
    """Currencies, institutions, accounts, mints and the corridor, in dependency order (one batch
    per step, each waited for): governance only, signed by the genesis admin key."""
    admin = load_signing_key(cluster.paths.admins[0])
    chain = cluster.genesis.chain_id
    corridor = Corridor(cluster, chain, admin, daily_limit=daily_limit)
    for inst, (index, _, _, _) in INSTITUTIONS.items():
        corridor.keys[inst] = cluster.client_key(index)
    steps: list[list[TxEnvelope]] = [
        [sdk.build_register_currency(admin, chain, code, exp) for code, exp in EXPONENTS.items()],
        [
            sdk.build_register_institution(
                admin, chain, inst, name, roles, [corridor.keys[inst].verify_key.encode().hex()]
            )
            for inst, (_, name, roles, _) in INSTITUTIONS.items()
        ],
        [
            sdk.build_open_account(admin, chain, inst, cur)
            for inst, (_, _, _, currencies) in INSTITUTIONS.items()
            for cur in currencies
        ],
        [
            sdk.build_mint(admin, chain, "alipayhk", "HKD", HKD_MINT, "deposit-alipayhk-1"),
            sdk.build_mint(admin, chain, "hkbank", "PHP", PHP_MINT, "deposit-hkbank-1"),
            sdk.build_define_corridor(
                admin,
                chain,
                CORRIDOR,
                "HKD",
                "PHP",
                per_transfer_limit=PER_TRANSFER_LIMIT,
                daily_limit=daily_limit,
                fee_fixed=FEE_FIXED,
                fee_bps=FEE_BPS,
                fee_collector="phbank",
                approvers=APPROVERS,
            ),
        ],
    ]
    with Client(corridor.settings("hkbank")) as client:
        for step in steps:
            commit_all(client, step)
    return corridor


def now_ms() -> int:
    return int(time.time() * 1000)


def balances(client: Client) -> dict[tuple[str, str], tuple[int, int]]:
    """(institution, currency) -> (available, escrow), as one node sees it."""
    rows = client.query(sdk.CONTRACT, "balances", {})
    return {(r["institution"], r["currency"]): (r["available"], r["escrow"]) for r in rows}
