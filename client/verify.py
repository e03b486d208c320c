"""Offline receipt verification: no network, no node. Trust comes only from the genesis file.

`verify_receipt(receipt, document, genesis)` runs the checks of docs/receipt.md in order and either
returns the verified facts (`Verified`) or raises `ReceiptError(check, detail)` naming the first
check that failed. Member keys and f come only from the genesis the caller holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baaskit import canonical, merkle
from baaskit.block import BlockHeader, CertificateError, HeaderError, check_certificate, header_hash
from baaskit.genesis import Genesis, GenesisError, load_genesis, parse_genesis
from baaskit.tx import TxError, decode_payload

from .documents import digest_of
from .receipt import Receipt, ReceiptError, load_receipt, parse_receipt

NOTARY_CONTRACT = "notary"
REGISTER_METHOD = "register"
KIND_DOCUMENT = "document"
KIND_MERKLE_ROOT = "merkle_root"

# The check names, in the order they run (docs/receipt.md §4).
CHECKS = (
    "genesis",
    "format",
    "header-chain-id",
    "unknown-signer",
    "duplicate-signer",
    "bad-signature",
    "too-few-signatures",
    "tx-inclusion",
    "tx-signature",
    "tx-payload",
    "result-inclusion",
    "result",
    "metadata",
    "aggregation-path",
    "document-digest",
)


@dataclass(frozen=True, slots=True)
class Verified:
    """What a valid receipt proves, in the words of the genesis the verifier holds."""

    chain_id: str
    document_digest: bytes  # SHA-256 of the document
    document_checked: bool  # True when the document itself was hashed and compared
    registered_digest: bytes  # the digest registered on chain (the document's, or its Merkle root)
    kind: str  # "document" | "merkle_root"
    aggregation_index: int | None  # the document's leaf index under the root (aggregated only)
    aggregation_size: int | None
    registered_by: bytes  # Ed25519 key of the enrolled client that registered the digest
    registered_by_name: str | None  # its name in genesis, when it was enrolled at genesis
    institution: str | None  # the member that enrolled it (genesis), if known
    registered_at_ms: int  # block time of the (first) registration, Unix ms UTC
    height: int
    tx_id: bytes
    record: Mapping[str, Any]  # the notary's registration record, as certified in the result
    certified_by: tuple[int, ...]  # member indices whose header signatures verified
    certified_by_names: tuple[str, ...]

    def summary(self) -> dict[str, Any]:
        """Human-readable facts (canonical-JSON-able)."""
        return {
            "chain_id": self.chain_id,
            "document_sha256": self.document_digest.hex(),
            "document_checked": self.document_checked,
            "registered_digest": self.registered_digest.hex(),
            "kind": self.kind,
            "aggregation": None
            if self.aggregation_index is None
            else {"index": self.aggregation_index, "size": self.aggregation_size},
            "registered_by": self.registered_by.hex(),
            "registered_by_name": self.registered_by_name,
            "institution": self.institution,
            "registered_at_ms": self.registered_at_ms,
            "height": self.height,
            "tx_id": self.tx_id.hex(),
            "metadata": self.record.get("metadata"),
            "case_id": self.record.get("case_id"),
            "step": self.record.get("step"),
            "certified_by": list(self.certified_by_names),
        }


def verify_receipt(
    receipt: Receipt | bytes | str | Path,
    document: bytes | str | Path | None,
    genesis: Genesis | bytes | str | Path,
) -> Verified:
    """Verify `receipt` (object, file bytes, or path) against `document` (content bytes, a path,
    or None to skip the document check) and `genesis` (object, file bytes, or path)."""
    gen = _as_genesis(genesis)
    rc = _as_receipt(receipt)
    header = _check_header(rc, gen)
    signers = _check_certificate(rc, header, gen)
    _check_tx_inclusion(rc, header)
    if not rc.tx.verify_signature():
        raise ReceiptError("tx-signature", "the transaction signature does not verify under tx.signer")
    args = _check_payload(rc, gen)
    _check_result_inclusion(rc, header)
    record = _check_result(rc, args, header)
    _check_metadata(rc, args, record)
    registered = bytes.fromhex(args["digest"])
    kind = args["kind"]
    _check_aggregation(rc, registered, kind)
    checked = _check_document(rc, document)
    who = {c.key: c for c in gen.clients}.get(rc.tx.signer)
    return Verified(
        chain_id=gen.chain_id,
        document_digest=rc.document_digest,
        document_checked=checked,
        registered_digest=registered,
        kind=kind,
        aggregation_index=None if rc.aggregation is None else rc.aggregation.index,
        aggregation_size=None if rc.aggregation is None else rc.aggregation.size,
        registered_by=rc.tx.signer,
        registered_by_name=None if who is None else who.name,
        institution=None if who is None else who.member,
        registered_at_ms=header.time_ms,
        height=header.height,
        tx_id=rc.tx_id,
        record=record,
        certified_by=tuple(signers),
        certified_by_names=tuple(gen.members[i].name for i in signers),
    )


def _as_receipt(receipt: Receipt | bytes | str | Path) -> Receipt:
    if isinstance(receipt, Receipt):
        return receipt
    if isinstance(receipt, bytes):
        return parse_receipt(receipt)
    return load_receipt(receipt)


def _as_genesis(genesis: Genesis | bytes | str | Path) -> Genesis:
    if isinstance(genesis, Genesis):
        return genesis
    try:
        if isinstance(genesis, bytes):
            return parse_genesis(genesis)
        return load_genesis(genesis)
    except GenesisError as exc:
        raise ReceiptError("genesis", str(exc)) from None


def _check_header(rc: Receipt, gen: Genesis) -> BlockHeader:
    try:
        header = BlockHeader.decode(rc.header)
    except HeaderError as exc:
        raise ReceiptError("format", str(exc)) from None
    if rc.chain_id != gen.chain_id or header.chain_id != gen.chain_id:
        raise ReceiptError(
            "header-chain-id",
            f"receipt is for chain {rc.chain_id!r} (header: {header.chain_id!r}), genesis is {gen.chain_id!r}",
        )
    return header


def _check_certificate(rc: Receipt, header: BlockHeader, gen: Genesis) -> list[int]:
    try:
        return check_certificate(
            header_hash(rc.header), rc.certificate, gen.member_keys(), gen.certificate_quorum
        )
    except CertificateError as exc:
        raise ReceiptError(exc.check, exc.detail) from None


def _check_tx_inclusion(rc: Receipt, header: BlockHeader) -> None:
    if rc.tx_count != header.tx_count:
        raise ReceiptError("tx-inclusion", f"tx_count {rc.tx_count} != header tx_count {header.tx_count}")
    leaf = merkle.leaf_hash(rc.tx_id)
    if not merkle.verify_inclusion(leaf, rc.tx_index, rc.tx_count, rc.tx_path, header.tx_root):
        raise ReceiptError("tx-inclusion", f"tx {rc.tx_id.hex()} is not leaf {rc.tx_index} under header.tx_root")


def _check_payload(rc: Receipt, gen: Genesis) -> dict[str, Any]:
    try:
        tx = decode_payload(rc.tx, gen.chain_id)
    except TxError as exc:
        raise ReceiptError("tx-payload", str(exc)) from None
    if tx.contract != NOTARY_CONTRACT or tx.method != REGISTER_METHOD:
        raise ReceiptError("tx-payload", f"transaction is {tx.contract}.{tx.method}, not notary.register")
    args = tx.args
    if not _is_hex(args.get("digest"), 32):
        raise ReceiptError("tx-payload", "args.digest is not a 32-byte lowercase hex digest")
    if args.get("kind") not in (KIND_DOCUMENT, KIND_MERKLE_ROOT):
        raise ReceiptError("tx-payload", f"args.kind {args.get('kind')!r} is not document or merkle_root")
    return args


def _check_result_inclusion(rc: Receipt, header: BlockHeader) -> None:
    leaf = merkle.leaf_hash(rc.result)
    if not merkle.verify_inclusion(leaf, rc.tx_index, rc.tx_count, rc.result_path, header.results_root):
        raise ReceiptError("result-inclusion", f"result is not leaf {rc.tx_index} under header.results_root")


def _check_result(rc: Receipt, args: Mapping[str, Any], header: BlockHeader) -> dict[str, Any]:
    """The certified result must say: this transaction made the first registration of args.digest."""
    try:
        result = canonical.loads(rc.result)
    except canonical.CanonicalError as exc:
        raise ReceiptError("result", f"result is not canonical JSON: {exc}") from None
    if not isinstance(result, dict) or result.get("code") != 0:
        code = result.get("code") if isinstance(result, dict) else None
        raise ReceiptError("result", f"the transaction did not succeed (code {code!r})")
    data = result.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("record"), dict):
        raise ReceiptError("result", "result data holds no registration record")
    record: dict[str, Any] = data["record"]
    if data.get("status") != "registered":
        raise ReceiptError(
            "result",
            f"result status is {data.get('status')!r}: this transaction was not the first registration "
            f"(the original is tx {record.get('tx_id')!r})",
        )
    expected = {
        "digest": args["digest"],
        "kind": args["kind"],
        "submitter": rc.tx.signer.hex(),
        "tx_id": rc.tx_id.hex(),
        "height": header.height,
        "time_ms": header.time_ms,
    }
    wrong = sorted(k for k, v in expected.items() if record.get(k) != v)
    if wrong:
        raise ReceiptError("result", f"the certified record disagrees with the transaction/header in {wrong}")
    return record


def _check_metadata(rc: Receipt, args: Mapping[str, Any], record: Mapping[str, Any]) -> None:
    if rc.registration != args:
        changed = sorted(k for k in set(rc.registration) | set(args) if rc.registration.get(k) != args.get(k))
        raise ReceiptError("metadata", f"receipt registration differs from the signed transaction in {changed}")
    expected = {"metadata": args.get("metadata", {}), "case_id": args.get("case_id"), "step": args.get("step")}
    wrong = sorted(k for k, v in expected.items() if record.get(k) != v)
    if wrong:
        raise ReceiptError("metadata", f"the certified record differs from the signed transaction in {wrong}")


def _check_aggregation(rc: Receipt, registered: bytes, kind: str) -> None:
    agg = rc.aggregation
    if kind == KIND_DOCUMENT:
        if agg is not None:
            raise ReceiptError("aggregation-path", "a document registration has no aggregation path")
        if rc.document_digest != registered:
            raise ReceiptError("aggregation-path", "document digest is not the registered digest")
        return
    if agg is None:
        raise ReceiptError("aggregation-path", "registered digest is a Merkle root but the receipt has no path")
    if not merkle.verify_inclusion(merkle.leaf_hash(rc.document_digest), agg.index, agg.size, agg.path, registered):
        raise ReceiptError(
            "aggregation-path", f"document is not leaf {agg.index} of {agg.size} under the registered root"
        )


def _check_document(rc: Receipt, document: bytes | str | Path | None) -> bool:
    if document is None:
        return False
    if isinstance(document, bytes):
        digest = digest_of(document)
    else:
        try:
            digest = digest_of(document)
        except OSError as exc:
            raise ReceiptError("document-digest", f"cannot read document {document}: {exc.strerror}") from None
    if digest != rc.document_digest:
        raise ReceiptError(
            "document-digest", f"document SHA-256 {digest.hex()} != receipt digest {rc.document_digest.hex()}"
        )
    return True


def _is_hex(value: Any, size: int) -> bool:
    if not isinstance(value, str) or len(value) != 2 * size or value != value.lower():
        return False
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return True
