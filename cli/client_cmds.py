"""`baaskit notarize | verify | lookup | receipt | submit`: the client side of the toolkit.

Connection (notarize, lookup, receipt, submit): the local cluster folder of `baaskit up`
(--cluster, default .baaskit/cluster), or explicit --genesis/--key [--endpoint ...] [--ca].
`verify` needs no node and no network: only the receipt, the document and the genesis file.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import CliError

DEFAULT_CLUSTER = ".baaskit/cluster"
RECEIPT_SUFFIX = ".receipt.json"
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "notarize",
        help="register documents' SHA-256 on the chain and write one receipt per document",
        description="One file: one transaction. Several files: aggregated into one Merkle root, one "
        "transaction, one receipt per file (use --separately for one transaction each).",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--out", metavar="DIR", help="folder for the receipts (default: next to each file)")
    p.add_argument("--separately", action="store_true", help="one transaction per file instead of aggregating")
    p.add_argument("--label", help="a short label stored with the registration (public to the consortium)")
    p.add_argument(
        "--describe", action="store_true", help="store file name, size and media type (public to the consortium)"
    )
    p.add_argument("--case-id", help="evidence case to append to (chain of custody); needs --step")
    p.add_argument("--step", help="custody step: capture, preservation, analysis, submission, other")
    _connection_args(p)
    p.set_defaults(func=cmd_notarize)

    p = sub.add_parser("verify", help="verify a receipt offline against a document and the genesis file")
    p.add_argument("file", metavar="FILE", help="the document ('-' to check the receipt alone)")
    p.add_argument("receipt", metavar="RECEIPT")
    p.add_argument("--genesis", required=True, help="the consortium's genesis file (your root of trust)")
    p.add_argument("--json", action="store_true", help="print the verified facts as JSON")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("lookup", help="show the registration of a digest or a file (one node's view)")
    p.add_argument("target", metavar="DIGEST|FILE")
    _connection_args(p)
    p.set_defaults(func=cmd_lookup)

    p = sub.add_parser("receipt", help="fetch the receipt of a registered digest or file")
    p.add_argument("target", metavar="DIGEST|FILE")
    p.add_argument("--out", metavar="FILE", help=f"write it here (default: <digest>{RECEIPT_SUFFIX})")
    _connection_args(p)
    p.set_defaults(func=cmd_receipt)

    p = sub.add_parser("submit", help="sign and submit one transaction, wait for its result (smoke tests)")
    p.add_argument("contract", help="e.g. kv")
    p.add_argument("method", help="e.g. set")
    p.add_argument("args", nargs="?", default="{}", help='JSON object, e.g. \'{"key":"a","value":"1"}\'')
    p.add_argument("--no-wait", action="store_true", help="return after admission")
    _connection_args(p)
    p.set_defaults(func=cmd_submit)


def _connection_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("connection")
    g.add_argument("--cluster", default=DEFAULT_CLUSTER, metavar="DIR", help=f"local cluster folder (default {DEFAULT_CLUSTER})")
    g.add_argument("--client", metavar="NAME", help="client key name in the cluster's clients/ (default: the first)")
    g.add_argument("--genesis", metavar="FILE", help="genesis file (instead of --cluster)")
    g.add_argument("--key", metavar="FILE", help="enrolled Ed25519 key file (with --genesis)")
    g.add_argument("--ca", metavar="FILE", help="CA certificate (default: the genesis' ca_cert_pem)")
    g.add_argument("--endpoint", action="append", default=[], metavar="HOST:PORT", help="node API address (repeatable; default: all members in genesis)")
    g.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a commit (default 30)")


def _client(args: argparse.Namespace) -> Any:
    from baaskit.client import Client, ClientError
    from baaskit.client.connection import cluster_settings, resolve_settings

    try:
        if args.genesis:
            settings = resolve_settings(args.endpoint, args.genesis, args.key, args.ca, args.timeout)
        else:
            if args.key or args.ca:
                raise CliError("--key/--ca go with --genesis (or use --cluster and --client)")
            settings = cluster_settings(args.cluster, args.client, args.endpoint, args.timeout)
    except ClientError as exc:
        raise CliError(exc.message) from None
    return Client(settings)


def _client_errors() -> tuple[type[Exception], ...]:
    from baaskit.client import ClientError, ReceiptError

    return (ClientError, ReceiptError)


# --- notarize -------------------------------------------------------------------------------------


class _ProgressBar:
    """A plain stderr progress bar: redrawn in place on a terminal, a line per 10% otherwise."""

    def __init__(self, label: str, width: int = 30) -> None:
        self.label = label
        self.width = width
        self.tty = sys.stderr.isatty()
        self._last = -1
        self._started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        if total <= 1:
            return
        pct = done * 100 // total
        if self.tty:
            if pct == self._last and done != total:
                return
            filled = self.width * done // total
            bar = "#" * filled + "." * (self.width - filled)
            rate = done / max(1e-9, time.monotonic() - self._started)
            end = "\n" if done == total else ""
            print(f"\r{self.label} [{bar}] {done}/{total} ({rate:,.0f}/s)", end=end, file=sys.stderr, flush=True)
        elif pct // 10 != self._last // 10 or done == total:
            print(f"{self.label}: {done}/{total}", file=sys.stderr, flush=True)
        self._last = pct


def _receipt_paths(files: Sequence[Path], out: str | None) -> list[Path]:
    if out is None:
        targets = [f.with_name(f.name + RECEIPT_SUFFIX) for f in files]
    else:
        folder = Path(out)
        if folder.exists() and not folder.is_dir():
            raise CliError(f"--out {folder} exists and is not a folder")
        targets = [folder / (f.name + RECEIPT_SUFFIX) for f in files]
    seen: dict[Path, Path] = {}
    for f, t in zip(files, targets, strict=True):
        if t in seen:
            raise CliError(f"{f} and {seen[t]} would both write {t}; notarize them with different --out folders")
        seen[t] = f
    return targets


def cmd_notarize(args: argparse.Namespace) -> int:
    from baaskit.client.builders import describe_file

    files = [Path(f) for f in args.files]
    for f in files:
        if not f.is_file():
            raise CliError(f"{f}: no such file")
    if len(set(files)) != len(files):
        raise CliError("the same file is listed twice")
    targets = _receipt_paths(files, args.out)
    if (args.case_id is None) != (args.step is None):
        raise CliError("--case-id and --step go together")
    metadata: dict[str, Any] = {}
    if args.label:
        metadata["label"] = args.label
    client = _client(args)
    try:
        with client:
            if len(files) == 1 or args.separately:
                # One transaction per file, submitted and awaited together (not a round trip each).
                metas = [(describe_file(f, args.label) if args.describe else metadata) or None for f in files]
                receipts = client.notarize_each(files, metas, args.case_id, args.step, progress=_ProgressBar("hashing"))
            else:
                if args.describe:
                    raise CliError("--describe applies to single registrations (use --separately); a batch has one root")
                receipts = client.notarize_many(
                    files, metadata or None, args.case_id, args.step, progress=_ProgressBar("hashing")
                )
    except _client_errors() as exc:
        raise CliError(str(exc)) from None
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
    for f, r, target in zip(files, receipts, targets, strict=True):
        r.save(target)
        print(f"{r.document_digest.hex()}  {f}  ->  {target}")
    first = receipts[0]
    from baaskit.block import BlockHeader

    header = BlockHeader.decode(first.header)
    kind = "aggregated into 1 transaction" if first.aggregation is not None else f"{len({r.tx_id for r in receipts})} transaction(s)"
    print(
        f"notarized {len(receipts)} document(s), {kind}; block {header.height} at {_time(header.time_ms)}, "
        f"tx {first.tx_id.hex()}"
    )
    return 0


# --- verify ---------------------------------------------------------------------------------------


def cmd_verify(args: argparse.Namespace) -> int:
    from baaskit.client import ReceiptError, verify_receipt

    document: Path | None = None if args.file == "-" else Path(args.file)
    if document is not None and not document.is_file():
        raise CliError(f"{document}: no such file")
    try:
        v = verify_receipt(Path(args.receipt), document, Path(args.genesis))
    except ReceiptError as exc:
        raise CliError(f"NOT VERIFIED — check {exc.check!r} failed: {exc.detail}") from None
    if args.json:
        print(json.dumps({"verified": True, **v.summary()}, indent=2, sort_keys=True))
        return 0
    who = v.registered_by_name or "(not enrolled at genesis)"
    if v.institution:
        who += f" of {v.institution}"
    lines = [
        "VERIFIED" + ("" if v.document_checked else " (receipt only: the document was not compared)"),
        f"  document sha256 : {v.document_digest.hex()}",
        f"  registered      : {_time(v.registered_at_ms)} (block {v.height}, chain {v.chain_id})",
        f"  registered by   : {who}, key {v.registered_by.hex()}",
        f"  transaction     : {v.tx_id.hex()}",
    ]
    if v.aggregation_index is not None:
        lines.append(
            f"  aggregated      : document {v.aggregation_index + 1} of {v.aggregation_size} under root "
            f"{v.registered_digest.hex()}"
        )
    meta = v.record.get("metadata") or {}
    if meta:
        lines.append("  metadata        : " + ", ".join(f"{k}={meta[k]}" for k in sorted(meta)))
    if v.record.get("case_id"):
        lines.append(f"  case            : {v.record['case_id']} (step {v.record.get('step')})")
    lines.append(f"  certified by    : {', '.join(v.certified_by_names)} ({len(v.certified_by)} members)")
    print("\n".join(lines))
    return 0


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# --- lookup / receipt / submit --------------------------------------------------------------------


def _digest_arg(target: str) -> bytes:
    path = Path(target)
    if path.is_file():
        from baaskit.client.documents import sha256_file

        try:
            return sha256_file(path)
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror}") from None
    if _HEX64.fullmatch(target):
        return bytes.fromhex(target)
    raise CliError(f"{target!r} is neither a file nor a 64-character hex SHA-256 digest")


def cmd_lookup(args: argparse.Namespace) -> int:
    digest = _digest_arg(args.target)
    try:
        with _client(args) as client:
            record = client.lookup(digest)
    except _client_errors() as exc:
        raise CliError(str(exc)) from None
    if record is None:
        print(f"{digest.hex()}: not registered")
        return 1
    print(json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False))
    return 0


def cmd_receipt(args: argparse.Namespace) -> int:
    digest = _digest_arg(args.target)
    try:
        with _client(args) as client:
            record = client.lookup(digest)
            if record is None:
                raise CliError(f"{digest.hex()} is not registered")
            if record.get("kind") != "document":
                raise CliError(
                    f"{digest.hex()} is a Merkle root; receipts of aggregated documents are written by `notarize`"
                )
            receipt = client.receipt(bytes.fromhex(record["tx_id"]), digest)
    except _client_errors() as exc:
        raise CliError(str(exc)) from None
    out = Path(args.out) if args.out else Path(digest.hex() + RECEIPT_SUFFIX)
    receipt.save(out)
    print(f"{digest.hex()}  ->  {out}")
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    try:
        tx_args = json.loads(args.args)
    except json.JSONDecodeError as exc:
        raise CliError(f"args is not JSON: {exc}") from None
    if not isinstance(tx_args, dict):
        raise CliError("args must be a JSON object")
    from baaskit.canonical import CanonicalError

    try:
        with _client(args) as client:
            env = client.make_tx(args.contract, args.method, tx_args)
            if args.no_wait:
                ack = client.submit([env])[0]
                print(f"{ack.tx_id.hex()} {ack.status}")
                return 0
            result = client.submit_and_wait(env)
    except CanonicalError as exc:
        raise CliError(f"args: {exc}") from None
    except _client_errors() as exc:
        raise CliError(str(exc)) from None
    print(json.dumps({"tx_id": env.tx_id.hex(), **result}, indent=2, sort_keys=True, ensure_ascii=False))
    return 0 if result.get("code") == 0 else 1
