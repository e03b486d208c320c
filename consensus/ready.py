"""The outputs of every Replica call, and the order in which the node must act on them.

THE ORDERING RULE (written on the type, as in etcd-io/raft):
  1. ``persist`` must be durable (fsync'd) BEFORE any of ``messages`` is sent. One durable write
     may cover the records of many Ready values (group commit), as long as no message of a Ready
     leaves before that Ready's records are durable.
  2. ``messages`` may then be sent in any order, batched per peer.
  3. ``state_transfer`` (rare) comes first: fetch the state at ``seq`` from the listed replicas,
     install it, call ``Replica.state_installed(seq, digest)``. Until it is installed, hold back
     every later ``committed`` batch (of this Ready and the following ones).
  4. ``committed`` batches are delivered strictly in sequence order, each exactly once: execute
     them in that order and call ``Replica.executed(seq, digest)`` after each. A committed seq
     at or below the node's applied height (already covered by an installed state) is skipped.
  5. ``validate`` asks the node to check every transaction of a batch; answer with
     ``Replica.validated``.
  6. ``forget_below``: after the records are durable, sequence-bound records with
     ``seq <= forget_below`` may be deleted (see records.py).
  7. ``rejected`` is set only for local API misuse / a disallowed transition; state is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from .records import Record
from .types import Batch, ReplicaId


@dataclass(frozen=True)
class Outbound:
    to: ReplicaId | None  # None = broadcast to every other replica
    data: bytes  # canonical signed encoding


@dataclass(frozen=True)
class ValidationRequested:
    view: int
    seq: int
    batch: Batch


@dataclass(frozen=True)
class BatchCommitted:
    seq: int
    view: int
    batch: Batch


@dataclass(frozen=True)
class StateTransferRequested:
    seq: int
    state_digest: bytes
    replicas: tuple[ReplicaId, ...]  # replicas that vouched for (seq, state_digest)


# ---- events (past tense) ---------------------------------------------------------------------


@dataclass(frozen=True)
class ViewChanged:
    """A new view was installed (this replica is active in it)."""

    view: int
    primary: ReplicaId


@dataclass(frozen=True)
class ViewChangeStarted:
    """This replica voted to leave its view; ``reason`` says why."""

    view: int
    reason: str


@dataclass(frozen=True)
class PrimarySuspected:
    """This backup's request timer ran out; it leaves the view once f+1 replicas suspect the
    primary (``reason`` says why it suspects)."""

    view: int
    reason: str


@dataclass(frozen=True)
class SuspicionWithdrawn:
    """This backup saw progress in its view again and no longer suspects the primary."""

    view: int


@dataclass(frozen=True)
class CheckpointStabilized:
    seq: int
    state_digest: bytes


@dataclass(frozen=True)
class MisbehaviourDetected:
    """Evidence against ``replica`` (the signer, or the peer that sent undecodable bytes)."""

    replica: ReplicaId
    kind: str
    detail: str


@dataclass(frozen=True)
class BatchCarriedOver:
    """``batch`` is in flight at ``seq`` of ``view`` without a validation request: a new view
    re-proposed it from a prepared certificate (already validated by at least one honest replica),
    or, after ``Replica.restore``, it was pre-prepared before the crash and is not committed yet.
    The node treats its requests as taken (at-most-once rule (a))."""

    view: int
    seq: int
    batch: Batch


Event = (
    ViewChanged
    | ViewChangeStarted
    | PrimarySuspected
    | SuspicionWithdrawn
    | CheckpointStabilized
    | MisbehaviourDetected
    | BatchCarriedOver
)


@dataclass(frozen=True)
class Ready:
    persist: tuple[Record, ...] = ()
    messages: tuple[Outbound, ...] = ()
    validate: tuple[ValidationRequested, ...] = ()
    committed: tuple[BatchCommitted, ...] = ()
    state_transfer: tuple[StateTransferRequested, ...] = ()
    events: tuple[Event, ...] = ()
    forget_below: int | None = None
    rejected: str | None = None

    @property
    def empty(self) -> bool:
        return not (
            self.persist
            or self.messages
            or self.validate
            or self.committed
            or self.state_transfer
            or self.events
            or self.forget_below is not None
            or self.rejected is not None
        )

    def merge(self, other: Ready) -> Ready:
        """Concatenate two Ready values (self first). Persisting the merged records before sending
        the merged messages preserves the ordering rule of both."""
        fb: int | None
        if self.forget_below is None:
            fb = other.forget_below
        elif other.forget_below is None:
            fb = self.forget_below
        else:
            fb = max(self.forget_below, other.forget_below)
        return Ready(
            persist=self.persist + other.persist,
            messages=self.messages + other.messages,
            validate=self.validate + other.validate,
            committed=self.committed + other.committed,
            state_transfer=self.state_transfer + other.state_transfer,
            events=self.events + other.events,
            forget_below=fb,
            rejected=self.rejected if self.rejected is not None else other.rejected,
        )


EMPTY = Ready()


class ReadyBuilder:
    """Accumulates the outputs of one Replica call (mutable; frozen into a Ready at the end)."""

    __slots__ = (
        "committed",
        "events",
        "forget_below",
        "messages",
        "persist",
        "rejected",
        "state_transfer",
        "validate",
    )

    def __init__(self) -> None:
        self.persist: list[Record] = []
        self.messages: list[Outbound] = []
        self.validate: list[ValidationRequested] = []
        self.committed: list[BatchCommitted] = []
        self.state_transfer: list[StateTransferRequested] = []
        self.events: list[Event] = []
        self.forget_below: int | None = None
        self.rejected: str | None = None

    def freeze(self) -> Ready:
        return Ready(
            persist=tuple(self.persist),
            messages=tuple(self.messages),
            validate=tuple(self.validate),
            committed=tuple(self.committed),
            state_transfer=tuple(self.state_transfer),
            events=tuple(self.events),
            forget_below=self.forget_below,
            rejected=self.rejected,
        )
