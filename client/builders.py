"""Transaction builders for the notary contract (docs/notary.md): arguments checked client-side
with the same rules the contract applies, so a bad call fails before it is signed and sent."""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from typing import Any

import nacl.signing

from baaskit.tx import TxEnvelope, make_tx

NOTARY = "notary"
KINDS = ("document", "merkle_root")
STEPS = ("capture", "preservation", "analysis", "submission", "other")
_CASE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_METADATA = ("file_name", "media_type", "size", "label")


class ArgumentError(ValueError):
    """A call the contract would reject; raised before anything is signed."""


def register_args(
    digest: bytes,
    kind: str = "document",
    metadata: dict[str, Any] | None = None,
    case_id: str | None = None,
    step: str | None = None,
) -> dict[str, Any]:
    if len(digest) != 32:
        raise ArgumentError(f"a digest is 32 bytes (SHA-256), got {len(digest)}")
    if kind not in KINDS:
        raise ArgumentError(f"kind must be one of {', '.join(KINDS)}")
    args: dict[str, Any] = {"digest": digest.hex(), "kind": kind}
    if metadata:
        unknown = sorted(k for k in metadata if k not in _METADATA)
        if unknown:
            raise ArgumentError(f"unknown metadata field(s) {unknown}; allowed: {', '.join(_METADATA)}")
        args["metadata"] = dict(metadata)
    if (case_id is None) != (step is None):
        raise ArgumentError("case_id and step go together (a chain-of-custody entry needs both)")
    if case_id is not None and step is not None:
        if _CASE_ID.fullmatch(case_id) is None:
            raise ArgumentError("case_id must be 1..64 characters from A-Z a-z 0-9 . _ : -")
        if step not in STEPS:
            raise ArgumentError(f"step must be one of {', '.join(STEPS)}")
        args["case_id"] = case_id
        args["step"] = step
    return args


def register_tx(key: nacl.signing.SigningKey, chain_id: str, args: dict[str, Any]) -> TxEnvelope:
    return make_tx(key, chain_id, NOTARY, "register", args)


def describe_file(path: str | Path, label: str | None = None) -> dict[str, Any]:
    """Metadata for a file (name, size, media type guessed from the extension). Opt-in: the name of
    a file is visible to every consortium member once registered."""
    p = Path(path)
    meta: dict[str, Any] = {"file_name": p.name[:255], "size": p.stat().st_size}
    media, _ = mimetypes.guess_type(p.name, strict=True)
    if media is not None:
        meta["media_type"] = media
    if label is not None:
        meta["label"] = label
    return meta
