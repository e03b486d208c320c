"""Remittance SDK: pure transaction builders for every operation, the beneficiary hash, the one
FX rounding rule (shared with the contract), and `RemittanceSession`, which drives any client
that offers `submit_and_wait(envelope) -> result JSON`, `query(contract, method, args)` and
`subscribe_blocks(from_height)` (`baaskit.client.Client` does).

    from baaskit.client.remittance import RemittanceSession, beneficiary_hash, new_salt
    session = RemittanceSession(client)              # signs with the client's own key
    q = session.quote("hkd-php", 1_000_000, (71234, 10000), fee=100, expires_at_ms=...)
    salt = new_salt()                                 # kept off-chain with the clear details
    t = session.send(q["id"], 1_000_000, "gcash", beneficiary_hash(details, salt), expires_at_ms=...)
    for event in session.watch(t["uetr"]): print(event["status"])
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import nacl.signing

from baaskit import canonical
from baaskit.contracts.remittance_fx import convert, corridor_fee
from baaskit.contracts.remittance_model import NAME, TERMINAL
from baaskit.tx import TxEnvelope, make_tx

CONTRACT = NAME
SALT_BYTES = 16
_DECIMAL = re.compile(r"(\d{1,30})(?:\.(\d{1,18}))?")

__all__ = [
    "CONTRACT",
    "RemittanceRejected",
    "RemittanceSession",
    "amount_to_minor",
    "beneficiary_hash",
    "build_approve",
    "build_burn",
    "build_confirm",
    "build_define_corridor",
    "build_expire",
    "build_initiate",
    "build_mint",
    "build_open_account",
    "build_quote",
    "build_recall",
    "build_register_currency",
    "build_register_institution",
    "build_reject",
    "convert",
    "corridor_fee",
    "new_salt",
    "new_uetr",
    "parse_rate",
    "status_events",
]


# --- pure helpers -----------------------------------------------------------------------------


def new_uetr() -> str:
    """A fresh UETR (UUID v4): the transfer's idempotency key. Keep it to retry safely."""
    return str(uuid.uuid4())


def new_salt() -> bytes:
    return os.urandom(SALT_BYTES)


def beneficiary_hash(details: Mapping[str, Any], salt: bytes) -> str:
    """SHA-256(salt || canonical JSON of the details), hex. The chain only ever sees this hash;
    the institutions keep `details` and `salt` and can prove them later."""
    if len(salt) < SALT_BYTES:
        raise ValueError(f"salt must be at least {SALT_BYTES} random bytes")
    return hashlib.sha256(bytes(salt) + canonical.dumps(dict(details))).hexdigest()


def parse_rate(text: str) -> tuple[int, int]:
    """ "7.1234" -> (71234, 10000); "3/2" -> (3, 2). No floats anywhere."""
    text = text.strip()
    if "/" in text:
        num_s, _, den_s = text.partition("/")
        if not (num_s.strip().isdigit() and den_s.strip().isdigit()):
            raise ValueError(f"rate {text!r}: expected NUM/DEN with positive integers")
        num, den = int(num_s), int(den_s)
    else:
        m = _DECIMAL.fullmatch(text)
        if m is None:
            raise ValueError(
                f"rate {text!r}: expected a decimal like 7.1234 or a ratio like 71234/10000"
            )
        frac = m.group(2) or ""
        num, den = int(m.group(1) + frac), 10 ** len(frac)
    if num <= 0 or den <= 0:
        raise ValueError(f"rate {text!r} must be positive")
    return num, den


def amount_to_minor(text: str, exponent: int) -> int:
    """ "10000.50" with exponent 2 -> 1000050. Refuses more decimals than the currency has."""
    m = _DECIMAL.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"amount {text!r}: expected digits with an optional decimal point")
    frac = m.group(2) or ""
    if len(frac) > exponent:
        raise ValueError(f"amount {text!r} has {len(frac)} decimals; the currency has {exponent}")
    return int(m.group(1)) * 10**exponent + int(frac.ljust(exponent, "0") or "0")


# --- transaction builders (pure: key + chain id + arguments -> signed envelope) --------------


def _tx(
    key: nacl.signing.SigningKey, chain_id: str, method: str, args: dict[str, Any]
) -> TxEnvelope:
    return make_tx(key, chain_id, CONTRACT, method, args)


def build_register_currency(
    key: nacl.signing.SigningKey, chain_id: str, code: str, exponent: int
) -> TxEnvelope:
    return _tx(key, chain_id, "register_currency", {"code": code, "exponent": exponent})


def build_register_institution(
    key: nacl.signing.SigningKey,
    chain_id: str,
    inst_id: str,
    name: str,
    roles: Sequence[str],
    keys: Sequence[str],
) -> TxEnvelope:
    args = {"id": inst_id, "name": name, "roles": list(roles), "keys": list(keys)}
    return _tx(key, chain_id, "register_institution", args)


