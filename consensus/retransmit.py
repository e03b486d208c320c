"""When a replica re-sends whole batches to a peer whose Status shows no progress.

A peer that stopped committing may have lost a message (a stream broke, a full queue dropped
it), and the pre-prepares and commit certificates it lacks are re-sent on its Status. But a peer
on a slow link also shows no progress for a Status period or two, while what it lacks is still
on its way. Re-sent at every Status, the copies (every in-flight batch, from every replica that
holds it) multiplied the bytes on the link exactly when it could least carry them: with the peer
links of a 4-node cluster shaped to 80 Mbit/s, full load needed ~41 Mbit/s, yet the re-sent
batches filled the links until nothing arrived in time and the cluster stopped committing.

So batches go to a peer at once the first time, then only after a wait that doubles each time
(up to a cap) while the peer stays behind; a Status showing it committed up to where this
replica is resets the wait. Two replicas that both stand still do not count as caught up: that
is the congested case, where the waits matter most. Only a re-send uses up a wait: the Statuses
of an idle peer, which lacks nothing, leave them as they are. Small messages (checkpoint votes)
are not affected.

A replica's own view-change (MBs at full load: it holds the batches prepared above its stable
checkpoint) was broadcast again at every Status period while its view change lasted: the same
multiplication. On 40 Mbit/s peer links one replica that had left the view alone sent its 7 MB
view-change five times in 20 s. It goes again only after doubling waits counted from its first
broadcast, the first of VIEW_CHANGE_RESEND_PERIODS (consensus/replica.py). With the peer links
shaped to 80 Mbit/s and the primary killed at full load, waits starting at one period still sent
each survivor's ~2 MB view-change 5 times in its first 4 s (40-60 MB per node in 20 s, counted per
message kind): the new primary's new-view queued behind them, the other replicas' new-view timers
ran out, and the cluster often went through views 1, 2 and 3 (13-40 s).

The new-view (MBs too) goes to a peer whose Status or late view-change shows it lacks it, also at
doubling waits per peer from the broadcast: a peer whose copy is still on its way on a slow link
asks again at every Status.
"""

from __future__ import annotations

from dataclasses import dataclass

from .types import ReplicaId


@dataclass
class _Wait:
    due: int  # first tick at which a copy may go again
    ticks: int  # the wait after that copy


class RetransmitBackoff:
    def __init__(self, base_ticks: int, cap_ticks: int) -> None:
        if not 0 < base_ticks <= cap_ticks:
            raise ValueError(f"backoff {base_ticks}..{cap_ticks} ticks")
        self._base = base_ticks
        self._cap = cap_ticks
        self._peers: dict[ReplicaId, _Wait] = {}

    def clear(self) -> None:
        """Start over for every peer."""
        self._peers.clear()

    def sent(self, peer: ReplicaId, now: int) -> None:
        """A copy just went to `peer` (a first broadcast): the next one only after the base wait."""
        self._peers[peer] = _Wait(now + self._base, min(2 * self._base, self._cap))

    def reset(self, peer: ReplicaId) -> None:
        """Start over: the next `take` for `peer` is at once (its next lack is a fresh one)."""
        self._peers.pop(peer, None)

    def take(self, peer: ReplicaId, now: int) -> bool:
        """Whether batches may be re-sent to `peer` at tick `now`; if so, the next wait starts
        (base, 2 x base, ... up to the cap)."""
        wait = self._peers.get(peer)
        if wait is None:
            self.sent(peer, now)
            return True
        if now < wait.due:
            return False
        wait.due = now + wait.ticks
        wait.ticks = min(2 * wait.ticks, self._cap)
        return True
