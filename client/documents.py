"""Document digests: SHA-256 of the exact bytes, streamed for files of any size."""

from __future__ import annotations

import hashlib
from pathlib import Path

_CHUNK = 1 << 20


def sha256_file(path: str | Path) -> bytes:
    """SHA-256 of a file's bytes. Raises OSError when the file cannot be read."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.digest()


def digest_of(document: bytes | str | Path) -> bytes:
    """`bytes` are the document's content; `str` / `Path` name a file."""
    if isinstance(document, bytes | bytearray | memoryview):
        return hashlib.sha256(document).digest()
    return sha256_file(document)
