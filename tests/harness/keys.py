"""Fast deterministic fake signatures: sig_i(data) = sha256(secret_i || data). Test-only."""

from __future__ import annotations

import hashlib

from baaskit.consensus import ReplicaId


def _secret(replica: ReplicaId) -> bytes:
    return b"fake-secret-%d" % replica


class FakeSigner:
    def __init__(self, replica: ReplicaId) -> None:
        self._secret = _secret(replica)

    def sign(self, data: bytes) -> bytes:
        return hashlib.sha256(self._secret + data).digest()


class FakeVerifier:
    def __init__(self, n: int) -> None:
        self._secrets = [_secret(r) for r in range(n)]

    def verify(self, replica: ReplicaId, data: bytes, signature: bytes) -> bool:
        if not 0 <= replica < len(self._secrets):
            return False
        return hashlib.sha256(self._secrets[replica] + data).digest() == signature
