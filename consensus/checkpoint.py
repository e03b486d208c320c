"""Checkpoint votes and the stable-checkpoint rule (2f+1 matching signed checkpoints).

``CheckpointVotes`` is a container owned by the replica; it never changes replica state itself.
Memory is bounded: per replica, votes inside the window plus its single highest vote beyond it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .signing import Verifier, verify_nested
from .types import Checkpoint, ReplicaId

GENESIS_DIGEST = b""


@dataclass(frozen=True)
class StableCheckpoint:
    seq: int
    state_digest: bytes
    proof: tuple[Checkpoint, ...]  # sorted by replica; empty for the genesis checkpoint (seq 0)


GENESIS = StableCheckpoint(0, GENESIS_DIGEST, ())


class CheckpointVotes:
    def __init__(self) -> None:
        self._votes: dict[int, dict[ReplicaId, Checkpoint]] = {}

    def get(self, seq: int, replica: ReplicaId) -> Checkpoint | None:
        return self._votes.get(seq, {}).get(replica)

    def add(self, cp: Checkpoint, high: int) -> None:
        """Store a vote; beyond ``high`` keep only each replica's highest one."""
        if cp.seq > high:
            for seq in sorted(self._votes):
                if seq > high and cp.replica in self._votes[seq]:
                    if seq >= cp.seq:
                        return
                    del self._votes[seq][cp.replica]
                    if not self._votes[seq]:
                        del self._votes[seq]
        self._votes.setdefault(cp.seq, {})[cp.replica] = cp

    def matching(self, seq: int, digest: bytes) -> tuple[Checkpoint, ...]:
        votes = self._votes.get(seq, {})
        return tuple(votes[r] for r in sorted(votes) if votes[r].state_digest == digest)

    def forget_through(self, seq: int) -> None:
        for s in [s for s in sorted(self._votes) if s <= seq]:
            del self._votes[s]


def proof_valid(
    stable: StableCheckpoint, n: int, quorum: int, verifier: Verifier, chain_id: str
) -> bool:
    """A stable-checkpoint proof: the genesis, or >= quorum distinct valid signed matching votes."""
    if stable.seq == 0:
        return stable.state_digest == GENESIS_DIGEST and not stable.proof
    seen: set[ReplicaId] = set()
    for cp in stable.proof:
        if cp.seq != stable.seq or cp.state_digest != stable.state_digest:
            return False
        if not 0 <= cp.replica < n or cp.replica in seen:
            return False
        if not verify_nested(cp, verifier, chain_id):
            return False
        seen.add(cp.replica)
    return len(seen) >= quorum
