"""Identifiers, configuration, batches and the signed wire messages (small frozen dataclasses).

Every message carries the id of the replica that signed it (``replica``) and its ``signature``
over the canonical sign-bytes (see ``signing.py``); an unsigned message has ``signature == b""``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

ReplicaId = int
"""0..n-1. The primary of view v is ``v % n``."""

DIGEST_SIZE = 32


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


@dataclass(frozen=True)
class ClusterConfig:
    """Static cluster parameters, the same at every replica."""

    n: int
    chain_id: str
    checkpoint_interval: int = 16  # K
    watermark_window: int = 64  # L: high watermark = low + L; a multiple of K
    view_change_timeout_ticks: int = 20  # base; doubles per consecutive failed view change
    request_timeout_ticks: int = 20  # backup with pending work, no commit progress: view change
    status_interval_ticks: int = 10  # period of the Status gossip that drives retransmission
    max_timeout_doublings: int = 6  # cap on the view-change timeout growth (base << 6)

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError("n must be >= 1")
        if not self.chain_id:
            raise ValueError("chain_id must be non-empty")
        if self.checkpoint_interval < 1:
            raise ValueError("checkpoint_interval must be >= 1")
        if self.watermark_window < self.checkpoint_interval or (
            self.watermark_window % self.checkpoint_interval
        ):
            raise ValueError("watermark_window must be a positive multiple of checkpoint_interval")
        for name in (
            "view_change_timeout_ticks",
            "request_timeout_ticks",
            "status_interval_ticks",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.max_timeout_doublings < 0:
            raise ValueError("max_timeout_doublings must be >= 0")

    @property
    def f(self) -> int:
        """The number of byzantine replicas tolerated."""
        return (self.n - 1) // 3

    def primary(self, view: int) -> ReplicaId:
        return view % self.n


@dataclass(frozen=True)
class Batch:
    """An ordered batch of client requests; opaque to the core."""

    payload: bytes

    @cached_property
    def digest(self) -> bytes:
        return sha256(self.payload)


NULL_BATCH = Batch(b"")


# --------------------------------------------------------------------------------------------
# Wire messages. Field order is the canonical encoding order (codec.py).


@dataclass(frozen=True)
class PrePrepare:
    """The primary of ``view`` assigns ``seq`` to the batch ``payload`` (whose sha256 is ``digest``)."""

    view: int
    seq: int
    digest: bytes
    payload: bytes
    replica: ReplicaId
    signature: bytes = b""

    @property
    def batch(self) -> Batch:
        return Batch(self.payload)


@dataclass(frozen=True)
class Prepare:
    view: int
    seq: int
    digest: bytes
    replica: ReplicaId
    signature: bytes = b""


@dataclass(frozen=True)
class Commit:
    view: int
    seq: int
    digest: bytes
    replica: ReplicaId
    signature: bytes = b""


@dataclass(frozen=True)
class Checkpoint:
    """``replica`` executed up to ``seq`` and its state digest there is ``state_digest``."""

    seq: int
    state_digest: bytes
    replica: ReplicaId
    signature: bytes = b""


@dataclass(frozen=True)
class PreparedCertificate:
    """A pre-prepare plus 2f matching prepares from distinct backups of its view (not signed itself)."""

    pre_prepare: PrePrepare
    prepares: tuple[Prepare, ...]

    @property
    def seq(self) -> int:
        return self.pre_prepare.seq

    @property
    def view(self) -> int:
        return self.pre_prepare.view

    @property
    def digest(self) -> bytes:
        return self.pre_prepare.digest


@dataclass(frozen=True)
class ViewChange:
    """``replica`` moves to ``view``; carries its stable checkpoint (with proof) and prepared set P."""

    view: int
    stable_seq: int
    stable_digest: bytes
    checkpoint_proof: tuple[Checkpoint, ...]
    prepared: tuple[PreparedCertificate, ...]
    replica: ReplicaId
    signature: bytes = b""


@dataclass(frozen=True)
class NewView:
    """The primary of ``view`` installs it: 2f+1 view-changes (V) and the pre-prepares O."""

    view: int
    view_changes: tuple[ViewChange, ...]
    pre_prepares: tuple[PrePrepare, ...]
    replica: ReplicaId
    signature: bytes = b""


@dataclass(frozen=True)
class Status:
    """Periodic gossip of a replica's position; peers answer with what it is missing."""

    view: int
    in_view_change: bool
    last_committed: int
    stable_seq: int
    # Its request timer ran out in ``view`` and it has seen no progress since: it leaves the
    # view once f+1 replicas suspect the primary (consensus/suspicion.py).
    suspects: bool
    replica: ReplicaId
    signature: bytes = b""


@dataclass(frozen=True)
class CommitCertificate:
    """Proof that ``pre_prepare``'s batch committed: 2f+1 matching commits of its view. Relayed
    (and signed) by ``replica`` to a peer that is behind, whatever view that peer is in."""

    pre_prepare: PrePrepare
    commits: tuple[Commit, ...]
    replica: ReplicaId
    signature: bytes = b""


Message = (
    PrePrepare | Prepare | Commit | Checkpoint | ViewChange | NewView | Status | CommitCertificate
)
