"""The driver: catch-up beside the loop, and link reports around a pause of the node itself.

Catch-up, found in long full-load runs: a catch-up awaited inside a driver round re-executed hundreds of
blocks while the loop read no frame, so the lagging node came back further behind than it
left. Here a real Driver (real Replica, executor, mempool and validator on a memory store,
real Ed25519 keys) is fed a real pre-prepare while its catch-up is held, then the catch-up
applies a real certified chain.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from baaskit.consensus import (
    Batch,
    BatchCommitted,
    ClusterConfig,
    Ed25519Signer,
    Ed25519Verifier,
    Ready,
    Replica,
    StateTransferRequested,
)
from baaskit.consensus.replica import LINK_LOSS_TICKS
from baaskit.node import driver as driver_module
from baaskit.node import pbconv
from baaskit.node.api import SubscriptionHub
from baaskit.node.certificates import BlockCertificate, CertificateCollector
from baaskit.node.driver import (
    CATCHUP_BLOCKS,
    DRIVER_ROUNDS,
    PROPOSALS,
    SELF_PAUSE_MS,
    Driver,
    DriverParams,
)
from baaskit.node.executor import BlockExecutor, ExecutedBlock
from baaskit.node.holds import HoldTracker
from baaskit.node.mempool import Mempool
from baaskit.node.metrics import SIGNATURE_VERIFICATIONS, Metrics
from baaskit.node.proposal import encode_proposal
from baaskit.node.service import CommitWatch
from baaskit.node.storage import MemoryStore
from baaskit.node.ticker import now_ms
from baaskit.node.validation import ProposalValidator
from baaskit.node.verified import VerifiedTxCache
from baaskit.tx import TxEnvelope
from baaskit.wire.v1 import peer_pb2, types_pb2

from .chain import GENESIS_TIME, certify, kv_app, make_chain

CHAIN = make_chain()
ME = 1
GUARD_S = 20.0  # failure guard only: the awaited event happens in milliseconds when it happens


class RecordingTransport:
    """What the driver sends, kept for the test (the Transport interface the driver uses)."""

    def __init__(self) -> None:
        self.consensus: list[tuple[int | None, bytes]] = []
        self.held: list[tuple[int, list[bytes]]] = []
        self.sent = asyncio.Event()
        self.peers = [m.index for m in CHAIN.genesis.members if m.index != ME]

    def send_consensus(self, to: int | None, data: bytes) -> None:
        self.consensus.append((to, data))
        self.sent.set()

    def send_txs(
        self, txs: list[types_pb2.TxEnvelope], to: int | None = None, urgent: bool = True
    ) -> None:
        pass

    def send_header_signature(self, sig: types_pb2.HeaderSignature, to: int | None = None) -> None:
        pass

    def send_held_tx_ids(self, to: int, tx_ids: list[bytes]) -> None:
        self.held.append((to, list(tx_ids)))

    def flush(self, force: bool = False) -> None:
        pass

    def connected_peers(self) -> list[int]:
        return list(self.peers)


def certified_chain(heights: int) -> tuple[list[ExecutedBlock], list[BlockCertificate]]:
    """Blocks 1..heights executed by members 0, 2 and 3, each with a 3-signature certificate."""
    executors = []
    for member in (0, 2, 3):
        ex = BlockExecutor(MemoryStore(), kv_app(), CHAIN.genesis, member, CHAIN.node_keys[member])
        ex.ensure_genesis()
        executors.append(ex)
    blocks: list[ExecutedBlock] = []
    certs: list[BlockCertificate] = []
    for h in range(1, heights + 1):
        payload = CHAIN.proposal(GENESIS_TIME + h, [CHAIN.tx(f"k{h}", "v")])
        done = [ex.execute(h, 0, 0, payload) for ex in executors]
        blocks.append(done[0])
        certs.append(certify(CHAIN.genesis, done))
    return blocks, certs


def make_driver(
    store: MemoryStore,
    transport: RecordingTransport,
    metrics: Metrics,
    catch_up: Callable[[int], Awaitable[int]],
    me: int = ME,
    params: DriverParams | None = None,
    holds: HoldTracker | None = None,
) -> tuple[Driver, BlockExecutor, Mempool]:
    cache = VerifiedTxCache(metrics=metrics)
    executor = BlockExecutor(
        store, kv_app(), CHAIN.genesis, me, CHAIN.node_keys[me], metrics, verified=cache
    )
    executor.ensure_genesis()
    enrolled = CHAIN.genesis.enrolled_keys()
    mempool = Mempool(1_000, cache, enrolled, CHAIN.genesis.chain_id, metrics)
    validator = ProposalValidator(
        CHAIN.genesis.chain_id, cache, enrolled, store, proposals=executor.proposals
    )
    config = ClusterConfig(n=CHAIN.genesis.n, chain_id=CHAIN.genesis.chain_id)
    replica = Replica(
        config, me, Ed25519Signer(CHAIN.node_keys[me]), Ed25519Verifier(CHAIN.genesis.member_keys())
    )
    driver = Driver(
        genesis=CHAIN.genesis,
        me=me,
        replica=replica,
        store=store,
        executor=executor,
        mempool=mempool,
        validator=validator,
        collector=CertificateCollector(CHAIN.genesis, metrics),
        transport=transport,  # type: ignore[arg-type]
        metrics=metrics,
        hub=SubscriptionHub(),
        watch=CommitWatch(),
        holds=holds if holds is not None else HoldTracker(CHAIN.genesis.f),
        params=params or DriverParams(catchup_lag=8),
        catch_up=catch_up,
    )
    return driver, executor, mempool


def pre_prepare_from_primary(envelopes: list[TxEnvelope]) -> bytes:
    primary = Replica(
        ClusterConfig(n=CHAIN.genesis.n, chain_id=CHAIN.genesis.chain_id),
        0,
        Ed25519Signer(CHAIN.node_keys[0]),
        Ed25519Verifier(CHAIN.genesis.member_keys()),
    )
    ready = primary.propose(Batch(encode_proposal(now_ms(), envelopes, view=0, proposer=0)))
    (message,) = ready.messages
    return message.data


async def until(condition: Callable[[], bool]) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), GUARD_S)


def test_the_loop_votes_and_then_installs_the_state_while_a_catch_up_runs_beside_it() -> None:
    blocks, certs = certified_chain(10)

    async def scenario() -> None:
        store, transport, metrics = MemoryStore(), RecordingTransport(), Metrics()
        release = asyncio.Event()
        fetching = asyncio.Event()

        async def catch_up(target: int) -> int:
            fetching.set()
            await release.wait()  # a slow peer: the fetch takes as long as the test wants
            for i, (block, cert) in enumerate(zip(blocks, certs, strict=True)):
                if i == 5:
                    await release_rest.wait()
                executor.apply_certified(block.header_bytes, block.envelopes, cert.encode())
                await asyncio.sleep(0)
            return store.last_height()

        release_rest = asyncio.Event()

        driver, executor, mempool = make_driver(store, transport, metrics, catch_up)
        # A client's tx that block 3 of the certified chain commits: catch-up must drop it.
        (committed_elsewhere,) = blocks[2].envelopes
        mempool.admit([committed_elsewhere], store.is_committed)
        loop_task = asyncio.create_task(driver.run())
        try:
            # Header votes name height 10: 10 blocks above us (lag limit 8). One peer's word is
            # not enough (it could be the faulty one); a second peer's, f+1 in all, is.
            votes = certs[9].to_proto().signatures  # members 0, 2 and 3 over header 10
            await driver.on_frame(0, peer_pb2.PeerFrame(header_signatures=[votes[0]]))
            await driver.on_tick()
            await until(lambda: metrics.get(DRIVER_ROUNDS) >= 1)
            await asyncio.sleep(0.05)  # room for a fetch task to start, if one had been created
            assert not fetching.is_set()
            await driver.on_frame(2, peer_pb2.PeerFrame(header_signatures=[votes[1]]))
            await driver.on_tick()
            await asyncio.wait_for(fetching.wait(), GUARD_S)

            # The catch-up is held; a pre-prepare arrives: the loop validates it and prepares.
            await driver.on_frame(
                0, peer_pb2.PeerFrame(consensus=[pre_prepare_from_primary([CHAIN.tx("new", "1")])])
            )
            await asyncio.wait_for(transport.sent.wait(), GUARD_S)
            assert not release.is_set()
            assert (
                transport.consensus and transport.consensus[0][0] is None
            )  # the prepare, to every peer

            # A peer forwards a tx that block 8 (still to be fetched) commits: it waits for the
            # fetch, then costs no signature verification and never enters the mempool.
            (in_block_8,) = blocks[7].envelopes
            verified = metrics.get(SIGNATURE_VERIFICATIONS)
            await driver.on_frame(2, peer_pb2.PeerFrame(txs=[pbconv.envelope_to_pb(in_block_8)]))

            release.set()  # 5 blocks come, then the fetch waits again: ticks install them
            await until(lambda: store.last_height() == 5)
            await driver.on_tick()
            await until(lambda: driver.replica.last_executed == 5)
            release_rest.set()
            await until(lambda: driver.replica.last_executed == 10)
            assert store.last_height() == 10
            assert metrics.snapshot()[CATCHUP_BLOCKS] == 10
            assert committed_elsewhere.tx_id not in mempool
            assert in_block_8.tx_id not in mempool
            assert metrics.get(SIGNATURE_VERIFICATIONS) == verified
        finally:
            loop_task.cancel()
            await asyncio.gather(loop_task, return_exceptions=True)

    asyncio.run(scenario())


def test_a_state_transfer_holds_later_commits_until_the_fetch_reaches_its_target() -> None:
    """consensus/ready.py rule 3, with the fetch beside the loop: a batch committed after the
    transfer target waits for the transferred blocks, then executes on top of them."""
    blocks, certs = certified_chain(10)

    async def scenario() -> None:
        store, transport, metrics = MemoryStore(), RecordingTransport(), Metrics()
        release = asyncio.Event()

        fetches = [0]

        async def catch_up(target: int) -> int:
            fetches[0] += 1
            await release.wait()
            for block, cert in zip(blocks[:8], certs[:8], strict=True):  # peers certified 8 so far
                executor.apply_certified(block.header_bytes, block.envelopes, cert.encode())
            if release_rest.is_set():
                for block, cert in zip(blocks[8:], certs[8:], strict=True):
                    executor.apply_certified(block.header_bytes, block.envelopes, cert.encode())
                # The target is reached, not yet installed, and the next batch commits.
                driver._process(Ready(committed=(next_one,)))
            return store.last_height()

        release_rest = asyncio.Event()
        driver, executor, _ = make_driver(store, transport, metrics, catch_up)
        later = CHAIN.tx("later", "1")
        after_target = BatchCommitted(
            seq=11, view=0, batch=Batch(CHAIN.proposal(GENESIS_TIME + 11, [later]))
        )
        next_tx = CHAIN.tx("next", "1")
        next_one = BatchCommitted(
            seq=12, view=0, batch=Batch(CHAIN.proposal(GENESIS_TIME + 12, [next_tx]))
        )
        transfer = StateTransferRequested(
            seq=10, state_digest=blocks[9].state_digest, replicas=(0, 2, 3)
        )
        driver._process(Ready(state_transfer=(transfer,), committed=(after_target,)))
        assert store.last_height() == 0  # held, not executed on the genesis state

        loop_task = asyncio.create_task(driver.run())
        try:
            release.set()  # the first fetch stops at 8: still short of the target
            await until(lambda: metrics.snapshot().get(CATCHUP_BLOCKS) == 8)
            await until(lambda: fetches[0] == 1 and driver._catching_up is None)
            await driver.on_tick()
            assert store.last_height() == 8
            # Batches are held: the next tick fetches again (no one-second pause).
            await until(lambda: fetches[0] == 2)
            release_rest.set()  # a later fetch reaches 10
            while store.last_height() < 12:
                await driver.on_tick()
                await asyncio.sleep(0.05)
            assert store.get_block(11) is not None
            assert [e.tx_id for e in store.get_block(11).envelopes] == [later.tx_id]  # type: ignore[union-attr]
            assert [e.tx_id for e in store.get_block(12).envelopes] == [next_tx.tx_id]  # type: ignore[union-attr]
        finally:
            loop_task.cancel()
            await asyncio.gather(loop_task, return_exceptions=True)

    asyncio.run(asyncio.wait_for(scenario(), GUARD_S))


@pytest.mark.parametrize("paused", [False, True])
def test_a_link_that_dropped_while_this_node_was_paused_is_not_held_against_the_primary(
    paused: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a pause, a dropped link to the primary makes a backup with work held suspect
    the primary after LINK_LOSS_TICKS (it leaves the view once f+1 replicas do; here no peer
    answers). After a pause of the node itself (a tick gap past SELF_PAUSE_MS), the same drop
    is not reported, and the backup does not suspect anyone."""
    offset = [0]
    real = driver_module.monotonic_ms
    monkeypatch.setattr(driver_module, "monotonic_ms", lambda: real() + offset[0])

    async def scenario() -> None:
        store, transport, metrics = MemoryStore(), RecordingTransport(), Metrics()

        async def no_catch_up(target: int) -> int:
            return store.last_height()

        driver, _, mempool = make_driver(store, transport, metrics, no_catch_up)
        mempool.admit([CHAIN.tx("held", "1")], store.is_committed)  # work held: the timer runs
        loop_task = asyncio.create_task(driver.run())

        async def tick() -> None:
            rounds = metrics.get(DRIVER_ROUNDS)
            await driver.on_tick()
            await until(lambda: metrics.get(DRIVER_ROUNDS) > rounds)

        try:
            await tick()  # every link up: the baseline
            if paused:
                offset[0] += SELF_PAUSE_MS + 10_000
            transport.peers = [2, 3]  # the stream from the primary broke
            for _ in range(2 * LINK_LOSS_TICKS):
                await tick()
            assert driver.replica.suspects_primary is not paused
            assert not driver.replica.in_view_change
        finally:
            loop_task.cancel()
            await asyncio.gather(loop_task, return_exceptions=True)

    asyncio.run(asyncio.wait_for(scenario(), GUARD_S))


