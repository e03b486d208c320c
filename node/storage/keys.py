"""The ONE key schema of a node's data directory. Every storage key is built here.

Integers are big-endian fixed width (heights u64, tx indices u32), so LevelDB's byte order is
numeric order: block 10 sorts after block 9, never between 1 and 100.

    m/<name>                      meta: last_height (u64), last_block_hash, state_digest, genesis_hash
    h/<height u64>                block header (canonical JSON bytes)
    t/<height u64><index u32>     transaction envelope of the block (see codec.pack_envelope)
    r/<height u64><index u32>     canonical JSON result of that transaction
    i/<tx_id 32>                  tx index: tx_id -> <height u64><index u32>
    c/<height u64>                block certificate (encoded by node/certificates.py)
    s/<state key>                 contract state; state keys are themselves c/<contract>/...
    p/<record key>                consensus record; record key = kind byte [+ seq u64 [+ view u64]]
"""

from __future__ import annotations

import struct

META = b"m/"
HEADER = b"h/"
TX = b"t/"
RESULT = b"r/"
TX_INDEX = b"i/"
CERTIFICATE = b"c/"
STATE = b"s/"
CONSENSUS = b"p/"

META_LAST_HEIGHT = META + b"last_height"
META_LAST_BLOCK_HASH = META + b"last_block_hash"
META_STATE_DIGEST = META + b"state_digest"
META_GENESIS_HASH = META + b"genesis_hash"

_U64 = struct.Struct(">Q")
_U32 = struct.Struct(">I")
_LOCATION = struct.Struct(">QI")

MAX_U64 = 2**64 - 1
MAX_U32 = 2**32 - 1


def u64(value: int) -> bytes:
    if not 0 <= value <= MAX_U64:
        raise ValueError(f"{value} does not fit in an unsigned 64-bit integer")
    return _U64.pack(value)


def read_u64(data: bytes) -> int:
    if len(data) != 8:
        raise ValueError(f"expected 8 bytes for a u64, got {len(data)}")
    return int(_U64.unpack(data)[0])


def header_key(height: int) -> bytes:
    return HEADER + u64(height)


def block_prefix(prefix: bytes, height: int) -> bytes:
    """Prefix of every per-transaction key of one block (TX or RESULT)."""
    return prefix + u64(height)


def tx_key(height: int, index: int) -> bytes:
    return TX + location(height, index)


def result_key(height: int, index: int) -> bytes:
    return RESULT + location(height, index)


def tx_index_key(tx_id: bytes) -> bytes:
    if len(tx_id) != 32:
        raise ValueError(f"a tx id is 32 bytes, got {len(tx_id)}")
    return TX_INDEX + tx_id


def certificate_key(height: int) -> bytes:
    return CERTIFICATE + u64(height)


def state_key(key: bytes) -> bytes:
    return STATE + key


def consensus_key(suffix: bytes) -> bytes:
    if not suffix:
        raise ValueError("a consensus record key suffix must not be empty")
    return CONSENSUS + suffix


def consensus_seq(suffix: bytes) -> int | None:
    """The sequence number of a sequence-bound record key (kind byte + u64 seq, and a u64 view
    for pre-prepare records), else None."""
    if len(suffix) in (9, 17):
        return read_u64(suffix[1:9])
    return None


def location(height: int, index: int) -> bytes:
    if not 0 <= index <= MAX_U32:
        raise ValueError(f"tx index {index} out of range")
    if not 0 <= height <= MAX_U64:
        raise ValueError(f"height {height} out of range")
    return _LOCATION.pack(height, index)


def read_location(data: bytes) -> tuple[int, int]:
    if len(data) != _LOCATION.size:
        raise ValueError(f"a tx location is {_LOCATION.size} bytes, got {len(data)}")
    height, index = _LOCATION.unpack(data)
    return int(height), int(index)
