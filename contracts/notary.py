"""Evidence notarization: digests registered once, with who, when, and an optional chain of custody.

The full reference (methods, limits, results, events, record format) is docs/notary.md; keep the two
in step. Every method validates all of its arguments and checks every permission before it writes,
so a rejected transaction writes nothing even without the router discarding its overlay.

State under c/notary/ (all integers big-endian, fixed width, so key order is numeric order):
  d/<digest hex>                           -> record (canonical JSON)
  s/<submitter hex>/<u64 height><digest>   -> b""  (index for by_submitter)
  cm/<case_id>                             -> {"creator", "length"} (canonical JSON)
  cp/<case_id>/<submitter hex>             -> b""  (who may append to the case)
  case/<case_id>/<u32 index>               -> case entry (canonical JSON)
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping
from typing import Any

from baaskit import canonical
from baaskit.tx import Tx

from .app import (
    BAD_REQUEST,
    CONFLICT,
    NOT_FOUND,
    UNAUTHORIZED,
    BlockContext,
    ContractError,
    Event,
    TxResult,
)
from .state import StateView

NAME = "notary"
KINDS = ("document", "merkle_root")
STEPS = ("capture", "preservation", "analysis", "submission", "other")
MAX_FILE_NAME = 255
MAX_MEDIA_TYPE = 127
MAX_LABEL = 128
MAX_SIZE = 2**63 - 1  # fits a signed 64-bit integer in any verifier's language
MAX_CASE_ENTRIES = 2**32 - 1  # entry indexes are u32
QUERY_MAX = 1000

_HEX32 = re.compile(r"[0-9a-f]{64}")  # a SHA-256 digest or an Ed25519 public key, lowercase hex
_CASE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_MEDIA_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"  # RFC 6838 restricted-name
_MEDIA_TYPE = re.compile(_MEDIA_NAME + "/" + _MEDIA_NAME)
_METADATA = ("file_name", "media_type", "size", "label")


def _bad(message: str) -> ContractError:
    return ContractError(BAD_REQUEST, message)


def _fields(
    args: Mapping[str, Any], required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> None:
    if not isinstance(args, Mapping):
        raise _bad("arguments must be an object")
    missing = [name for name in required if name not in args]
    unknown = sorted(str(name) for name in args if name not in required and name not in optional)
    if missing:
        raise _bad(f"missing argument(s): {', '.join(missing)}")
    if unknown:
        raise _bad(f"unknown argument(s): {', '.join(unknown)}")


def _match(value: Any, pattern: re.Pattern[str], name: str, rule: str) -> str:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise _bad(f"{name} must be {rule}")
    return value


def _digest(value: Any, name: str = "digest") -> str:
    return _match(value, _HEX32, name, "64 lowercase hex characters (a SHA-256 digest)")


def _case_id(value: Any) -> str:
    return _match(value, _CASE_ID, "case_id", "1..64 characters from A-Z a-z 0-9 . _ : -")


def _choice(value: Any, name: str, options: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in options:
        raise _bad(f"{name} must be one of {', '.join(options)}")
    return value


# Explicit code point ranges, not unicodedata: its tables change with the Python version, and every
# replica must reach the same verdict. Bidi controls could make a name display as something else.
_BIDI = frozenset((0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)))


def _is_control(ch: str) -> bool:
    code = ord(ch)
    return code < 0x20 or 0x7F <= code <= 0x9F or code in _BIDI


def _plain_text(meta: Mapping[str, Any], name: str, limit: int) -> str:
    value = meta[name]
    if not isinstance(value, str) or not 1 <= len(value) <= limit:
        raise _bad(f"metadata.{name} must be a string of 1..{limit} characters")
    if any(_is_control(ch) for ch in value):
        raise _bad(f"metadata.{name} must not contain control or bidirectional-override characters")
    return value


def _metadata(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad("metadata must be an object")
    unknown = sorted(str(name) for name in value if name not in _METADATA)
    if unknown:
        raise _bad(
            f"unknown metadata field(s): {', '.join(unknown)} (allowed: {', '.join(_METADATA)})"
        )
    meta: dict[str, Any] = {}
    if "file_name" in value:
        meta["file_name"] = _plain_text(value, "file_name", MAX_FILE_NAME)
    if "media_type" in value:
        media = value["media_type"]
        if (
            not isinstance(media, str)
            or len(media) > MAX_MEDIA_TYPE
            or _MEDIA_TYPE.fullmatch(media) is None
        ):
            raise _bad(
                f"metadata.media_type must be type/subtype (RFC 6838), at most {MAX_MEDIA_TYPE} characters"
            )
        meta["media_type"] = media
    if "size" in value:
        size = value["size"]
        if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_SIZE:
            raise _bad(f"metadata.size must be an integer 0..{MAX_SIZE}")
        meta["size"] = size
    if "label" in value:
        meta["label"] = _plain_text(value, "label", MAX_LABEL)
    return meta


def _limit(args: Mapping[str, Any], default: int) -> int:
    value = args.get("limit", default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= QUERY_MAX:
        raise _bad(f"limit must be an integer 1..{QUERY_MAX}")
    return value


# --- state keys ---------------------------------------------------------------------------------


def _record_key(digest: str) -> bytes:
    return b"d/" + digest.encode()


def _submitter_prefix(submitter: str) -> bytes:
    return b"s/" + submitter.encode() + b"/"


def _submitter_key(submitter: str, height: int, digest: str) -> bytes:
    return _submitter_prefix(submitter) + struct.pack(">Q", height) + bytes.fromhex(digest)


def _case_meta_key(case_id: str) -> bytes:
    return b"cm/" + case_id.encode()


def _participant_key(case_id: str, submitter: str) -> bytes:
    return b"cp/" + case_id.encode() + b"/" + submitter.encode()


def _entry_prefix(case_id: str) -> bytes:
    return b"case/" + case_id.encode() + b"/"


def _entry_key(case_id: str, index: int) -> bytes:
    return _entry_prefix(case_id) + struct.pack(">I", index)


def _load(state: StateView, key: bytes) -> Any:
    raw = state.get(key)
    return None if raw is None else canonical.loads(raw)


# --- the contract -------------------------------------------------------------------------------


class NotaryContract:
    name = NAME

    def init_chain(self, state: StateView, params: Mapping[str, Any]) -> None:
        if params:
            raise ValueError(f"genesis app_state.notary takes no parameters, got {sorted(params)}")

    def execute(self, state: StateView, tx: Tx, ctx: BlockContext) -> TxResult:
        if tx.method == "register":
            return self._register(state, tx, ctx)
        if tx.method == "link":
            return self._link(state, tx, ctx)
        if tx.method == "grant":
            return self._grant(state, tx)
        raise _bad(f"notary has no method {tx.method!r} (register, link, grant)")

    # register {digest, kind, metadata?, case_id?, step?}
    def _register(self, state: StateView, tx: Tx, ctx: BlockContext) -> TxResult:
        args = tx.args
        _fields(args, ("digest", "kind"), ("metadata", "case_id", "step"))
        digest = _digest(args["digest"])
        kind = _choice(args["kind"], "kind", KINDS)
        metadata = _metadata(args.get("metadata", {}))
        case_id = _case_id(args["case_id"]) if "case_id" in args else None
        step = _choice(args["step"], "step", STEPS) if "step" in args else None
        if case_id is not None and step is None:
            raise _bad("step is required when case_id is given")
        if case_id is None and step is not None:
            raise _bad("step is only allowed together with case_id")

        original = _load(state, _record_key(digest))
        if original is not None:  # first registration wins; nothing is written
            return TxResult(
                code=0,
                message="already registered",
                data={"status": "already_registered", "record": original},
            )
        case_meta = _case_for_append(state, case_id, tx.signer) if case_id is not None else None

        record = {
            "digest": digest,
            "kind": kind,
            "submitter": tx.signer,
            "tx_id": tx.tx_id.hex(),
            "height": ctx.height,
            "time_ms": ctx.time_ms,
            "metadata": metadata,
            "case_id": case_id,
            "step": step,
        }
        state.set(_record_key(digest), canonical.dumps(record))
        state.set(_submitter_key(tx.signer, ctx.height, digest), b"")
        events = [
            Event(
                NAME,
                "DocumentRegistered",
                {"digest": digest, "kind": kind, "submitter": tx.signer, "case_id": case_id},
            )
        ]
        if case_id is not None and step is not None and case_meta is not None:
            entry = _append(state, case_id, case_meta, digest, step, tx, ctx)
            events.append(_entry_event(case_id, entry))
        return TxResult(
            code=0, data={"status": "registered", "record": record}, events=tuple(events)
        )

    # link {case_id, digest, step}
    def _link(self, state: StateView, tx: Tx, ctx: BlockContext) -> TxResult:
        _fields(tx.args, ("case_id", "digest", "step"))
        case_id = _case_id(tx.args["case_id"])
        digest = _digest(tx.args["digest"])
        step = _choice(tx.args["step"], "step", STEPS)
        if state.get(_record_key(digest)) is None:
            raise ContractError(NOT_FOUND, f"digest {digest} is not registered; register it first")
        case_meta = _case_for_append(state, case_id, tx.signer)
        entry = _append(state, case_id, case_meta, digest, step, tx, ctx)
        return TxResult(
            code=0,
            data={"case_id": case_id, "entry": entry},
            events=(_entry_event(case_id, entry),),
        )

    # grant {case_id, submitter}
    def _grant(self, state: StateView, tx: Tx) -> TxResult:
        _fields(tx.args, ("case_id", "submitter"))
        case_id = _case_id(tx.args["case_id"])
        grantee = _match(
            tx.args["submitter"], _HEX32, "submitter", "a 64-character lowercase hex public key"
        )
        if state.get(_case_meta_key(case_id)) is None:
            raise ContractError(NOT_FOUND, f"no case {case_id!r}")
        if state.get(_participant_key(case_id, tx.signer)) is None:
            raise ContractError(
                UNAUTHORIZED, f"only participants of case {case_id!r} may grant access"
            )
        if state.get(_participant_key(case_id, grantee)) is not None:
            raise ContractError(CONFLICT, f"{grantee} already participates in case {case_id!r}")
        state.set(_participant_key(case_id, grantee), b"")
        data = {"case_id": case_id, "submitter": grantee, "granted_by": tx.signer}
        return TxResult(code=0, data=data, events=(Event(NAME, "CaseParticipantAdded", data),))

    def query(self, state: StateView, method: str, args: Mapping[str, Any]) -> Any:
        if method == "get":
            _fields(args, ("digest",))
            return _load(state, _record_key(_digest(args["digest"])))
        if method == "case":
            _fields(args, ("case_id",), ("start", "limit"))
            case_id = _case_id(args["case_id"])
            start = args.get("start", 0)
            if (
                isinstance(start, bool)
                or not isinstance(start, int)
                or not 0 <= start <= MAX_CASE_ENTRIES
            ):
                raise _bad(f"start must be an integer 0..{MAX_CASE_ENTRIES}")
            limit = _limit(args, QUERY_MAX)
            meta = _load(state, _case_meta_key(case_id))
            if meta is None:
                return []
            end = min(meta["length"], start + limit)
            return [_load(state, _entry_key(case_id, i)) for i in range(start, end)]
        if method == "case_info":
            _fields(args, ("case_id",))
            case_id = _case_id(args["case_id"])
            meta = _load(state, _case_meta_key(case_id))
            if meta is None:
                return None
            cut = len(_participant_key(case_id, ""))
            participants = [
                key[cut:].decode() for key, _ in state.iterate(_participant_key(case_id, ""))
            ]
            return {
                "case_id": case_id,
                "creator": meta["creator"],
                "length": meta["length"],
                "participants": participants,
            }
        if method == "by_submitter":
            return _by_submitter(state, args)
        raise _bad(f"notary has no query {method!r} (get, case, case_info, by_submitter)")


def _case_for_append(state: StateView, case_id: str, signer: str) -> dict[str, Any]:
    """The case's {creator, length} if `signer` may append one entry to it; raises otherwise.

    Anyone may open a new case (and becomes its creator); an existing case is only extended by
    its participants: whoever appended to it before, or was granted access by a participant.
    """
    meta = _load(state, _case_meta_key(case_id))
    if meta is None:
        return {"creator": signer, "length": 0}
    if state.get(_participant_key(case_id, signer)) is None:
        raise ContractError(UNAUTHORIZED, f"only participants of case {case_id!r} may append to it")
    if meta["length"] >= MAX_CASE_ENTRIES:
        raise ContractError(CONFLICT, f"case {case_id!r} is full ({MAX_CASE_ENTRIES} entries)")
    return dict(meta)


def _append(
    state: StateView,
    case_id: str,
    meta: Mapping[str, Any],
    digest: str,
    step: str,
    tx: Tx,
    ctx: BlockContext,
) -> dict[str, Any]:
    """Write one entry at the end of the case; the caller has checked `_case_for_append`."""
    index = meta["length"]
    entry = {
        "index": index,
        "digest": digest,
        "step": step,
        "submitter": tx.signer,
        "tx_id": tx.tx_id.hex(),
        "height": ctx.height,
        "time_ms": ctx.time_ms,
    }
    state.set(_entry_key(case_id, index), canonical.dumps(entry))
    state.set(
        _case_meta_key(case_id), canonical.dumps({"creator": meta["creator"], "length": index + 1})
    )
    state.set(_participant_key(case_id, tx.signer), b"")
    return entry


def _entry_event(case_id: str, entry: Mapping[str, Any]) -> Event:
    data = {
        "case_id": case_id,
        "index": entry["index"],
        "digest": entry["digest"],
        "step": entry["step"],
    }
    return Event(NAME, "CaseEntryAppended", data)


def _by_submitter(state: StateView, args: Mapping[str, Any]) -> list[Any]:
    """Records registered by one key, oldest first (by height, then digest); page with `after`."""
    _fields(args, ("submitter",), ("limit", "after"))
    submitter = _match(
        args["submitter"], _HEX32, "submitter", "a 64-character lowercase hex public key"
    )
    limit = _limit(args, 100)
    after: bytes | None = None
    if "after" in args:
        cursor = args["after"]
        if not isinstance(cursor, Mapping) or set(cursor) != {"height", "digest"}:
            raise _bad("after must be {height, digest} of the last record of the previous page")
        height = cursor["height"]
        if isinstance(height, bool) or not isinstance(height, int) or not 0 <= height < 2**64:
            raise _bad("after.height must be an integer 0..2^64-1")
        after = _submitter_key(submitter, height, _digest(cursor["digest"], "after.digest"))
    records: list[Any] = []
    for key, _ in state.iterate(_submitter_prefix(submitter)):
        if after is not None and key <= after:
            continue
        records.append(_load(state, _record_key(key[-32:].hex())))
        if len(records) == limit:
            break
    return records
