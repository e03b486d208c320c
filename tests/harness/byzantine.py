"""Byzantine behaviours. A byzantine replica runs an honest core underneath (so it follows the
protocol well enough to be dangerous) and this module rewrites what it sends and adds what an
attacker would send. It holds only its own key: everything it signs for others is a forgery."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from baaskit.consensus import (
    NULL_BATCH,
    Batch,
    ClusterConfig,
    Commit,
    MalformedMessage,
    Message,
    NewView,
    Prepare,
    PreparedCertificate,
    PrePrepare,
    ReplicaId,
    ViewChange,
    decode_message,
    encode_message,
)
from baaskit.consensus.signing import seal

from .app import decode_requests, encode_requests
from .keys import FakeSigner


@dataclass(frozen=True)
class Behaviour:
    silent: bool = False  # sends nothing at all
    equivocate: bool = False  # as primary, different pre-prepares to different replicas
    eager_votes: bool = False  # prepares + commits every pre-prepare it sees, conflicting ones too
    lie_in_view_change: bool = False  # fabricated certificates; corrupted O as new primary
    omit_certificates: bool = False  # view-changes without its prepared certificates (legal lie)
    forge: bool = False  # votes under other replicas' ids, malformed bytes
    replay: bool = False  # replays old messages, re-signs its votes for other views
    invalid_batches: bool = False  # as primary, proposes batches naming unknown requests

    def describe(self) -> str:
        on = [f.name for f in dataclasses.fields(self) if getattr(self, f.name)]
        return "+".join(on) or "follows-protocol"


Send = tuple[ReplicaId | None, bytes]


class Adversary:
    def __init__(
        self,
        me: ReplicaId,
        config: ClusterConfig,
        behaviour: Behaviour,
        submitted: Callable[[], list[int]],
    ) -> None:
        self.me = me
        self.config = config
        self.behaviour = behaviour
        self._submitted = submitted
        self._signer = FakeSigner(me)
        self._seen: list[bytes] = []
        self._voted: set[tuple[int, int, bytes]] = set()
        self._mine: list[Prepare | Commit] = []
        self.invented: set[bytes] = set()

    # ---------------------------------------------------------------- helpers

    def _seal(self, msg: Message) -> bytes:
        return seal(msg, self._signer, self.config.chain_id)[1]

    def conflicting(self, batch: Batch, salt: int) -> Batch:
        alt = self._conflicting(batch, salt)
        self.invented.add(alt.digest)
        return alt

    def _conflicting(self, batch: Batch, salt: int) -> Batch:
        ids = decode_requests(batch.payload) or ()
        if len(ids) > 1 and salt % 2:
            return Batch(encode_requests(tuple(reversed(ids))))
        if ids:
            return NULL_BATCH
        sub = self._submitted()
        if sub:
            return Batch(encode_requests((sub[salt % len(sub)],)))
        return Batch(encode_requests((10**6 + salt,)))

    # ---------------------------------------------------------------- outgoing

    def outgoing(self, to: ReplicaId | None, data: bytes) -> list[Send]:
        b = self.behaviour
        if b.silent:
            return []
        msg = decode_message(data)
        out: list[Send] = []
        if isinstance(msg, PrePrepare) and b.equivocate and to is None:
            alt = self.conflicting(msg.batch, msg.seq)
            alt_pp = self._seal(dataclasses.replace(msg, digest=alt.digest, payload=alt.payload))
            for dst in range(self.config.n):
                if dst != self.me:
                    out.append((dst, data if (dst + msg.seq) % 2 else alt_pp))
            if b.eager_votes:
                d = alt.digest
                out.append((None, self._seal(Commit(msg.view, msg.seq, d, self.me))))
                out.append((None, self._seal(Commit(msg.view, msg.seq, msg.digest, self.me))))
            return out
        if isinstance(msg, ViewChange) and (b.lie_in_view_change or b.omit_certificates):
            return [(to, self._lying_view_change(msg))]
        if isinstance(msg, NewView) and b.lie_in_view_change:
            return [(to, self._lying_new_view(msg))]
        out.append((to, data))
        if isinstance(msg, Prepare | Commit):
            self._mine.append(msg)
            if b.forge:
                other = (self.me + 1 + msg.seq) % self.config.n
                forged = dataclasses.replace(msg, replica=other)
                out.append((None, self._seal(forged)))  # signed by me: a bad signature for `other`
        return out

    def _lying_view_change(self, vc: ViewChange) -> bytes:
        """Fabricate conflicting certificates in the highest possible view (or omit them)."""
        fake: list[PreparedCertificate] = []
        if not self.behaviour.lie_in_view_change:
            return self._seal(dataclasses.replace(vc, prepared=()))
        low = vc.stable_seq
        real = {c.seq: c for c in vc.prepared}
        top = max([low + 1, *real])
        for seq in range(low + 1, min(top, low + self.config.watermark_window) + 1):
            base = real[seq].pre_prepare.batch if seq in real else NULL_BATCH
            batch = self.conflicting(base, seq + vc.view)
            v = vc.view - 1
            pp = seal(
                PrePrepare(v, seq, batch.digest, batch.payload, self.config.primary(v)),
                self._signer,
                self.config.chain_id,
            )[0]
            prepares = tuple(
                seal(Prepare(v, seq, batch.digest, r), self._signer, self.config.chain_id)[0]
                for r in range(self.config.n)
                if r != self.config.primary(v)
            )[: 2 * self.config.f]
            fake.append(PreparedCertificate(pp, prepares))
        return self._seal(dataclasses.replace(vc, prepared=tuple(fake)))

    def _lying_new_view(self, nv: NewView) -> bytes:
        pps = list(nv.pre_prepares)
        if not pps:
            seq = max([vc.stable_seq for vc in nv.view_changes]) + 1
            batch = self.conflicting(NULL_BATCH, seq)
            pps = [PrePrepare(nv.view, seq, batch.digest, batch.payload, self.me)]
        else:
            pps = [
                dataclasses.replace(
                    pp,
                    digest=self.conflicting(pp.batch, pp.seq).digest,
                    payload=self.conflicting(pp.batch, pp.seq).payload,
                )
                for pp in pps
            ]
        signed = tuple(seal(pp, self._signer, self.config.chain_id)[0] for pp in pps)
        return self._seal(dataclasses.replace(nv, pre_prepares=signed))

    # ---------------------------------------------------------------- incoming

    def observe(self, data: bytes) -> list[Send]:
        """Record what it receives; with eager votes, vote for every pre-prepare at once."""
        if len(self._seen) < 200:
            self._seen.append(data)
        b = self.behaviour
        if b.silent or not b.eager_votes:
            return []
        try:
            msg = decode_message(data)
        except MalformedMessage:
            return []
        if not isinstance(msg, PrePrepare):
            return []
        key = (msg.view, msg.seq, msg.digest)
        if key in self._voted:
            return []
        self._voted.add(key)
        out: list[Send] = []
        # votes go to one target only, so that the honest replicas disagree about what prepared
        target = (msg.seq + msg.view + 1 + self.me) % self.config.n
        if target == self.me:
            target = (target + 1) % self.config.n
        if msg.replica != self.me:
            out.append((target, self._seal(Prepare(msg.view, msg.seq, msg.digest, self.me))))
        out.append((target, self._seal(Commit(msg.view, msg.seq, msg.digest, self.me))))
        return out

    # ---------------------------------------------------------------- spontaneous

    def act(self, a: int, b: int) -> list[Send]:
        beh = self.behaviour
        if beh.silent:
            return []
        dst = b % self.config.n
        if dst == self.me:
            dst = (dst + 1) % self.config.n
        choice = a % 3
        if beh.replay and choice == 0 and self._seen:
            return [(dst, self._seen[a % len(self._seen)])]
        if beh.replay and choice == 1 and self._mine:
            vote = self._mine[a % len(self._mine)]
            shifted = dataclasses.replace(vote, view=vote.view + 1 + (b % 2), signature=b"")
            return [(None, self._seal(shifted))]
        if beh.forge:
            if self._seen and a % 2:
                data = self._seen[a % len(self._seen)]
                return [(dst, data[: max(1, len(data) - 1 - (b % 7))])]  # truncated garbage
            fake = Prepare(0, 1 + a % 4, bytes(32), (self.me + 1) % self.config.n, b"\x00" * 32)
            return [(dst, encode_message(fake))]
        return []
