"""baaskit client library: sync/async clients, notarization, receipts and offline verification.

    from baaskit.client import Client, verify_receipt
"""

from .aggregate import Batch, aggregate
from .aio import AsyncClient
from .connection import ClientError, NotCommitted, Rejected, Settings, Unavailable
from .receipt import (
    FORMAT,
    Aggregation,
    Receipt,
    ReceiptError,
    TxProof,
    build_receipt,
    load_receipt,
    parse_receipt,
)
from .sync import Client
from .verify import CHECKS, Verified, verify_receipt
from .wire import Ack, BlockEvent, Committed, NodeStatus

__all__ = [
    "CHECKS",
    "FORMAT",
    "Ack",
    "Aggregation",
    "AsyncClient",
    "Batch",
    "BlockEvent",
    "Client",
    "ClientError",
    "Committed",
    "NodeStatus",
    "NotCommitted",
    "Receipt",
    "ReceiptError",
    "Rejected",
    "Settings",
    "TxProof",
    "Unavailable",
    "Verified",
    "aggregate",
    "build_receipt",
    "load_receipt",
    "parse_receipt",
    "verify_receipt",
]
