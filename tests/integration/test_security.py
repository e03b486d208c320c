"""Permissioning and bad input against a real cluster: refused peers, unenrolled keys, malformed
and oversized requests — and the node keeps serving afterwards."""

from __future__ import annotations

import grpc
import nacl.signing
import pytest

from baaskit.node.pki import create_ca, issue_tls_cert, load_ca
from baaskit.tx import make_tx
from baaskit.wire.v1 import api_pb2, peer_pb2, peer_pb2_grpc, types_pb2

from .cluster import Cluster

pytestmark = pytest.mark.integration


def _peer_call(cluster: Cluster, member: int, cert_pem: bytes, key_pem: bytes, ca_pem: bytes) -> grpc.RpcError:
    creds = grpc.ssl_channel_credentials(root_certificates=ca_pem, private_key=key_pem, certificate_chain=cert_pem)
    port = cluster.paths.nodes[member].peer_port
    with grpc.secure_channel(f"127.0.0.1:{port}", creds) as ch:
        stub = peer_pb2_grpc.PeerStub(ch)
        hello = peer_pb2.PeerFrame(hello=peer_pb2.Hello(chain_id=cluster.genesis.chain_id, member=0))
        with pytest.raises(grpc.RpcError) as info:
            for _ in stub.Connect(iter([hello]), timeout=5):
                pass
        return info.value


def test_a_peer_whose_certificate_is_not_in_genesis_is_refused(cluster: Cluster) -> None:
    ca_pem = cluster.paths.ca_cert.read_bytes()
    # Issued by the consortium CA itself, but not a genesis member's certificate.
    ca = load_ca(ca_pem, cluster.paths.ca_key.read_bytes())
    intruder = issue_tls_cert(ca, "bank-hk", organization="bank-hk")
    err = _peer_call(cluster, 1, intruder.cert_pem, intruder.key_pem, ca_pem)
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "genesis" in (err.details() or "")
    # Issued by another CA: the TLS handshake itself fails.
    other = create_ca("not the consortium")
    stranger = issue_tls_cert(other, "bank-hk")
    err = _peer_call(cluster, 1, stranger.cert_pem, stranger.key_pem, ca_pem)
    assert err.code() == grpc.StatusCode.UNAVAILABLE
    # FetchBlocks is refused too, and the refused peer did not disturb the cluster.
    creds = grpc.ssl_channel_credentials(ca_pem, intruder.key_pem, intruder.cert_pem)
    with grpc.secure_channel(f"127.0.0.1:{cluster.paths.nodes[2].peer_port}", creds) as ch:
        with pytest.raises(grpc.RpcError) as info:
            list(peer_pb2_grpc.PeerStub(ch).FetchBlocks(peer_pb2.FetchBlocksRequest(from_height=1), timeout=5))
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    tx = cluster.kv_tx("after-intruder", "ok")
    cluster.submit([tx], node=1)
    assert cluster.wait_txs([tx.tx_id], node=1)[0].committed


def test_unenrolled_key_is_permission_denied(cluster: Cluster) -> None:
    stranger = nacl.signing.SigningKey.generate()
    tx = make_tx(stranger, cluster.genesis.chain_id, "kv", "set", {"key": "k", "value": "v"})
    good = cluster.kv_tx("good", "v")
    with pytest.raises(grpc.RpcError) as info:
        cluster.submit([good, tx], node=0)  # all-or-nothing: the good one is not admitted either
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "enrolled" in (info.value.details() or "")
    assert cluster.status(0).mempool_size == 0


def test_malformed_and_oversized_requests_get_a_status_and_the_node_keeps_serving(cluster: Cluster) -> None:
    api = cluster.api(2)
    good = cluster.kv_tx("k", "v")
    bad_requests = {
        "short signature": types_pb2.TxEnvelope(payload=good.payload, signer=good.signer, signature=b"x"),
        "not JSON": types_pb2.TxEnvelope(payload=b"\xff\x00garbage", signer=good.signer, signature=good.signature),
        "forged signature": types_pb2.TxEnvelope(payload=good.payload, signer=good.signer, signature=bytes(64)),
        "empty payload": types_pb2.TxEnvelope(payload=b"", signer=good.signer, signature=good.signature),
    }
    for what, env in bad_requests.items():
        with pytest.raises(grpc.RpcError) as info:
            api.Submit(api_pb2.SubmitRequest(txs=[env]), timeout=5)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, what
        assert info.value.details(), what
    with pytest.raises(grpc.RpcError) as info:
        api.Submit(api_pb2.SubmitRequest(), timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as info:
        api.GetTx(api_pb2.GetTxRequest(tx_id=b"short"), timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as info:
        api.Query(api_pb2.QueryRequest(contract="kv", method="get", args=b"{not json"), timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # Oversized: a request above the node's max_request_bytes (4 MiB by default).
    huge = types_pb2.TxEnvelope(payload=b"x" * (5 * 1024 * 1024), signer=good.signer, signature=good.signature)
    with pytest.raises(grpc.RpcError) as info:
        api.Submit(api_pb2.SubmitRequest(txs=[huge]), timeout=10)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # A raw, non-protobuf body on the wire.
    raw = cluster.channel(2).unary_unary("/baaskit.wire.v1.Api/Submit")
    with pytest.raises(grpc.RpcError) as info:
        raw(b"\xff\xff\xff\xff garbage", timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # Still serving: a good tx commits and the status answers.
    cluster.submit([good], node=2)
    assert cluster.wait_txs([good.tx_id], node=2)[0].committed
    assert cluster.status(2).height >= 1
    query = api.Query(api_pb2.QueryRequest(contract="kv", method="get", args=b'{"key":"k"}'), timeout=5)
    assert query.result == b'"v"'
    assert cluster.alive() == [0, 1, 2, 3]
