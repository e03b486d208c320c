"""Peer transport: one long-lived mutual-TLS gRPC stream per pair of nodes, carrying frame batches.

The member with the lower index dials (`Peer.Connect`), its first frame is a Hello naming itself;
the acceptor checks that the TLS certificate the dialer presented is exactly the genesis member's
certificate and that the Hello names that same member, else it aborts with PERMISSION_DENIED.

Outgoing: one bounded `Outbox` per peer. A writer task drains everything queued into ONE PeerFrame
per write (consensus messages, forwarded transactions, header signatures), so under load a frame
carries hundreds of messages. Items are *urgent* (consensus messages, txs for the primary: a flush
sends them now) or *lazy* (header signatures, txs forwarded only so that a future primary has
them): lazy items ride in the next frame that goes to that peer anyway, or leave at the next
forced flush (every tick). A frame costs ~0.1 ms of CPU at each end, and at moderate load most
frames used to carry a single client request's txs or one header signature.
A frame takes the queued consensus messages first, then txs and header signatures in the order
queued: on a link that cannot carry the load, view-changes and votes must not wait behind
seconds of forwarded txs (pre-prepares carry their txs, so nothing depends on the forwarded
copy arriving first). When an outbox is full the oldest txs or signatures are dropped, else the
oldest consensus message (counted): PBFT tolerates message loss, and a forwarded tx is still
held by the node that admitted it.
Incoming: every frame is handed to `on_frame(sender, frame)`; awaiting it is the back-pressure.
A broken stream is re-dialed with exponential backoff; queued items wait for the next stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import grpc

from baaskit.genesis import Genesis
from baaskit.wire.v1 import peer_pb2, peer_pb2_grpc, types_pb2

from .tls import PeerIdentity, certificate_names, peer_channel_credentials

log = logging.getLogger(__name__)

FrameHandler = Callable[[int, peer_pb2.PeerFrame], Awaitable[None]]
BlockSource = Callable[[int, int], AsyncIterator[types_pb2.CertifiedBlock]]

DEFAULT_QUEUE_LIMIT = 50_000
MAX_FRAME_BYTES = 4 * 1024 * 1024
_BACKOFF_MIN_S = 0.05
_BACKOFF_MAX_S = 1.0


def grpc_options(max_message_bytes: int) -> list[tuple[str, int | str]]:
    return [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.keepalive_time_ms", 10_000),
        ("grpc.keepalive_timeout_ms", 5_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.min_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 1_000),
    ]


@dataclass
class TransportStats:
    frames_sent: int = 0
    frames_received: int = 0
    messages_sent: int = 0
    # Bytes of consensus messages handed to the streams: votes, pre-prepares (with their batch),
    # certificates and retransmissions. Forwarded txs and header signatures are not counted.
    consensus_bytes_sent: int = 0
    dropped: int = 0
    refused: int = 0
    connects: int = 0
    fetches_abandoned: int = 0  # block fetches served here that the fetcher left before the end

    def counters(self) -> dict[str, int]:
        """The Status metrics names of these counters."""
        return {
            "peer_frames_sent": self.frames_sent,
            "peer_frames_received": self.frames_received,
            "peer_messages_sent": self.messages_sent,
            "peer_consensus_bytes_sent": self.consensus_bytes_sent,
            "peer_outbox_dropped": self.dropped,
            "peer_streams_refused": self.refused,
            "peer_connects": self.connects,
            "peer_fetches_abandoned": self.fetches_abandoned,
        }


class Outbox:
    """Bounded queue of items for one peer; `take_frame` drains as much as fits in one frame,
    consensus messages first."""

    def __init__(self, limit: int, stats: TransportStats) -> None:
        self._consensus: deque[bytes] = deque()  # canonical messages (their size is len())
        self._others: deque[tuple[int, object, int]] = deque()  # (kind, item, size): txs, signatures, held ids
        self._limit = limit
        self._stats = stats
        self._ready = asyncio.Event()
        self._urgent = False  # an item queued since the last frame wants to leave at the next flush

    def __len__(self) -> int:
        return len(self._consensus) + len(self._others)

    def put(self, kind: int, item: object, size: int, urgent: bool = True) -> None:
        """Queue an item; an urgent one leaves at the next flush, a lazy one with the next frame
        or forced flush (see Transport.flush)."""
        if len(self) >= self._limit:
            if self._others:
                self._others.popleft()
            else:
                self._consensus.popleft()
            self._stats.dropped += 1
        if kind == _CONSENSUS:
            assert isinstance(item, bytes)
            self._consensus.append(item)
        else:
            self._others.append((kind, item, size))
        self._urgent = self._urgent or urgent

    def flush(self, force: bool = False) -> None:
        if self and (self._urgent or force):
            self._ready.set()

    async def wait(self) -> None:
        while not self:
            self._ready.clear()
            await self._ready.wait()

    def take_frame(self) -> peer_pb2.PeerFrame:
        frame = peer_pb2.PeerFrame()
        self._urgent = False
        budget = MAX_FRAME_BYTES
        consensus: list[bytes] = []
        txs: list[types_pb2.TxEnvelope] = []
        sigs: list[types_pb2.HeaderSignature] = []
        held: list[bytes] = []
        # At least one item per frame, even one over the budget.
        while self._consensus and (budget > 0 or not consensus):
            data = self._consensus.popleft()
            budget -= len(data)
            consensus.append(data)
            self._stats.consensus_bytes_sent += len(data)
        while self._others and (budget > 0 or not (consensus or txs or sigs or held)):
            kind, item, size = self._others.popleft()
            budget -= size
            if kind == _TX:
                txs.append(item)  # type: ignore[arg-type]
            elif kind == _SIG:
                sigs.append(item)  # type: ignore[arg-type]
            else:
                assert isinstance(item, list)
                held.extend(item)
        frame.consensus.extend(consensus)
        frame.txs.extend(txs)
        frame.header_signatures.extend(sigs)
        frame.held_tx_ids.extend(held)
        self._stats.messages_sent += len(consensus) + len(txs) + len(sigs) + len(held)
        return frame


_CONSENSUS, _TX, _SIG, _HELD = 0, 1, 2, 3


class _Link:
    def __init__(self, member: int, outbox: Outbox) -> None:
        self.member = member
        self.outbox = outbox
        self.task: asyncio.Task[None] | None = None  # the stream currently serving this link
        self.connected = asyncio.Event()


class Transport:
    def __init__(
        self,
        genesis: Genesis,
        me: int,
        *,
        tls_cert_pem: bytes,
        tls_key_pem: bytes,
        on_frame: FrameHandler,
        block_source: BlockSource | None = None,
        queue_limit: int = DEFAULT_QUEUE_LIMIT,
        max_message_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.genesis = genesis
        self.me = me
        self.stats = TransportStats()
        self._identity = PeerIdentity(genesis)
        self._on_frame = on_frame
        self.block_source = block_source
        self._creds = peer_channel_credentials(tls_cert_pem, tls_key_pem, genesis.ca_cert_pem.encode())
        self._options = grpc_options(max_message_bytes)
        self._links = {
            m.index: _Link(m.index, Outbox(queue_limit, self.stats)) for m in genesis.members if m.index != me
        }
        self._channels: dict[int, grpc.aio.Channel] = {}
        self._dialers: list[asyncio.Task[None]] = []
        self._closing = False

    # ---- sending -------------------------------------------------------------------------

    def send_consensus(self, to: int | None, data: bytes) -> None:
        """Queue one canonical consensus message for `to`, or for every peer when `to` is None."""
        for link in self._targets(to):
            link.outbox.put(_CONSENSUS, data, len(data))

    def send_txs(self, txs: list[types_pb2.TxEnvelope], to: int | None = None, urgent: bool = True) -> None:
        for link in self._targets(to):
            for tx in txs:
                link.outbox.put(_TX, tx, len(tx.payload) + 100, urgent)

    def send_header_signature(self, sig: types_pb2.HeaderSignature, to: int | None = None) -> None:
        """Lazy: certificates are not on the commit path, so the vote rides with the next frame."""
        for link in self._targets(to):
            link.outbox.put(_SIG, sig, 150, urgent=False)

    def send_held_tx_ids(self, to: int, tx_ids: list[bytes]) -> None:
        """Urgent: the peer's client waits for these (its Submit is answered once f peers hold
        the txs, node/holds.py). One item for the whole list, so it leaves in one frame."""
        for link in self._targets(to):
            link.outbox.put(_HELD, tx_ids, 34 * len(tx_ids))

    def flush(self, force: bool = False) -> None:
        """Wake the writers of peers with urgent items queued (all peers with anything queued if
        `force`): everything queued goes out as one frame per peer. The driver flushes once per
        round (forced on ticks), so a round's votes, txs and header signatures share a frame
        instead of paying the per-message cost of a gRPC stream write each."""
        for link in self._links.values():
            link.outbox.flush(force)

    def _targets(self, to: int | None) -> list[_Link]:
        if to is None:
            return list(self._links.values())
        link = self._links.get(to)
        return [link] if link is not None else []

    def connected_peers(self) -> list[int]:
        return sorted(m for m, link in self._links.items() if link.connected.is_set())

    def queued(self) -> int:
        return sum(len(link.outbox) for link in self._links.values())

    # ---- lifecycle -----------------------------------------------------------------------

    def channel(self, member: int) -> grpc.aio.Channel:
        """A mutual-TLS channel to `member` (dialing and FetchBlocks share it)."""
        ch = self._channels.get(member)
        if ch is None:
            m = self.genesis.members[member]
            options = list(self._options)
            names = certificate_names(m.tls_cert_pem.encode())
            if names and m.host not in names:
                options.append(("grpc.ssl_target_name_override", names[0]))
            ch = grpc.aio.secure_channel(f"{m.host}:{m.peer_port}", self._creds, options=options)
            self._channels[member] = ch
        return ch

    def start(self) -> None:
        for member in self._links:
            if self.me < member:
                self._dialers.append(asyncio.create_task(self._dial_forever(member), name=f"dial-{member}"))

    async def stop(self) -> None:
        self._closing = True
        tasks = list(self._dialers) + [link.task for link in self._links.values() if link.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for ch in self._channels.values():
            await ch.close(grace=None)
        self._channels.clear()

    # ---- the two sides of a stream -------------------------------------------------------

    async def _dial_forever(self, member: int) -> None:
        backoff = _BACKOFF_MIN_S
        stub = peer_pb2_grpc.PeerStub(self.channel(member))
        while not self._closing:
            call = stub.Connect()
            try:
                await call.write(peer_pb2.PeerFrame(hello=peer_pb2.Hello(chain_id=self.genesis.chain_id, member=self.me)))
                first = await call.read()
                if first is grpc.aio.EOF or not first.HasField("hello") or first.hello.member != member:
                    raise ConnectionError(f"member {member} did not answer with its Hello")
                backoff = _BACKOFF_MIN_S
                log.info("connected to member %d", member)
                await self._serve_link(member, call.read, call.write)
            except asyncio.CancelledError:
                call.cancel()
                raise
            except (grpc.aio.AioRpcError, ConnectionError, grpc.aio.UsageError) as exc:
                detail = exc.details() if isinstance(exc, grpc.aio.AioRpcError) else str(exc)
                log.debug("stream to member %d ended: %s", member, detail)
            finally:
                call.cancel()
            if self._closing:
                return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _BACKOFF_MAX_S)

    async def accept(self, context: grpc.aio.ServicerContext) -> None:
        """Serve an incoming Connect stream (the acceptor side)."""
        member = self._identity.member_of_context(context)
        if member is None or member == self.me:
            self.stats.refused += 1
            log.warning("refused a peer stream: TLS certificate is not a genesis member's (%s)", context.peer())
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "TLS certificate is not a genesis member's")
            return
        first = await context.read()
        if (
            first is grpc.aio.EOF
            or not first.HasField("hello")
            or first.hello.chain_id != self.genesis.chain_id
            or first.hello.member != member
        ):
            self.stats.refused += 1
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED, "Hello must name this chain and the member of the TLS certificate"
            )
            return
        await context.write(peer_pb2.PeerFrame(hello=peer_pb2.Hello(chain_id=self.genesis.chain_id, member=self.me)))
        log.info("accepted stream from member %d", member)
        await self._serve_link(member, context.read, context.write)

    async def _serve_link(
        self,
        member: int,
        read: Callable[[], Awaitable[object]],
        write: Callable[[peer_pb2.PeerFrame], Awaitable[None]],
    ) -> None:
        link = self._links[member]
        me = asyncio.current_task()
        previous = link.task
        if previous is not None and previous is not me and not previous.done():
            previous.cancel()  # a newer stream replaces a stale one
        link.task = me
        link.connected.set()
        self.stats.connects += 1
        writer = asyncio.create_task(self._write_loop(link, write), name=f"write-{member}")
        try:
            while True:
                frame = await read()
                if frame is grpc.aio.EOF:
                    return
                assert isinstance(frame, peer_pb2.PeerFrame)
                self.stats.frames_received += 1
                await self._on_frame(member, frame)
                if writer.done():
                    writer.result()  # re-raise the writer's error: the stream is broken
                    return
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer
            if link.task is me:
                link.task = None
                link.connected.clear()

    async def _write_loop(self, link: _Link, write: Callable[[peer_pb2.PeerFrame], Awaitable[None]]) -> None:
        while True:
            await link.outbox.wait()
            frame = link.outbox.take_frame()
            await write(frame)
            self.stats.frames_sent += 1


class PeerService(peer_pb2_grpc.PeerServicer):
    """The Peer gRPC service: Connect streams and FetchBlocks for catch-up."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport
        self._identity = PeerIdentity(transport.genesis)

    async def Connect(self, request_iterator: object, context: grpc.aio.ServicerContext) -> None:
        await self._t.accept(context)

    async def FetchBlocks(self, request: peer_pb2.FetchBlocksRequest, context: grpc.aio.ServicerContext) -> None:
        if self._identity.member_of_context(context) is None:
            self._t.stats.refused += 1
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "TLS certificate is not a genesis member's")
        source = self._t.block_source
        if source is None:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "this node does not serve blocks yet")
            return
        if not await serve_blocks(source(request.from_height, request.to_height), context):
            self._t.stats.fetches_abandoned += 1


async def serve_blocks(blocks: AsyncIterator[types_pb2.CertifiedBlock], context: grpc.aio.ServicerContext) -> bool:
    """Write `blocks` to a FetchBlocks stream; False if the fetcher left first.

    A fetcher that is re-executing blocks reads slowly, so the server waits in a write under
    flow control; when the fetcher's deadline passes (or it cancels, or its link breaks), that
    write fails inside gRPC. Yielded from the servicer, the failure reached gRPC's handler, which
    logged an ERROR with a traceback for a routine event (found killing and restarting a backup
    under full load: its 30 s fetch deadline passed while the server was streaming)."""
    async for block in blocks:
        try:
            await context.write(block)
        except Exception as exc:  # gRPC's failed-write error type is private
            log.info("a block fetch ended before the fetcher read it all: %s", type(exc).__name__)
            return False
    return True
