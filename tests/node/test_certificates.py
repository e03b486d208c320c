"""CertificateCollector: 2f+1 matching signatures, verified once, divergence counted."""

from __future__ import annotations

import hashlib

import pytest

from baaskit.block import CertificateError, sign_header
from baaskit.node import certificates as certificates_module
from baaskit.node.certificates import (
    BlockCertificate,
    CertificateCollector,
    CertificateDecodeError,
    HeaderSignature,
)
from baaskit.node.metrics import Metrics
from baaskit.wire.v1 import types_pb2

from .chain import make_chain

CHAIN = make_chain()
OURS = hashlib.sha256(b"our header").digest()
THEIRS = hashlib.sha256(b"another header").digest()


class Local:
    def __init__(self, height: int, header_hash: bytes, member: int = 0) -> None:
        self.height = height
        self.header_hash = header_hash
        self.member = member
        self.signature = sign_header(CHAIN.node_keys[member], header_hash)


def vote(member: int, header_hash: bytes = OURS, height: int = 1) -> HeaderSignature:
    return HeaderSignature(height, header_hash, member, sign_header(CHAIN.node_keys[member], header_hash))


def test_certificate_after_2f_plus_1_matching_signatures_once() -> None:
    metrics = Metrics()
    c = CertificateCollector(CHAIN.genesis, metrics)
    assert c.add_local(Local(1, OURS)) is None
    assert c.add(vote(1)) is None
    cert = c.add(vote(3))
    assert cert is not None
    assert [m for m, _ in cert.signatures] == [0, 1, 3]
    assert cert.check(CHAIN.genesis) == [0, 1, 3]
    assert c.add(vote(2)) is None  # already certified: once per height
    assert c.is_certified(1)
    assert metrics.get("certificates") == 1


def test_votes_before_our_own_execution_are_kept() -> None:
    c = CertificateCollector(CHAIN.genesis)
    assert c.add(vote(1)) is None
    assert c.add(vote(2)) is None
    cert = c.add_local(Local(1, OURS))
    assert cert is not None and cert.header_hash == OURS


def test_protobuf_votes_are_accepted() -> None:
    c = CertificateCollector(CHAIN.genesis)
    c.add_local(Local(1, OURS))
    c.add(vote(1).to_proto())
    assert c.add(types_pb2.HeaderSignature(height=1, header_hash=OURS, member=2, signature=vote(2).signature)) is not None


def test_bad_and_unknown_signatures_do_not_count() -> None:
    metrics = Metrics()
    c = CertificateCollector(CHAIN.genesis, metrics)
    c.add_local(Local(1, OURS))
    assert c.add(HeaderSignature(1, OURS, 1, bytes(64))) is None
    assert c.add(HeaderSignature(1, OURS, 9, vote(1).signature)) is None
    assert c.add(HeaderSignature(1, OURS, 2, vote(1).signature)) is None  # member 1's sig claimed by 2
    assert c.invalid == 3 and metrics.get("evidence") == 3
    assert c.add(vote(1)) is None
    assert c.add(vote(2)) is not None


def test_divergent_headers_are_evidence_not_votes() -> None:
    metrics = Metrics()
    c = CertificateCollector(CHAIN.genesis, metrics)
    c.add(vote(3, THEIRS))  # arrives before we execute
    c.add_local(Local(1, OURS))
    assert c.add(vote(1)) is None
    assert c.add(vote(2, THEIRS)) is None
    assert c.divergent == 2 and metrics.get("divergent_headers") == 2
    assert not c.is_certified(1)


def test_equivocation_is_counted_and_first_vote_kept() -> None:
    c = CertificateCollector(CHAIN.genesis)
    c.add_local(Local(1, OURS))
    c.add(vote(1))
    c.add(vote(1, THEIRS))
    assert c.invalid == 1
    assert c.add(vote(2)) is not None


def test_each_vote_is_verified_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = certificates_module.verify_header_signature

    def counting(key: bytes, h: bytes, sig: bytes) -> bool:
        calls.append(1)
        return real(key, h, sig)

    monkeypatch.setattr(certificates_module, "verify_header_signature", counting)
    c = CertificateCollector(CHAIN.genesis)
    v = vote(1, height=2)
    for _ in range(5):
        c.add(v)
    assert len(calls) == 1


def test_forget_below_and_window() -> None:
    c = CertificateCollector(CHAIN.genesis, window=10)
    c.add_local(Local(1, OURS))
    c.add(vote(1))
    c.forget_below(1)
    assert c.add(vote(2)) is None  # height 1 forgotten: late votes ignored
    assert c.add(vote(1, height=50)) is None  # far beyond our height: ignored without verifying
    assert c.invalid == 0


def test_certificate_encoding_round_trip_and_errors() -> None:
    cert = BlockCertificate(4, OURS, ((0, vote(0).signature), (2, vote(2).signature)))
    assert BlockCertificate.decode(cert.encode()) == cert
    with pytest.raises(CertificateDecodeError):
        BlockCertificate.decode(b"\xff\xff\xff")
    msg = cert.to_proto()
    msg.signatures[0].height = 5
    with pytest.raises(CertificateDecodeError, match="height"):
        BlockCertificate.from_proto(msg)
    with pytest.raises(CertificateError, match="too-few"):
        cert.check(CHAIN.genesis)


def test_a_member_spraying_votes_costs_bounded_verifications(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = certificates_module.verify_header_signature

    def counting(key: bytes, h: bytes, sig: bytes) -> bool:
        calls.append(1)
        return real(key, h, sig)

    monkeypatch.setattr(certificates_module, "verify_header_signature", counting)
    c = CertificateCollector(CHAIN.genesis)
    c.add_local(Local(1, OURS))
    for i in range(50):
        c.add(HeaderSignature(1, OURS, 1, bytes([i]) * 64))
    assert len(calls) == certificates_module.MAX_VOTES_PER_MEMBER
    assert c.add(vote(2)) is None and c.add(vote(3)) is not None  # other members unaffected
