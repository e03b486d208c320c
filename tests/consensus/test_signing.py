"""Ed25519 signing over canonical sign-bytes that include the chain id."""

from __future__ import annotations

import nacl.signing

from baaskit.consensus import (
    Batch,
    ClusterConfig,
    Ed25519Signer,
    Ed25519Verifier,
    MisbehaviourDetected,
    PrePrepare,
    Replica,
    sign_bytes,
)
from baaskit.consensus.codec import encode_body
from baaskit.consensus.signing import seal
from tests.harness.keys import FakeSigner, FakeVerifier


def keys(n: int) -> tuple[list[Ed25519Signer], Ed25519Verifier]:
    signers = [Ed25519Signer(nacl.signing.SigningKey(bytes([i + 1]) * 32)) for i in range(n)]
    return signers, Ed25519Verifier({i: s.public_key for i, s in enumerate(signers)})


def test_ed25519_sign_and_verify() -> None:
    signers, verifier = keys(2)
    sig = signers[0].sign(b"hello")
    assert verifier.verify(0, b"hello", sig)
    assert not verifier.verify(1, b"hello", sig)  # another replica's key
    assert not verifier.verify(0, b"hullo", sig)
    assert not verifier.verify(0, b"hello", sig[:-1] + bytes([sig[-1] ^ 1]))
    assert not verifier.verify(7, b"hello", sig)  # unknown replica
    assert not verifier.verify(0, b"hello", b"short")


def test_sign_bytes_contain_the_chain_id() -> None:
    pp = PrePrepare(0, 1, Batch(b"x").digest, b"x", 0)
    body = encode_body(pp)
    assert sign_bytes("chain-a", body) != sign_bytes("chain-b", body)
    assert b"chain-a" in sign_bytes("chain-a", body)
    # no ambiguity between (chain id, body) splits
    assert sign_bytes("ab", b"c" + body) != sign_bytes("abc", body)


def _replica(chain: str, real: bool) -> tuple[Replica, object]:
    cfg = ClusterConfig(4, chain)
    if real:
        signers, verifier = keys(4)
        return Replica(cfg, 1, signers[1], verifier), signers[0]
    return Replica(cfg, 1, FakeSigner(1), FakeVerifier(4)), FakeSigner(0)


def test_message_signed_for_another_chain_is_rejected() -> None:
    for real in (True, False):
        replica, primary_signer = _replica("chain-a", real)
        batch = Batch(b"tx")
        pp = PrePrepare(0, 1, batch.digest, batch.payload, 0)
        _, foreign = seal(pp, primary_signer, "chain-b")  # type: ignore[arg-type]
        ready = replica.receive(foreign, 0)
        assert not ready.validate and not ready.messages and not ready.persist
        assert [type(e) for e in ready.events] == [MisbehaviourDetected]
        assert ready.events[0].kind == "bad-signature"  # type: ignore[union-attr]
        assert replica.evidence_counts == {0: 1}
        # the same message signed for this chain is accepted
        _, native = seal(pp, primary_signer, "chain-a")  # type: ignore[arg-type]
        ok = replica.receive(native, 0)
        assert [v.seq for v in ok.validate] == [1]


def test_forged_signature_is_evidence_not_an_exception() -> None:
    replica, primary_signer = _replica("chain-a", True)
    pp = PrePrepare(0, 1, Batch(b"tx").digest, b"tx", 0)
    signed, _ = seal(pp, primary_signer, "chain-a")  # type: ignore[arg-type]
    # replica 2 claims to be the primary, with its own key
    signers, _ = keys(4)
    _, forged = seal(pp, signers[2], "chain-a")
    ready = replica.receive(forged, 2)
    assert replica.evidence_counts == {2: 1}
    assert ready.events and not ready.validate
    assert signed.signature != forged
