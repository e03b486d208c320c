"""The transaction: a signed envelope around a canonical-JSON payload.

This module is the ONE place that builds transaction sign-bytes. The signature covers the exact
payload bytes the client produced; verifiers check those received bytes, never a re-serialization.

payload (canonical JSON):
    {"v": 1, "chain_id": str, "signer": <hex Ed25519 public key>, "contract": str,
     "method": str, "args": {...}, "nonce": <hex, 16 bytes>}
tx_id     = SHA-256(payload)
signature = Ed25519(signer's key, SIGN_DOMAIN || payload)
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

import nacl.exceptions
import nacl.signing

from baaskit import canonical

PAYLOAD_VERSION = 1
SIGN_DOMAIN = b"baaskit/tx/v1\x00"
MAX_PAYLOAD_BYTES = 64 * 1024
_NAME_MAX = 64


class TxError(ValueError):
    """A transaction that is malformed (bad encoding, missing field, wrong chain...)."""


def tx_sign_bytes(payload: bytes) -> bytes:
    return SIGN_DOMAIN + payload


def tx_id_of(payload: bytes) -> bytes:
    return hashlib.sha256(payload).digest()


@dataclass(frozen=True, slots=True)
class TxEnvelope:
    """What travels and is stored: payload bytes + the signer's key + signature over the payload."""

    payload: bytes
    signer: bytes  # 32-byte Ed25519 public key (its hex is the key id)
    signature: bytes
    # SHA-256(payload), computed once: a node asks for it at admission, forwarding, validation,
    # execution and indexing.
    tx_id: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tx_id", tx_id_of(self.payload))

    def verify_signature(self) -> bool:
        try:
            nacl.signing.VerifyKey(self.signer).verify(tx_sign_bytes(self.payload), self.signature)
        except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError, TypeError):
            return False
        return True


@dataclass(frozen=True, slots=True)
class Tx:
    """A decoded, structurally valid transaction payload (signature checked separately, once)."""

    tx_id: bytes
    chain_id: str
    signer: str  # hex public key: the key id
    contract: str
    method: str
    args: dict[str, Any]
    nonce: str


def build_payload(chain_id: str, signer_hex: str, contract: str, method: str, args: dict[str, Any], nonce: str | None = None) -> bytes:
    return canonical.dumps(
        {
            "v": PAYLOAD_VERSION,
            "chain_id": chain_id,
            "signer": signer_hex,
            "contract": contract,
            "method": method,
            "args": args,
            "nonce": nonce if nonce is not None else os.urandom(16).hex(),
        }
    )


def sign_tx(key: nacl.signing.SigningKey, payload: bytes) -> TxEnvelope:
    sig = key.sign(tx_sign_bytes(payload)).signature
    return TxEnvelope(payload=payload, signer=bytes(key.verify_key), signature=sig)


def make_tx(key: nacl.signing.SigningKey, chain_id: str, contract: str, method: str, args: dict[str, Any], nonce: str | None = None) -> TxEnvelope:
    payload = build_payload(chain_id, bytes(key.verify_key).hex(), contract, method, args, nonce)
    return sign_tx(key, payload)


def decode_payload(envelope: TxEnvelope, chain_id: str) -> Tx:
    """Structural checks on a payload; raises TxError with a message a client can act on."""
    if len(envelope.payload) > MAX_PAYLOAD_BYTES:
        raise TxError(f"payload is {len(envelope.payload)} bytes, limit {MAX_PAYLOAD_BYTES}")
    if len(envelope.signer) != 32 or len(envelope.signature) != 64:
        raise TxError("signer must be a 32-byte Ed25519 key and signature 64 bytes")
    try:
        body = canonical.loads(envelope.payload)
    except canonical.CanonicalError as exc:
        raise TxError(f"payload: {exc}") from None
    if not isinstance(body, dict):
        raise TxError("payload must be a JSON object")
    expected = {"v", "chain_id", "signer", "contract", "method", "args", "nonce"}
    if set(body) != expected:
        missing = sorted(expected - set(body))
        extra = sorted(set(body) - expected)
        raise TxError(f"payload fields: missing {missing}, unexpected {extra}")
    if body["v"] != PAYLOAD_VERSION:
        raise TxError(f"unsupported payload version {body['v']!r}")
    if body["chain_id"] != chain_id:
        raise TxError(f"transaction is for chain {body['chain_id']!r}, this is {chain_id!r}")
    if body["signer"] != envelope.signer.hex():
        raise TxError("payload signer does not match the envelope's key")
    for name in ("contract", "method"):
        value = body[name]
        if not isinstance(value, str) or not 0 < len(value) <= _NAME_MAX:
            raise TxError(f"{name} must be a non-empty string of at most {_NAME_MAX} characters")
    if not isinstance(body["args"], dict):
        raise TxError("args must be a JSON object")
    nonce = body["nonce"]
    if not isinstance(nonce, str) or not 1 <= len(nonce) <= 64:
        raise TxError("nonce must be a string of 1..64 characters")
    return Tx(
        tx_id=envelope.tx_id,
        chain_id=body["chain_id"],
        signer=body["signer"],
        contract=body["contract"],
        method=body["method"],
        args=body["args"],
        nonce=nonce,
    )
