"""The remittance SDK and CLI against the real contract: builders produce transactions the
contract accepts, the session drives a full transfer over a client-shaped fake (in-process chain),
`watch` streams the status events, and the CLI refuses bad input before touching a node."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baaskit import canonical
from baaskit.cli.main import main as cli_main
from baaskit.client import remittance as sdk
from baaskit.contracts import BlockContext
from baaskit.contracts.remittance_fx import convert, corridor_fee
from baaskit.tx import TxEnvelope, decode_payload
from tests.budget import budget

from .support import CHAIN
from .test_remittance_world import HOUR, World, skey


@dataclass
class Block:
    height: int
    results: tuple[dict[str, Any], ...]


class InProcessClient:
    """The duck type RemittanceSession needs, backed by a World: one block per submission."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.blocks: list[Block] = []

    def submit_and_wait(self, envelope: TxEnvelope) -> dict[str, Any]:
        assert envelope.verify_signature()
        w = self.world
        w.height += 1
        w.time_ms += 1_000
        outcome = w.app.execute_block(w.store, BlockContext(CHAIN, w.height, w.time_ms, 0), [decode_payload(envelope, CHAIN)])
        w.store.apply(outcome.writes)
        results = tuple(canonical.loads(canonical.dumps(r.to_json())) for r in outcome.results)
        self.blocks.append(Block(w.height, results))
        return dict(results[0])

    def query(self, contract: str, method: str, args: dict[str, Any]) -> Any:
        return self.world.app.query(self.world.store, contract, method, args)

    def subscribe_blocks(self, from_height: int = 0) -> Iterator[Block]:
        return iter([b for b in self.blocks if b.height >= from_height])


def _session(client: InProcessClient, who: str) -> sdk.RemittanceSession:
    return sdk.RemittanceSession(client, key=skey(who), chain_id=CHAIN)


def test_a_full_transfer_through_the_sdk_and_watch() -> None:
    client = InProcessClient(World().setup())
    now = client.world.time_ms
    fx, hk, ph, bank = (_session(client, w) for w in ("fxbank", "alipayhk", "gcash", "scb-hk"))
    q = fx.quote("hkd-php", sdk.amount_to_minor("10000.00", 2), sdk.parse_rate("7.1234"), fee=100, expires_at_ms=now + HOUR)
    assert q["target_amount"] == 7_123_400
    digest = sdk.beneficiary_hash({"name": "Juan dela Cruz", "wallet": "+63-917-000-0000"}, bytes(range(16)))
    t = hk.send(q["id"], q["source_amount"], "gcash", digest, expires_at_ms=now + 2 * HOUR)
    uetr = t["uetr"]
    retry = hk.send(q["id"], q["source_amount"], "gcash", digest, expires_at_ms=now + 2 * HOUR, uetr=uetr)
    assert retry == {k: v for k, v in hk.status(uetr).items() if k not in ("deadline_ms", "final")}
    for party in (bank, ph, hk):
        party.approve(uetr)
    ph.confirm(uetr, payout_ref="gcash-1")
    assert [e["status"] for e in ph.watch(uetr)] == ["PDNG", "ACSC", "ACCC"]
    assert [e["status"] for e in hk.watch(uetr)] == ["PDNG", "ACSC", "ACCC"]  # both sides see it
    assert hk.balance("gcash", "PHP")["available"] == 1_000_000 + 7_123_400
    assert [p["memo"] for p in hk.journal(uetr)][-1] == "payout"
    assert all(row["balanced"] for row in hk.totals().values())


def test_session_raises_with_the_iso_reason_on_refusal() -> None:
    client = InProcessClient(World().setup())
    fx, hk = _session(client, "fxbank"), _session(client, "alipayhk")
    q = fx.quote("hkd-php", 6_000_000, (7, 1), 0, client.world.time_ms + HOUR)
    with pytest.raises(sdk.RemittanceRejected) as info:
        hk.send(q["id"], 6_000_000, "gcash", "00" * 32, client.world.time_ms + HOUR)
    assert info.value.code == 4 and info.value.reason == "AM02"


