"""Proposal codec and the verify-once signature cache."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from baaskit.node.metrics import Metrics
from baaskit.node.proposal import (
    Proposal,
    ProposalError,
    RecentProposals,
    decode_proposal,
    encode_proposal,
)
from baaskit.node.verified import VerifiedTxCache
from baaskit.tx import TxEnvelope
from tests.budget import budget

from .chain import make_chain

CHAIN = make_chain()

envelopes = st.builds(
    TxEnvelope,
    payload=st.binary(max_size=200),
    signer=st.binary(min_size=32, max_size=32),
    signature=st.binary(min_size=64, max_size=64),
)


@hsettings(max_examples=budget(200))
@given(
    st.integers(0, 2**64 - 1),
    st.lists(envelopes, max_size=8),
    st.integers(0, 2**64 - 1),
    st.integers(0, 2**32 - 1),
)
def test_proposal_round_trips(time_ms: int, txs: list[TxEnvelope], view: int, proposer: int) -> None:
    data = encode_proposal(time_ms, txs, view=view, proposer=proposer)
    assert decode_proposal(data) == Proposal(time_ms, tuple(txs), view, proposer)


@hsettings(max_examples=budget(300))
@given(st.binary(max_size=300))
def test_garbage_raises_proposal_error_only(data: bytes) -> None:
    with contextlib.suppress(ProposalError):
        decode_proposal(data)


@hsettings(max_examples=budget(200))
@given(st.lists(envelopes, min_size=1, max_size=4), st.data())
def test_every_truncation_or_extension_is_rejected(txs: list[TxEnvelope], data: st.DataObject) -> None:
    good = encode_proposal(5, txs)
    cut = data.draw(st.integers(0, len(good) - 1))
    with pytest.raises(ProposalError):
        decode_proposal(good[:cut])
    with pytest.raises(ProposalError, match="trailing"):
        decode_proposal(good + data.draw(st.binary(min_size=1, max_size=5)))


def test_bad_inputs_to_encode() -> None:
    with pytest.raises(ProposalError):
        encode_proposal(-1, [])
    with pytest.raises(ProposalError):
        encode_proposal(1, [TxEnvelope(b"p", b"short", bytes(64))])
    with pytest.raises(ProposalError, match="magic"):
        decode_proposal(b"XXXX" + bytes(24))


def test_signature_verified_once_per_envelope() -> None:
    metrics = Metrics()
    cache = VerifiedTxCache(capacity=10, metrics=metrics)
    tx = CHAIN.tx("a", "1")
    assert cache.verify(tx) and cache.verify(tx) and cache.verify(tx)
    assert cache.verifications == 1 and cache.hits == 2
    assert metrics.get("signature_verifications") == 1 and metrics.get("signature_cache_hits") == 2


def test_forged_signature_on_a_verified_payload_is_not_a_hit() -> None:
    cache = VerifiedTxCache()
    tx = CHAIN.tx("a", "1")
    assert cache.verify(tx)
    forged = TxEnvelope(tx.payload, tx.signer, bytes(64))
    assert not cache.verify(forged)
    assert not cache.verify(forged)  # invalid ones are never remembered as valid
    other_signer = TxEnvelope(tx.payload, bytes(CHAIN.outsider.verify_key), tx.signature)
    assert not cache.verify(other_signer)
    assert cache.verifications == 4
    assert tx in cache and forged not in cache


def test_cache_is_bounded_lru() -> None:
    cache = VerifiedTxCache(capacity=3)
    txs = [CHAIN.tx(f"k{i}", "v") for i in range(4)]
    for t in txs[:3]:
        cache.verify(t)
    cache.verify(txs[0])  # refresh 0: 1 is now least recently used
    cache.verify(txs[3])
    assert len(cache) == 3
    assert txs[1] not in cache and txs[0] in cache and txs[3] in cache
    cache.forget([txs[0]])
    assert txs[0] not in cache
    with pytest.raises(ValueError):
        VerifiedTxCache(capacity=0)


def test_a_transaction_is_decoded_once_and_its_entry_leaves_the_cache_at_commit() -> None:
    import nacl.signing

    from baaskit.node.verified import VerifiedTxCache
    from baaskit.tx import decode_payload, make_tx

    cache = VerifiedTxCache()
    key = nacl.signing.SigningKey.generate()
    env = make_tx(key, "chain", "kv", "set", {"key": "a", "value": "b"})
    assert cache.lookup(env) is None
    tx = decode_payload(env, "chain")
    assert cache.verify(env, tx)
    assert cache.lookup(env) is tx  # validation reuses admission's decoded tx
    assert cache.take(env) is tx  # the executor consumes it at commit
    assert cache.lookup(env) is None and len(cache) == 0
    assert cache.verifications == 1


def test_recent_proposals_decode_once_and_match_whole_bytes() -> None:
    envs = [CHAIN.tx("k", str(i)) for i in range(3)]
    payload = encode_proposal(1_700_000_000_123, envs, view=2, proposer=1)
    recent = RecentProposals(capacity=2)
    first = recent.decode(payload)
    assert first == decode_proposal(payload)
    assert recent.decode(bytes(payload)) is first  # equal bytes, another object: same Proposal
    other = encode_proposal(1_700_000_000_124, envs[:1])
    assert recent.decode(other).envelopes == (envs[0],)
    mine = Proposal(1, (envs[1],))
    recent.remember(b"x", mine)  # capacity 2: the oldest entry goes
    assert recent.decode(b"x") is mine
    assert recent.decode(payload) is not first  # decoded again after eviction