def test_the_primary_paces_blocks_that_are_not_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """At most one block that is not full per min_block_interval_ms; a full block, or a tx after
    a quiet spell, is proposed at once. The driver's clock is the test's: nothing here waits on
    real time."""
    clock = [1_000_000]
    monkeypatch.setattr(driver_module, "monotonic_ms", lambda: clock[0])
    params = DriverParams(max_batch_txs=4, batch_delay_ms=0, min_block_interval_ms=1_000, max_inflight=4)

    async def scenario() -> None:
        store, transport, metrics = MemoryStore(), RecordingTransport(), Metrics()

        async def no_catch_up(target: int) -> int:
            return store.last_height()

        driver, _, mempool = make_driver(store, transport, metrics, no_catch_up, me=0, params=params)
        assert driver.replica.is_primary
        loop_task = asyncio.create_task(driver.run())

        async def admit(*keys: str) -> None:
            txs = [CHAIN.tx(key, "1") for key in keys]
            mempool.admit(txs, store.is_committed)
            driver.on_admitted(txs)
            rounds = metrics.get(DRIVER_ROUNDS)
            await driver.on_tick()  # a round after the kick: the proposal decision is made
            await until(lambda: metrics.get(DRIVER_ROUNDS) > rounds)

        try:
            await admit("first")  # nothing proposed before: at once
            assert metrics.get(PROPOSALS) == 1
            clock[0] += 10
            await admit("second")  # a quarter block is pending, but the last block is 10 ms old
            assert metrics.get(PROPOSALS) == 1
            clock[0] += 989
            await admit("third")
            assert metrics.get(PROPOSALS) == 1
            clock[0] += 1  # the interval has passed: both pending txs go in one block
            await admit()
            assert metrics.get(PROPOSALS) == 2
            assert mempool.pending_count == 0
            clock[0] += 1
            await admit("a", "b", "c", "d")  # a full block does not wait
            assert metrics.get(PROPOSALS) == 3
        finally:
            loop_task.cancel()
            await asyncio.gather(loop_task, return_exceptions=True)

    asyncio.run(asyncio.wait_for(scenario(), GUARD_S))


