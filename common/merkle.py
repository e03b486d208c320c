"""RFC 6962 (Certificate Transparency) Merkle trees over SHA-256.

leaf hash  = SHA-256(0x00 || leaf)
node hash  = SHA-256(0x01 || left || right)
empty tree = SHA-256("")
A tree of n > 1 leaves splits at k, the largest power of two smaller than n (RFC 6962 §2.1).
An inclusion proof is the audit path of RFC 6962 §2.1.1, ordered from the leaf upwards.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """Merkle tree hash of already-hashed leaves (iterative, O(n))."""
    n = len(hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return hashes[0]
    k = _split(n)
    return node_hash(root_from_leaf_hashes(hashes[:k]), root_from_leaf_hashes(hashes[k:]))


def root(leaves: Sequence[bytes]) -> bytes:
    return root_from_leaf_hashes([leaf_hash(x) for x in leaves])


class MerkleTree:
    """A tree built once over leaf hashes; answers inclusion proofs for every leaf in O(log n).

    Built bottom-up, level by level: pair neighbours, and carry an unpaired last node up
    unchanged. That is the same tree as RFC 6962's recursive split at the largest power of two
    (checked against a literal MTH/PATH in tests/common/test_merkle.py), but it costs n-1 hashes
    and flat lists, so proving all n leaves of a big aggregation batch is O(n log n) list reads.
    """

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self._n = len(leaf_hashes)
        levels: list[list[bytes]] = [list(leaf_hashes)]
        h, prefix = hashlib.sha256, NODE_PREFIX
        while len(levels[-1]) > 1:
            below = levels[-1]
            pairs = len(below) // 2
            above = [h(prefix + below[2 * i] + below[2 * i + 1]).digest() for i in range(pairs)]
            if len(below) % 2:
                above.append(below[-1])  # unpaired: promoted as is
            levels.append(above)
        self._below_root = [(level, len(level)) for level in levels[:-1]]
        self.root = levels[-1][0] if self._n else EMPTY_ROOT

    def __len__(self) -> int:
        return self._n

    def proof(self, index: int) -> list[bytes]:
        """Audit path for leaf `index`, from the leaf's sibling up to the root's children."""
        if not 0 <= index < self._n:
            raise IndexError(f"leaf {index} out of range for a tree of {self._n}")
        path: list[bytes] = []
        append = path.append
        for level, size in self._below_root:
            sibling = index ^ 1
            if sibling < size:  # no sibling: this node was promoted, adds nothing to the path
                append(level[sibling])
            index >>= 1
        return path


def verify_inclusion(leaf_hash_: bytes, index: int, size: int, path: Sequence[bytes], expected_root: bytes) -> bool:
    """RFC 9162 §2.1.3.2 inclusion verification; True iff `path` proves leaf `index` of `size` under root."""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf_hash_
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root
