"""The batch payload a primary proposes (consensus Batch.payload): block time + transactions.

Binary, length-prefixed, strict:
    magic b"BKP1" | time_ms u64 | view u64 | proposer u32 | count u32 |
    count x (length u32 | packed envelope)
packed envelope = signer (32) | signature (64) | payload (see storage/codec.py).
The empty payload b"" is the null batch (PBFT null request): no time, no transactions.

view and proposer are those the batch was FIRST proposed in. The block header takes them from
here, not from the view in which a replica saw the batch commit: after a view change the same
payload may commit at one replica in view v and at another in view v+1 (carried over), and the
header — hence its hash and the certificate — must be identical on both.
Decoding anything else that is not exactly this raises ProposalError.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from baaskit.tx import TxEnvelope

from .storage.codec import CodecError, pack_envelope, unpack_envelope

MAGIC = b"BKP1"
_HEAD = struct.Struct(">4sQQII")
_LEN = struct.Struct(">I")
MAX_PROPOSAL_TXS = 100_000


class ProposalError(ValueError):
    """Bytes that are not a valid proposal."""


@dataclass(frozen=True, slots=True)
class Proposal:
    time_ms: int
    envelopes: tuple[TxEnvelope, ...]
    view: int = 0
    proposer: int = 0


def encode_proposal(time_ms: int, envelopes: Sequence[TxEnvelope], view: int = 0, proposer: int = 0) -> bytes:
    if not 0 <= time_ms < 2**64:
        raise ProposalError(f"time_ms {time_ms} out of range")
    if not 0 <= view < 2**64 or not 0 <= proposer < 2**32:
        raise ProposalError(f"view {view} / proposer {proposer} out of range")
    if len(envelopes) > MAX_PROPOSAL_TXS:
        raise ProposalError(f"{len(envelopes)} transactions, limit {MAX_PROPOSAL_TXS}")
    parts = [_HEAD.pack(MAGIC, time_ms, view, proposer, len(envelopes))]
    for envelope in envelopes:
        try:
            packed = pack_envelope(envelope)
        except CodecError as exc:
            raise ProposalError(str(exc)) from None
        parts.append(_LEN.pack(len(packed)))
        parts.append(packed)
    return b"".join(parts)


def is_null(payload: bytes) -> bool:
    return payload == b""


def decode_proposal(data: bytes) -> Proposal:
    if len(data) < _HEAD.size:
        raise ProposalError(f"proposal is {len(data)} bytes, shorter than its {_HEAD.size}-byte head")
    magic, time_ms, view_no, proposer, count = _HEAD.unpack_from(data, 0)
    if magic != MAGIC:
        raise ProposalError("not a proposal (bad magic)")
    if count > MAX_PROPOSAL_TXS:
        raise ProposalError(f"proposal claims {count} transactions, limit {MAX_PROPOSAL_TXS}")
    view = memoryview(data)
    pos = _HEAD.size
    envelopes: list[TxEnvelope] = []
    for i in range(count):
        if pos + _LEN.size > len(data):
            raise ProposalError(f"proposal truncated at transaction {i}")
        (length,) = _LEN.unpack_from(data, pos)
        pos += _LEN.size
        if pos + length > len(data):
            raise ProposalError(f"transaction {i} runs past the end of the proposal")
        try:
            envelopes.append(unpack_envelope(bytes(view[pos : pos + length])))
        except CodecError as exc:
            raise ProposalError(f"transaction {i}: {exc}") from None
        pos += length
    if pos != len(data):
        raise ProposalError(f"{len(data) - pos} trailing bytes after the last transaction")
    return Proposal(
        time_ms=int(time_ms), envelopes=tuple(envelopes), view=int(view_no), proposer=int(proposer)
    )


class RecentProposals:
    """The last few proposals this node encoded or decoded, by payload bytes: a node decodes a
    batch to validate it and again to execute it (the primary encodes it from envelopes it
    already holds), ~5 us per tx each time. A Proposal is immutable, so sharing it is safe; a
    lookup compares the payload bytes in full (a memcmp), never trusts a digest alone."""

    def __init__(self, capacity: int = 16) -> None:
        self._capacity = capacity
        self._items: OrderedDict[bytes, Proposal] = OrderedDict()

    def remember(self, payload: bytes, proposal: Proposal) -> None:
        self._items[payload] = proposal
        self._items.move_to_end(payload)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)

    def decode(self, payload: bytes) -> Proposal:
        """decode_proposal, or the Proposal remembered for these exact bytes."""
        known = self._items.get(payload)
        if known is not None:
            return known
        proposal = decode_proposal(payload)
        self.remember(payload, proposal)
        return proposal
