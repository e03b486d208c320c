"""Protobuf <-> domain conversions the node's gRPC services need (one place, no logic)."""

from __future__ import annotations

from typing import Any

from baaskit.tx import TxEnvelope
from baaskit.wire.v1 import api_pb2, types_pb2

from .storage import KVStore, StoredBlock


def envelope_to_pb(env: TxEnvelope) -> types_pb2.TxEnvelope:
    return types_pb2.TxEnvelope(payload=env.payload, signer=env.signer, signature=env.signature)


def envelope_from_pb(msg: types_pb2.TxEnvelope) -> TxEnvelope:
    return TxEnvelope(payload=bytes(msg.payload), signer=bytes(msg.signer), signature=bytes(msg.signature))


def block_to_pb(block: StoredBlock) -> types_pb2.Block:
    return types_pb2.Block(
        header=block.header,
        txs=[envelope_to_pb(e) for e in block.envelopes],
        results=list(block.results),
    )


def certified_block(store: KVStore, height: int) -> types_pb2.CertifiedBlock | None:
    """The stored block at `height` with its certificate (absent until 2f+1 signatures arrived)."""
    block = store.get_block(height)
    if block is None:
        return None
    out = types_pb2.CertifiedBlock(block=block_to_pb(block))
    cert = store.get_certificate(height)
    if cert is not None:
        out.certificate.ParseFromString(cert)
    return out


def tx_proof_to_pb(proof: Any) -> api_pb2.TxProof:
    """executor.tx_proof(...) result -> api TxProof (accepts the protobuf itself, too)."""
    if isinstance(proof, api_pb2.TxProof):
        return proof
    to_proto = getattr(proof, "to_proto", None)
    if callable(to_proto):
        msg = to_proto()
        if isinstance(msg, api_pb2.TxProof):
            return msg
    cert = proof.certificate
    cert_pb = cert.to_proto() if hasattr(cert, "to_proto") else types_pb2.BlockCertificate.FromString(cert)
    return api_pb2.TxProof(
        tx=envelope_to_pb(proof.envelope),
        height=proof.height,
        index=proof.index,
        tx_count=proof.tx_count,
        tx_path=list(proof.tx_path),
        result=proof.result,
        result_path=list(proof.result_path),
        header=proof.header,
        certificate=cert_pb,
    )
