"""Block certificates: collect members' header signatures until 2f+1 match our own header.

After executing block h every replica signs SHA-256(header) (baaskit.block.sign_header) and
broadcasts a HeaderSignature. The collector verifies each distinct vote once, keeps valid votes
per (height, member), and returns the certificate — 2f+1 distinct members over OUR header hash —
exactly once per height. A valid vote for another hash is evidence of divergence (counted);
an invalid signature or unknown member is evidence against the sender (counted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from google.protobuf.message import DecodeError

from baaskit.block import check_certificate, verify_header_signature
from baaskit.genesis import Genesis
from baaskit.wire.v1 import types_pb2

from .metrics import CERTIFICATES, DIVERGENT_HEADERS, EVIDENCE, Metrics

# Distinct votes verified per (height, member): an honest member sends one; two prove equivocation.
MAX_VOTES_PER_MEMBER = 3


class HeaderVote(Protocol):
    """Anything shaped like types.proto HeaderSignature (the protobuf message itself works)."""

    @property
    def height(self) -> int: ...

    @property
    def header_hash(self) -> bytes: ...

    @property
    def member(self) -> int: ...

    @property
    def signature(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class HeaderSignature:
    height: int
    header_hash: bytes
    member: int
    signature: bytes

    def to_proto(self) -> types_pb2.HeaderSignature:
        return types_pb2.HeaderSignature(
            height=self.height, header_hash=self.header_hash, member=self.member, signature=self.signature
        )


class CertificateDecodeError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class BlockCertificate:
    height: int
    header_hash: bytes
    signatures: tuple[tuple[int, bytes], ...]  # (member, signature), ascending member

    def to_proto(self) -> types_pb2.BlockCertificate:
        return types_pb2.BlockCertificate(
            height=self.height,
            header_hash=self.header_hash,
            signatures=[
                types_pb2.HeaderSignature(
                    height=self.height, header_hash=self.header_hash, member=m, signature=s
                )
                for m, s in self.signatures
            ],
        )

    def encode(self) -> bytes:
        """Stored form (and the wire form): serialized types.proto BlockCertificate."""
        return self.to_proto().SerializeToString(deterministic=True)

    @classmethod
    def from_proto(cls, msg: types_pb2.BlockCertificate) -> BlockCertificate:
        sigs: list[tuple[int, bytes]] = []
        for s in msg.signatures:
            if s.height != msg.height or s.header_hash != msg.header_hash:
                raise CertificateDecodeError(
                    f"certificate for height {msg.height}: a signature names height {s.height} / another hash"
                )
            sigs.append((int(s.member), bytes(s.signature)))
        return cls(height=int(msg.height), header_hash=bytes(msg.header_hash), signatures=tuple(sigs))

    @classmethod
    def decode(cls, data: bytes) -> BlockCertificate:
        msg = types_pb2.BlockCertificate()
        try:
            msg.ParseFromString(data)
        except DecodeError as exc:
            raise CertificateDecodeError(f"not a block certificate: {exc}") from None
        return cls.from_proto(msg)

    def check(self, genesis: Genesis) -> list[int]:
        """Raises baaskit.block.CertificateError unless 2f+1 distinct genesis members signed."""
        return check_certificate(
            self.header_hash, self.signatures, genesis.member_keys(), genesis.certificate_quorum
        )


class CertificateCollector:
    def __init__(self, genesis: Genesis, metrics: Metrics | None = None, window: int = 10_000) -> None:
        self._keys = genesis.member_keys()
        self._quorum = genesis.certificate_quorum
        self._metrics = metrics
        self._window = window  # votes further than this above our last local height are ignored
        self._ours: dict[int, bytes] = {}  # height -> our header hash
        self._votes: dict[int, dict[int, tuple[bytes, bytes]]] = {}  # height -> member -> (hash, sig)
        self._seen: set[tuple[int, int, bytes, bytes]] = set()  # verified-once memo
        self._tries: dict[tuple[int, int], int] = {}  # (height, member) -> distinct votes checked
        self._done: set[int] = set()
        self._floor = 0  # heights <= floor are forgotten
        self._top = 0
        self.divergent = 0  # valid votes for a header hash other than ours
        self.invalid = 0  # bad signature / unknown member / equivocation

    def _evidence(self, divergent: bool = False) -> None:
        if divergent:
            self.divergent += 1
        else:
            self.invalid += 1
        if self._metrics is not None:
            self._metrics.incr(EVIDENCE)
            if divergent:
                self._metrics.incr(DIVERGENT_HEADERS)

    def add_local(self, block: HeaderVote) -> BlockCertificate | None:
        """Our own executed block (an executor.ExecutedBlock has the HeaderVote shape)."""
        self._ours[block.height] = block.header_hash
        self._top = max(self._top, block.height)
        votes = self._votes.setdefault(block.height, {})
        votes[block.member] = (block.header_hash, block.signature)
        for _member, (h, _sig) in sorted(votes.items()):
            if h != block.header_hash:
                self._evidence(divergent=True)
        return self._maybe_certificate(block.height)

    def add(self, vote: HeaderVote) -> BlockCertificate | None:
        height, member = int(vote.height), int(vote.member)
        header_hash, signature = bytes(vote.header_hash), bytes(vote.signature)
        if height <= self._floor or height in self._done:
            return None
        if height > self._top + self._window:
            return None
        memo = (height, member, header_hash, signature)
        if memo in self._seen:
            return None
        key = self._keys.get(member)
        if key is None:
            self._evidence()
            return None
        tries = self._tries.get((height, member), 0)
        if tries >= MAX_VOTES_PER_MEMBER:  # a peer spraying votes costs us no more verifications
            return None
        self._tries[(height, member)] = tries + 1
        self._seen.add(memo)
        if not verify_header_signature(key, header_hash, signature):
            self._evidence()
            return None
        votes = self._votes.setdefault(height, {})
        previous = votes.get(member)
        if previous is not None:
            if previous[0] != header_hash:
                self._evidence()  # one member signed two headers at one height: equivocation
            return None
        votes[member] = (header_hash, signature)
        ours = self._ours.get(height)
        if ours is not None and header_hash != ours:
            self._evidence(divergent=True)
            return None
        return self._maybe_certificate(height)

    def _maybe_certificate(self, height: int) -> BlockCertificate | None:
        ours = self._ours.get(height)
        if ours is None or height in self._done:
            return None
        matching = sorted((m, sig) for m, (h, sig) in self._votes.get(height, {}).items() if h == ours)
        if len(matching) < self._quorum:
            return None
        cert = BlockCertificate(height=height, header_hash=ours, signatures=tuple(matching[: self._quorum]))
        self._done.add(height)
        self._votes.pop(height, None)
        if self._metrics is not None:
            self._metrics.incr(CERTIFICATES)
        return cert

    def is_certified(self, height: int) -> bool:
        return height in self._done

    def forget_below(self, height: int) -> None:
        """Drop all state for heights <= height (their certificates are stored)."""
        self._floor = max(self._floor, height)
        for h in [h for h in self._votes if h <= height]:
            del self._votes[h]
        for h in [h for h in self._ours if h <= height]:
            del self._ours[h]
        self._done = {h for h in self._done if h > height}
        self._seen = {m for m in self._seen if m[0] > height}
        self._tries = {k: v for k, v in self._tries.items() if k[0] > height}

