"""Protobuf <-> domain conversions the node's gRPC services need (one place, no logic)."""

from __future__ import annotations

from baaskit.tx import TxEnvelope
from baaskit.wire.v1 import types_pb2

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
