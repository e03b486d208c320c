"""`baaskit remit quote | send | approve | reject | recall | confirm | status | watch`.

Amounts are decimals in the currency's major unit ("10000.50"), converted to integer minor units
with the on-chain currency registry; rates are decimals ("7.1234") or ratios ("71234/10000").
The signing key is the connection's client key (see `baaskit notarize --help` for --cluster,
--client, --genesis, --key). Results print as JSON; `watch` prints one JSON line per status event.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from .client_cmds import _client, _client_errors, _connection_args
from .errors import CliError

REJECTED_EXIT = 3  # the chain refused the operation (distinct from usage errors)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    remit = sub.add_parser(
        "remit", help="cross-border remittance: quotes, transfers, approvals, status"
    )
    ops = remit.add_subparsers(dest="remit_command", metavar="OP")
    ops.required = True

    p = ops.add_parser("quote", help="(FX provider) issue a quote for a corridor and amount")
    p.add_argument("--corridor", required=True)
    p.add_argument("--amount", required=True, help="source amount, e.g. 10000.00")
    p.add_argument("--rate", required=True, help="target per source unit: 7.1234 or 71234/10000")
    p.add_argument("--fee", default="0", help="FX fee in the source currency (default 0)")
    p.add_argument(
        "--ttl", type=int, default=300, help="seconds the quote stays valid (default 300)"
    )
    p.add_argument("--quote-id", help="UUID v4 to use (default: a new one)")
    _common(p, cmd_quote)

    p = ops.add_parser(
        "send", help="(sending institution) start a transfer on a quote; escrows the funds"
    )
    p.add_argument("--quote", required=True, metavar="QUOTE_ID")
    p.add_argument("--receiver", required=True, help="receiving institution id")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument(
        "--beneficiary",
        help="beneficiary details: a JSON object, or @FILE holding one (hashed locally)",
    )
    g.add_argument(
        "--beneficiary-hash", help="a precomputed SHA-256(salt || canonical details), hex"
    )
    p.add_argument(
        "--salt-out", metavar="FILE", help="write the salt and details here (keep it off-chain)"
    )
    p.add_argument(
        "--ttl", type=int, default=3600, help="seconds before the transfer expires unsettled"
    )
    p.add_argument("--uetr", help="idempotency key (UUID v4); reuse it to retry safely")
    _common(p, cmd_send)

    p = ops.add_parser("approve", help="(approver) approve a transfer")
    p.add_argument("uetr")
    _common(p, cmd_simple("approve"))

    p = ops.add_parser("reject", help="(approver) reject a transfer with an ISO 20022 reason code")
    p.add_argument("uetr")
    p.add_argument(
        "--reason", required=True, help="e.g. RR04 (regulatory), AC04 (closed account), AM04, FRAD"
    )
    _common(p, cmd_simple("reject"))

    p = ops.add_parser("recall", help="(sending institution) recall a transfer before settlement")
    p.add_argument("uetr")
    p.add_argument("--reason", default="CUST", help="CUST (default), DUPL, FRAD, TECH, UPAY, AGNT")
    _common(p, cmd_simple("recall"))

    p = ops.add_parser(
        "confirm", help="(receiving institution) confirm the payout to the beneficiary"
    )
    p.add_argument("uetr")
    p.add_argument("--payout-ref", help="your payout reference (public to the consortium)")
    _common(p, cmd_simple("confirm"))

    p = ops.add_parser("expire", help="(any party) expire a transfer past its deadline; refunds it")
    p.add_argument("uetr")
    _common(p, cmd_simple("expire"))

    p = ops.add_parser(
        "status", help="a transfer's status, approvals and (with --journal) its postings"
    )
    p.add_argument("uetr")
    p.add_argument("--journal", action="store_true")
    _common(p, cmd_status)

    p = ops.add_parser("watch", help="stream a transfer's status events until it is final")
    p.add_argument("uetr")
    p.add_argument("--from-height", type=int, default=0, help="replay from this block height (default: now)")
    p.add_argument("--forever", action="store_true", help="keep watching after a final status")
    _common(p, cmd_watch)


def _common(p: argparse.ArgumentParser, func: Any) -> None:
    _connection_args(p)
    p.set_defaults(func=func)


def _print(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True))


def _session(args: argparse.Namespace) -> Any:
    from baaskit.client.remittance import RemittanceSession

    try:
        return RemittanceSession(_client(args))
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _run(args: argparse.Namespace, action: Any) -> int:
    """Run `action(session)`; map refusals and connection failures to CliError."""
    from baaskit.client.remittance import RemittanceRejected

    session = _session(args)
    try:
        action(session)
    except RemittanceRejected as exc:
        raise CliError(f"refused: {exc}", REJECTED_EXIT) from None
    except _client_errors() as exc:
        raise CliError(str(exc)) from None
    finally:
        session.client.close()
    return 0


def _minor(session: Any, amount: str, currency: str) -> int:
    from baaskit.client.remittance import amount_to_minor

    exponents = session.currencies()
    if currency not in exponents:
        raise CliError(f"currency {currency} is not registered on this chain")
    try:
        return int(amount_to_minor(amount, exponents[currency]))
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _now_ms() -> int:
    return int(time.time() * 1000)


def cmd_quote(args: argparse.Namespace) -> int:
    from baaskit.client.remittance import parse_rate

    try:
        rate = parse_rate(args.rate)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.ttl <= 0:
        raise CliError("--ttl must be positive")

    def action(session: Any) -> None:
        corridor = session.client.query("remittance", "corridor", {"id": args.corridor})
        amount = _minor(session, args.amount, corridor["source"])
        fee = _minor(session, args.fee, corridor["source"])
        _print(
            session.quote(
                args.corridor, amount, rate, fee, _now_ms() + args.ttl * 1000, args.quote_id
            )
        )

    return _run(args, action)


def _beneficiary(args: argparse.Namespace) -> tuple[str, dict[str, Any] | None, bytes | None]:
    from baaskit.client.remittance import beneficiary_hash, new_salt

    if args.beneficiary_hash:
        digest = args.beneficiary_hash.lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise CliError("--beneficiary-hash must be 64 hex characters")
        return digest, None, None
    text = args.beneficiary
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot read {text[1:]}: {exc.strerror}") from None
    try:
        details = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"--beneficiary is not JSON: {exc}") from None
    if not isinstance(details, dict):
        raise CliError("--beneficiary must be a JSON object")
    salt = new_salt()
    try:
        return beneficiary_hash(details, salt), details, salt
    except ValueError as exc:  # e.g. a float in the details: canonical JSON refuses it
        raise CliError(f"--beneficiary: {exc}") from None


def cmd_send(args: argparse.Namespace) -> int:
    digest, details, salt = _beneficiary(args)
    if args.ttl <= 0:
        raise CliError("--ttl must be positive")
    if details is not None and not args.salt_out:
        print(
            "note: the salt is printed below; keep it with the beneficiary details, off-chain",
            file=sys.stderr,
        )

    def action(session: Any) -> None:
        quote = session.get_quote(args.quote)
        transfer = session.send(
            args.quote,
            quote["source_amount"],
            args.receiver,
            digest,
            _now_ms() + args.ttl * 1000,
            args.uetr,
        )
        out: dict[str, Any] = {"transfer": transfer}
        if details is not None and salt is not None:
            kept = {
                "uetr": transfer["uetr"],
                "salt": salt.hex(),
                "details": details,
                "beneficiary_hash": digest,
            }
            if args.salt_out:
                Path(args.salt_out).write_text(
                    json.dumps(kept, indent=2, sort_keys=True) + "\n", encoding="utf-8"
                )
            else:
                out["salt"] = salt.hex()
        _print(out)

    return _run(args, action)


def cmd_simple(op: str) -> Any:
    def handler(args: argparse.Namespace) -> int:
        def action(session: Any) -> None:
            if op == "reject":
                data = session.reject(args.uetr, args.reason.upper())
            elif op == "recall":
                data = session.recall(args.uetr, args.reason.upper())
            elif op == "confirm":
                data = session.confirm(args.uetr, args.payout_ref)
            else:
                data = getattr(session, op)(args.uetr)
            transfer = data.get("transfer", {})
            _print(
                {
                    "uetr": args.uetr,
                    "status": transfer.get("status"),
                    "reason": transfer.get("reason"),
                    "applied": data.get("applied"),
                    "message": data.get("message", ""),
                }
            )

        return _run(args, action)

    return handler


def cmd_status(args: argparse.Namespace) -> int:
    def action(session: Any) -> None:
        out: dict[str, Any] = {"transfer": session.status(args.uetr)}
        if args.journal:
            out["journal"] = session.journal(args.uetr)
        _print(out)

    return _run(args, action)


def cmd_watch(args: argparse.Namespace) -> int:
    def action(session: Any) -> None:
        start = args.from_height
        if not start:  # subscribe from just after what the status query can see: no gap, at most a repeat
            start = session.client.status().height + 1
        current = session.status(args.uetr)
        print(
            json.dumps(
                {
                    "uetr": args.uetr,
                    "status": current["status"],
                    "reason": current["reason"],
                    "current": True,
                },
                sort_keys=True,
            ),
            flush=True,
        )
        if current["final"] and not args.forever:
            return
        for event in session.watch(args.uetr, start, until_final=not args.forever):
            print(json.dumps(event, sort_keys=True), flush=True)

    return _run(args, action)
