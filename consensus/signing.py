"""Canonical sign-bytes (domain tag + chain id + message body) and the signer/verifier seam.

Production uses Ed25519 through PyNaCl; the simulator plugs in fast deterministic fakes.
A message signed for another chain id does not verify here, because the chain id is inside the
bytes that are signed.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Mapping
from typing import Protocol, TypeVar

import nacl.exceptions
import nacl.signing

from .codec import encode_body, encode_message
from .types import Message, ReplicaId

DOMAIN = b"baaskit/pbft/v1\x00"


def sign_bytes(chain_id: str, body: bytes) -> bytes:
    cid = chain_id.encode("utf-8")
    return DOMAIN + struct.pack(">H", len(cid)) + cid + body


class Signer(Protocol):
    def sign(self, data: bytes) -> bytes: ...


class Verifier(Protocol):
    def verify(self, replica: ReplicaId, data: bytes, signature: bytes) -> bool: ...


class Ed25519Signer:
    """Signs with an Ed25519 private key (32-byte seed or a nacl SigningKey)."""

    def __init__(self, key: bytes | nacl.signing.SigningKey) -> None:
        self._key = (
            key if isinstance(key, nacl.signing.SigningKey) else nacl.signing.SigningKey(key)
        )

    @property
    def public_key(self) -> bytes:
        return bytes(self._key.verify_key)

    def sign(self, data: bytes) -> bytes:
        return bytes(self._key.sign(data).signature)


class Ed25519Verifier:
    """Verifies against each replica's 32-byte Ed25519 public key."""

    def __init__(self, public_keys: Mapping[ReplicaId, bytes]) -> None:
        self._keys = {r: nacl.signing.VerifyKey(k) for r, k in sorted(public_keys.items())}

    def verify(self, replica: ReplicaId, data: bytes, signature: bytes) -> bool:
        key = self._keys.get(replica)
        if key is None or len(signature) != 64:
            return False
        try:
            key.verify(data, signature)
        except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
            return False
        return True


M = TypeVar("M", bound=Message)


def sign(msg: M, signer: Signer, chain_id: str) -> M:
    """``msg`` signed over its full body (its ``signature`` is replaced)."""
    return dataclasses.replace(msg, signature=signer.sign(sign_bytes(chain_id, encode_body(msg))))


def seal(msg: M, signer: Signer, chain_id: str) -> tuple[M, bytes]:
    """Sign ``msg``; return the signed message and its full wire bytes."""
    signed = sign(msg, signer, chain_id)
    return signed, encode_message(signed)


def verify_body(msg: Message, body: bytes, verifier: Verifier, chain_id: str) -> bool:
    """Verify ``msg.signature`` by ``msg.replica`` over the received ``body`` bytes."""
    try:
        return bool(verifier.verify(msg.replica, sign_bytes(chain_id, body), msg.signature))
    except Exception:  # a verifier must never let a peer crash us
        return False


def verify_nested(msg: Message, verifier: Verifier, chain_id: str) -> bool:
    """Verify a message embedded in another (the codec is canonical, so its body re-encodes
    to exactly the bytes that were received)."""
    return verify_body(msg, encode_body(msg), verifier, chain_id)
