"""Verify each transaction's signature once per node, and remember it.

The cache key is SHA-256 over (payload, signer, signature) — all three, length-prefixed — so a tx
re-proposed with the payload of a verified tx but a forged signature is a miss and is verified
(and fails). Only valid signatures are remembered; the cache is an LRU bounded by `capacity`.
"""

from __future__ import annotations

import hashlib
import struct
from collections import OrderedDict

from baaskit.tx import TxEnvelope

from .metrics import SIGNATURE_CACHE_HITS, SIGNATURE_VERIFICATIONS, Metrics

_LEN = struct.Struct(">I")


def cache_key(envelope: TxEnvelope) -> bytes:
    h = hashlib.sha256()
    for part in (envelope.payload, envelope.signer, envelope.signature):
        h.update(_LEN.pack(len(part)))
        h.update(part)
    return h.digest()


class VerifiedTxCache:
    def __init__(self, capacity: int = 200_000, metrics: Metrics | None = None) -> None:
        if capacity < 1:
            raise ValueError("cache capacity must be at least 1")
        self._capacity = capacity
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._metrics = metrics
        self.verifications = 0  # Ed25519 verifications actually run
        self.hits = 0

    def __len__(self) -> int:
        return len(self._seen)

    def __contains__(self, envelope: object) -> bool:
        return isinstance(envelope, TxEnvelope) and cache_key(envelope) in self._seen

    def verify(self, envelope: TxEnvelope) -> bool:
        """True iff the signature is valid; runs Ed25519 at most once per (payload, signer, sig)."""
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
        self._seen[key] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return True

    def forget(self, envelopes: list[TxEnvelope] | tuple[TxEnvelope, ...]) -> None:
        """Drop entries (e.g. once their transactions are committed)."""
        for envelope in envelopes:
            self._seen.pop(cache_key(envelope), None)
