"""Protobuf (api.proto) <-> client domain types. One place, no logic beyond decoding."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from baaskit import canonical
from baaskit.block import BlockHeader
from baaskit.tx import TxEnvelope
from baaskit.wire.v1 import api_pb2, types_pb2

from .receipt import TxProof

ACK_NAMES = {api_pb2.ACCEPTED: "accepted", api_pb2.DUPLICATE: "duplicate", api_pb2.COMMITTED: "committed"}


@dataclass(frozen=True, slots=True)
class Ack:
    """A node's answer to one submitted tx: "accepted" (in its mempool), "duplicate" (already
    pending), or "committed" (already in a block). All three mean: no need to send it again."""

    tx_id: bytes
    status: str


@dataclass(frozen=True, slots=True)
class Committed:
    tx_id: bytes
    height: int
    index: int
    result: dict[str, Any]  # the TxResult as JSON: {"code", "message", "data", "events"}

    @property
    def ok(self) -> bool:
        return self.result.get("code") == 0


@dataclass(frozen=True, slots=True)
class BlockEvent:
    height: int
    header: BlockHeader
    tx_ids: tuple[bytes, ...]
    results: tuple[dict[str, Any], ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class NodeStatus:
    chain_id: str
    member: int
    name: str
    height: int
    view: int
    primary: int
    mempool_size: int
    stable_checkpoint: int
    last_block_hash: bytes
    metrics: dict[str, int]
    endpoint: str = ""


def envelope_to_pb(env: TxEnvelope) -> types_pb2.TxEnvelope:
    return types_pb2.TxEnvelope(payload=env.payload, signer=env.signer, signature=env.signature)


def submit_request(envelopes: list[TxEnvelope]) -> api_pb2.SubmitRequest:
    return api_pb2.SubmitRequest(txs=[envelope_to_pb(e) for e in envelopes])


def acks_from_pb(msg: api_pb2.SubmitResponse) -> list[Ack]:
    return [Ack(bytes(a.tx_id), ACK_NAMES.get(a.code, "unspecified")) for a in msg.acks]


def _json(data: bytes) -> Any:
    return canonical.loads(bytes(data)) if data else None


def positions_from_pb(msg: api_pb2.WaitTxsResponse) -> dict[bytes, Committed]:
    out: dict[bytes, Committed] = {}
    for p in msg.positions:
        if p.committed:
            out[bytes(p.tx_id)] = Committed(bytes(p.tx_id), p.height, p.index, _json(p.result) or {})
    return out


def proof_from_pb(msg: api_pb2.TxProof) -> TxProof:
    return TxProof(
        tx=TxEnvelope(bytes(msg.tx.payload), bytes(msg.tx.signer), bytes(msg.tx.signature)),
        height=msg.height,
        index=msg.index,
        tx_count=msg.tx_count,
        tx_path=tuple(bytes(p) for p in msg.tx_path),
        result=bytes(msg.result),
        result_path=tuple(bytes(p) for p in msg.result_path),
        header=bytes(msg.header),
        certificate=tuple(sorted((s.member, bytes(s.signature)) for s in msg.certificate.signatures)),
    )


def block_event_from_pb(msg: api_pb2.BlockEvent) -> BlockEvent:
    return BlockEvent(
        height=msg.height,
        header=BlockHeader.decode(bytes(msg.header)),
        tx_ids=tuple(bytes(t) for t in msg.tx_ids),
        results=tuple(_json(r) for r in msg.results),
    )


def status_from_pb(msg: api_pb2.StatusResponse, endpoint: str = "") -> NodeStatus:
    return NodeStatus(
        chain_id=msg.chain_id,
        member=msg.member,
        name=msg.name,
        height=msg.height,
        view=msg.view,
        primary=msg.primary,
        mempool_size=msg.mempool_size,
        stable_checkpoint=msg.stable_checkpoint,
        last_block_hash=bytes(msg.last_block_hash),
        metrics=dict(msg.metrics),
        endpoint=endpoint,
    )


def query_request(contract: str, method: str, args: dict[str, Any]) -> api_pb2.QueryRequest:
    return api_pb2.QueryRequest(contract=contract, method=method, args=canonical.dumps(args))
