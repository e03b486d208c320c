"""Pure normal-case rules: which records are votes, and what to retransmit to a lagging peer."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from .checkpoint import StableCheckpoint
from .codec import encode_message
from .log import Decision, Slot
from .records import RecordKind
from .signing import Verifier, verify_nested
from .types import (
    ClusterConfig,
    CommitCertificate,
    Message,
    NewView,
    Prepare,
    PrePrepare,
    ReplicaId,
    Status,
    sha256,
)

# Records describing this replica's own votes in the normal case (the planted bug
# vote_before_persist hands these out only at the next tick).
DEFERRABLE = frozenset(
    {
        RecordKind.ACCEPTED_PRE_PREPARE,
        RecordKind.SENT_PREPARE,
        RecordKind.SENT_COMMIT,
        RecordKind.PREPARED,
    }
)


def malformed_by_signer(msg: Message, config: ClusterConfig) -> tuple[str, str] | None:
    """Checks that need no replica state: (evidence kind, detail) against the signer, or None."""
    if isinstance(msg, PrePrepare):
        if msg.replica != config.primary(msg.view):
            return "wrong-view", "pre-prepare from a non-primary"
        if sha256(msg.payload) != msg.digest:
            return "bad-digest", f"seq {msg.seq}"
    elif isinstance(msg, Prepare) and msg.replica == config.primary(msg.view):
        return "wrong-view", "prepare from the primary"
    elif isinstance(msg, NewView) and msg.replica != config.primary(msg.view):
        return "wrong-view", "new-view from a non-primary"
    return None


def check_commit_certificate(
    cc: CommitCertificate, config: ClusterConfig, quorum: int, verifier: Verifier
) -> str | None:
    """None if ``cc`` proves its batch committed (pre-prepare + ``quorum`` matching commits)."""
    pp = cc.pre_prepare
    if pp.replica != config.primary(pp.view):
        return "pre-prepare not from the primary of its view"
    if sha256(pp.payload) != pp.digest:
        return "pre-prepare digest mismatch"
    if not verify_nested(pp, verifier, config.chain_id):
        return "pre-prepare signature"
    seen: set[ReplicaId] = set()
    for c in cc.commits:
        if (c.view, c.seq, c.digest) != (pp.view, pp.seq, pp.digest):
            return "commit does not match"
        if not 0 <= c.replica < config.n or c.replica in seen:
            return "commit from a wrong or repeated replica"
        if not verify_nested(c, verifier, config.chain_id):
            return "commit signature"
        seen.add(c.replica)
    if len(seen) < quorum:
        return "too few commits"
    return None


def lacks_new_view(s: Status, *, view: int, in_view_change: bool) -> bool:
    """Whether the peer whose Status is ``s`` has not installed our (installed) view."""
    return not in_view_change and (s.view < view or (s.view == view and s.in_view_change))


def retransmissions(
    s: Status, *, stable: StableCheckpoint, own_checkpoints: Mapping[int, bytes]
) -> Iterator[bytes]:
    """The small things to send to a peer whose Status is ``s``, besides the new-view of our view
    if it is behind in views (``lacks_new_view``): the proof of our stable checkpoint if its own
    is older, and our own checkpoints above its stable one (a lost checkpoint vote would
    otherwise block the window). Whole batches are `batch_retransmissions`."""
    if s.stable_seq < stable.seq:
        for cp in stable.proof:
            yield encode_message(cp)
    for seq in sorted(own_checkpoints):  # not stable yet: the peer may have lost our vote
        if seq > s.stable_seq:
            yield own_checkpoints[seq]


def batch_retransmissions(
    s: Status,
    *,
    view: int,
    in_view_change: bool,
    slots: Mapping[int, Slot],
    last_committed: int,
    decisions: Mapping[int, Decision],
) -> list[bytes | Decision]:
    """What a peer whose Status is ``s`` lacks that carries whole batches (already-signed bytes,
    possibly signed by others, or a Decision to wrap in a CommitCertificate): proofs of the
    batches we committed and it did not (whatever its view); and, if it is in our view, the
    pre-prepares and our own votes for the seqs neither of us has committed.

    The replica sends them only to a peer that has not moved since its previous Status (same
    view, same last committed seq): a peer that is committing lacks nothing but what is on its
    way to it. Sent on every Status, they were most of the consensus bytes a loaded cluster
    sent: every node re-sent each ~200 kB batch in flight to every peer at each Status. A peer
    that missed a message stops committing at that seq, and gets it at its next Status (and
    after doubling waits if it stays behind: retransmit.py)."""
    out: list[bytes | Decision] = [decisions[seq] for seq in sorted(decisions) if seq > s.last_committed]
    if not in_view_change and s.view == view and not s.in_view_change:
        for seq in sorted(slots):
            if seq <= max(s.last_committed, last_committed):
                continue
            slot = slots[seq]
            out.extend(d for d in (slot.pre_prepare_bytes, slot.my_prepare, slot.my_commit) if d is not None)
    return out
