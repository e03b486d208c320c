"""Verify (and decode) each transaction once per node, and remember it.

The cache key is (SHA-256 of the payload, signer, signature) — fixed widths — so a tx
re-proposed with the payload of a verified tx but a forged signature is a miss and is verified
(and fails). Only valid signatures are remembered, with the decoded payload, so admission,
validation of a pre-prepare and execution decode and verify a transaction once between them.
The executor takes an entry out when its transaction commits (later copies are refused as
committed before any signature check), so the cache holds only uncommitted transactions; it is an
LRU bounded by `capacity` besides.
"""

from __future__ import annotations

import hashlib
import struct
from collections import OrderedDict

from baaskit.tx import Tx, TxEnvelope

from .metrics import SIGNATURE_CACHE_HITS, SIGNATURE_VERIFICATIONS, Metrics

_LEN = struct.Struct(">I")


def cache_key(envelope: TxEnvelope) -> bytes:
    """tx_id (SHA-256 of the payload, computed once per envelope) || signer || signature.
    With the standard widths (32 + 32 + 64) the concatenation is unambiguous; any other widths
    get a 33-byte key of their own, which can never equal a standard one."""
    if len(envelope.signer) == 32 and len(envelope.signature) == 64:
        return envelope.tx_id + envelope.signer + envelope.signature
    h = hashlib.sha256(envelope.tx_id)
    for part in (envelope.signer, envelope.signature):
        h.update(len(part).to_bytes(4, "big"))
        h.update(part)
    return b"\x00" + h.digest()


class VerifiedTxCache:
    def __init__(self, capacity: int = 200_000, metrics: Metrics | None = None) -> None:
        if capacity < 1:
            raise ValueError("cache capacity must be at least 1")
        self._capacity = capacity
        self._seen: OrderedDict[bytes, Tx | None] = OrderedDict()
        self._metrics = metrics
        self.verifications = 0  # Ed25519 verifications actually run
        self.hits = 0

    def __len__(self) -> int:
        return len(self._seen)

    def __contains__(self, envelope: object) -> bool:
        return isinstance(envelope, TxEnvelope) and cache_key(envelope) in self._seen

    def lookup(self, envelope: TxEnvelope) -> Tx | None:
        """The decoded tx of an envelope already verified (and decoded) here, else None."""
        key = cache_key(envelope)
        tx = self._seen.get(key)
        if tx is not None:
            self._seen.move_to_end(key)
            self.hits += 1
            if self._metrics is not None:
                self._metrics.incr(SIGNATURE_CACHE_HITS)
        return tx

    def take(self, envelope: TxEnvelope) -> Tx | None:
        """Like lookup, and forget the entry: its transaction is being committed."""
        tx = self._seen.pop(cache_key(envelope), None)
        if tx is not None:
            self.hits += 1
        return tx

    def verify(self, envelope: TxEnvelope, decoded: Tx | None = None) -> bool:
        """True iff the signature is valid; runs Ed25519 at most once per (payload, signer, sig).
        `decoded` (the envelope's decoded payload) is remembered with it for later lookups."""
        key = cache_key(envelope)
        if key in self._seen:
            self._seen.move_to_end(key)
            self.hits += 1
            if self._metrics is not None:
                self._metrics.incr(SIGNATURE_CACHE_HITS)
            return True
        self.verifications += 1
        if self._metrics is not None:
            self._metrics.incr(SIGNATURE_VERIFICATIONS)
        if not envelope.verify_signature():
            return False
        self._seen[key] = decoded
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return True

    def forget(self, envelopes: list[TxEnvelope] | tuple[TxEnvelope, ...]) -> None:
        """Drop entries (e.g. once their transactions are committed)."""
        for envelope in envelopes:
            self._seen.pop(cache_key(envelope), None)
