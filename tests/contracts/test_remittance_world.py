"""Helpers (no tests): a remittance world — the HKD -> PHP corridor of a Hong Kong wallet and a
Philippine wallet — driven by real signed transactions through the real router, one block each."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import nacl.signing

from baaskit import canonical
from baaskit.contracts import OK, Application, BlockContext, MemoryStore, TxResult
from baaskit.contracts.remittance import RemittanceContract

from .support import CHAIN, tx

T0 = 1_750_000_000_000  # block time of the first block (ms); 2025-06-15T15:06:40Z
HOUR = 3_600_000
RATE = (71234, 10000)  # 1 HKD = 7.1234 PHP


def skey(name: str) -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey(hashlib.sha256(b"remit-test/" + name.encode()).digest())


def hexkey(name: str) -> str:
    return bytes(skey(name).verify_key).hex()


def uid(n: int, salt: str = "uetr") -> str:
    """A deterministic UUID v4 (UETR-shaped)."""
    return str(uuid.UUID(bytes=hashlib.sha256(f"{salt}/{n}".encode()).digest()[:16], version=4))


# institution id -> (roles, key names)
INSTITUTIONS: dict[str, tuple[list[str], list[str]]] = {
    "alipayhk": (["sender"], ["alipayhk", "alipayhk-2"]),  # Hong Kong wallet (two keys)
    "gcash": (["receiver", "sender"], ["gcash"]),  # Philippine wallet
    "fxbank": (["fx_provider"], ["fxbank"]),  # liquidity provider
    "scb-hk": (["settlement_bank", "compliance"], ["scb-hk"]),  # settlement bank, compliance
    "checker": (["compliance"], ["checker"]),  # independent compliance approver
}
ACCOUNTS = [
    ("alipayhk", "HKD"),
    ("alipayhk", "PHP"),
    ("gcash", "PHP"),
    ("gcash", "HKD"),
    ("fxbank", "HKD"),
    ("fxbank", "PHP"),
    ("scb-hk", "HKD"),
    ("scb-hk", "PHP"),
]
CORRIDORS: dict[str, dict[str, Any]] = {
    "hkd-php": {
        "id": "hkd-php",
        "source": "HKD",
        "target": "PHP",
        "per_transfer_limit": 5_000_000,  # HKD 50,000.00
        "daily_limit": 20_000_000,
        "fee_fixed": 500,  # HKD 5.00
        "fee_bps": 25,  # 0.25 %
        "fee_collector": "scb-hk",
        "approvers": ["@sender", "scb-hk", "@receiver"],
    },
    "php-hkd": {
        "id": "php-hkd",
        "source": "PHP",
        "target": "HKD",
        "per_transfer_limit": 50_000_000,
        "daily_limit": 100_000_000,
        "fee_fixed": 0,
        "fee_bps": 100,
        "fee_collector": "scb-hk",
        "approvers": ["checker", "@receiver"],
    },
}
FUNDING = [("alipayhk", "HKD", 10_000_000), ("fxbank", "PHP", 500_000_000), ("gcash", "PHP", 1_000_000), ("fxbank", "HKD", 5_000_000)]


@dataclass
class Step:
    signer: str
    method: str
    args: dict[str, Any]
    result: TxResult
    writes: list[tuple[bytes, bytes | None]]


class World:
    """A remittance chain over a MemoryStore: every `run` is one signed tx in its own block."""

    def __init__(self, time_ms: int = T0) -> None:
        self.app = Application([RemittanceContract()])
        self.store = MemoryStore()
        self.height = 0
        self.time_ms = time_ms
        self.nonce = 0
        params = {"admins": [hexkey("admin")], "currencies": [{"code": "HKD", "exponent": 2}, {"code": "PHP", "exponent": 2}]}
        self.store.apply(self.app.init_chain(self.store, {"remittance": params}))

    def fork(self) -> World:
        """An independent copy of this world (same committed state, height, time and nonce)."""
        twin = object.__new__(World)
        twin.app, twin.height, twin.time_ms, twin.nonce = self.app, self.height, self.time_ms, self.nonce
        twin.store = MemoryStore()
        twin.store.data = dict(self.store.data)
        return twin

    def run(self, signer: str, method: str, args: dict[str, Any], advance_ms: int = 1_000) -> TxResult:
        return self.step(signer, method, args, advance_ms).result

    def step(self, signer: str, method: str, args: dict[str, Any], advance_ms: int = 1_000) -> Step:
        self.height += 1
        self.time_ms += advance_ms
        self.nonce += 1
        t = tx(skey(signer), "remittance", method, args, nonce=f"{self.nonce:x}")
        outcome = self.app.execute_block(self.store, BlockContext(CHAIN, self.height, self.time_ms, 0), [t])
        (result,) = outcome.results
        canonical.dumps(result.to_json())  # results must be canonical data (results root)
        self.store.apply(outcome.writes)
        return Step(signer, method, args, result, outcome.writes)

    def ok(self, signer: str, method: str, args: dict[str, Any], advance_ms: int = 1_000) -> Any:
        result = self.run(signer, method, args, advance_ms)
        assert result.code == OK, (method, result.code, result.message)
        return result.data

    def query(self, method: str, **args: Any) -> Any:
        return self.app.query(self.store, "remittance", method, args)

    def raw(self, key: str) -> Any:
        """One record of the contract straight from the committed store (None if absent)."""
        value = self.store.data.get(b"c/remittance/" + key.encode())
        return None if value is None else canonical.loads(value)

    def available(self, inst: str, code: str) -> int:
        return int(self.query("balance", institution=inst, currency=code)["available"])

    def escrow(self, inst: str, code: str) -> int:
        return int(self.query("balance", institution=inst, currency=code)["escrow"])

    def balances(self) -> dict[tuple[str, str], tuple[int, int]]:
        return {(a["institution"], a["currency"]): (a["available"], a["escrow"]) for a in self.query("balances")}

    def setup(self) -> World:
        """Governance: JPY, the five institutions, their accounts, the corridors, the funding."""
        self.ok("admin", "register_currency", {"code": "JPY", "exponent": 0})
        for inst_id, (roles, keys) in INSTITUTIONS.items():
            self.ok("admin", "register_institution", {"id": inst_id, "name": inst_id.upper(), "roles": roles, "keys": [hexkey(k) for k in keys]})
        for inst_id, code in ACCOUNTS:
            self.ok("admin", "open_account", {"institution": inst_id, "currency": code})
        for corridor in CORRIDORS.values():
            self.ok("admin", "define_corridor", corridor)
        for i, (inst_id, code, amount) in enumerate(FUNDING):
            self.ok("admin", "mint", {"institution": inst_id, "currency": code, "amount": amount, "ref": f"deposit-{i}"})
        return self

    def quote(self, n: int, amount: int, corridor: str = "hkd-php", expires_in: int = HOUR, fee: int = 100, rate: tuple[int, int] = RATE) -> str:
        qid = uid(n, "quote")
        args = {"quote_id": qid, "corridor": corridor, "source_amount": amount, "rate_num": rate[0], "rate_den": rate[1], "fee": fee, "expires_at_ms": self.time_ms + expires_in}
        self.ok("fxbank", "quote", args)
        return qid

    def initiate_args(self, n: int, qid: str, amount: int, receiver: str = "gcash", expires_in: int = 2 * HOUR) -> dict[str, Any]:
        return {
            "uetr": uid(n),
            "quote_id": qid,
            "amount": amount,
            "receiver": receiver,
            "beneficiary_hash": hashlib.sha256(f"beneficiary-{n}".encode()).hexdigest(),
            "expires_at_ms": self.time_ms + expires_in,
        }


def status_events(result: TxResult) -> Iterator[dict[str, Any]]:
    for event in result.events:
        if event.name == "StatusChanged":
            yield dict(event.data)
