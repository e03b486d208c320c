"""The notarization receipt: one self-contained, versioned file a third party verifies offline.

Format "baaskit-receipt/1" (byte-level specification: docs/receipt.md). A JSON object:

    format        "baaskit-receipt/1"
    chain_id      the consortium's chain id
    document      {"digest": hex32, "aggregation": null | {"index", "size", "path": [hex32]}}
    registration  the exact `args` object of the notary `register` transaction (readable copy)
    tx            {"payload": base64, "signer": hex32, "signature": hex64}
    tx_index, tx_count, tx_path      RFC 6962 audit path of leaf tx_id to header.tx_root
    result, result_path              base64 canonical JSON result; its path to header.results_root
    header                           base64 canonical JSON header bytes
    certificate   [{"member": int, "signature": hex64}, ...] sorted by member

Byte strings that are hashed or signed travel as base64 (RFC 4648 §4, padded); 32/64-byte values
(digests, keys, signatures, path nodes) as lowercase hex. The file is canonical JSON + "\n".
This module only encodes and decodes (checking shapes, raising ReceiptError("format", ...));
what the receipt proves is checked by `baaskit.client.verify`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baaskit import canonical
from baaskit.tx import TxEnvelope

FORMAT = "baaskit-receipt/1"
MAX_RECEIPT_BYTES = 1 << 20  # far above any real receipt (a few KiB); refuses absurd input early
MAX_PATH_LEN = 64  # a tree of 2**64 leaves has a 64-node audit path

_FIELDS = frozenset(
    {
        "format",
        "chain_id",
        "document",
        "registration",
        "tx",
        "tx_index",
        "tx_count",
        "tx_path",
        "result",
        "result_path",
        "header",
        "certificate",
    }
)


class ReceiptError(ValueError):
    """A receipt that does not prove what it claims. `check` names the check that failed."""

    def __init__(self, check: str, detail: str) -> None:
        super().__init__(f"{check}: {detail}")
        self.check = check
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Aggregation:
    """The document's RFC 6962 audit path to the registered Merkle root (leaf = 32-byte digest)."""

    index: int
    size: int
    path: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "size": self.size, "path": [p.hex() for p in self.path]}


@dataclass(frozen=True, slots=True)
class Receipt:
    chain_id: str
    document_digest: bytes
    aggregation: Aggregation | None
    registration: dict[str, Any]
    tx: TxEnvelope
    tx_index: int
    tx_count: int
    tx_path: tuple[bytes, ...]
    result: bytes
    result_path: tuple[bytes, ...]
    header: bytes
    certificate: tuple[tuple[int, bytes], ...]  # (member index, signature), sorted by member

    @property
    def tx_id(self) -> bytes:
        return self.tx.tx_id

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "chain_id": self.chain_id,
            "document": {
                "digest": self.document_digest.hex(),
                "aggregation": None if self.aggregation is None else self.aggregation.to_json(),
            },
            "registration": self.registration,
            "tx": {
                "payload": _b64(self.tx.payload),
                "signer": self.tx.signer.hex(),
                "signature": self.tx.signature.hex(),
            },
            "tx_index": self.tx_index,
            "tx_count": self.tx_count,
            "tx_path": [p.hex() for p in self.tx_path],
            "result": _b64(self.result),
            "result_path": [p.hex() for p in self.result_path],
            "header": _b64(self.header),
            "certificate": [{"member": m, "signature": s.hex()} for m, s in self.certificate],
        }

    def encode(self) -> bytes:
        """The file bytes: canonical JSON followed by one LF.

        Encoded without canonical.dumps' per-value type walk (it dominated batch encoding): every
        field is typed here, and `registration` comes from a canonical payload or a float-free parse.
        """
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return text.encode() + b"\n"

    def save(self, path: str | Path) -> Path:
        target = Path(path)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(self.encode())
        tmp.replace(target)
        return target

    @classmethod
    def decode(cls, data: bytes) -> Receipt:
        return parse_receipt(data)

    @classmethod
    def load(cls, path: str | Path) -> Receipt:
        return load_receipt(path)


@dataclass(frozen=True, slots=True)
class TxProof:
    """What a node's GetTx answers (api.proto TxProof), as domain types: the input of a receipt."""

    tx: TxEnvelope
    height: int
    index: int
    tx_count: int
    tx_path: tuple[bytes, ...]
    result: bytes
    result_path: tuple[bytes, ...]
    header: bytes
    certificate: tuple[tuple[int, bytes], ...]  # (member index, signature over the header)


def build_receipt(proof: TxProof, document_digest: bytes | None = None, aggregation: Aggregation | None = None) -> Receipt:
    """Assemble a receipt for a notary `register` transaction (checks only what it needs to build;
    `verify_receipt` is what proves it). Without `document_digest` the registered digest is used."""
    try:
        body = canonical.loads(proof.tx.payload)
        args = body["args"]
        chain_id = body["chain_id"]
        registered = bytes.fromhex(args["digest"])
    except (canonical.CanonicalError, KeyError, TypeError, ValueError) as exc:
        raise ReceiptError("tx-payload", f"not a notary registration: {exc}") from None
    if not isinstance(args, dict) or not isinstance(chain_id, str):
        raise ReceiptError("tx-payload", "not a notary registration payload")
    return Receipt(
        chain_id=chain_id,
        document_digest=registered if document_digest is None else document_digest,
        aggregation=aggregation,
        registration=args,
        tx=proof.tx,
        tx_index=proof.index,
        tx_count=proof.tx_count,
        tx_path=tuple(proof.tx_path),
        result=proof.result,
        result_path=tuple(proof.result_path),
        header=proof.header,
        certificate=tuple(sorted(proof.certificate)),
    )


