"""RFC 6962 Merkle trees: the fast tree against a naive recursive reference written from the RFC."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from baaskit import merkle
from tests.budget import budget

leaves = st.lists(st.binary(max_size=8), max_size=70)


def ref_mth(data: list[bytes]) -> bytes:
    """RFC 6962 §2.1 MTH, literally: recursion on the largest power of two smaller than n."""
    n = len(data)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(data[:k]) + ref_mth(data[k:])).digest()


def ref_path(m: int, data: list[bytes]) -> list[bytes]:
    """RFC 6962 §2.1.1 PATH(m, D[n]), reversed in the RFC's recursion so the leaf's sibling comes first."""
    n = len(data)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*ref_path(m, data[:k]), ref_mth(data[k:])]
    return [*ref_path(m - k, data[k:]), ref_mth(data[:k])]


def tree(data: list[bytes]) -> merkle.MerkleTree:
    return merkle.MerkleTree([merkle.leaf_hash(x) for x in data])


def test_known_vectors() -> None:
    assert (
        merkle.root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    # RFC 6962 test vector: the tree of the single empty leaf
    assert (
        merkle.root([b""]).hex()
        == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )


@settings(max_examples=budget(200))
@given(leaves)
def test_root_matches_the_reference(data: list[bytes]) -> None:
    expected = ref_mth(data)
    assert merkle.root(data) == expected
    assert tree(data).root == expected
    assert len(tree(data)) == len(data)


@settings(max_examples=budget(200))
@given(leaves.filter(bool), st.data())
def test_every_proof_matches_the_reference_and_verifies(
    data: list[bytes], draw: st.DataObject
) -> None:
    t = tree(data)
    for i in range(len(data)):
        proof = t.proof(i)
        assert proof == ref_path(i, data)
        assert merkle.verify_inclusion(merkle.leaf_hash(data[i]), i, len(data), proof, t.root)


@settings(max_examples=budget(200))
@given(st.lists(st.binary(max_size=8), min_size=2, max_size=70, unique=True), st.data())
def test_a_proof_for_the_wrong_index_leaf_root_or_size_fails(
    data: list[bytes], draw: st.DataObject
) -> None:
    n = len(data)
    t = tree(data)
    i = draw.draw(st.integers(0, n - 1), label="index")
    proof, leaf = t.proof(i), merkle.leaf_hash(data[i])
    j = draw.draw(st.integers(0, n - 1).filter(lambda x: x != i), label="other index")
    assert not merkle.verify_inclusion(leaf, j, n, proof, t.root)
    assert not merkle.verify_inclusion(merkle.leaf_hash(data[j]), i, n, proof, t.root)
    assert not merkle.verify_inclusion(leaf, i, n, proof, hashlib.sha256(t.root).digest())
    assert not merkle.verify_inclusion(leaf, i, n, [*proof, t.root], t.root)
    if proof:
        assert not merkle.verify_inclusion(leaf, i, n, proof[:-1], t.root)
        k = draw.draw(st.integers(0, len(proof) - 1), label="flipped node")
        bent = [*proof]
        bent[k] = bytes([bent[k][0] ^ 1]) + bent[k][1:]
        assert not merkle.verify_inclusion(leaf, i, n, bent, t.root)
    # The size is only bound through the path's shape (RFC 9162): a size whose audit path for i has
    # another length must fail. (Same-shape sizes can pass; receipts take the size from the signed header.)
    m = draw.draw(st.integers(1, 2 * n + 2), label="other size")
    assume(i < m and len(ref_path(i, [b""] * m)) != len(proof))
    assert not merkle.verify_inclusion(leaf, i, m, proof, t.root)


@pytest.mark.parametrize(("index", "size"), [(-1, 3), (3, 3), (0, 0)])
def test_out_of_range_index_never_verifies(index: int, size: int) -> None:
    assert not merkle.verify_inclusion(
        merkle.leaf_hash(b"x"), index, size, [], merkle.leaf_hash(b"x")
    )


def test_proof_index_out_of_range_raises() -> None:
    with pytest.raises(IndexError):
        tree([b"a"]).proof(1)


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    a, b = merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")
    assert merkle.root([a + b]) != merkle.node_hash(a, b)