def build_open_account(
    key: nacl.signing.SigningKey, chain_id: str, institution: str, currency: str
) -> TxEnvelope:
    return _tx(key, chain_id, "open_account", {"institution": institution, "currency": currency})


def build_mint(
    key: nacl.signing.SigningKey,
    chain_id: str,
    institution: str,
    currency: str,
    amount: int,
    ref: str,
) -> TxEnvelope:
    args = {"institution": institution, "currency": currency, "amount": amount, "ref": ref}
    return _tx(key, chain_id, "mint", args)


def build_burn(
    key: nacl.signing.SigningKey,
    chain_id: str,
    institution: str,
    currency: str,
    amount: int,
    ref: str,
) -> TxEnvelope:
    args = {"institution": institution, "currency": currency, "amount": amount, "ref": ref}
    return _tx(key, chain_id, "burn", args)


def build_define_corridor(
    key: nacl.signing.SigningKey,
    chain_id: str,
    corridor_id: str,
    source: str,
    target: str,
    *,
    per_transfer_limit: int,
    daily_limit: int,
    fee_fixed: int,
    fee_bps: int,
    fee_collector: str,
    approvers: Sequence[str],
) -> TxEnvelope:
    args = {
        "id": corridor_id,
        "source": source,
        "target": target,
        "per_transfer_limit": per_transfer_limit,
        "daily_limit": daily_limit,
        "fee_fixed": fee_fixed,
        "fee_bps": fee_bps,
        "fee_collector": fee_collector,
        "approvers": list(approvers),
    }
    return _tx(key, chain_id, "define_corridor", args)


def build_quote(
    key: nacl.signing.SigningKey,
    chain_id: str,
    corridor: str,
    source_amount: int,
    rate: tuple[int, int],
    fee: int,
    expires_at_ms: int,
    quote_id: str | None = None,
) -> TxEnvelope:
    args = {
        "quote_id": quote_id or new_uetr(),
        "corridor": corridor,
        "source_amount": source_amount,
        "rate_num": rate[0],
        "rate_den": rate[1],
        "fee": fee,
        "expires_at_ms": expires_at_ms,
    }
    return _tx(key, chain_id, "quote", args)


def build_initiate(
    key: nacl.signing.SigningKey,
    chain_id: str,
    quote_id: str,
    amount: int,
    receiver: str,
    beneficiary_digest: str,
    expires_at_ms: int,
    uetr: str | None = None,
) -> TxEnvelope:
    """Resend the SAME arguments (same uetr) to retry: the contract returns the original transfer."""
    args = {
        "uetr": uetr or new_uetr(),
        "quote_id": quote_id,
        "amount": amount,
        "receiver": receiver,
        "beneficiary_hash": beneficiary_digest,
        "expires_at_ms": expires_at_ms,
    }
    return _tx(key, chain_id, "initiate", args)


def build_approve(key: nacl.signing.SigningKey, chain_id: str, uetr: str) -> TxEnvelope:
    return _tx(key, chain_id, "approve", {"uetr": uetr})


def build_reject(key: nacl.signing.SigningKey, chain_id: str, uetr: str, reason: str) -> TxEnvelope:
    return _tx(key, chain_id, "reject", {"uetr": uetr, "reason": reason})


def build_recall(
    key: nacl.signing.SigningKey, chain_id: str, uetr: str, reason: str = "CUST"
) -> TxEnvelope:
    return _tx(key, chain_id, "recall", {"uetr": uetr, "reason": reason})


def build_confirm(
    key: nacl.signing.SigningKey, chain_id: str, uetr: str, payout_ref: str | None = None
) -> TxEnvelope:
    args: dict[str, Any] = {"uetr": uetr}
    if payout_ref is not None:
        args["payout_ref"] = payout_ref
    return _tx(key, chain_id, "confirm", args)


def build_expire(key: nacl.signing.SigningKey, chain_id: str, uetr: str) -> TxEnvelope:
    return _tx(key, chain_id, "expire", {"uetr": uetr})


def envelope_args(envelope: TxEnvelope) -> dict[str, Any]:
    """The args a builder put in an envelope (e.g. to learn a generated uetr or quote id)."""
    return dict(canonical.loads(envelope.payload)["args"])


# --- events ---------------------------------------------------------------------------------


def status_events(
    results: Sequence[Mapping[str, Any]], uetr: str | None = None
) -> Iterator[dict[str, Any]]:
    """The remittance StatusChanged events in a block's result JSONs (of one transfer if given)."""
    for result in results:
        for event in result.get("events") or ():
            if event.get("contract") != CONTRACT or event.get("name") != "StatusChanged":
                continue
            data = dict(event.get("data") or {})
            if uetr is None or data.get("uetr") == uetr:
                yield data


# --- a session over any client ----------------------------------------------------------------


