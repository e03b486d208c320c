"""Block headers, their hash and sign-bytes, and block certificates.

The header travels and is stored as canonical JSON bytes; its hash is SHA-256 of those bytes.
Byte fields are lowercase hex. A member signs HEADER_DOMAIN || header_hash; 2f+1 distinct members'
valid signatures over the same header form the block certificate. Because the header carries the
results root and the state digest, the certificate also attests to the execution result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import nacl.exceptions
import nacl.signing

from baaskit import canonical

HEADER_VERSION = 1
HEADER_DOMAIN = b"baaskit/header/v1\x00"
GENESIS_PREV_HASH = bytes(32)


class HeaderError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class BlockHeader:
    chain_id: str
    height: int
    prev_hash: bytes
    time_ms: int
    view: int
    proposer: int
    tx_count: int
    tx_root: bytes
    results_root: bytes
    state_digest: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "v": HEADER_VERSION,
            "chain_id": self.chain_id,
            "height": self.height,
            "prev_hash": self.prev_hash.hex(),
            "time_ms": self.time_ms,
            "view": self.view,
            "proposer": self.proposer,
            "tx_count": self.tx_count,
            "tx_root": self.tx_root.hex(),
            "results_root": self.results_root.hex(),
            "state_digest": self.state_digest.hex(),
        }

    def encode(self) -> bytes:
        return canonical.dumps(self.to_json())

    @property
    def hash(self) -> bytes:
        return header_hash(self.encode())

    @classmethod
    def decode(cls, data: bytes) -> BlockHeader:
        try:
            body = canonical.loads(data)
        except canonical.CanonicalError as exc:
            raise HeaderError(f"header: {exc}") from None
        if not isinstance(body, dict) or body.get("v") != HEADER_VERSION:
            raise HeaderError("header: not a version-1 header object")
        try:
            header = cls(
                chain_id=_str(body["chain_id"]),
                height=_uint(body["height"]),
                prev_hash=_hex32(body["prev_hash"]),
                time_ms=_uint(body["time_ms"]),
                view=_uint(body["view"]),
                proposer=_uint(body["proposer"]),
                tx_count=_uint(body["tx_count"]),
                tx_root=_hex32(body["tx_root"]),
                results_root=_hex32(body["results_root"]),
                state_digest=_hex32(body["state_digest"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise HeaderError(f"header: bad field ({exc})") from None
        if header.encode() != data:
            raise HeaderError("header: unexpected fields")
        return header


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError("expected string")
    return v


def _uint(v: Any) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise ValueError("expected unsigned integer")
    return v


def _hex32(v: Any) -> bytes:
    raw = bytes.fromhex(_str(v))
    if len(raw) != 32:
        raise ValueError("expected 32 bytes of hex")
    return raw


def header_hash(header_bytes: bytes) -> bytes:
    return hashlib.sha256(header_bytes).digest()


def header_sign_bytes(header_hash_: bytes) -> bytes:
    return HEADER_DOMAIN + header_hash_


def sign_header(key: nacl.signing.SigningKey, header_hash_: bytes) -> bytes:
    return key.sign(header_sign_bytes(header_hash_)).signature


def verify_header_signature(public_key: bytes, header_hash_: bytes, signature: bytes) -> bool:
    try:
        nacl.signing.VerifyKey(public_key).verify(header_sign_bytes(header_hash_), signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError, TypeError):
        return False
    return True


class CertificateError(ValueError):
    """Names the check that failed, so a court or an operator knows what was wrong."""

    def __init__(self, check: str, detail: str) -> None:
        super().__init__(f"{check}: {detail}")
        self.check = check
        self.detail = detail


def check_certificate(
    header_hash_: bytes,
    signatures: Iterable[tuple[int, bytes]],
    member_keys: Mapping[int, bytes],
    quorum: int,
) -> list[int]:
    """Verify (member, signature) pairs over `header_hash_` against the genesis member keys.

    Raises CertificateError('unknown-signer' | 'duplicate-signer' | 'bad-signature' | 'too-few-signatures').
    Returns the sorted member indices whose signatures verified.
    """
    seen: set[int] = set()
    for member, signature in signatures:
        if member not in member_keys:
            raise CertificateError("unknown-signer", f"member {member} is not in genesis")
        if member in seen:
            raise CertificateError("duplicate-signer", f"member {member} signed twice")
        if not verify_header_signature(member_keys[member], header_hash_, signature):
            raise CertificateError("bad-signature", f"signature of member {member} does not verify")
        seen.add(member)
    if len(seen) < quorum:
        raise CertificateError("too-few-signatures", f"{len(seen)} valid signatures, need {quorum}")
    return sorted(seen)
