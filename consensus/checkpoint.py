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


class Checkpoints:
    """One replica's checkpoint state: its stable checkpoint (with proof), the votes it holds,
    its own checkpoints (digest and signed bytes) and the highest seq it asked a transfer for."""

    def __init__(self) -> None:
        self.stable = GENESIS
        self.votes = CheckpointVotes()
        self.own: dict[int, tuple[bytes, bytes]] = {}
        self.transfer_seq = 0

    def add_own(self, cp: Checkpoint, data: bytes, high: int) -> None:
        self.own[cp.seq] = (cp.state_digest, data)
        self.votes.add(cp, high)

    def add(self, cp: Checkpoint, high: int) -> bool:
        """Store a peer's vote; False if it contradicts one it already sent for that seq."""
        old = self.votes.get(cp.seq, cp.replica)
        if old is None:
            self.votes.add(cp, high)
        return old is None or old.state_digest == cp.state_digest

    def advance(self, st: StableCheckpoint) -> bytes | None:
        """Make ``st`` the stable checkpoint; return our own digest at that seq, if we have one."""
        own = self.own.get(st.seq)
        self.stable = st
        self.forget_through(st.seq)
        return None if own is None else own[0]

    def forget_through(self, seq: int) -> None:
        self.own = {s: v for s, v in self.own.items() if s > seq}
        self.votes.forget_through(seq)