def test_builders_name_the_contract_and_carry_exact_args() -> None:
    env = sdk.build_initiate(skey("alipayhk"), CHAIN, "q", 5, "gcash", "ab" * 32, 99, uetr="u")
    tx = decode_payload(env, CHAIN)
    assert (tx.contract, tx.method) == ("remittance", "initiate")
    assert tx.args == {"uetr": "u", "quote_id": "q", "amount": 5, "receiver": "gcash", "beneficiary_hash": "ab" * 32, "expires_at_ms": 99}
    assert sdk.envelope_args(sdk.build_recall(skey("a"), CHAIN, "u")) == {"uetr": "u", "reason": "CUST"}
    generated = sdk.envelope_args(sdk.build_quote(skey("fxbank"), CHAIN, "hkd-php", 1, (1, 1), 0, 1))["quote_id"]
    assert len(generated) == 36 and generated[14] == "4"


def test_beneficiary_hash_is_salted_sha256_of_canonical_details() -> None:
    details = {"name": "Maria", "account": "PH-1"}
    salt = b"s" * 16
    assert sdk.beneficiary_hash(details, salt) == hashlib.sha256(salt + b'{"account":"PH-1","name":"Maria"}').hexdigest()
    assert sdk.beneficiary_hash(details, salt) != sdk.beneficiary_hash(details, b"t" * 16)
    with pytest.raises(ValueError):
        sdk.beneficiary_hash(details, b"short")


@pytest.mark.parametrize(
    ("text", "ratio"), [("7.1234", (71234, 10000)), ("7", (7, 1)), ("71234/10000", (71234, 10000)), ("0.05", (5, 100))]
)
def test_parse_rate(text: str, ratio: tuple[int, int]) -> None:
    assert sdk.parse_rate(text) == ratio


@pytest.mark.parametrize("text", ["", "-1", "1e3", "0", "1/0", "abc", "7,5"])
def test_parse_rate_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        sdk.parse_rate(text)


def test_amount_to_minor() -> None:
    assert sdk.amount_to_minor("10000.5", 2) == 1_000_050
    assert sdk.amount_to_minor("12", 0) == 12
    with pytest.raises(ValueError):
        sdk.amount_to_minor("1.234", 2)
    with pytest.raises(ValueError):
        sdk.amount_to_minor("1.5", 0)


# --- the one rounding rule ---------------------------------------------------------------------


def test_rounding_examples() -> None:
    assert convert(1_000_000, 71234, 10_000, 2, 2) == 7_123_400  # HKD 10,000.00 -> PHP 71,234.00
    assert convert(1, 71234, 10_000, 2, 2) == 7  # HKD 0.01 -> PHP 0.07 (0.071234 rounded down)
    assert convert(1_000, 37, 100, 0, 2) == 37_000  # JPY 1,000 at 0.37 -> PHP 370.00
    assert convert(199, 1, 100, 2, 0) == 0  # HKD 1.99 at 0.01 -> 0 JPY (floor), never rounded up
    assert corridor_fee(1_000_000, 500, 25) == 3_000
    assert corridor_fee(399, 0, 25) == 0  # 0.9975 minor units rounds down


@settings(max_examples=budget(200))
@given(st.integers(0, 10**15), st.integers(1, 10**9), st.integers(1, 10**9), st.integers(0, 4), st.integers(0, 4))
def test_convert_is_the_floor_of_the_exact_rational(amount: int, num: int, den: int, es: int, et: int) -> None:
    target = convert(amount, num, den, es, et)
    exact_num, exact_den = amount * num * 10**et, den * 10**es
    assert target * exact_den <= exact_num < (target + 1) * exact_den
    assert convert(amount + 1, num, den, es, et) >= target  # monotone


# --- CLI: bad input is refused before any connection ------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["remit", "quote", "--corridor", "hkd-php", "--amount", "1", "--rate", "seven"],
        ["remit", "quote", "--corridor", "hkd-php", "--amount", "1", "--rate", "7", "--ttl", "0"],
        ["remit", "send", "--quote", "q", "--receiver", "gcash", "--beneficiary-hash", "xyz"],
        ["remit", "send", "--quote", "q", "--receiver", "gcash", "--beneficiary", "[1]"],
        ["remit", "send", "--quote", "q", "--receiver", "gcash", "--beneficiary", '{"amount": 1.5}'],
    ],
)
def test_cli_refuses_bad_input_with_a_message(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(argv) == 1
    assert capsys.readouterr().err.startswith("baaskit remit: ")
