"""Build and run one node from its NodeConfig (`baaskit node --config FILE`).

Wires the parts together: LevelDB store, executor, mempool, validator, certificate collector,
PBFT replica (restored from its records), driver, ticker, peer transport (mutual TLS) and the
client API (TLS) with gRPC health checking and server reflection. Logs go to the config's log
file. SIGTERM/SIGINT stop it gracefully. Start-up problems raise NodeStartError with a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from baaskit.consensus import ClusterConfig, Ed25519Signer, Ed25519Verifier, Replica, decode_record
from baaskit.contracts.builtin import default_application
from baaskit.wire.v1 import api_pb2, peer_pb2, peer_pb2_grpc

from .api import ApiService, SubscriptionHub, add_api_service
from .catchup import BlockServer, CatchUp
from .certificates import CertificateCollector
from .config import NodeConfig
from .driver import Driver, DriverParams
from .executor import BlockExecutor, ExecutionError
from .holds import HoldTracker
from .mempool import Mempool
from .metrics import Metrics
from .service import CommitWatch, NodeService
from .storage import LevelStore, StoreError
from .ticker import Ticker
from .tls import api_server_credentials, peer_server_credentials
from .transport import Transport, grpc_options
from .validation import ProposalValidator
from .verified import VerifiedTxCache

log = logging.getLogger("baaskit.node")

STARTUP_CATCHUP_S = 5.0


class NodeStartError(Exception):
    """The node cannot start (port in use, store locked, wrong genesis...); message says why."""


def setup_logging(log_file: Path, verbose: bool = False) -> None:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_file)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


def _bind(server: grpc.aio.Server, address: str, creds: grpc.ServerCredentials, what: str) -> None:
    try:
        port = server.add_secure_port(address, creds)
    except RuntimeError as exc:
        raise NodeStartError(f"cannot listen on {address} ({what}): {exc} — is the port in use?") from None
    if port == 0:
        raise NodeStartError(f"cannot listen on {address} ({what}): port in use?")


async def run_node(cfg: NodeConfig, stop: asyncio.Event | None = None) -> None:
    genesis = cfg.genesis
    me = cfg.member
    key = cfg.load_node_key()
    cert_pem, key_pem, ca_pem = cfg.read_tls()
    metrics = Metrics()
    try:
        store = LevelStore(cfg.data_dir, metrics)
    except StoreError as exc:
        raise NodeStartError(f"data directory {cfg.data_dir}: {exc}") from None
    try:
        app = default_application()
        # Entries leave at commit; the bound covers a full mempool plus a proposal pipeline.
        cache = VerifiedTxCache(capacity=2 * cfg.mempool_capacity + 4 * cfg.max_batch_txs, metrics=metrics)
        executor = BlockExecutor(store, app, genesis, me, key, metrics, verified=cache)
        try:
            executor.ensure_genesis()
        except (StoreError, ExecutionError) as exc:
            raise NodeStartError(f"data directory {cfg.data_dir}: {exc}") from None
        await _serve(cfg, store, executor, app, metrics, key, cert_pem, key_pem, ca_pem, stop, cache)
    finally:
        store.close()


async def _serve(
    cfg: NodeConfig,
    store: LevelStore,
    executor: BlockExecutor,
    app: object,
    metrics: Metrics,
    key: object,
    cert_pem: bytes,
    key_pem: bytes,
    ca_pem: bytes,
    stop: asyncio.Event | None,
    cache: VerifiedTxCache,
) -> None:
    genesis = cfg.genesis
    me = cfg.member
    enrolled = genesis.enrolled_keys()
    mempool = Mempool(cfg.mempool_capacity, cache, enrolled, genesis.chain_id, metrics)
    validator = ProposalValidator(
        genesis.chain_id, cache, enrolled, store, max_txs=cfg.max_batch_txs, metrics=metrics, proposals=executor.proposals
    )
    collector = CertificateCollector(genesis, metrics)
    hub = SubscriptionHub()
    watch = CommitWatch()

    driver_box: list[Driver] = []

    async def on_frame(sender: int, frame: peer_pb2.PeerFrame) -> None:
        if driver_box:
            await driver_box[0].on_frame(sender, frame)

    transport = Transport(
        genesis,
        me,
        tls_cert_pem=cert_pem,
        tls_key_pem=key_pem,
        on_frame=on_frame,
        block_source=BlockServer(store),
    )
    health = HealthServicer()

    peer_server = grpc.aio.server(options=grpc_options(64 * 1024 * 1024))
    peer_pb2_grpc.add_PeerServicer_to_server(_peer_service(transport), peer_server)
    health_pb2_grpc.add_HealthServicer_to_server(health, peer_server)
    _bind(peer_server, f"{cfg.peer_host}:{cfg.peer_port}", peer_server_credentials(cert_pem, key_pem, ca_pem), "peer")

    api_server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", cfg.max_request_bytes),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
        ]
    )
    ready_flag = {"ready": False}

    def admitted(envs: list) -> None:  # type: ignore[type-arg]
        if driver_box:
            driver_box[0].on_admitted(envs)

    def consensus_status() -> tuple[int, int, int]:
        return driver_box[0].consensus_status() if driver_box else (0, 0, 0)

    holds = HoldTracker(genesis.f)  # a Submit is answered once f peers hold its txs
    service = NodeService(
        genesis=genesis,
        me=me,
        store=store,
        mempool=mempool,
        app=app,  # type: ignore[arg-type]
        metrics=metrics,
        watch=watch,
        holds=holds,
        on_admitted=admitted,
        consensus_status=consensus_status,
        tx_proof=executor.tx_proof,
        ready=lambda: ready_flag["ready"],
        runtime_counters=transport.stats.counters,
    )
    add_api_service(ApiService(service, hub), api_server)
    health_pb2_grpc.add_HealthServicer_to_server(health, api_server)
    reflection.enable_server_reflection(
        (
            api_pb2.DESCRIPTOR.services_by_name["Api"].full_name,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        api_server,
    )
    _bind(api_server, f"{cfg.api_host}:{cfg.api_port}", api_server_credentials(cert_pem, key_pem), "client API")

    await peer_server.start()
    await api_server.start()
    await health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    log.info("member %d (%s) listening: api %s:%d, peer %s:%d", me, cfg.name, cfg.api_host, cfg.api_port, cfg.peer_host, cfg.peer_port)
    transport.start()
    tasks: list[asyncio.Task[None]] = []
    try:
        catch_up = CatchUp(transport, executor, store)
        # Start-up catch-up: take what certified blocks peers have before rejoining consensus.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(catch_up(0), STARTUP_CATCHUP_S)
        records = [decode_record(r) for r in store.load_consensus_records()]
        config = ClusterConfig(
            n=genesis.n,
            chain_id=genesis.chain_id,
            request_timeout_ticks=cfg.request_timeout_ticks,
            view_change_timeout_ticks=cfg.view_change_timeout_ticks,
        )
        signer = Ed25519Signer(key)  # type: ignore[arg-type]
        verifier = Ed25519Verifier(genesis.member_keys())
        replica = Replica.restore(config, me, signer, verifier, records, store.last_height(), store.state_digest())
        driver = Driver(
            genesis=genesis,
            me=me,
            replica=replica,
            store=store,
            executor=executor,
            mempool=mempool,
            validator=validator,
            collector=collector,
            transport=transport,
            metrics=metrics,
            hub=hub,
            watch=watch,
            holds=holds,
            params=DriverParams(
                max_batch_txs=cfg.max_batch_txs,
                batch_delay_ms=cfg.batch_delay_ms,
                min_block_interval_ms=cfg.min_block_interval_ms,
                max_inflight=cfg.max_inflight,
                block_time_skew_ms=cfg.block_time_skew_ms,
            ),
            catch_up=catch_up,
        )
        driver_box.append(driver)
        ticker = Ticker(cfg.tick_ms, driver.on_tick)
        tasks = [asyncio.create_task(driver.run(), name="driver"), asyncio.create_task(ticker.run(), name="ticker")]
        ready_flag["ready"] = True
        await health.set("", health_pb2.HealthCheckResponse.SERVING)
        log.info("member %d ready at height %d, view %d", me, store.last_height(), replica.view)
        waiter = asyncio.create_task((stop or asyncio.Event()).wait())
        done, _ = await asyncio.wait([*tasks, waiter], return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            if t is not waiter and t.exception() is not None:
                log.error("task %s crashed", t.get_name(), exc_info=t.exception())
                raise NodeStartError(f"node task {t.get_name()} crashed: {t.exception()!r}")
        log.info("stopping")
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        await health.enter_graceful_shutdown()
        await transport.stop()
        await api_server.stop(grace=1.0)
        await peer_server.stop(grace=0.5)


def _peer_service(transport: Transport) -> peer_pb2_grpc.PeerServicer:
    from .transport import PeerService

    return PeerService(transport)


def memory_report(frames: int) -> Callable[[], None]:
    """BAASKIT_TRACEMALLOC=N (frames per trace): trace allocations; each SIGUSR1 logs the 15
    allocation sites that grew most since the previous signal (a memory-growth hunt in production)."""
    tracemalloc.start(max(1, frames))
    previous: list[tracemalloc.Snapshot] = []

    def report() -> None:
        snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
        if previous:
            stats = snapshot.compare_to(previous[-1], "traceback")
            lines = [f"{s.size_diff / 1024:+9.0f} KiB {s.count_diff:+8d} blocks  {s.traceback.format()[-1].strip()}" for s in stats[:15]]
        else:
            stats_now = snapshot.statistics("lineno")
            lines = [f"{s.size / 1024:9.0f} KiB {s.count:8d} blocks  {s.traceback}" for s in stats_now[:15]]
        previous[:] = [snapshot]
        log.warning("memory report (traced %.1f MiB):\n%s", tracemalloc.get_traced_memory()[0] / 2**20, "\n".join(lines))

    return report


# Young-generation threshold of the cyclic GC in a node process (CPython's default is 700). A
# node allocates a few container objects per tx and makes almost no cycles, so the default ran
# ~65 collections/s at full load, and the full ones walked every cached decoded tx. Measured at
# full load: GC CPU 7-8 -> ~1 us per tx per node, with the same RSS.
GC_YOUNG_THRESHOLD = 10_000


def tune_gc() -> None:
    """Process-wide GC setting for a node (not done for in-process test nodes): objects alive
    after start-up (modules, protobuf descriptors, gRPC) move to the permanent generation, which
    collections never walk, and young collections run less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def serve_forever(cfg: NodeConfig, verbose: bool = False) -> None:
    """Run until SIGTERM/SIGINT. Raises NodeStartError on start-up problems."""
    setup_logging(cfg.log_file, verbose)
    tune_gc()
    profile_path = os.environ.get("BAASKIT_CPROFILE")
    if profile_path:
        import cProfile
        import time

        prof = cProfile.Profile(time.thread_time)  # CPU time of the event-loop thread
        prof.enable()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if os.environ.get("BAASKIT_TRACEMALLOC"):
            loop.add_signal_handler(signal.SIGUSR1, memory_report(int(os.environ["BAASKIT_TRACEMALLOC"])))
        await run_node(cfg, stop)

    try:
        asyncio.run(main())
    except NodeStartError as exc:
        log.error("%s", exc)
        raise
    finally:
        if profile_path:
            prof.disable()
            prof.dump_stats(f"{profile_path}.{cfg.member}")
