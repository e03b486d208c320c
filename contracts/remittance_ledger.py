"""Remittance state: the key schema (all keys in this one module) and the double-entry ledger.

Keys, under the contract namespace c/remittance/:
  admins                      canonical list of governance keys (hex), from genesis
  cur/<CODE>                  Currency
  inst/<id>                   Institution
  key/<hex key>               the institution id that key acts for (JSON string)
  acct/<inst>/<CODE>          Account {available, escrow}
  supply/<CODE>               Supply {minted, burned}
  ref/<ref>                   a mint/burn reference already used (off-chain deposit/payout id)
  corr/<id>                   Corridor
  daily/<corridor>/<day>      principal initiated that block-time UTC day (day zero-padded to 10)
  quote/<id>                  Quote
  xfer/<uetr>                 Transfer
  jseq                        last journal sequence number
  j/<seq>                     Posting (seq zero-padded to 12)
  xj/<uetr>/<seq>             index: postings of one transfer
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from baaskit import canonical

from .app import CONFLICT, NOT_FOUND, ContractError
from .remittance_model import (
    REASON_ACCOUNT,
    REASON_FUNDS,
    Account,
    Corridor,
    Currency,
    Institution,
    Posting,
    Quote,
    Supply,
    Transfer,
)
from .state import StateView

ISSUANCE = "@issuance"  # the contra account of mints and burns; not a balance
AVAILABLE = "available"
ESCROW = "escrow"

T = TypeVar("T")


def account_name(institution: str, kind: str) -> str:
    return f"{institution}:{kind}"


class Ledger:
    """Typed reads and writes over a StateView. `height`/`time_ms` stamp journal postings."""

    def __init__(self, state: StateView, height: int = 0, time_ms: int = 0) -> None:
        self.state = state
        self.height = height
        self.time_ms = time_ms

    # --- raw JSON -------------------------------------------------------------------------
    def get_json(self, key: str) -> Any:
        raw = self.state.get(key.encode())
        return None if raw is None else canonical.loads(raw)

    def put_json(self, key: str, value: Any) -> None:
        self.state.set(key.encode(), canonical.dumps(value))

    def _record(self, key: str, decode: Callable[[dict[str, Any]], T]) -> T | None:
        body = self.get_json(key)
        return None if body is None else decode(body)

    def scan(self, prefix: str) -> Iterator[tuple[str, Any]]:
        for key, raw in self.state.iterate(prefix.encode()):
            yield key.decode(), canonical.loads(raw)

    # --- governance -----------------------------------------------------------------------
    def admins(self) -> list[str]:
        return list(self.get_json("admins") or [])

    def set_admins(self, keys: list[str]) -> None:
        self.put_json("admins", keys)

    def currency(self, code: str) -> Currency | None:
        return self._record(f"cur/{code}", Currency.from_json)

    def put_currency(self, cur: Currency) -> None:
        self.put_json(f"cur/{cur.code}", cur.to_json())

    def institution(self, inst_id: str) -> Institution | None:
        return self._record(f"inst/{inst_id}", Institution.from_json)

    def put_institution(self, inst: Institution) -> None:
        self.put_json(f"inst/{inst.id}", inst.to_json())
        for key in inst.keys:
            self.put_json(f"key/{key}", inst.id)

    def institution_of_key(self, key_hex: str) -> str | None:
        value = self.get_json(f"key/{key_hex}")
        return value if isinstance(value, str) else None

    def corridor(self, corridor_id: str) -> Corridor | None:
        return self._record(f"corr/{corridor_id}", Corridor.from_json)

    def put_corridor(self, corridor: Corridor) -> None:
        self.put_json(f"corr/{corridor.id}", corridor.to_json())

    def ref_used(self, ref: str) -> bool:
        return self.state.get(f"ref/{ref}".encode()) is not None

    def use_ref(self, ref: str, record: dict[str, Any]) -> None:
        self.put_json(f"ref/{ref}", record)

    # --- daily volume ---------------------------------------------------------------------
    def daily_used(self, corridor_id: str, day: int) -> int:
        return int(self.get_json(f"daily/{corridor_id}/{day:010d}") or 0)

    def set_daily_used(self, corridor_id: str, day: int, used: int) -> None:
        self.put_json(f"daily/{corridor_id}/{day:010d}", used)

    # --- quotes and transfers -------------------------------------------------------------
    def quote(self, quote_id: str) -> Quote | None:
        return self._record(f"quote/{quote_id}", Quote.from_json)

    def put_quote(self, quote: Quote) -> None:
        self.put_json(f"quote/{quote.id}", quote.to_json())

    def transfer(self, uetr: str) -> Transfer | None:
        return self._record(f"xfer/{uetr}", Transfer.from_json)

    def put_transfer(self, transfer: Transfer) -> None:
        self.put_json(f"xfer/{transfer.uetr}", transfer.to_json())

    # --- accounts and money ---------------------------------------------------------------
    def account(self, institution: str, code: str) -> Account | None:
        return self._record(f"acct/{institution}/{code}", Account.from_json)

    def require_account(self, institution: str, code: str) -> Account:
        acct = self.account(institution, code)
        if acct is None:
            raise ContractError(
                NOT_FOUND,
                f"institution {institution!r} has no {code} account",
                {"reason": REASON_ACCOUNT},
            )
        return acct

    def put_account(self, acct: Account) -> None:
        self.put_json(f"acct/{acct.institution}/{acct.currency}", acct.to_json())

    def accounts(self) -> list[Account]:
        return [Account.from_json(body) for _, body in self.scan("acct/")]

    def supply(self, code: str) -> Supply:
        found = self._record(f"supply/{code}", Supply.from_json)
        return found if found is not None else Supply(currency=code, minted=0, burned=0)

    def put_supply(self, supply: Supply) -> None:
        self.put_json(f"supply/{supply.currency}", supply.to_json())

    def _adjust(self, institution: str, code: str, kind: str, delta: int) -> None:
        acct = self.require_account(institution, code)
        available = acct.available + (delta if kind == AVAILABLE else 0)
        escrow = acct.escrow + (delta if kind == ESCROW else 0)
        if available < 0 or escrow < 0:
            have = acct.available if kind == AVAILABLE else acct.escrow
            raise ContractError(
                CONFLICT,
                f"insufficient funds: {institution} {code} {kind} is {have}, needs {-delta}",
                {"reason": REASON_FUNDS},
            )
        self.put_account(Account(institution, code, available, escrow))

    def post(
        self,
        code: str,
        amount: int,
        debit: tuple[str, str],
        credit: tuple[str, str],
        memo: str,
        uetr: str | None = None,
        ref: str | None = None,
    ) -> Posting | None:
        """Move `amount` from debit=(institution, kind) to credit=(institution, kind) and journal it.

        kind is "available" or "escrow"; institution ISSUANCE (kind ignored) is the outside world.
        A zero amount posts nothing."""
        if amount < 0:
            raise ValueError("postings move a non-negative amount")
        if amount == 0:
            return None
        if debit[0] != ISSUANCE:
            self._adjust(debit[0], code, debit[1], -amount)
        if credit[0] != ISSUANCE:
            self._adjust(credit[0], code, credit[1], amount)
        seq = int(self.get_json("jseq") or 0) + 1
        posting = Posting(
            seq=seq,
            height=self.height,
            time_ms=self.time_ms,
            currency=code,
            amount=amount,
            debit=ISSUANCE if debit[0] == ISSUANCE else account_name(*debit),
            credit=ISSUANCE if credit[0] == ISSUANCE else account_name(*credit),
            memo=memo,
            uetr=uetr,
            ref=ref,
        )
        self.put_json("jseq", seq)
        self.put_json(f"j/{seq:012d}", posting.to_json())
        if uetr is not None:
            self.put_json(f"xj/{uetr}/{seq:012d}", seq)
        return posting

    def journal_of(self, uetr: str) -> list[dict[str, Any]]:
        return [self.get_json(f"j/{seq:012d}") for _, seq in self.scan(f"xj/{uetr}/")]

    def journal(self, after: int, limit: int) -> list[dict[str, Any]]:
        last = int(self.get_json("jseq") or 0)
        return [
            self.get_json(f"j/{seq:012d}") for seq in range(after + 1, min(last, after + limit) + 1)
        ]