def test_forwarded_txs_are_reported_held_to_their_sender_and_peers_reports_settle_admitted_txs() -> None:
    """The two halves of "a Submit is answered once f peers hold its txs" (node/holds.py): this
    node tells a sender which of its forwarded txs it holds (not one whose signature fails), and
    a peer's report that it holds txs admitted here makes them safe."""
    holds = HoldTracker(CHAIN.genesis.f)

    async def scenario() -> None:
        store, transport, metrics = MemoryStore(), RecordingTransport(), Metrics()

        async def no_catch_up(target: int) -> int:
            return store.last_height()

        driver, _, mempool = make_driver(store, transport, metrics, no_catch_up, holds=holds)
        loop_task = asyncio.create_task(driver.run())
        try:
            good = [CHAIN.tx(f"fwd{i}", "1") for i in range(3)]
            forged = TxEnvelope(good[0].payload, good[0].signer, bytes(64))
            frame = peer_pb2.PeerFrame(txs=[pbconv.envelope_to_pb(e) for e in [forged, *good]])
            await driver.on_frame(2, frame)
            await until(lambda: bool(transport.held))
            assert transport.held == [(2, [e.tx_id for e in good])]
            assert all(e.tx_id in mempool for e in good)

            mine = [CHAIN.tx(f"mine{i}", "1") for i in range(2)]
            mempool.admit(mine, store.is_committed)
            holds.admitted(e.tx_id for e in mine)
            assert holds.unsafe(e.tx_id for e in mine) == [e.tx_id for e in mine]
            await driver.on_frame(3, peer_pb2.PeerFrame(held_tx_ids=[mine[0].tx_id]))
            await until(lambda: holds.unsafe([mine[0].tx_id]) == [])
            assert holds.unsafe(e.tx_id for e in mine) == [mine[1].tx_id]  # f = 1 holder each
        finally:
            loop_task.cancel()
            await asyncio.gather(loop_task, return_exceptions=True)

    asyncio.run(asyncio.wait_for(scenario(), GUARD_S))
