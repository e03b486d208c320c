"""Pre-signed notarization load, submitted open-loop at a rate or closed-loop at maximum.

Latency is submit -> commit as seen by this client: to the time the client saw the tx in a
committed block on its SubscribeBlocks stream, from the time the Submit call left (closed loop) or
from the time the schedule said to send it (open loop). An open-loop send that waits for a free
call slot, because earlier Submits are slow to return, counts that wait as latency: measured from
the call, a system falling behind would show as a lower rate with flattering latencies
("coordinated omission").
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import grpc
import nacl.signing

from baaskit.tx import TxEnvelope, make_tx
from baaskit.wire.v1 import api_pb2, api_pb2_grpc, types_pb2

CHANNEL_OPTIONS = (
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
)


def presign(keys: Sequence[nacl.signing.SigningKey], chain_id: str, count: int) -> list[TxEnvelope]:
    """`count` notarization txs, round-robin over the enrolled keys, each a distinct document."""
    seed = os.urandom(16)
    return [
        make_tx(
            keys[i % len(keys)],
            chain_id,
            "notary",
            "register",
            {"digest": hashlib.sha256(seed + i.to_bytes(8, "big")).hexdigest(), "kind": "document"},
        )
        for i in range(count)
    ]


@dataclass
class LoadResult:
    offered: int = 0
    acked: int = 0
    rejected_busy: int = 0  # RESOURCE_EXHAUSTED answers (retried)
    errors: dict[str, int] = field(default_factory=dict)
    submit_t: dict[bytes, float] = field(default_factory=dict)
    commit_t: dict[bytes, float] = field(default_factory=dict)
    blocks: list[tuple[int, float, int, int]] = field(default_factory=list)  # (height, seen, txs, view)
    committed_count: int = 0  # commits seen of txs this run submitted
    started: float = 0.0
    finished: float = 0.0

    @property
    def latencies_ms(self) -> list[float]:
        return sorted(
            (self.commit_t[t] - s) * 1000 for t, s in self.submit_t.items() if t in self.commit_t
        )

    @property
    def committed(self) -> int:
        return self.committed_count

    def committed_between(self, t0: float, t1: float) -> int:
        return sum(1 for t in self.commit_t.values() if t0 <= t <= t1)


def percentile(sorted_values: Sequence[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def _pb(envs: Sequence[TxEnvelope]) -> api_pb2.SubmitRequest:
    return api_pb2.SubmitRequest(
        txs=[types_pb2.TxEnvelope(payload=e.payload, signer=e.signer, signature=e.signature) for e in envs]
    )


class LoadRunner:
    def __init__(self, endpoints: Sequence[str], ca_pem: bytes) -> None:
        creds = grpc.ssl_channel_credentials(root_certificates=ca_pem)
        self._channels = [grpc.aio.secure_channel(ep, creds, options=CHANNEL_OPTIONS) for ep in endpoints]
        self._stubs = [api_pb2_grpc.ApiStub(ch) for ch in self._channels]
        self.result = LoadResult()
        self._all_committed = asyncio.Event()
        self._progress = asyncio.Event()
        self._watch_stub = 0

    async def close(self) -> None:
        for ch in self._channels:
            await ch.close()

    async def _watch(self, from_height: int) -> None:
        """Follow committed blocks; on a broken stream, move to the next node and replay from there."""
        r = self.result
        next_height = from_height
        while True:
            stub = self._stubs[self._watch_stub % len(self._stubs)]
            try:
                async for ev in stub.SubscribeBlocks(api_pb2.SubscribeRequest(from_height=next_height)):
                    now = time.monotonic()
                    r.blocks.append((ev.height, now, len(ev.tx_ids), int(json.loads(ev.header)["view"])))
                    for tx_id in ev.tx_ids:
                        if tx_id in r.submit_t and tx_id not in r.commit_t:
                            r.commit_t[tx_id] = now
                            r.committed_count += 1
                    self._progress.set()
                    next_height = ev.height + 1
                    if r.acked and r.committed >= r.acked and self._sending_done:
                        self._all_committed.set()
            except grpc.aio.AioRpcError:
                self._watch_stub += 1
                await asyncio.sleep(0.05)

    async def _submit(self, batch: list[TxEnvelope], node: int, scheduled: float | None = None) -> None:
        r = self.result
        request = _pb(batch)
        for attempt in range(200):
            stub = self._stubs[(node + attempt) % len(self._stubs)]
            sent = time.monotonic() if scheduled is None else scheduled
            for e in batch:
                r.submit_t.setdefault(e.tx_id, sent)
            try:
                response = await stub.Submit(request, timeout=10)
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
                if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
                    r.rejected_busy += 1
                    await asyncio.sleep(0.02)
                    continue
                r.errors[code.name] = r.errors.get(code.name, 0) + 1
                if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    await asyncio.sleep(0.05)
                    continue  # resubmission is idempotent
                return
            r.acked += len(response.acks)
            return

    async def run(
        self,
        envelopes: Sequence[TxEnvelope],
        rate: float | None,
        batch_size: int,
        concurrency: int,
        drain_timeout_s: float,
        progress: Callable[[LoadResult], None] | None = None,
        window: int = 8000,
    ) -> LoadResult:
        r = self.result
        status = await self._stubs[0].Status(api_pb2.StatusRequest(), timeout=5)
        self._sending_done = False
        watcher = asyncio.create_task(self._watch(status.height + 1))
        await asyncio.sleep(0.2)  # let the subscription start before the first submit
        batches = [list(envelopes[i : i + batch_size]) for i in range(0, len(envelopes), batch_size)]
        r.offered = len(envelopes)
        r.started = time.monotonic()
        pending: set[asyncio.Task[None]] = set()
        sem = asyncio.Semaphore(concurrency)
        handed = 0

        async def send(i: int, batch: list[TxEnvelope], scheduled: float | None) -> None:
            async with sem:
                await self._submit(batch, i, scheduled)

        for i, batch in enumerate(batches):
            due = None
            if rate is not None:  # open loop: the schedule does not wait for the system
                due = r.started + (i * batch_size) / rate
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            else:  # closed loop: at most `window` txs handed to a Submit and not yet seen committed
                while handed - r.committed_count >= window:
                    self._progress.clear()
                    await self._progress.wait()
            handed += len(batch)
            task = asyncio.create_task(send(i, batch, due))
            pending.add(task)
            task.add_done_callback(pending.discard)
            if progress is not None and i % 10 == 0:
                progress(r)
        await asyncio.gather(*pending)
        self._sending_done = True
        if r.committed < r.acked:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_committed.wait(), drain_timeout_s)
        r.finished = time.monotonic()
        watcher.cancel()
        return r
