"""Governance operations: only the consortium's admin keys (genesis app_state.remittance.admins).

register_currency, register_institution, open_account, mint, burn, define_corridor. The admin check
comes first, so an outsider learns nothing about the arguments it sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .app import CONFLICT, NOT_FOUND, UNAUTHORIZED, ContractError, Event, TxResult
from .remittance_args import bad as _bad
from .remittance_args import (
    currency,
    digest_value,
    fields,
    ident,
    ident_value,
    integer,
    string_list,
    text,
)
from .remittance_ledger import AVAILABLE, ISSUANCE, Ledger
from .remittance_model import (
    APPROVER_ROLES,
    APPROVER_TOKENS,
    MAX_AMOUNT,
    MAX_BPS,
    NAME,
    REASON_ACCOUNT,
    REASON_AGENT,
    REASON_CURRENCY,
    REASON_DUPLICATE,
    ROLES,
    Account,
    Corridor,
    Currency,
    Institution,
    Supply,
)

MAX_EXPONENT = 8
MAX_KEYS = 16
MAX_APPROVERS = 8
MAX_REF = 64


def require_admin(ledger: Ledger, signer: str, op: str) -> None:
    if signer not in ledger.admins():
        raise ContractError(
            UNAUTHORIZED,
            f"{op} is a governance operation: signer {signer[:16]}... is not an admin key",
        )


def _ok(data: dict[str, Any], event: str) -> TxResult:
    return TxResult(code=0, data=data, events=(Event(NAME, event, data),))


def _require_currency(ledger: Ledger, code: str) -> Currency:
    cur = ledger.currency(code)
    if cur is None:
        raise ContractError(
            NOT_FOUND, f"currency {code} is not registered", {"reason": REASON_CURRENCY}
        )
    return cur


def _require_institution(ledger: Ledger, inst_id: str) -> Institution:
    inst = ledger.institution(inst_id)
    if inst is None:
        raise ContractError(NOT_FOUND, f"no institution {inst_id!r}", {"reason": REASON_AGENT})
    return inst


def register_currency(ledger: Ledger, args: Mapping[str, Any]) -> TxResult:
    fields(args, ("code", "exponent"))
    code = currency(args, "code")
    exponent = integer(args, "exponent", 0, MAX_EXPONENT)
    if ledger.currency(code) is not None:
        raise ContractError(CONFLICT, f"currency {code} is already registered")
    cur = Currency(code, exponent)
    ledger.put_currency(cur)
    return _ok(cur.to_json(), "CurrencyRegistered")


def register_institution(ledger: Ledger, args: Mapping[str, Any]) -> TxResult:
    fields(args, ("id", "name", "roles", "keys"))
    inst_id = ident(args, "id")
    name = text(args, "name")
    roles = string_list(args, "roles", 1, len(ROLES))
    for role in roles:
        if role not in ROLES:
            raise _bad(f"roles: {role!r} is not one of {', '.join(ROLES)}")
    keys = [digest_value(k, "keys[]") for k in string_list(args, "keys", 1, MAX_KEYS)]
    if ledger.institution(inst_id) is not None:
        raise ContractError(CONFLICT, f"institution {inst_id!r} is already registered")
    for key in keys:
        owner = ledger.institution_of_key(key)
        if owner is not None:
            raise ContractError(CONFLICT, f"key {key[:16]}... already acts for {owner!r}")
    inst = Institution(inst_id, name, tuple(r for r in ROLES if r in roles), tuple(keys))
    ledger.put_institution(inst)
    return _ok(inst.to_json(), "InstitutionRegistered")


def open_account(ledger: Ledger, args: Mapping[str, Any]) -> TxResult:
    fields(args, ("institution", "currency"))
    inst_id = ident(args, "institution")
    code = currency(args, "currency")
    _require_institution(ledger, inst_id)
    _require_currency(ledger, code)
    if ledger.account(inst_id, code) is not None:
        raise ContractError(CONFLICT, f"{inst_id} already has a {code} account")
    acct = Account(inst_id, code, 0, 0)
    ledger.put_account(acct)
    return _ok(acct.to_json(), "AccountOpened")


def _money_args(ledger: Ledger, args: Mapping[str, Any]) -> tuple[str, str, int, str]:
    fields(args, ("institution", "currency", "amount", "ref"))
    inst_id = ident(args, "institution")
    code = currency(args, "currency")
    amount = integer(args, "amount", 1, MAX_AMOUNT)
    ref = text(args, "ref", 1, MAX_REF)
    if ledger.ref_used(ref):
        raise ContractError(
            CONFLICT, f"reference {ref!r} was already used", {"reason": REASON_DUPLICATE}
        )
    if ledger.account(inst_id, code) is None:
        raise ContractError(
            NOT_FOUND, f"{inst_id} has no {code} account", {"reason": REASON_ACCOUNT}
        )
    return inst_id, code, amount, ref


def mint(ledger: Ledger, args: Mapping[str, Any]) -> TxResult:
    """Record an off-chain deposit: the only way money enters the ledger."""
    inst_id, code, amount, ref = _money_args(ledger, args)
    supply = ledger.supply(code)
    if supply.outstanding + amount > MAX_AMOUNT:
        raise ContractError(CONFLICT, f"{code} outstanding supply would exceed {MAX_AMOUNT}")
    ledger.post(code, amount, (ISSUANCE, ""), (inst_id, AVAILABLE), "mint", ref=ref)
    ledger.put_supply(Supply(code, supply.minted + amount, supply.burned))
    data = {"institution": inst_id, "currency": code, "amount": amount, "ref": ref}
    ledger.use_ref(ref, {"kind": "mint", **data})
    return _ok(data, "Minted")


def burn(ledger: Ledger, args: Mapping[str, Any]) -> TxResult:
    """Record an off-chain withdrawal (payout to the institution's bank account): money leaves."""
    inst_id, code, amount, ref = _money_args(ledger, args)
    ledger.post(code, amount, (inst_id, AVAILABLE), (ISSUANCE, ""), "burn", ref=ref)
    supply = ledger.supply(code)
    ledger.put_supply(Supply(code, supply.minted, supply.burned + amount))
    data = {"institution": inst_id, "currency": code, "amount": amount, "ref": ref}
    ledger.use_ref(ref, {"kind": "burn", **data})
    return _ok(data, "Burned")


def define_corridor(ledger: Ledger, args: Mapping[str, Any]) -> TxResult:
    """Create or replace a corridor; open transfers keep the terms they were initiated with."""
    fields(
        args,
        (
            "id",
            "source",
            "target",
            "per_transfer_limit",
            "daily_limit",
            "fee_fixed",
            "fee_bps",
            "fee_collector",
            "approvers",
        ),
    )
    corridor_id = ident(args, "id")
    source = currency(args, "source")
    target = currency(args, "target")
    if source == target:
        raise _bad("a corridor converts between two different currencies")
    per_transfer = integer(args, "per_transfer_limit", 1, MAX_AMOUNT)
    daily = integer(args, "daily_limit", 1, MAX_AMOUNT)
    fee_fixed = integer(args, "fee_fixed", 0, MAX_AMOUNT)
    fee_bps = integer(args, "fee_bps", 0, MAX_BPS)
    collector = ident(args, "fee_collector")
    approvers = string_list(args, "approvers", 1, MAX_APPROVERS)
    for entry in approvers:
        if entry not in APPROVER_TOKENS:
            ident_value(entry, "approvers[]")
    _require_currency(ledger, source)
    _require_currency(ledger, target)
    _require_institution(ledger, collector)
    ledger.require_account(collector, source)
    for entry in approvers:
        if entry in APPROVER_TOKENS:
            continue
        inst = _require_institution(ledger, entry)
        if not any(role in inst.roles for role in APPROVER_ROLES):
            raise ContractError(
                CONFLICT,
                f"approver {entry!r} needs one of the roles {', '.join(APPROVER_ROLES)}",
                {"reason": REASON_AGENT},
            )
    corridor = Corridor(
        corridor_id,
        source,
        target,
        per_transfer,
        daily,
        fee_fixed,
        fee_bps,
        collector,
        tuple(approvers),
    )
    ledger.put_corridor(corridor)
    return _ok(corridor.to_json(), "CorridorDefined")


GOVERNANCE_OPS = {
    "register_currency": register_currency,
    "register_institution": register_institution,
    "open_account": open_account,
    "mint": mint,
    "burn": burn,
    "define_corridor": define_corridor,
}