def load_receipt(path: str | Path) -> Receipt:
    p = Path(path)
    try:
        with p.open("rb") as fh:
            data = fh.read(MAX_RECEIPT_BYTES + 1)
    except OSError as exc:
        raise ReceiptError("format", f"cannot read receipt {p}: {exc.strerror}") from None
    return parse_receipt(data)


def parse_receipt(data: bytes) -> Receipt:
    """Decode a receipt file (any JSON whitespace accepted; duplicate keys and floats refused)."""
    if len(data) > MAX_RECEIPT_BYTES:
        raise ReceiptError("format", f"receipt is larger than {MAX_RECEIPT_BYTES} bytes")
    try:
        body = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_no_duplicate_keys,
            parse_float=_no_float,
            parse_constant=_no_float,
        )
    except ReceiptError:
        raise
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, int digit limit, depth
        raise ReceiptError("format", f"not a JSON document: {exc}") from None
    return from_json(body)


def from_json(body: Any) -> Receipt:
    if not isinstance(body, dict):
        raise ReceiptError("format", "a receipt is a JSON object")
    if body.get("format") != FORMAT:
        raise ReceiptError("format", f"unsupported receipt format {body.get('format')!r}, expected {FORMAT!r}")
    _exact_keys(body, _FIELDS, "receipt")
    document = body["document"]
    if not isinstance(document, dict):
        raise ReceiptError("format", "document must be an object")
    _exact_keys(document, {"digest", "aggregation"}, "document")
    tx = body["tx"]
    if not isinstance(tx, dict):
        raise ReceiptError("format", "tx must be an object")
    _exact_keys(tx, {"payload", "signer", "signature"}, "tx")
    registration = body["registration"]
    if not isinstance(registration, dict):
        raise ReceiptError("format", "registration must be an object")
    certificate = body["certificate"]
    if not isinstance(certificate, list) or len(certificate) > 1024:
        raise ReceiptError("format", "certificate must be a list of signatures")
    sigs: list[tuple[int, bytes]] = []
    for i, entry in enumerate(certificate):
        if not isinstance(entry, dict):
            raise ReceiptError("format", f"certificate[{i}] must be an object")
        _exact_keys(entry, {"member", "signature"}, f"certificate[{i}]")
        sigs.append((_uint(entry["member"], f"certificate[{i}].member"), _hex(entry["signature"], 64, f"certificate[{i}].signature")))
    return Receipt(
        chain_id=_text(body["chain_id"], "chain_id"),
        document_digest=_hex(document["digest"], 32, "document.digest"),
        aggregation=_aggregation(document["aggregation"]),
        registration=registration,
        tx=TxEnvelope(
            payload=_unb64(tx["payload"], "tx.payload"),
            signer=_hex(tx["signer"], 32, "tx.signer"),
            signature=_hex(tx["signature"], 64, "tx.signature"),
        ),
        tx_index=_uint(body["tx_index"], "tx_index"),
        tx_count=_uint(body["tx_count"], "tx_count"),
        tx_path=_path(body["tx_path"], "tx_path"),
        result=_unb64(body["result"], "result"),
        result_path=_path(body["result_path"], "result_path"),
        header=_unb64(body["header"], "header"),
        certificate=tuple(sigs),
    )


def _aggregation(value: Any) -> Aggregation | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ReceiptError("format", "document.aggregation must be null or an object")
    _exact_keys(value, {"index", "size", "path"}, "document.aggregation")
    return Aggregation(
        index=_uint(value["index"], "document.aggregation.index"),
        size=_uint(value["size"], "document.aggregation.size"),
        path=_path(value["path"], "document.aggregation.path"),
    )


def _no_duplicate_keys(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ReceiptError("format", f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_float(text: str) -> Any:
    raise ReceiptError("format", f"non-integer number {text} in receipt")


def _exact_keys(obj: dict[str, Any], expected: set[str] | frozenset[str], where: str) -> None:
    keys = set(obj)
    if keys != expected:
        missing = sorted(expected - keys)
        extra = sorted(keys - expected)
        raise ReceiptError("format", f"{where}: missing fields {missing}, unexpected fields {extra}")


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ReceiptError("format", f"{where} must be a string")
    return value


def _uint(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1 << 64:
        raise ReceiptError("format", f"{where} must be an unsigned 64-bit integer")
    return value


def _hex(value: Any, size: int, where: str) -> bytes:
    text = _text(value, where)
    if len(text) != 2 * size or text != text.lower():
        raise ReceiptError("format", f"{where} must be {size} bytes of lowercase hex")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ReceiptError("format", f"{where} is not hex") from None


def _path(value: Any, where: str) -> tuple[bytes, ...]:
    if not isinstance(value, list) or len(value) > MAX_PATH_LEN:
        raise ReceiptError("format", f"{where} must be a list of at most {MAX_PATH_LEN} hashes")
    return tuple(_hex(v, 32, f"{where}[{i}]") for i, v in enumerate(value))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any, where: str) -> bytes:
    text = _text(value, where)
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ReceiptError("format", f"{where} is not base64 (RFC 4648, standard alphabet, padded)") from None
    if _b64(raw) != text:
        raise ReceiptError("format", f"{where} is not in canonical base64")
    return raw
