"""Binary encodings of stored values that are not canonical JSON already.

A packed envelope is ``signer (32) || signature (64) || payload``: fixed-width fields first, so
decoding needs no length prefix and cannot be ambiguous.
"""

from __future__ import annotations

from baaskit.tx import TxEnvelope

SIGNER_BYTES = 32
SIGNATURE_BYTES = 64
_FIXED = SIGNER_BYTES + SIGNATURE_BYTES


class CodecError(ValueError):
    """Stored or received bytes that do not decode."""


def pack_envelope(envelope: TxEnvelope) -> bytes:
    if len(envelope.signer) != SIGNER_BYTES or len(envelope.signature) != SIGNATURE_BYTES:
        raise CodecError("an envelope needs a 32-byte signer and a 64-byte signature")
    return envelope.signer + envelope.signature + envelope.payload


def unpack_envelope(data: bytes) -> TxEnvelope:
    if len(data) < _FIXED:
        raise CodecError(f"a packed envelope is at least {_FIXED} bytes, got {len(data)}")
    return TxEnvelope(
        payload=bytes(data[_FIXED:]),
        signer=bytes(data[:SIGNER_BYTES]),
        signature=bytes(data[SIGNER_BYTES:_FIXED]),
    )
