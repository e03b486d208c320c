"""The rest of the client API surface on a real node: client-streaming submission, gRPC health
checking, server reflection, the block subscription, and the status table of `baaskit status`."""

from __future__ import annotations

import threading

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from baaskit.node import cluster as node_cluster
from baaskit.node.config import NodeConfig
from baaskit.wire.v1 import api_pb2

from .cluster import Cluster, pb

pytestmark = pytest.mark.integration


def test_submit_stream_health_reflection_and_subscription(cluster: Cluster) -> None:
    # client streaming: three requests, one answer covering every tx
    txs = [cluster.kv_tx(f"stream-{i}", str(i)) for i in range(30)]
    requests = [api_pb2.SubmitRequest(txs=[pb(t) for t in txs[i : i + 10]]) for i in range(0, 30, 10)]
    response = cluster.api(1).SubmitStream(iter(requests), timeout=10)
    assert [a.tx_id for a in response.acks] == [t.tx_id for t in txs]
    assert {a.code for a in response.acks} == {api_pb2.ACCEPTED}
    positions = cluster.wait_txs([t.tx_id for t in txs], node=2)
    assert all(p.committed for p in positions)

    # the committed blocks, replayed from height 1 by the subscription stream of another node
    seen: set[bytes] = set()
    stream = cluster.api(3).SubscribeBlocks(api_pb2.SubscribeRequest(from_height=1), timeout=20)
    last = max(p.height for p in positions)
    for event in stream:
        seen.update(event.tx_ids)
        if event.height >= last:
            stream.cancel()
            break
    assert {t.tx_id for t in txs} <= seen

    # standard gRPC health checking and reflection, over the same TLS port
    channel = cluster.channel(0)
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    answers = list(
        reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
    )
    services = {s.name for s in answers[0].list_services_response.service}
    assert "baaskit.wire.v1.Api" in services
    assert "grpc.health.v1.Health" in services

    # a malformed stream element is refused with a status, and the node keeps serving
    with pytest.raises(grpc.RpcError) as info:
        cluster.api(1).SubmitStream(iter([api_pb2.SubmitRequest(txs=[api_pb2.SubmitRequest().txs.add()])]), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert cluster.status(1).height >= last


def test_status_table_asks_the_running_nodes_at_once_and_marks_a_stopped_one_down(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster.kill(2)
    # Each node is asked only once all three running ones are being asked: asked one after the
    # other, the first call would wait here and break the barrier.
    together = threading.Barrier(3, timeout=10)
    ask = node_cluster.node_status

    def ask_together(cfg: NodeConfig, timeout_s: float = 2.0) -> api_pb2.StatusResponse | None:
        together.wait()
        return ask(cfg, timeout_s)

    monkeypatch.setattr(node_cluster, "node_status", ask_together)
    rows = node_cluster.status_rows(cluster.root)
    assert [r.member for r in rows] == [0, 1, 2, 3]
    assert rows[2].pid is None and rows[2].status is None
    for r in (rows[0], rows[1], rows[3]):
        assert r.pid == cluster.procs[r.member].pid
        assert r.status is not None and r.status.view == 0 and r.status.primary == 0
    states = [line.split()[4] for line in node_cluster.format_table(rows).splitlines()[1:]]
    assert states == ["serving", "serving", "down", "serving"]
