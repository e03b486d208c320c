"""Pure normal-case rules: which records are votes, and what to retransmit to a lagging peer."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from .checkpoint import StableCheckpoint
from .codec import encode_message
from .log import Slot
from .records import RecordKind
from .types import Status

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


def retransmissions(
    s: Status,
    *,
    view: int,
    in_view_change: bool,
    new_view: bytes | None,
    stable: StableCheckpoint,
    slots: Mapping[int, Slot],
) -> Iterator[bytes]:
    """What to send (as already-signed bytes, possibly signed by others) to a peer whose Status is
    ``s``: the new-view of our view if it is behind in views; the proof of our stable checkpoint
    if its log is behind it; the pre-prepares and our own votes for the seqs it has not committed
    if it is in our view."""
    active = not in_view_change
    if active and new_view is not None and (s.view < view or (s.view == view and s.in_view_change)):
        yield new_view
    if s.stable_seq < stable.seq and s.last_committed < stable.seq:
        for cp in stable.proof:
            yield encode_message(cp)
    if active and s.view == view and not s.in_view_change:
        for seq in sorted(slots):
            if seq <= s.last_committed:
                continue
            slot = slots[seq]
            for data in (slot.pre_prepare_bytes, slot.my_prepare, slot.my_commit):
                if data is not None:
                    yield data
