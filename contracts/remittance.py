"""The cross-border remittance contract ("remittance"): escrowed, multi-party transfers in which
money can neither appear nor vanish. docs/remittance.md is the reference for every operation.

Modules: remittance_model (records, statuses, reason codes) · remittance_fx (integer FX and fee
math, one rounding rule) · remittance_args (argument checks) · remittance_ledger (key schema,
double-entry postings) · remittance_gov (governance ops) · remittance_transfer (quotes, lifecycle).

Invariant (per currency): sum over accounts of available + escrow == minted - burned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from baaskit.tx import Tx

from .app import BAD_REQUEST, NOT_FOUND, BlockContext, ContractError, TxResult
from .remittance_args import currency, digest_value, fields, ident, integer, uetr
from .remittance_gov import GOVERNANCE_OPS, MAX_EXPONENT, require_admin
from .remittance_ledger import Ledger
from .remittance_model import NAME, RECALL_REASONS, REJECT_REASONS, STATUSES, TERMINAL, Currency
from .remittance_transfer import TRANSFER_OPS, Actor, deadline
from .state import StateView

JOURNAL_PAGE_MAX = 1000


def _missing(what: str) -> ContractError:
    return ContractError(NOT_FOUND, f"no {what}")


def parse_genesis_params(params: Mapping[str, Any]) -> tuple[list[str], list[Currency]]:
    """{"admins": [hex keys], "currencies"?: [{"code", "exponent"}]} -> (admins, currencies)."""
    unknown = sorted(set(params) - {"admins", "currencies"})
    if unknown:
        raise ValueError(f"remittance genesis params: unknown field(s) {unknown}")
    admins = params.get("admins", [])
    if not isinstance(admins, list):
        raise ValueError("remittance genesis params: admins must be a list of hex keys")
    keys = [digest_value(a, "admins[]") for a in admins]
    currencies = []
    entries = params.get("currencies", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError("remittance genesis params: currencies must be a list of {code, exponent}")
    for entry in entries:
        fields(entry, ("code", "exponent"))
        currencies.append(
            Currency(currency(entry, "code"), integer(entry, "exponent", 0, MAX_EXPONENT))
        )
    return keys, currencies


class RemittanceContract:
    name = NAME

    def init_chain(self, state: StateView, params: Mapping[str, Any]) -> None:
        try:
            admins, currencies = parse_genesis_params(params)
        except ContractError as exc:
            raise ValueError(f"remittance genesis params: {exc.message}") from None
        ledger = Ledger(state)
        ledger.set_admins(admins)
        for cur in currencies:
            ledger.put_currency(cur)

    def execute(self, state: StateView, tx: Tx, ctx: BlockContext) -> TxResult:
        ledger = Ledger(state, ctx.height, ctx.time_ms)
        gov = GOVERNANCE_OPS.get(tx.method)
        if gov is not None:
            require_admin(ledger, tx.signer, tx.method)
            return gov(ledger, tx.args)
        op = TRANSFER_OPS.get(tx.method)
        if op is None:
            known = ", ".join(sorted([*GOVERNANCE_OPS, *TRANSFER_OPS]))
            raise ContractError(
                BAD_REQUEST, f"remittance has no method {tx.method!r}; methods: {known}"
            )
        return op(ledger, Actor(tx.signer, ledger.institution_of_key(tx.signer)), tx.args)

    def query(self, state: StateView, method: str, args: Mapping[str, Any]) -> Any:
        handler = _QUERIES.get(method)
        if handler is None:
            raise ContractError(
                BAD_REQUEST,
                f"remittance has no query {method!r}; queries: {', '.join(sorted(_QUERIES))}",
            )
        return handler(Ledger(state), args)


# --- queries ------------------------------------------------------------------------------


def _q_balance(ledger: Ledger, args: Mapping[str, Any]) -> Any:
    fields(args, ("institution", "currency"))
    acct = ledger.account(ident(args, "institution"), currency(args, "currency"))
    if acct is None:
        raise _missing(f"{args['currency']} account for {args['institution']!r}")
    return acct.to_json()


def _q_balances(ledger: Ledger, args: Mapping[str, Any]) -> Any:
    fields(args, (), ("institution",))
    inst = ident(args, "institution") if "institution" in args else None
    return [a.to_json() for a in ledger.accounts() if inst is None or a.institution == inst]


def _q_transfer(ledger: Ledger, args: Mapping[str, Any]) -> Any:
    fields(args, ("uetr",))
    t = ledger.transfer(uetr(args))
    if t is None:
        raise _missing(f"transfer {args['uetr']}")
    at, _ = deadline(t)
    return {**t.to_json(), "deadline_ms": at, "final": t.status in TERMINAL}


def _q_quote(ledger: Ledger, args: Mapping[str, Any]) -> Any:
    fields(args, ("quote_id",))
    q = ledger.quote(uetr(args, "quote_id"))
    if q is None:
        raise _missing(f"quote {args['quote_id']}")
    return q.to_json()


def _q_corridor(ledger: Ledger, args: Mapping[str, Any]) -> Any:
    fields(args, ("id",))
    c = ledger.corridor(ident(args, "id"))
    if c is None:
        raise _missing(f"corridor {args['id']!r}")
    return c.to_json()


def _q_corridors(ledger: Ledger, args: Mapping[str, Any]) -> Any:
    fields(args, ())
    return [body for _, body in ledger.scan("corr/")]


def _q_institution(ledger: Ledger, args: Mapping[str, Any]) -> Any:
    fields(args, ("id",))
    inst = ledger.institution(ident(args, "id"))
    if inst is None:
        raise _missing(f"institution {args['id']!r}")
    return inst.to_json()


def _q_institutions(ledger: Ledger, args: Mapping[str, Any]) -> Any:
    fields(args, ())
    return [body for _, body in ledger.scan("inst/")]


def _q_whois(ledger: Ledger, args: Mapping[str, Any]) -> Any:
    fields(args, ("key",))
    return ledger.institution_of_key(digest_value(args["key"], "key"))


def _q_currencies(ledger: Ledger, args: Mapping[str, Any]) -> Any:
    fields(args, ())
    return [body for _, body in ledger.scan("cur/")]


def _q_journal(ledger: Ledger, args: Mapping[str, Any]) -> Any:
    fields(args, (), ("uetr", "after", "limit"))
    if "uetr" in args:
        return ledger.journal_of(uetr(args))
    after = integer(args, "after", 0, 2**63 - 1) if "after" in args else 0
    limit = integer(args, "limit", 1, JOURNAL_PAGE_MAX) if "limit" in args else 100
    return ledger.journal(after, limit)


def _q_totals(ledger: Ledger, args: Mapping[str, Any]) -> Any:
    """Per currency: minted, burned, and the sums of balances; `balanced` is the invariant."""
    fields(args, (), ("currency",))
    only = currency(args, "currency") if "currency" in args else None
    out: dict[str, dict[str, Any]] = {}
    for _, body in ledger.scan("cur/"):
        code = body["code"]
        if only is None or code == only:
            supply = ledger.supply(code)
            out[code] = {
                "minted": supply.minted,
                "burned": supply.burned,
                "available": 0,
                "escrow": 0,
            }
    for acct in ledger.accounts():
        if acct.currency in out:
            out[acct.currency]["available"] += acct.available
            out[acct.currency]["escrow"] += acct.escrow
    for row in out.values():
        row["balanced"] = row["available"] + row["escrow"] == row["minted"] - row["burned"]
    return out


def _q_admins(ledger: Ledger, args: Mapping[str, Any]) -> Any:
    fields(args, ())
    return ledger.admins()


def _q_codes(ledger: Ledger, args: Mapping[str, Any]) -> Any:
    fields(args, ())
    return {"statuses": list(STATUSES), "reject": REJECT_REASONS, "recall": RECALL_REASONS}


_QUERIES: dict[str, Callable[[Ledger, Mapping[str, Any]], Any]] = {
    "balance": _q_balance,
    "balances": _q_balances,
    "transfer": _q_transfer,
    "quote": _q_quote,
    "corridor": _q_corridor,
    "corridors": _q_corridors,
    "institution": _q_institution,
    "institutions": _q_institutions,
    "whois": _q_whois,
    "currencies": _q_currencies,
    "journal": _q_journal,
    "totals": _q_totals,
    "codes": _q_codes,
    "admins": _q_admins,
}
