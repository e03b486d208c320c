"""The I/O-free half of notarization, shared by `Client` and `AsyncClient`: preparing the register
transaction, reading its result, and turning a node's proof into receipts checked against genesis."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from baaskit.genesis import Genesis

from .aggregate import Batch, aggregate
from .builders import register_args
from .connection import ClientError
from .documents import digest_of
from .receipt import Aggregation, Receipt, TxProof, build_receipt
from .verify import verify_receipt

Document = bytes | str | Path
Progress = Callable[[int, int], None]  # (documents hashed so far, total)

# Checks a freshly committed block can still fail while its certificate collects signatures.
RETRY_CHECKS = frozenset({"too-few-signatures"})


def hash_document(document: Document) -> bytes:
    if isinstance(document, bytes):
        return digest_of(document)
    try:
        return digest_of(document)
    except OSError as exc:
        raise ClientError(f"cannot read {document}: {exc.strerror}") from None


def hash_documents(documents: Sequence[Document], progress: Progress | None = None) -> list[bytes]:
    digests: list[bytes] = []
    for i, doc in enumerate(documents):
        digests.append(hash_document(doc))
        if progress is not None:
            progress(i + 1, len(documents))
    return digests


def single_args(
    digest: bytes, metadata: dict[str, Any] | None, case_id: str | None, step: str | None
) -> dict[str, Any]:
    try:
        return register_args(digest, "document", metadata, case_id, step)
    except ValueError as exc:
        raise ClientError(str(exc)) from None


Metadata = dict[str, Any] | None
PerDocumentMetadata = Metadata | Sequence[Metadata]


def each_args(
    digests: Sequence[bytes], metadata: PerDocumentMetadata, case_id: str | None, step: str | None
) -> list[dict[str, Any]]:
    """Register args of one transaction per document. `metadata`: one dict (or None) for every
    document, or a sequence with one per document."""
    if not digests:
        raise ClientError("no documents to notarize")
    if metadata is None or isinstance(metadata, dict):
        metas: Sequence[Metadata] = [metadata] * len(digests)
    else:
        metas = metadata
        if len(metas) != len(digests):
            raise ClientError(f"{len(metas)} metadata entries for {len(digests)} documents")
    return [single_args(d, m, case_id, step) for d, m in zip(digests, metas, strict=True)]


def batch_args(
    digests: Sequence[bytes], metadata: dict[str, Any] | None, case_id: str | None, step: str | None
) -> tuple[Batch, dict[str, Any]]:
    if not digests:
        raise ClientError("no documents to notarize")
    batch = aggregate(digests)
    try:
        return batch, register_args(batch.root, "merkle_root", metadata, case_id, step)
    except ValueError as exc:
        raise ClientError(str(exc)) from None


def registration_tx_id(own_tx_id: bytes, result: dict[str, Any]) -> bytes:
    """The tx that holds the registration: ours, or the original one for a duplicate."""
    if result.get("code") != 0:
        raise ClientError(f"registration rejected (code {result.get('code')}): {result.get('message')}")
    data = result.get("data")
    if isinstance(data, dict) and data.get("status") == "already_registered":
        record = data.get("record")
        if isinstance(record, dict) and isinstance(record.get("tx_id"), str):
            return bytes.fromhex(record["tx_id"])
    return own_tx_id


def checked_receipt(
    proof: TxProof, genesis: Genesis | None, digest: bytes | None, aggregation: Aggregation | None = None
) -> Receipt:
    """Build the receipt and verify it offline (so a faulty node cannot hand out a bad receipt).
    Raises ReceiptError; `RETRY_CHECKS` failures mean: ask again shortly."""
    receipt = build_receipt(proof, digest, aggregation)
    if genesis is not None:
        verify_receipt(receipt, None, genesis)
    return receipt


def batch_receipts_from_first(first: Receipt, batch: Batch) -> list[Receipt]:
    """Receipts for every document of the batch, given the verified receipt of document 0: the
    others share its transaction, header and certificate; their paths come from our own tree."""
    rest = [
        replace(first, document_digest=d, aggregation=batch.aggregation(i))
        for i, d in enumerate(batch.digests)
        if i > 0
    ]
    return [first, *rest]
