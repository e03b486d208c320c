"""Deterministic contracts behind one narrow application interface (see app.py for the rules)."""

from .app import (
    BAD_REQUEST,
    CONFLICT,
    EXPIRED,
    INTERNAL,
    NOT_FOUND,
    OK,
    UNAUTHORIZED,
    UNKNOWN_CONTRACT,
    BlockContext,
    Contract,
    ContractError,
    Event,
    TxResult,
    fail,
)
from .router import Application, BlockOutcome
from .state import MemoryStore, Overlay, StateReader, StateView

__all__ = [
    "BAD_REQUEST",
    "CONFLICT",
    "EXPIRED",
    "INTERNAL",
    "NOT_FOUND",
    "OK",
    "UNAUTHORIZED",
    "UNKNOWN_CONTRACT",
    "Application",
    "BlockContext",
    "BlockOutcome",
    "Contract",
    "ContractError",
    "Event",
    "MemoryStore",
    "Overlay",
    "StateReader",
    "StateView",
    "TxResult",
    "fail",
]
