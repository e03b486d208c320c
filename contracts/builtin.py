"""The contracts every baaskit node runs, in one list the node and the tests share."""

from __future__ import annotations

from .app import Contract
from .kv import KvContract
from .notary import NotaryContract
from .remittance import RemittanceContract
from .router import Application


def builtin_contracts() -> list[Contract]:
    """Fresh instances of the built-in contracts (contracts keep no state of their own)."""
    return [
        KvContract(),
        NotaryContract(),
        RemittanceContract(),
    ]


def default_application() -> Application:
    return Application(builtin_contracts())
