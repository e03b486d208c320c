"""The physical bound: how many signed transactions/s this machine can verify at most.

Every node verifies every transaction's Ed25519 signature once, and all nodes share this machine's
cores, so the cluster cannot commit more than cores x (verifications/s of one core) / nodes.
Measured now, in the same run as the benchmark, because the machine's speed drifts.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import nacl.signing


@dataclass(frozen=True)
class VerifyBound:
    verifications_per_s: float  # one core, PyNaCl Ed25519
    cores: int
    nodes: int

    @property
    def tx_per_s(self) -> float:
        return self.cores * self.verifications_per_s / self.nodes


def measure_verify_rate(samples: int = 3000, payload_bytes: int = 300) -> float:
    key = nacl.signing.SigningKey.generate()
    verify_key = key.verify_key
    messages = [os.urandom(payload_bytes) for _ in range(64)]
    signed = [key.sign(m) for m in messages]
    start = time.perf_counter()
    for i in range(samples):
        s = signed[i % len(signed)]
        verify_key.verify(s.message, s.signature)
    elapsed = time.perf_counter() - start
    return samples / elapsed


def measure_bound(nodes: int, cores: int | None = None) -> VerifyBound:
    return VerifyBound(
        verifications_per_s=measure_verify_rate(),
        cores=cores or len(os.sched_getaffinity(0)),
        nodes=nodes,
    )
