"""Quotes and the transfer lifecycle: hold -> approvals -> settle -> confirm, or refund.

    PDNG --all approvers approve--> ACSC --receiver confirms--> ACCC
    PDNG --an approver rejects / deadline passes--> RJCT (refund)
    PDNG --sender recalls--> CANC (refund)

Deadline = min(transfer expires_at_ms, quote expires_at_ms); a transfer is expired when
block time >= deadline. Expiry is applied lazily by any party's touch (approve, reject, recall,
confirm, expire) of a PDNG transfer; that transaction succeeds, refunds, and reports that the
requested operation was not applied ("applied": false). ACSC is past the point of no return.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from baaskit import canonical

from .app import (
    BAD_REQUEST,
    CONFLICT,
    EXPIRED,
    NOT_FOUND,
    UNAUTHORIZED,
    ContractError,
    Event,
    TxResult,
)
from .remittance_args import digest_hex, fields, ident, integer, optional_text, reason, uetr
from .remittance_fx import convert, corridor_fee
from .remittance_ledger import AVAILABLE, ESCROW, Ledger
from .remittance_model import (
    ACCC,
    ACSC,
    APPROVED,
    APPROVER_RECEIVER,
    APPROVER_SENDER,
    CANC,
    DAY_MS,
    MAX_AMOUNT,
    MAX_RATE_TERM,
    NAME,
    PDNG,
    PENDING,
    REASON_AGENT,
    REASON_DAILY_LIMIT,
    REASON_DUPLICATE,
    REASON_LIMIT,
    REASON_QUOTE_EXPIRED,
    REASON_TIMEOUT,
    REASON_WRONG_AMOUNT,
    RECALL_REASONS,
    REJECT_REASONS,
    REJECTED,
    RJCT,
    ROLE_FX,
    ROLE_RECEIVER,
    ROLE_SENDER,
    TERMINAL,
    Approval,
    Quote,
    Transfer,
)


@dataclasses.dataclass(frozen=True, slots=True)
class Actor:
    """Who signed: the key (hex) and the institution it acts for (None if not enrolled here)."""

    key: str
    institution: str | None


# --- helpers ------------------------------------------------------------------------------


def _require_role(ledger: Ledger, actor: Actor, role: str, op: str) -> str:
    if actor.institution is None:
        raise ContractError(
            UNAUTHORIZED, f"{op}: key {actor.key[:16]}... is not enrolled for any institution"
        )
    inst = ledger.institution(actor.institution)
    if inst is None or role not in inst.roles:
        raise ContractError(
            UNAUTHORIZED, f"{op}: institution {actor.institution!r} does not hold the {role} role"
        )
    return actor.institution


def request_digest(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical.dumps(dict(body))).hexdigest()


def deadline(t: Transfer) -> tuple[int, str]:
    """(block time at which the transfer expires, the reason code it then gets)."""
    if t.quote_expires_at_ms <= t.expires_at_ms:
        return t.quote_expires_at_ms, REASON_QUOTE_EXPIRED
    return t.expires_at_ms, REASON_TIMEOUT


def status_event(t: Transfer, previous: str | None, height: int) -> Event:
    return Event(
        NAME,
        "StatusChanged",
        {
            "uetr": t.uetr,
            "status": t.status,
            "previous": previous,
            "reason": t.reason,
            "parties": list(t.parties),
            "height": height,
            "time_ms": t.updated_ms,
        },
    )


def _change(
    ledger: Ledger, t: Transfer, status: str, reason_code: str | None, **changes: Any
) -> tuple[Transfer, Event]:
    if t.status in TERMINAL:  # the one guard every transition passes: terminal means terminal
        raise ContractError(CONFLICT, f"transfer {t.uetr} is final ({t.status})")
    new = dataclasses.replace(
        t, status=status, reason=reason_code, updated_ms=ledger.time_ms, **changes
    )
    ledger.put_transfer(new)
    return new, status_event(new, t.status, ledger.height)


def _refund(ledger: Ledger, t: Transfer) -> None:
    ledger.post(t.source, t.held, (t.sender, ESCROW), (t.sender, AVAILABLE), "refund", uetr=t.uetr)
    ledger.post(
        t.target,
        t.target_amount,
        (t.provider, ESCROW),
        (t.provider, AVAILABLE),
        "fx release",
        uetr=t.uetr,
    )


def settle(ledger: Ledger, t: Transfer) -> None:
    """The settlement legs, in source then target currency; each is one journal posting."""
    ledger.post(
        t.source, t.amount, (t.sender, ESCROW), (t.provider, AVAILABLE), "principal", uetr=t.uetr
    )
    ledger.post(
        t.source, t.fx_fee, (t.sender, ESCROW), (t.provider, AVAILABLE), "fx fee", uetr=t.uetr
    )
    ledger.post(
        t.source,
        t.corridor_fee,
        (t.sender, ESCROW),
        (t.fee_collector, AVAILABLE),
        "corridor fee",
        uetr=t.uetr,
    )
    ledger.post(
        t.target,
        t.target_amount,
        (t.provider, ESCROW),
        (t.receiver, AVAILABLE),
        "payout",
        uetr=t.uetr,
    )


def _result(t: Transfer, events: list[Event], applied: bool = True, message: str = "") -> TxResult:
    return TxResult(
        code=0,
        message=message,
        data={"transfer": t.to_json(), "applied": applied},
        events=tuple(events),
    )


def _load(
    ledger: Ledger,
    args: Mapping[str, Any],
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
) -> Transfer:
    fields(args, ("uetr", *required), optional)
    key = uetr(args)
    t = ledger.transfer(key)
    if t is None:
        raise ContractError(NOT_FOUND, f"no transfer {key}")
    return t


def _expired_touch(ledger: Ledger, t: Transfer, op: str) -> TxResult | None:
    """Lazy expiry: if `t` is PDNG and past its deadline, refund it and answer for the touch."""
    at, code = deadline(t)
    if t.status != PDNG or ledger.time_ms < at:
        return None
    _refund(ledger, t)
    new, event = _change(ledger, t, RJCT, code)
    message = f"transfer {t.uetr} expired at {at} ({code}); escrow refunded; {op} not applied"
    return _result(new, [event], applied=op == "expire", message=message)


# --- operations ---------------------------------------------------------------------------


def _terms(q: Quote) -> tuple[str, str, int, int, int, int, int]:
    return (q.provider, q.corridor, q.source_amount, q.rate_num, q.rate_den, q.fee, q.expires_at_ms)


def quote(ledger: Ledger, actor: Actor, args: Mapping[str, Any]) -> TxResult:
    provider = _require_role(ledger, actor, ROLE_FX, "quote")
    fields(
        args,
        ("quote_id", "corridor", "source_amount", "rate_num", "rate_den", "fee", "expires_at_ms"),
    )
    quote_id = uetr(args, "quote_id")
    corridor_id = ident(args, "corridor")
    source_amount = integer(args, "source_amount", 1, MAX_AMOUNT)
    rate_num = integer(args, "rate_num", 1, MAX_RATE_TERM)
    rate_den = integer(args, "rate_den", 1, MAX_RATE_TERM)
    fee = integer(args, "fee", 0, MAX_AMOUNT)
    expires = integer(args, "expires_at_ms", 0, 2**63 - 1)
    existing = ledger.quote(quote_id)
    if existing is not None:
        terms = (provider, corridor_id, source_amount, rate_num, rate_den, fee, expires)
        if _terms(existing) != terms:
            raise ContractError(
                CONFLICT,
                f"quote id {quote_id} exists with different terms",
                {"reason": REASON_DUPLICATE},
            )
        return TxResult(
            code=0,
            message="duplicate quote: the original is returned",
            data={"quote": existing.to_json(), "duplicate": True},
        )
    if expires <= ledger.time_ms:
        raise ContractError(
            EXPIRED, f"expires_at_ms {expires} is not after block time {ledger.time_ms}"
        )
    corridor = ledger.corridor(corridor_id)
    if corridor is None:
        raise ContractError(NOT_FOUND, f"no corridor {corridor_id!r}")
    ledger.require_account(provider, corridor.source)
    ledger.require_account(provider, corridor.target)
    src, dst = ledger.currency(corridor.source), ledger.currency(corridor.target)
    assert src is not None and dst is not None  # a corridor only names registered currencies
    target_amount = convert(source_amount, rate_num, rate_den, src.exponent, dst.exponent)
    if not 1 <= target_amount <= MAX_AMOUNT:
        raise ContractError(
            BAD_REQUEST,
            f"{source_amount} {src.code} converts to {target_amount} {dst.code} minor units: out of range",
        )
    q = Quote(
        quote_id,
        provider,
        corridor_id,
        source_amount,
        rate_num,
        rate_den,
        fee,
        target_amount,
        expires,
        ledger.time_ms,
        None,
    )
    ledger.put_quote(q)
    return TxResult(
        code=0,
        data={"quote": q.to_json(), "duplicate": False},
        events=(Event(NAME, "QuoteIssued", q.to_json()),),
    )


def _approvers(
    ledger: Ledger, entries: tuple[str, ...], sender: str, receiver: str
) -> tuple[Approval, ...]:
    resolved: list[str] = []
    for entry in entries:
        inst = (
            sender
            if entry == APPROVER_SENDER
            else receiver
            if entry == APPROVER_RECEIVER
            else entry
        )
        if inst not in resolved:
            resolved.append(inst)
    return tuple(Approval(inst, PENDING) for inst in resolved)


def initiate(ledger: Ledger, actor: Actor, args: Mapping[str, Any]) -> TxResult:
    sender = _require_role(ledger, actor, ROLE_SENDER, "initiate")
    names = ("uetr", "quote_id", "amount", "receiver", "beneficiary_hash", "expires_at_ms")
    fields(args, names)
    key = uetr(args)
    quote_id = uetr(args, "quote_id")
    amount = integer(args, "amount", 1, MAX_AMOUNT)
    receiver = ident(args, "receiver")
    beneficiary_hash = digest_hex(args, "beneficiary_hash")
    expires = integer(args, "expires_at_ms", 0, 2**63 - 1)
    digest = request_digest({"sender": sender, **{n: args[n] for n in names}})
    existing = ledger.transfer(key)
    if existing is not None:
        if existing.request_digest != digest:
            raise ContractError(
                CONFLICT,
                f"uetr {key} was already used for a different transfer",
                {"reason": REASON_DUPLICATE},
            )
        return _result(
            existing,
            [],
            applied=False,
            message="duplicate initiate: the original transfer is returned",
        )
    if expires <= ledger.time_ms:
        raise ContractError(
            EXPIRED, f"expires_at_ms {expires} is not after block time {ledger.time_ms}"
        )
    q = ledger.quote(quote_id)
    if q is None:
        raise ContractError(NOT_FOUND, f"no quote {quote_id}")
    if q.used_by is not None:
        raise ContractError(CONFLICT, f"quote {quote_id} was already used by transfer {q.used_by}")
    if ledger.time_ms >= q.expires_at_ms:
        raise ContractError(
            EXPIRED,
            f"quote {quote_id} expired at {q.expires_at_ms}",
            {"reason": REASON_QUOTE_EXPIRED},
        )
    if amount != q.source_amount:
        raise ContractError(
            CONFLICT,
            f"amount {amount} differs from the quote's {q.source_amount}",
            {"reason": REASON_WRONG_AMOUNT},
        )
    corridor = ledger.corridor(q.corridor)
    if corridor is None:
        raise ContractError(NOT_FOUND, f"no corridor {q.corridor!r}")
    recv = ledger.institution(receiver)
    if recv is None or ROLE_RECEIVER not in recv.roles:
        raise ContractError(
            CONFLICT, f"{receiver!r} is not a receiving institution", {"reason": REASON_AGENT}
        )
    ledger.require_account(receiver, corridor.target)
    ledger.require_account(corridor.fee_collector, corridor.source)
    if amount > corridor.per_transfer_limit:
        raise ContractError(
            CONFLICT,
            f"amount {amount} exceeds the per-transfer limit {corridor.per_transfer_limit}",
            {"reason": REASON_LIMIT},
        )
    day = ledger.time_ms // DAY_MS
    used = ledger.daily_used(corridor.id, day)
    if used + amount > corridor.daily_limit:
        raise ContractError(
            CONFLICT,
            f"corridor {corridor.id} daily limit {corridor.daily_limit}: {used} used, {amount} requested",
            {"reason": REASON_DAILY_LIMIT},
        )
    t = Transfer(
        uetr=key,
        request_digest=digest,
        sender=sender,
        receiver=receiver,
        provider=q.provider,
        corridor=corridor.id,
        quote_id=quote_id,
        source=corridor.source,
        target=corridor.target,
        amount=amount,
        corridor_fee=corridor_fee(amount, corridor.fee_fixed, corridor.fee_bps),
        fx_fee=q.fee,
        target_amount=q.target_amount,
        fee_collector=corridor.fee_collector,
        beneficiary_hash=beneficiary_hash,
        expires_at_ms=expires,
        quote_expires_at_ms=q.expires_at_ms,
        approvals=_approvers(ledger, corridor.approvers, sender, receiver),
        status=PDNG,
        reason=None,
        created_ms=ledger.time_ms,
        updated_ms=ledger.time_ms,
    )
    if t.held > MAX_AMOUNT:
        raise ContractError(CONFLICT, "amount plus fees is out of range", {"reason": REASON_LIMIT})
    ledger.post(t.source, t.held, (sender, AVAILABLE), (sender, ESCROW), "hold", uetr=key)
    ledger.post(
        t.target,
        t.target_amount,
        (t.provider, AVAILABLE),
        (t.provider, ESCROW),
        "fx hold",
        uetr=key,
    )
    ledger.set_daily_used(corridor.id, day, used + amount)
    ledger.put_quote(dataclasses.replace(q, used_by=key))
    ledger.put_transfer(t)
    return _result(t, [status_event(t, None, ledger.height)])


def _as_approver(t: Transfer, actor: Actor, op: str) -> int:
    for i, approval in enumerate(t.approvals):
        if approval.institution == actor.institution:
            return i
    raise ContractError(
        UNAUTHORIZED,
        f"{op}: {actor.institution or 'this key'} is not an approver of transfer {t.uetr}",
    )


def _decide(ledger: Ledger, actor: Actor, args: Mapping[str, Any], op: str) -> TxResult:
    t = _load(ledger, args, ("reason",) if op == "reject" else ())
    code = reason(args, "reason", REJECT_REASONS) if op == "reject" else None
    i = _as_approver(t, actor, op)
    expired = _expired_touch(ledger, t, op)
    if expired is not None:
        return expired
    if t.status != PDNG:
        raise ContractError(CONFLICT, f"{op}: transfer {t.uetr} is {t.status}, not PDNG")
    if t.approvals[i].decision != PENDING:
        raise ContractError(
            CONFLICT,
            f"{op}: {t.approvals[i].institution} already {t.approvals[i].decision} transfer {t.uetr}",
        )
    decision = Approval(
        t.approvals[i].institution, REJECTED if code else APPROVED, code, ledger.time_ms
    )
    approvals = (*t.approvals[:i], decision, *t.approvals[i + 1 :])
    recorded = Event(
        NAME, "DecisionRecorded", {"uetr": t.uetr, **decision.to_json(), "parties": list(t.parties)}
    )
    if code is not None:
        _refund(ledger, t)
        new, event = _change(ledger, t, RJCT, code, approvals=approvals)
        return _result(new, [recorded, event])
    if all(a.decision == APPROVED for a in approvals):
        settle(ledger, t)
        new, event = _change(ledger, t, ACSC, None, approvals=approvals)
        return _result(new, [recorded, event])
    new = dataclasses.replace(t, approvals=approvals, updated_ms=ledger.time_ms)
    ledger.put_transfer(new)
    return _result(new, [recorded])


def approve(ledger: Ledger, actor: Actor, args: Mapping[str, Any]) -> TxResult:
    return _decide(ledger, actor, args, "approve")


def reject(ledger: Ledger, actor: Actor, args: Mapping[str, Any]) -> TxResult:
    return _decide(ledger, actor, args, "reject")


def recall(ledger: Ledger, actor: Actor, args: Mapping[str, Any]) -> TxResult:
    t = _load(ledger, args, (), ("reason",))
    code = reason(args, "reason", RECALL_REASONS, default="CUST")
    if actor.institution != t.sender:
        raise ContractError(
            UNAUTHORIZED, f"recall: only the sending institution {t.sender!r} may recall {t.uetr}"
        )
    expired = _expired_touch(ledger, t, "recall")
    if expired is not None:
        return expired
    if t.status != PDNG:
        raise ContractError(
            CONFLICT,
            f"recall: transfer {t.uetr} is {t.status}; only PDNG transfers can be recalled",
        )
    _refund(ledger, t)
    new, event = _change(ledger, t, CANC, code)
    return _result(new, [event])


def confirm(ledger: Ledger, actor: Actor, args: Mapping[str, Any]) -> TxResult:
    t = _load(ledger, args, (), ("payout_ref",))
    payout_ref = optional_text(args, "payout_ref", 64)
    if actor.institution != t.receiver:
        raise ContractError(
            UNAUTHORIZED,
            f"confirm: only the receiving institution {t.receiver!r} may confirm {t.uetr}",
        )
    expired = _expired_touch(ledger, t, "confirm")
    if expired is not None:
        return expired
    if t.status != ACSC:
        raise ContractError(
            CONFLICT,
            f"confirm: transfer {t.uetr} is {t.status}; payout can be confirmed only after settlement (ACSC)",
        )
    new, event = _change(ledger, t, ACCC, None, payout_ref=payout_ref)
    return _result(new, [event])


def expire(ledger: Ledger, actor: Actor, args: Mapping[str, Any]) -> TxResult:
    t = _load(ledger, args, ())
    if actor.institution not in t.parties:
        raise ContractError(
            UNAUTHORIZED, f"expire: only a party of transfer {t.uetr} may expire it"
        )
    expired = _expired_touch(ledger, t, "expire")
    if expired is not None:
        return expired
    if t.status != PDNG:
        raise ContractError(
            CONFLICT, f"expire: transfer {t.uetr} is {t.status}; only PDNG transfers expire"
        )
    at, _ = deadline(t)
    raise ContractError(CONFLICT, f"expire: transfer {t.uetr} is not expired until block time {at}")


TRANSFER_OPS: dict[str, Callable[[Ledger, Actor, Mapping[str, Any]], TxResult]] = {
    "quote": quote,
    "initiate": initiate,
    "approve": approve,
    "reject": reject,
    "recall": recall,
    "confirm": confirm,
    "expire": expire,
}
