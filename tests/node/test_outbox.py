"""Peer outbox: urgent items leave at the next flush, lazy ones ride along or wait for a forced one."""

from __future__ import annotations

import asyncio

from baaskit.node.transport import _CONSENSUS, _SIG, _TX, Outbox, TransportStats


def test_lazy_items_wait_for_an_urgent_one_or_a_forced_flush() -> None:
    async def scenario() -> None:
        box = Outbox(100, TransportStats())
        box.put(_SIG, "sig", 150, urgent=False)
        box.put(_TX, "tx", 400, urgent=False)
        box.flush()
        assert not box._ready.is_set()  # nothing urgent: the writer sleeps
        box.flush(force=True)
        assert box._ready.is_set() and len(box) == 2

    asyncio.run(scenario())


def test_an_urgent_item_takes_the_lazy_ones_in_the_same_frame() -> None:
    from baaskit.wire.v1 import types_pb2

    async def scenario() -> None:
        stats = TransportStats()
        box = Outbox(100, stats)
        box.put(_SIG, types_pb2.HeaderSignature(height=3), 150, urgent=False)
        box.put(_TX, types_pb2.TxEnvelope(payload=b"p"), 100, urgent=False)
        box.put(_CONSENSUS, b"vote", 4)
        box.flush()
        assert box._ready.is_set()
        frame = box.take_frame()
        assert list(frame.consensus) == [b"vote"]
        assert [t.payload for t in frame.txs] == [b"p"]
        assert [s.height for s in frame.header_signatures] == [3]
        assert len(box) == 0 and stats.messages_sent == 3 and stats.consensus_bytes_sent == 4
        # The urgency went out with that frame: a later lazy item does not wake the writer.
        box._ready.clear()
        box.put(_SIG, types_pb2.HeaderSignature(height=4), 150, urgent=False)
        box.flush()
        assert not box._ready.is_set()

    asyncio.run(scenario())


def test_consensus_messages_leave_before_txs_queued_ahead_of_them() -> None:
    """On a link that cannot carry the load, forwarded txs pile up in the outbox; a view-change
    or vote queued after them still leaves in the next frame, and the txs follow in order."""
    from baaskit.node.transport import MAX_FRAME_BYTES
    from baaskit.wire.v1 import types_pb2

    async def scenario() -> None:
        stats = TransportStats()
        box = Outbox(10_000, stats)
        tx_size = 100_000
        n_txs = 2 * MAX_FRAME_BYTES // tx_size  # two frames' worth
        for i in range(n_txs):
            box.put(_TX, types_pb2.TxEnvelope(payload=i.to_bytes(4, "big")), tx_size)
        box.put(_CONSENSUS, b"view-change", 11)
        first = box.take_frame()
        assert list(first.consensus) == [b"view-change"]
        assert [int.from_bytes(t.payload, "big") for t in first.txs] == list(range(len(first.txs)))
        rest = [int.from_bytes(t.payload, "big") for t in box.take_frame().txs]
        assert rest == list(range(len(first.txs), n_txs))
        assert len(box) == 0

    asyncio.run(scenario())


def test_a_full_outbox_drops_the_oldest_tx_before_any_consensus_message() -> None:
    from baaskit.wire.v1 import types_pb2

    async def scenario() -> None:
        stats = TransportStats()
        box = Outbox(3, stats)
        box.put(_CONSENSUS, b"prepare", 7)
        box.put(_TX, types_pb2.TxEnvelope(payload=b"old"), 100)
        box.put(_TX, types_pb2.TxEnvelope(payload=b"new"), 100)
        box.put(_CONSENSUS, b"commit", 6)  # full: the oldest tx goes
        assert stats.dropped == 1 and len(box) == 3
        frame = box.take_frame()
        assert list(frame.consensus) == [b"prepare", b"commit"]
        assert [t.payload for t in frame.txs] == [b"new"]

    asyncio.run(scenario())
