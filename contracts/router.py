"""The Application: routes each transaction of a committed block to its contract.

This is the single place where a decided block meets contract code. It turns a contract's raise or
non-zero code into a failed TxResult whose writes are discarded, so no contract bug can crash a node
or leave a half-applied transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from baaskit import canonical
from baaskit.tx import Tx

from .app import INTERNAL, UNKNOWN_CONTRACT, BlockContext, Contract, ContractError, TxResult, fail
from .state import Overlay, StateReader, StateView

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BlockOutcome:
    results: tuple[TxResult, ...]  # one per transaction, in block order
    writes: list[tuple[bytes, bytes | None]]  # sorted state writes of the whole block
    encoded: tuple[bytes, ...] = ()  # canonical JSON of each result (the results-root leaves)


class Application:
    def __init__(self, contracts: Iterable[Contract]) -> None:
        self._contracts: dict[str, Contract] = {}
        for contract in contracts:
            if contract.name in self._contracts:
                raise ValueError(f"two contracts named {contract.name!r}")
            self._contracts[contract.name] = contract

    @property
    def contract_names(self) -> list[str]:
        return sorted(self._contracts)

    def init_chain(self, store: StateReader, app_state: Mapping[str, Any]) -> list[tuple[bytes, bytes | None]]:
        unknown = sorted(set(app_state) - set(self._contracts))
        if unknown:
            raise ValueError(f"genesis app_state names unknown contracts {unknown}")
        block = Overlay(store)
        for name in sorted(self._contracts):
            self._contracts[name].init_chain(StateView(block, name), app_state.get(name, {}))
        return block.writes()

    def execute_block(self, store: StateReader, ctx: BlockContext, txs: Sequence[Tx]) -> BlockOutcome:
        block = Overlay(store)
        pairs = [self._execute_tx(block, tx, ctx) for tx in txs]
        return BlockOutcome(
            results=tuple(r for r, _ in pairs), writes=block.writes(), encoded=tuple(b for _, b in pairs)
        )

    def _execute_tx(self, block: Overlay, tx: Tx, ctx: BlockContext) -> tuple[TxResult, bytes]:
        """Run one tx on its own overlay; merge its writes only if it succeeded AND its result
        is canonical data (rule 6: results are hashed into the results root)."""
        overlay = Overlay(block)
        result = self._run_contract(overlay, tx, ctx)
        try:
            encoded = canonical.dumps(result.to_json())
        except canonical.CanonicalError as exc:
            log.error("contract %s returned a non-canonical result: %s", tx.contract, exc)
            result = fail(INTERNAL, "contract error: non-canonical result")
            return result, canonical.dumps(result.to_json())
        if result.ok:
            overlay.merge_into(block)
        return result, encoded

    def _run_contract(self, overlay: Overlay, tx: Tx, ctx: BlockContext) -> TxResult:
        contract = self._contracts.get(tx.contract)
        if contract is None:
            return fail(UNKNOWN_CONTRACT, f"no contract named {tx.contract!r}")
        try:
            return contract.execute(StateView(overlay, contract.name), tx, ctx)
        except ContractError as exc:
            return fail(exc.code, exc.message, exc.data)
        except Exception as exc:  # a contract bug must not split or crash the replicas
            log.exception("contract %s raised on tx %s", tx.contract, tx.tx_id.hex())
            return fail(INTERNAL, f"contract error: {type(exc).__name__}")

    def query(self, store: StateReader, contract: str, method: str, args: Mapping[str, Any]) -> Any:
        target = self._contracts.get(contract)
        if target is None:
            raise ContractError(UNKNOWN_CONTRACT, f"no contract named {contract!r}")
        return target.query(StateView(Overlay(store), target.name), method, args)
