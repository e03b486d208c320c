"""Remittance records, statuses, roles and ISO 20022 reason codes (pure data, no state access).

Every record is a frozen dataclass with `to_json()` / `from_json()`; state stores the canonical JSON.
Money is integer minor units of a currency whose exponent sits in the currency registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NAME = "remittance"
MAX_AMOUNT = 10**18  # minor units; keeps every amount well inside a signed 64-bit integer
MAX_RATE_TERM = 10**18
MAX_BPS = 10_000
DAY_MS = 86_400_000  # daily limits count by block-time UTC day: day = time_ms // DAY_MS

# --- roles an institution may hold ------------------------------------------------------------
ROLE_SENDER = "sender"  # sending institution (e.g. a Hong Kong wallet)
ROLE_RECEIVER = "receiver"  # receiving institution (e.g. a Philippine wallet)
ROLE_SETTLEMENT_BANK = "settlement_bank"
ROLE_FX = "fx_provider"  # liquidity provider: issues quotes, holds accounts in both currencies
ROLE_COMPLIANCE = "compliance"  # compliance approver named by corridors
ROLES = (ROLE_SENDER, ROLE_RECEIVER, ROLE_SETTLEMENT_BANK, ROLE_FX, ROLE_COMPLIANCE)
APPROVER_ROLES = (ROLE_COMPLIANCE, ROLE_SETTLEMENT_BANK)

# Corridor approver tokens resolved per transfer to the transfer's own parties.
APPROVER_SENDER = "@sender"
APPROVER_RECEIVER = "@receiver"
APPROVER_TOKENS = (APPROVER_SENDER, APPROVER_RECEIVER)

# --- transfer statuses (ISO 20022 ExternalPaymentTransactionStatus1Code / SWIFT gpi) -----------
PDNG = "PDNG"  # pending: escrow held, approvals outstanding
ACSC = "ACSC"  # accepted, settlement completed: legs posted, receiving institution credited
ACCC = "ACCC"  # accepted, creditor account credited: the receiving institution confirmed payout
RJCT = "RJCT"  # rejected (by an approver, or expired): escrow refunded
CANC = "CANC"  # cancelled by the sender's recall: escrow refunded
STATUSES = (PDNG, ACSC, ACCC, RJCT, CANC)
TERMINAL = (ACCC, RJCT, CANC)

# --- reason codes (ISO 20022 ExternalStatusReason1Code / ExternalCancellationReason1Code) ------
REJECT_REASONS: dict[str, str] = {
    "AC01": "incorrect account number",
    "AC04": "closed account number",
    "AC06": "blocked account",
    "AG01": "transaction forbidden",
    "AM02": "not allowed amount",
    "AM04": "insufficient funds",
    "AM05": "duplication",
    "BE01": "inconsistent with end customer",
    "BE05": "unrecognised initiating party",
    "DUPL": "duplicate payment",
    "FF01": "invalid file format",
    "FRAD": "fraudulent origin",
    "MS02": "not specified reason, customer generated",
    "MS03": "not specified reason, agent generated",
    "NARR": "narrative",
    "RC01": "bank identifier incorrect",
    "RR01": "missing debtor account or identification",
    "RR02": "missing debtor name or address",
    "RR03": "missing creditor name or address",
    "RR04": "regulatory reason",
}
RECALL_REASONS: dict[str, str] = {
    "CUST": "requested by customer",
    "DUPL": "duplicate payment",
    "FRAD": "fraudulent origin",
    "TECH": "technical problem",
    "UPAY": "undue payment",
    "AGNT": "incorrect agent",
}
# Reasons the contract itself assigns.
REASON_TIMEOUT = (
    "AB01"  # aborted, clearing timeout: the transfer's deadline passed before settlement
)
REASON_QUOTE_EXPIRED = "AB05"  # timeout: the FX quote expired before settlement
REASON_DUPLICATE = "DUPL"  # idempotency key reused with different content
REASON_FUNDS = "AM04"
REASON_LIMIT = "AM02"  # above the corridor's per-transfer limit
REASON_DAILY_LIMIT = "AM14"  # above the corridor's daily limit
REASON_ACCOUNT = "AC01"  # a needed account is not open
REASON_FORMAT = "FF01"  # malformed request
REASON_CURRENCY = "AM03"  # currency not registered / not of this corridor
REASON_WRONG_AMOUNT = "AM09"  # the amount differs from the quote's
REASON_AGENT = "RC01"  # the named institution cannot play that role


def _ints(body: dict[str, Any], *names: str) -> dict[str, int]:
    return {n: int(body[n]) for n in names}


@dataclass(frozen=True, slots=True)
class Currency:
    code: str  # ISO 4217 alpha code, e.g. "HKD"
    exponent: int  # minor unit digits, e.g. 2 (HKD), 0 (JPY)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "exponent": self.exponent}

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Currency:
        return cls(code=body["code"], exponent=body["exponent"])


@dataclass(frozen=True, slots=True)
class Institution:
    id: str
    name: str
    roles: tuple[str, ...]
    keys: tuple[str, ...]  # enrolled client keys (hex); any of them acts for the institution

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "roles": list(self.roles),
            "keys": list(self.keys),
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Institution:
        return cls(
            id=body["id"], name=body["name"], roles=tuple(body["roles"]), keys=tuple(body["keys"])
        )


@dataclass(frozen=True, slots=True)
class Account:
    institution: str
    currency: str
    available: int
    escrow: int  # held for the institution's open transfers (sender principal+fees, FX target)

    def to_json(self) -> dict[str, Any]:
        return {
            "institution": self.institution,
            "currency": self.currency,
            "available": self.available,
            "escrow": self.escrow,
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Account:
        return cls(
            institution=body["institution"],
            currency=body["currency"],
            **_ints(body, "available", "escrow"),
        )


@dataclass(frozen=True, slots=True)
class Supply:
    currency: str
    minted: int
    burned: int

    @property
    def outstanding(self) -> int:
        return self.minted - self.burned

    def to_json(self) -> dict[str, Any]:
        return {"currency": self.currency, "minted": self.minted, "burned": self.burned}

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Supply:
        return cls(currency=body["currency"], **_ints(body, "minted", "burned"))


@dataclass(frozen=True, slots=True)
class Corridor:
    id: str
    source: str  # currency code
    target: str
    per_transfer_limit: int  # source minor units, principal
    daily_limit: int  # source minor units, principal, per block-time UTC day
    fee_fixed: int  # source minor units
    fee_bps: int  # basis points of the principal, rounded down
    fee_collector: str  # institution credited with the corridor fee (source currency)
    approvers: tuple[str, ...]  # institution ids and/or "@sender" / "@receiver"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "target": self.target,
            "per_transfer_limit": self.per_transfer_limit,
            "daily_limit": self.daily_limit,
            "fee_fixed": self.fee_fixed,
            "fee_bps": self.fee_bps,
            "fee_collector": self.fee_collector,
            "approvers": list(self.approvers),
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Corridor:
        return cls(
            id=body["id"],
            source=body["source"],
            target=body["target"],
            fee_collector=body["fee_collector"],
            approvers=tuple(body["approvers"]),
            **_ints(body, "per_transfer_limit", "daily_limit", "fee_fixed", "fee_bps"),
        )


@dataclass(frozen=True, slots=True)
class Quote:
    id: str
    provider: str  # FX provider institution id
    corridor: str
    source_amount: int  # principal, source minor units
    rate_num: int  # target major units per source major unit = rate_num / rate_den
    rate_den: int
    fee: int  # FX fee, source minor units, paid to the provider
    target_amount: int  # computed once with remittance_fx.convert
    expires_at_ms: int  # block time after which it cannot be used (nor settle a transfer)
    issued_ms: int
    used_by: str | None  # uetr of the transfer that consumed it

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "provider": self.provider,
            "corridor": self.corridor,
            "source_amount": self.source_amount,
            "rate_num": self.rate_num,
            "rate_den": self.rate_den,
            "fee": self.fee,
            "target_amount": self.target_amount,
            "expires_at_ms": self.expires_at_ms,
            "issued_ms": self.issued_ms,
            "used_by": self.used_by,
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Quote:
        return cls(
            id=body["id"],
            provider=body["provider"],
            corridor=body["corridor"],
            used_by=body["used_by"],
            **_ints(
                body,
                "source_amount",
                "rate_num",
                "rate_den",
                "fee",
                "target_amount",
                "expires_at_ms",
                "issued_ms",
            ),
        )


# approval decisions
PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Approval:
    institution: str
    decision: str  # pending | approved | rejected
    reason: str | None = None
    time_ms: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "institution": self.institution,
            "decision": self.decision,
            "reason": self.reason,
            "time_ms": self.time_ms,
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Approval:
        return cls(
            institution=body["institution"],
            decision=body["decision"],
            reason=body["reason"],
            time_ms=body["time_ms"],
        )


@dataclass(frozen=True, slots=True)
class Transfer:
    uetr: str
    request_digest: str  # SHA-256 hex of the canonical initiate request: the idempotency content
    sender: str
    receiver: str
    provider: str
    corridor: str
    quote_id: str
    source: str
    target: str
    amount: int  # principal, source minor units
    corridor_fee: int
    fx_fee: int
    target_amount: int
    fee_collector: str
    beneficiary_hash: (
        str  # SHA-256(salt || canonical beneficiary details), hex; clear data stays off-chain
    )
    expires_at_ms: int  # transfer deadline
    quote_expires_at_ms: int
    approvals: tuple[Approval, ...]
    status: str
    reason: str | None
    created_ms: int
    updated_ms: int
    payout_ref: str | None = None

    @property
    def held(self) -> int:
        """What the sender's escrow holds for this transfer while it is PDNG."""
        return self.amount + self.corridor_fee + self.fx_fee

    @property
    def parties(self) -> tuple[str, ...]:
        """Every institution of the transfer, without duplicates, in a fixed order."""
        seen: list[str] = []
        for inst in (
            self.sender,
            self.receiver,
            self.provider,
            *(a.institution for a in self.approvals),
        ):
            if inst not in seen:
                seen.append(inst)
        return tuple(seen)

    def to_json(self) -> dict[str, Any]:
        return {
            "uetr": self.uetr,
            "request_digest": self.request_digest,
            "sender": self.sender,
            "receiver": self.receiver,
            "provider": self.provider,
            "corridor": self.corridor,
            "quote_id": self.quote_id,
            "source": self.source,
            "target": self.target,
            "amount": self.amount,
            "corridor_fee": self.corridor_fee,
            "fx_fee": self.fx_fee,
            "target_amount": self.target_amount,
            "fee_collector": self.fee_collector,
            "beneficiary_hash": self.beneficiary_hash,
            "expires_at_ms": self.expires_at_ms,
            "quote_expires_at_ms": self.quote_expires_at_ms,
            "approvals": [a.to_json() for a in self.approvals],
            "status": self.status,
            "reason": self.reason,
            "created_ms": self.created_ms,
            "updated_ms": self.updated_ms,
            "payout_ref": self.payout_ref,
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Transfer:
        return cls(
            uetr=body["uetr"],
            request_digest=body["request_digest"],
            sender=body["sender"],
            receiver=body["receiver"],
            provider=body["provider"],
            corridor=body["corridor"],
            quote_id=body["quote_id"],
            source=body["source"],
            target=body["target"],
            fee_collector=body["fee_collector"],
            beneficiary_hash=body["beneficiary_hash"],
            approvals=tuple(Approval.from_json(a) for a in body["approvals"]),
            status=body["status"],
            reason=body["reason"],
            payout_ref=body["payout_ref"],
            **_ints(
                body,
                "amount",
                "corridor_fee",
                "fx_fee",
                "target_amount",
                "expires_at_ms",
                "quote_expires_at_ms",
                "created_ms",
                "updated_ms",
            ),
        )


@dataclass(frozen=True, slots=True)
class Posting:
    """One double-entry posting: `amount` moves from `debit` to `credit` (both in `currency`).

    Account names: "<institution>:available", "<institution>:escrow", or "@issuance" (outside the
    ledger: mints debit it, burns credit it)."""

    seq: int
    height: int
    time_ms: int
    currency: str
    amount: int
    debit: str
    credit: str
    memo: str
    uetr: str | None
    ref: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "height": self.height,
            "time_ms": self.time_ms,
            "currency": self.currency,
            "amount": self.amount,
            "debit": self.debit,
            "credit": self.credit,
            "memo": self.memo,
            "uetr": self.uetr,
            "ref": self.ref,
        }
