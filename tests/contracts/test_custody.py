"""Chain of custody: an evidence case links registered digests in append order."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from baaskit.contracts import BAD_REQUEST, CONFLICT, NOT_FOUND, OK, UNAUTHORIZED, ContractError

from .support import Chain, key, tx

POLICE, LAB, STRANGER = key(11), key(12), key(13)
CASE = "2026:AB-17.x_1"
D = [hashlib.sha256(f"evidence-{i}".encode()).hexdigest() for i in range(6)]


def hexkey(signer: Any) -> str:
    return bytes(signer.verify_key).hex()


def register(signer: Any, digest: str, **extra: Any) -> Any:
    return tx(signer, "notary", "register", {"digest": digest, "kind": "document", **extra})


def link(signer: Any, digest: str, step: str, case_id: str = CASE) -> Any:
    return tx(signer, "notary", "link", {"case_id": case_id, "digest": digest, "step": step})


def grant(signer: Any, grantee: Any, case_id: str = CASE) -> Any:
    return tx(signer, "notary", "grant", {"case_id": case_id, "submitter": hexkey(grantee)})


def test_register_with_case_opens_it_and_entries_keep_append_order() -> None:
    chain = Chain()
    opened = chain.one(register(POLICE, D[0], case_id=CASE, step="capture"), time_ms=1000)
    assert opened.code == OK
    assert [e.name for e in opened.events] == ["DocumentRegistered", "CaseEntryAppended"]
    assert opened.events[1].data == {"case_id": CASE, "index": 0, "digest": D[0], "step": "capture"}
    assert opened.data["record"]["case_id"] == CASE and opened.data["record"]["step"] == "capture"
    # two more in one block: the order inside the block is the transaction order, not digest order
    later = sorted(D[1:3], reverse=True)
    chain.block(
        [
            register(POLICE, later[0]),
            link(POLICE, later[0], "preservation"),
            register(POLICE, later[1], case_id=CASE, step="analysis"),
        ],
        time_ms=2000,
    )
    chain.one(link(POLICE, D[0], "submission"), time_ms=3000)
    entries = chain.query("notary", "case", {"case_id": CASE})
    assert [(e["index"], e["digest"], e["step"], e["height"], e["time_ms"]) for e in entries] == [
        (0, D[0], "capture", 1, 1000),
        (1, later[0], "preservation", 2, 2000),
        (2, later[1], "analysis", 2, 2000),
        (3, D[0], "submission", 3, 3000),
    ]
    assert all(e["submitter"] == hexkey(POLICE) for e in entries)
    info = chain.query("notary", "case_info", {"case_id": CASE})
    assert info == {
        "case_id": CASE,
        "creator": hexkey(POLICE),
        "length": 4,
        "participants": [hexkey(POLICE)],
    }
    # indexed keys, big-endian u32: not one growing blob
    case_keys = sorted(k for k in chain.store.data if k.startswith(b"c/notary/case/"))
    assert case_keys == [
        b"c/notary/case/" + CASE.encode() + b"/" + i.to_bytes(4, "big") for i in range(4)
    ]


def test_case_query_pages_and_unknown_case_is_empty() -> None:
    chain = Chain()
    chain.block([register(POLICE, d) for d in D])
    chain.block([link(POLICE, d, "other") for d in D])
    assert [
        e["digest"]
        for e in chain.query("notary", "case", {"case_id": CASE, "start": 2, "limit": 3})
    ] == D[2:5]
    assert [e["digest"] for e in chain.query("notary", "case", {"case_id": CASE, "start": 5})] == D[
        5:
    ]
    assert chain.query("notary", "case", {"case_id": CASE, "start": 6}) == []
    assert chain.query("notary", "case", {"case_id": "nope"}) == []
    assert chain.query("notary", "case_info", {"case_id": "nope"}) is None
    for bad in (
        {"case_id": CASE, "limit": 0},
        {"case_id": CASE, "start": -1},
        {"case_id": "a b"},
        {"case_id": CASE, "x": 1},
    ):
        with pytest.raises(ContractError) as err:
            chain.query("notary", "case", bad)
        assert err.value.code == BAD_REQUEST


def test_only_participants_may_append_and_grant_hands_over() -> None:
    chain = Chain()
    chain.block(
        [
            register(POLICE, D[0], case_id=CASE, step="capture"),
            register(LAB, D[1]),
            register(STRANGER, D[2]),
        ]
    )
    before = chain.snapshot()
    for attempt in (
        link(LAB, D[1], "analysis"),
        register(STRANGER, D[3], case_id=CASE, step="other"),
        grant(STRANGER, STRANGER),
    ):
        result = chain.one(attempt)
        assert result.code == UNAUTHORIZED and CASE in result.message
        assert chain.snapshot() == before
    granted = chain.one(grant(POLICE, LAB))
    assert granted.code == OK and granted.data == {
        "case_id": CASE,
        "submitter": hexkey(LAB),
        "granted_by": hexkey(POLICE),
    }
    assert [e.name for e in granted.events] == ["CaseParticipantAdded"]
    assert chain.one(grant(POLICE, LAB)).code == CONFLICT
    # the lab may link a digest someone else registered, and grant in turn
    assert chain.one(link(LAB, D[1], "analysis")).code == OK
    assert chain.one(link(LAB, D[2], "analysis")).code == OK
    info = chain.query("notary", "case_info", {"case_id": CASE})
    assert info["creator"] == hexkey(POLICE) and info["length"] == 3
    assert info["participants"] == sorted([hexkey(POLICE), hexkey(LAB)])


def test_link_errors_write_nothing() -> None:
    chain = Chain()
    chain.one(register(POLICE, D[0], case_id=CASE, step="capture"))
    before = chain.snapshot()
    cases: list[tuple[Any, int, str]] = [
        (link(POLICE, D[5], "analysis"), NOT_FOUND, "is not registered"),
        (
            tx(POLICE, "notary", "link", {"case_id": CASE, "digest": D[0]}),
            BAD_REQUEST,
            "missing argument(s): step",
        ),
        (
            tx(
                POLICE,
                "notary",
                "link",
                {"case_id": CASE, "digest": D[0], "step": "capture", "note": "x"},
            ),
            BAD_REQUEST,
            "unknown argument(s): note",
        ),
        (link(POLICE, D[0], "destroyed"), BAD_REQUEST, "step must be one of"),
        (link(POLICE, "00" * 31, "capture"), BAD_REQUEST, "digest must be 64 lowercase hex"),
        (link(POLICE, D[0], "capture", case_id="x" * 65), BAD_REQUEST, "case_id must be"),
        (
            tx(POLICE, "notary", "grant", {"case_id": "other", "submitter": hexkey(LAB)}),
            NOT_FOUND,
            "no case 'other'",
        ),
        (
            tx(POLICE, "notary", "grant", {"case_id": CASE, "submitter": "ab"}),
            BAD_REQUEST,
            "submitter must be",
        ),
        (
            tx(POLICE, "notary", "grant", {"case_id": CASE}),
            BAD_REQUEST,
            "missing argument(s): submitter",
        ),
    ]
    for t, code, message in cases:
        result = chain.one(t)
        assert (result.code, message in result.message) == (code, True), result
        assert chain.snapshot() == before


def test_link_may_open_a_new_case_for_an_already_registered_digest() -> None:
    chain = Chain()
    chain.one(register(LAB, D[0]))
    assert chain.one(link(POLICE, D[0], "capture", case_id="new")).code == OK
    assert chain.query("notary", "case_info", {"case_id": "new"})["creator"] == hexkey(POLICE)
    # the record itself does not change: it keeps its registration-time case (none)
    assert chain.query("notary", "get", {"digest": D[0]})["case_id"] is None


def test_duplicate_registration_with_a_case_does_not_append() -> None:
    chain = Chain()
    chain.one(register(POLICE, D[0], case_id=CASE, step="capture"))
    again = chain.one(register(POLICE, D[0], case_id=CASE, step="submission"))
    assert again.data["status"] == "already_registered" and again.events == ()
    assert len(chain.query("notary", "case", {"case_id": CASE})) == 1