class ClientLike(Protocol):
    def submit_and_wait(self, envelope: TxEnvelope) -> dict[str, Any]: ...

    def query(self, contract: str, method: str, args: dict[str, Any]) -> Any: ...

    def subscribe_blocks(self, from_height: int = 0) -> Iterator[Any]: ...


class RemittanceRejected(Exception):
    """The chain refused the operation: result code, message and ISO reason (if any)."""

    def __init__(self, code: int, message: str, reason: str | None = None) -> None:
        super().__init__(f"{message} (code {code}{', ' + reason if reason else ''})")
        self.code = code
        self.message = message
        self.reason = reason


class RemittanceSession:
    """Remittance operations over a client. `key`/`chain_id` default to the client's own
    (`client.settings.key`, `client.chain_id`)."""

    def __init__(
        self,
        client: ClientLike,
        key: nacl.signing.SigningKey | None = None,
        chain_id: str | None = None,
    ) -> None:
        self.client = client
        settings = getattr(client, "settings", None)
        found_key = key if key is not None else getattr(settings, "key", None)
        found_chain = chain_id if chain_id is not None else getattr(client, "chain_id", None)
        if found_key is None or found_chain is None:
            raise ValueError("a signing key and a chain id are needed (pass key= and chain_id=)")
        self.key: nacl.signing.SigningKey = found_key
        self.chain_id: str = found_chain

    def submit(self, envelope: TxEnvelope) -> dict[str, Any]:
        """Submit, wait for the commit, return the result's data; raise RemittanceRejected if refused."""
        result = self.client.submit_and_wait(envelope)
        if result.get("code") != 0:
            data = result.get("data")
            reason = data.get("reason") if isinstance(data, dict) else None
            raise RemittanceRejected(
                int(result.get("code", -1)), str(result.get("message", "")), reason
            )
        data = result.get("data")
        out = dict(data) if isinstance(data, dict) else {}
        if result.get("message"):
            out.setdefault("message", result["message"])
        return out

    # operations
    def quote(
        self,
        corridor: str,
        source_amount: int,
        rate: tuple[int, int],
        fee: int,
        expires_at_ms: int,
        quote_id: str | None = None,
    ) -> dict[str, Any]:
        data = self.submit(
            build_quote(
                self.key, self.chain_id, corridor, source_amount, rate, fee, expires_at_ms, quote_id
            )
        )
        return dict(data["quote"])

    def send(
        self,
        quote_id: str,
        amount: int,
        receiver: str,
        beneficiary_digest: str,
        expires_at_ms: int,
        uetr: str | None = None,
    ) -> dict[str, Any]:
        env = build_initiate(
            self.key,
            self.chain_id,
            quote_id,
            amount,
            receiver,
            beneficiary_digest,
            expires_at_ms,
            uetr,
        )
        return dict(self.submit(env)["transfer"])

    def approve(self, uetr: str) -> dict[str, Any]:
        return self.submit(build_approve(self.key, self.chain_id, uetr))

    def reject(self, uetr: str, reason: str) -> dict[str, Any]:
        return self.submit(build_reject(self.key, self.chain_id, uetr, reason))

    def recall(self, uetr: str, reason: str = "CUST") -> dict[str, Any]:
        return self.submit(build_recall(self.key, self.chain_id, uetr, reason))

    def confirm(self, uetr: str, payout_ref: str | None = None) -> dict[str, Any]:
        return self.submit(build_confirm(self.key, self.chain_id, uetr, payout_ref))

    def expire(self, uetr: str) -> dict[str, Any]:
        return self.submit(build_expire(self.key, self.chain_id, uetr))

    # reads
    def _query(self, method: str, **args: Any) -> Any:
        return self.client.query(CONTRACT, method, args)

    def status(self, uetr: str) -> dict[str, Any]:
        return dict(self._query("transfer", uetr=uetr))

    def journal(self, uetr: str) -> list[dict[str, Any]]:
        return list(self._query("journal", uetr=uetr))

    def balance(self, institution: str, currency: str) -> dict[str, Any]:
        return dict(self._query("balance", institution=institution, currency=currency))

    def totals(self) -> dict[str, Any]:
        return dict(self._query("totals"))

    def get_quote(self, quote_id: str) -> dict[str, Any]:
        return dict(self._query("quote", quote_id=quote_id))

    def currencies(self) -> dict[str, int]:
        return {c["code"]: c["exponent"] for c in self._query("currencies")}

    def watch(
        self, uetr: str, from_height: int = 0, until_final: bool = True
    ) -> Iterator[dict[str, Any]]:
        """The transfer's status events as blocks commit (each with its block height), from
        `from_height`; stops after a final status (ACCC, RJCT, CANC) unless until_final=False."""
        for block in self.client.subscribe_blocks(from_height):
            for data in status_events(block.results, uetr):
                yield {**data, "height": block.height}
                if until_final and data.get("status") in TERMINAL:
                    return
