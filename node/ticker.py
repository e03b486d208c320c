"""The node's only clock reader: wall-clock time for block times, and logical ticks for the replica.

Everything else (consensus, contracts, validation) receives time as a value. Block time is the
primary's wall clock in milliseconds, kept strictly increasing by `BlockClock`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


def now_ms() -> int:
    """Wall-clock milliseconds since the epoch (block times, skew checks)."""
    return time.time_ns() // 1_000_000


def monotonic_ms() -> int:
    """Monotonic milliseconds (timeouts, measuring; never written into a block)."""
    return time.monotonic_ns() // 1_000_000


class BlockClock:
    """Block times proposed by this node: its clock, but strictly greater than the previous block's."""

    def __init__(self, last_time_ms: int = 0) -> None:
        self.last_time_ms = last_time_ms

    def observe(self, time_ms: int) -> None:
        """A block with `time_ms` was committed (by anyone)."""
        self.last_time_ms = max(self.last_time_ms, time_ms)

    def next(self) -> int:
        t = max(now_ms(), self.last_time_ms + 1)
        self.last_time_ms = t
        return t


class Ticker:
    """Calls `on_tick()` every `tick_ms` milliseconds until stopped (no catch-up bursts)."""

    def __init__(self, tick_ms: int, on_tick: Callable[[], Awaitable[None]]) -> None:
        if tick_ms <= 0:
            raise ValueError("tick_ms must be positive")
        self._interval = tick_ms / 1000
        self._on_tick = on_tick

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while True:
            deadline += self._interval
            delay = deadline - loop.time()
            if delay < 0:  # we fell behind (a long execution): skip, do not burst
                deadline = loop.time()
                delay = 0
            await asyncio.sleep(delay)
            await self._on_tick()
