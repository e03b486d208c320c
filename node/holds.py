"""Which transactions admitted here are held by enough peers to outlive this node.

A client's Submit is answered only once every tx this node admitted for it is held by
`needed` (= f) other members, or committed. "Held" means the peer has it pending in its mempool
or committed: it said so in a frame's `held_tx_ids` after ingesting the forwarded tx. With this
node that is f+1 holders, so at least one survives any f failures, and a surviving holder
proposes the tx (as primary) or re-sends it to the next primary after a view change.

Why: a node forwards its clients' txs to its peers asynchronously. Found with the peer links
shaped to 80 Mbit/s and the primary killed at full load: the primary had answered ACCEPTED for
500 txs still queued behind its pre-prepares, and they died with it (the client, told ACCEPTED,
had no reason to resubmit).

Pure bookkeeping on the node's event loop (no I/O, no clock but the waiters' timeout).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable


class _Waiter:
    __slots__ = ("future", "ids", "remaining")

    def __init__(self, future: asyncio.Future[None], ids: list[bytes]) -> None:
        self.future = future
        self.ids = ids
        self.remaining = len(ids)


class HoldTracker:
    def __init__(self, needed: int) -> None:
        self.needed = needed
        self._holders: dict[bytes, set[int]] = {}  # admitted here, not yet safe -> peers holding it
        self._waiters: dict[bytes, list[_Waiter]] = {}

    def __len__(self) -> int:
        return len(self._holders)

    def admitted(self, tx_ids: Iterable[bytes]) -> None:
        """Txs this node just admitted for a client (ACCEPTED): not safe until held or committed."""
        if self.needed <= 0:
            return
        for tx_id in tx_ids:
            self._holders.setdefault(tx_id, set())

    def held(self, peer: int, tx_ids: Iterable[bytes]) -> None:
        """`peer` holds these txs (ids of txs this node did not admit, or already safe, are ignored)."""
        for tx_id in tx_ids:
            holders = self._holders.get(tx_id)
            if holders is not None:
                holders.add(peer)
                if len(holders) >= self.needed:
                    self._settle(tx_id)

    def committed(self, tx_ids: Iterable[bytes]) -> None:
        """Committed (or skipped by execution): final, whoever holds it."""
        for tx_id in tx_ids:
            if tx_id in self._holders:
                self._settle(tx_id)

    def unsafe(self, tx_ids: Iterable[bytes]) -> list[bytes]:
        """The given txs that were admitted here and are not held by enough peers yet."""
        return [tx_id for tx_id in dict.fromkeys(tx_ids) if tx_id in self._holders]

    async def wait(self, tx_ids: Iterable[bytes], timeout_s: float) -> bool:
        """True once every given tx is safe (at once if all are); False after `timeout_s`."""
        pending = self.unsafe(tx_ids)
        if not pending:
            return True
        waiter = _Waiter(asyncio.get_running_loop().create_future(), pending)
        for tx_id in pending:
            self._waiters.setdefault(tx_id, []).append(waiter)
        try:
            await asyncio.wait_for(waiter.future, timeout_s)
            return True
        except TimeoutError:
            return False
        finally:
            self._forget(waiter)

    def _settle(self, tx_id: bytes) -> None:
        del self._holders[tx_id]
        for waiter in self._waiters.pop(tx_id, ()):
            waiter.remaining -= 1
            if waiter.remaining == 0 and not waiter.future.done():
                waiter.future.set_result(None)

    def _forget(self, waiter: _Waiter) -> None:
        if not waiter.future.done():
            waiter.future.cancel()
        for tx_id in waiter.ids:
            waiters = self._waiters.get(tx_id)
            if waiters is not None and waiter in waiters:
                waiters.remove(waiter)
                if not waiters:
                    del self._waiters[tx_id]
