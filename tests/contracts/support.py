"""Helpers for contract tests: real signed transactions through the real router and a MemoryStore."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nacl.signing

from baaskit import canonical
from baaskit.contracts import Application, BlockContext, BlockOutcome, MemoryStore
from baaskit.contracts.builtin import default_application
from baaskit.tx import Tx, decode_payload, make_tx

CHAIN = "test-chain"


def key(seed: int) -> nacl.signing.SigningKey:
    """A deterministic signing key (hypothesis needs reproducible inputs)."""
    return nacl.signing.SigningKey(seed.to_bytes(32, "big"))


def tx(
    signer: nacl.signing.SigningKey,
    contract: str,
    method: str,
    args: dict[str, Any],
    nonce: str | None = None,
) -> Tx:
    envelope = make_tx(signer, CHAIN, contract, method, args, nonce)
    assert envelope.verify_signature()
    return decode_payload(envelope, CHAIN)


class Chain:
    """An application over a MemoryStore that commits each executed block, height by height."""

    def __init__(self, app: Application | None = None) -> None:
        self.app = app if app is not None else default_application()
        self.store = MemoryStore()
        self.height = 0

    def block(self, txs: Sequence[Tx], time_ms: int | None = None) -> BlockOutcome:
        self.height += 1
        ctx = BlockContext(
            CHAIN,
            self.height,
            time_ms if time_ms is not None else 1_700_000_000_000 + self.height,
            0,
        )
        outcome = self.app.execute_block(self.store, ctx, txs)
        for result in outcome.results:  # results and events must be hashable into the results root
            canonical.dumps(result.to_json())
        self.store.apply(outcome.writes)
        return outcome

    def one(self, t: Tx, time_ms: int | None = None) -> Any:
        (result,) = self.block([t], time_ms).results
        return result

    def query(self, contract: str, method: str, args: dict[str, Any]) -> Any:
        return self.app.query(self.store, contract, method, args)

    def snapshot(self) -> dict[bytes, bytes]:
        return dict(self.store.data)
