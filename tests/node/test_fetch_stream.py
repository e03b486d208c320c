"""A peer that leaves a block fetch mid-stream ends the serve quietly (real gRPC on loopback)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import grpc
import pytest

from baaskit.node.transport import serve_blocks
from baaskit.wire.v1 import types_pb2

BLOCK = types_pb2.CertifiedBlock(block=types_pb2.Block(header=b"h" * 1_000_000))
LIMITS = [("grpc.max_send_message_length", 64 << 20), ("grpc.max_receive_message_length", 64 << 20)]


async def _blocks(n: int) -> AsyncIterator[types_pb2.CertifiedBlock]:
    for _ in range(n):
        yield BLOCK


async def _fetch(blocks: int, read_delay_s: float, timeout_s: float) -> tuple[grpc.StatusCode, int, list[bool]]:
    """Serve `blocks` one-megabyte blocks through serve_blocks to a fetcher that waits
    `read_delay_s` after each; returns the fetch's status, the blocks read and the serve's result."""
    outcome: list[bool] = []

    async def handler(request: bytes, context: grpc.aio.ServicerContext) -> None:
        outcome.append(await serve_blocks(_blocks(blocks), context))

    method = grpc.unary_stream_rpc_method_handler(handler, response_serializer=types_pb2.CertifiedBlock.SerializeToString)
    server = grpc.aio.server(options=LIMITS)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("t.Blocks", {"Fetch": method}),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=LIMITS) as channel:
            call = channel.unary_stream("/t.Blocks/Fetch", response_deserializer=types_pb2.CertifiedBlock.FromString)
            read, code = 0, grpc.StatusCode.OK
            try:
                async for _ in call(b"", timeout=timeout_s):
                    read += 1
                    await asyncio.sleep(read_delay_s)
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
            for _ in range(50):  # the server's handler sees a failed write shortly after
                if outcome:
                    break
                await asyncio.sleep(0.05)
            return code, read, outcome
    finally:
        await server.stop(None)


def test_a_fetcher_leaving_mid_stream_ends_the_serve_without_an_error_log(caplog: pytest.LogCaptureFixture) -> None:
    # The fetcher reads one block every 0.1 s and has a 0.5 s deadline: the server is waiting in
    # a write (flow control) when the deadline passes.
    with caplog.at_level(logging.INFO):
        code, read, outcome = asyncio.run(_fetch(40, 0.1, 0.5))
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED and 0 < read < 40
    assert outcome == [False]  # the serve saw the fetcher go
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
    assert any("block fetch ended before the fetcher read it all" in r.getMessage() for r in caplog.records)


def test_a_fetch_read_to_the_end_is_served_in_full() -> None:
    assert asyncio.run(_fetch(3, 0.0, 10.0)) == (grpc.StatusCode.OK, 3, [True])
