"""The physical bound: how many signed transactions/s this machine can verify at most.

Every node verifies every transaction's Ed25519 signature once, and all nodes share this machine's
cores, so the cluster cannot commit more than cores x (verifications/s of one core) / nodes.
Measured now, in the same run as the benchmark, because the machine's speed drifts: before the
load and again after it. The bound is the best of those samples. Interference (nodes starting up,
the compaction of a node that just stopped, the machine's other tenants) only ever slows a sample
down: on the idle development machine, 20 samples of 3,000 verifications taken back to back ranged
13.2k-17.8k/s, and with a bound from one sample, six closed-loop runs of the same code on fresh
clusters gave achieved/bound ratios of 0.32-0.48 for 2,634-3,179 tx/s.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass

import nacl.signing

SAMPLES_PER_MEASUREMENT = 10  # ~0.2 s each


@dataclass(frozen=True)
class VerifyBound:
    verifications_per_s: float  # one core, PyNaCl Ed25519: the best sample
    cores: int
    nodes: int
    samples: tuple[float, ...] = ()  # every sample taken, verifications/s

    @property
    def tx_per_s(self) -> float:
        return self.cores * self.verifications_per_s / self.nodes

    @property
    def median_verifications_per_s(self) -> float:
        return statistics.median(self.samples) if self.samples else self.verifications_per_s

    def to_json(self) -> dict[str, float | int]:
        return {
            "verifications_per_s": self.verifications_per_s,
            "median_verifications_per_s": self.median_verifications_per_s,
            "samples": len(self.samples),
            "cores": self.cores,
            "nodes": self.nodes,
            "tx_per_s": self.tx_per_s,
        }


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


def measure_bound(
    nodes: int,
    cores: int | None = None,
    samples: int = SAMPLES_PER_MEASUREMENT,
    earlier: VerifyBound | None = None,
) -> VerifyBound:
    """The bound from `samples` fresh samples, and from `earlier`'s too when given (the same
    run's measurement before the load)."""
    rates = [*(earlier.samples if earlier is not None else ()), *(measure_verify_rate() for _ in range(samples))]
    return VerifyBound(
        verifications_per_s=max(rates),
        cores=cores or len(os.sched_getaffinity(0)),
        nodes=nodes,
        samples=tuple(rates),
    )
