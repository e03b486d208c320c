"""The load generator's open loop measures latency from the schedule (no coordinated omission),
against a real gRPC API server on loopback whose Submit answers slowly."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import grpc
import nacl.signing

from baaskit.bench.load import LoadRunner, presign
from baaskit.node import pki
from baaskit.tx import tx_id_of
from baaskit.wire.v1 import api_pb2, api_pb2_grpc

SUBMIT_DELAY_S = 0.05


class SlowApi(api_pb2_grpc.ApiServicer):
    """Submit takes SUBMIT_DELAY_S, then its txs are a committed block on every subscription."""

    def __init__(self) -> None:
        self.height = 0
        self.subscribers: list[asyncio.Queue[api_pb2.BlockEvent]] = []

    async def Status(self, request: api_pb2.StatusRequest, context: grpc.aio.ServicerContext) -> api_pb2.StatusResponse:
        return api_pb2.StatusResponse(height=self.height)

    async def Submit(self, request: api_pb2.SubmitRequest, context: grpc.aio.ServicerContext) -> api_pb2.SubmitResponse:
        await asyncio.sleep(SUBMIT_DELAY_S)
        ids = [tx_id_of(t.payload) for t in request.txs]
        self.height += 1
        event = api_pb2.BlockEvent(height=self.height, header=json.dumps({"view": 0}).encode(), tx_ids=ids)
        for queue in self.subscribers:
            queue.put_nowait(event)
        return api_pb2.SubmitResponse(acks=[api_pb2.TxAck(tx_id=i, code=api_pb2.AckCode.Value("ACCEPTED")) for i in ids])

    async def SubscribeBlocks(
        self, request: api_pb2.SubscribeRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[api_pb2.BlockEvent]:
        queue: asyncio.Queue[api_pb2.BlockEvent] = asyncio.Queue()
        self.subscribers.append(queue)
        while True:
            yield await queue.get()


async def _open_loop(concurrency: int) -> list[float]:
    ca = pki.create_ca()
    cert = pki.issue_tls_cert(ca, "bench-test")
    server = grpc.aio.server()
    api_pb2_grpc.add_ApiServicer_to_server(SlowApi(), server)
    port = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials([(cert.key_pem, cert.cert_pem)]))
    await server.start()
    runner = LoadRunner([f"127.0.0.1:{port}"], ca.cert_pem)
    try:
        envelopes = presign([nacl.signing.SigningKey.generate()], "bench", 20)
        # 20 txs scheduled 10 ms apart, one per Submit; each Submit takes 50 ms.
        result = await runner.run(envelopes, rate=100, batch_size=1, concurrency=concurrency, drain_timeout_s=10)
    finally:
        await runner.close()
        await server.stop(None)
    assert result.committed == 20
    return result.latencies_ms


def test_open_loop_latency_counts_the_wait_for_a_call_slot() -> None:
    # One call at a time: the k-th tx leaves ~50k ms after start although it was due at 10k ms,
    # so the last one's latency from its schedule is ~20 x 50 - 19 x 10 = 810 ms. Measured from
    # the call it would be ~50 ms whatever the backlog.
    one_slot = asyncio.run(_open_loop(concurrency=1))
    assert max(one_slot) > 500
    # With a slot for every call nothing waits behind another Submit: the same schedule then
    # shows far less, and every tx still shows its own Submit's time.
    free = asyncio.run(_open_loop(concurrency=64))
    assert max(free) < max(one_slot) / 2
    assert min(free) >= SUBMIT_DELAY_S * 1000
