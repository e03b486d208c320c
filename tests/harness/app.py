"""The model application ("node") of one simulated replica.

A batch payload is a list of request ids (u32 big-endian each); b"" is the null batch.
Validation models at-most-once rule (a): a batch is invalid if it is malformed, names a request
nobody submitted, repeats a request, or contains a request already committed/executed here or
already in another batch accepted in the same view. Execution models rule (b): a request that
was already executed is skipped deterministically. The state digest is a hash chain over the
executed (seq, payload) pairs, so equal digests mean equal histories.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

from baaskit.consensus import Batch


def encode_requests(ids: list[int] | tuple[int, ...]) -> bytes:
    return b"".join(struct.pack(">I", i) for i in ids)


def decode_requests(payload: bytes) -> tuple[int, ...] | None:
    if len(payload) % 4:
        return None
    return tuple(struct.unpack(">I", payload[i : i + 4])[0] for i in range(0, len(payload), 4))


def make_batch(ids: list[int] | tuple[int, ...]) -> Batch:
    return Batch(encode_requests(ids))


GENESIS_STATE = b""


@dataclass
class AppState:
    """Durable application state (survives a crash, like the node's block store)."""

    last_executed: int = 0
    digest: bytes = GENESIS_STATE
    executed: list[int] = field(default_factory=list)  # request ids, in execution order
    executed_set: set[int] = field(default_factory=set)
    history: dict[int, tuple[bytes, int]] = field(default_factory=dict)  # seq -> (digest, len)

    def execute(self, seq: int, payload: bytes) -> bytes:
        assert seq == self.last_executed + 1, (seq, self.last_executed)
        for rid in decode_requests(payload) or ():
            if rid not in self.executed_set:  # rule (b): skip duplicates deterministically
                self.executed.append(rid)
                self.executed_set.add(rid)
        self.digest = hashlib.sha256(
            self.digest + struct.pack(">Q", seq) + hashlib.sha256(payload).digest()
        ).digest()
        self.last_executed = seq
        self.history[seq] = (self.digest, len(self.executed))
        return self.digest

    def copy_from(self, donor: AppState, seq: int) -> None:
        """State transfer: take the donor's state as of ``seq``."""
        digest, length = donor.history[seq]
        self.executed = list(donor.executed[:length])
        self.executed_set = set(self.executed)
        self.history = {s: v for s, v in donor.history.items() if s <= seq}
        self.digest, self.last_executed = digest, seq


def validate(
    payload: bytes,
    seq: int,
    submitted: set[int],
    known_done: set[int],
    accepted_in_view: dict[int, tuple[int, ...]],
) -> bool:
    ids = decode_requests(payload)
    if ids is None or len(set(ids)) != len(ids):
        return False
    for rid in ids:
        if rid not in submitted or rid in known_done:
            return False
    for other_seq, other in accepted_in_view.items():
        if other_seq != seq and set(other) & set(ids):
            return False
    return True
