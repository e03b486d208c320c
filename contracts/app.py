"""The application interface: the one narrow, deterministic boundary between the node and contracts.

Modelled on CometBFT's ABCI. The node's block executor is the only caller. Determinism rules —
every contract must obey them, because every replica must reach byte-identical results:

 1. Output depends only on (state read through the view, the transaction, the block context).
 2. No clock (time comes from BlockContext.time_ms), no randomness, no environment, no I/O.
 3. No floats: money is integer minor units; ratios are integer pairs.
 4. Never iterate a set (or anything whose order depends on hashing) where order matters.
 5. A failed transaction changes nothing: the executor discards its writes (TxResult.code != 0).
 6. Results and events are canonical JSON data (str/int/bool/None/list/dict with str keys).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from baaskit.tx import Tx

from .state import StateView

# Result codes (0 = success). Contracts may use these; the numbers are part of the results root.
OK = 0
BAD_REQUEST = 1  # malformed arguments
UNAUTHORIZED = 2  # signer may not do this
NOT_FOUND = 3
CONFLICT = 4  # state does not allow it (duplicate, wrong status, insufficient funds...)
EXPIRED = 5
UNKNOWN_CONTRACT = 6
INTERNAL = 7  # a contract raised: recorded as a failed tx, never a node crash


@dataclass(frozen=True, slots=True)
class BlockContext:
    chain_id: str
    height: int
    time_ms: int  # block time proposed by the primary, checked by every replica
    proposer: int


@dataclass(frozen=True, slots=True)
class Event:
    contract: str
    name: str
    data: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"contract": self.contract, "name": self.name, "data": dict(self.data)}


@dataclass(frozen=True, slots=True)
class TxResult:
    code: int
    message: str = ""
    data: Any = None
    events: tuple[Event, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.code == OK

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "data": self.data,
            "events": [e.to_json() for e in self.events],
        }


def fail(code: int, message: str, data: Any = None) -> TxResult:
    return TxResult(code=code, message=message, data=data)


class ContractError(Exception):
    """Raised inside a contract to abort the transaction with a code and message."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


class Contract(Protocol):
    name: str

    def init_chain(self, state: StateView, params: Mapping[str, Any]) -> None:
        """Called once at genesis with this contract's section of the genesis app state."""

    def execute(self, state: StateView, tx: Tx, ctx: BlockContext) -> TxResult:
        """Apply one transaction. Raise ContractError or return a non-zero code to reject it."""

    def query(self, state: StateView, method: str, args: Mapping[str, Any]) -> Any:
        """Read-only; must not write. Raise ContractError for bad requests."""
