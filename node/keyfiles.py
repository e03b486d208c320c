"""Ed25519 keys as files: one line of hex (the 32-byte seed, or the public key), mode 0600.

Private files are created with mode 0600 from the start (never world-readable, not even briefly)
and are never silently overwritten.
"""

from __future__ import annotations

import os
from pathlib import Path

import nacl.signing

PRIVATE_MODE = 0o600


class KeyFileError(Exception):
    """A key file that is missing, unreadable, malformed, or would be overwritten."""


def write_private(path: str | Path, data: bytes, overwrite: bool = False) -> Path:
    """Write secret bytes to a new file created 0600 (parents created 0700)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(p, flags, PRIVATE_MODE)
    except FileExistsError:
        raise KeyFileError(f"{p} already exists; refusing to overwrite a key") from None
    except OSError as exc:
        raise KeyFileError(f"cannot write {p}: {exc.strerror}") from None
    try:
        os.fchmod(fd, PRIVATE_MODE)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return p


def save_signing_key(path: str | Path, key: nacl.signing.SigningKey, overwrite: bool = False) -> Path:
    return write_private(path, bytes(key).hex().encode() + b"\n", overwrite)


def generate_signing_key(path: str | Path) -> nacl.signing.SigningKey:
    key = nacl.signing.SigningKey.generate()
    save_signing_key(path, key)
    return key


def _read_hex32(path: str | Path, what: str) -> bytes:
    p = Path(path)
    try:
        text = p.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise KeyFileError(f"{what} file {p} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read {what} file {p}: {exc}") from None
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise KeyFileError(f"{what} file {p} is not hex") from None
    if len(raw) != 32:
        raise KeyFileError(f"{what} file {p} holds {len(raw)} bytes, expected 32")
    return raw


def load_signing_key(path: str | Path) -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey(_read_hex32(path, "private key"))


def save_public_key(path: str | Path, public_key: bytes) -> Path:
    if len(public_key) != 32:
        raise KeyFileError("an Ed25519 public key is 32 bytes")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(public_key.hex() + "\n", encoding="ascii")
    return p


def load_public_key(path: str | Path) -> bytes:
    return _read_hex32(path, "public key")
