"""Catch-up: fetch certified blocks a node missed from its peers, verify, apply; and serve them.

Fetching never trusts one peer: every block's certificate is checked against the genesis member
keys (2f+1 distinct members) and the block is re-executed by `executor.apply_certified`, which
commits it only if the recomputed header is byte-identical to the certified one. A peer that
serves a bad block is dropped for this round and the next peer is asked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import grpc

from baaskit.wire.v1 import peer_pb2, peer_pb2_grpc, types_pb2

from . import pbconv
from .executor import BlockExecutor, ExecutionError, InvalidCertifiedBlock
from .storage import KVStore
from .transport import Transport

log = logging.getLogger(__name__)

FETCH_TIMEOUT_S = 30.0
SERVE_MAX_BLOCKS = 1_000


class BlockServer:
    """Serves stored blocks that have a certificate, in height order (Peer.FetchBlocks)."""

    def __init__(self, store: KVStore) -> None:
        self._store = store

    async def __call__(self, from_height: int, to_height: int) -> AsyncIterator[types_pb2.CertifiedBlock]:
        last = self._store.last_height()
        top = min(to_height or last, last, max(from_height, 1) + SERVE_MAX_BLOCKS - 1)
        for h in range(max(from_height, 1), top + 1):
            block = pbconv.certified_block(self._store, h)
            if block is None or not block.HasField("certificate"):
                return  # a block without its certificate yet: the fetcher cannot verify it
            yield block


class CatchUp:
    def __init__(self, transport: Transport, executor: BlockExecutor, store: KVStore) -> None:
        self._transport = transport
        self._executor = executor
        self._store = store
        self.bad_blocks = 0

    async def __call__(self, target: int) -> int:
        """Fetch up to `target` (0 = as far as peers have certified blocks); returns our height."""
        peers = [m.index for m in self._transport.genesis.members if m.index != self._transport.me]
        connected = set(self._transport.connected_peers())
        peers.sort(key=lambda m: (m not in connected, m))
        for peer in peers:
            if target and self._store.last_height() >= target:
                break
            await self._from_peer(peer, target)
        return self._store.last_height()

    async def _from_peer(self, peer: int, target: int) -> None:
        while True:
            start = self._store.last_height() + 1
            if target and start > target:
                return
            stub = peer_pb2_grpc.PeerStub(self._transport.channel(peer))
            request = peer_pb2.FetchBlocksRequest(from_height=start, to_height=target)
            got = 0
            try:
                async for cb in stub.FetchBlocks(request, timeout=FETCH_TIMEOUT_S):
                    envelopes = [pbconv.envelope_from_pb(t) for t in cb.block.txs]
                    try:
                        self._executor.apply_certified(
                            bytes(cb.block.header), envelopes, cb.certificate.SerializeToString()
                        )
                    except (InvalidCertifiedBlock, ExecutionError) as exc:
                        self.bad_blocks += 1
                        log.warning("member %d served a block that does not check out: %s", peer, exc)
                        return
                    got += 1
                    # A block's re-execution takes ~25 ms at 400 txs: let the driver's loop run
                    # between blocks even when the stream has many of them buffered.
                    await asyncio.sleep(0)
            except grpc.aio.AioRpcError as exc:
                log.info("catch-up from member %d stopped: %s", peer, exc.details())
                return
            if got == 0:
                return
