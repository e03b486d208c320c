"""NotaryContract registration and queries through Application.execute_block."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from baaskit import canonical
from baaskit.contracts import BAD_REQUEST, OK, Application, ContractError, MemoryStore
from baaskit.contracts.notary import NotaryContract

from .support import Chain, key, tx

ALICE, BOB = key(1), key(2)
DOC = hashlib.sha256(b"contract.pdf").hexdigest()
DOC2 = hashlib.sha256(b"photo.jpg").hexdigest()
FULL_META = {
    "file_name": "contract.pdf",
    "media_type": "application/pdf",
    "size": 1234,
    "label": "signed lease",
}


def register(signer: Any = ALICE, **args: Any) -> Any:
    return tx(signer, "notary", "register", {"digest": DOC, "kind": "document", **args})


def test_first_registration_records_who_when_and_what() -> None:
    chain = Chain()
    t = register(metadata=FULL_META)
    result = chain.one(t, time_ms=1_712_000_000_123)
    record = {
        "digest": DOC,
        "kind": "document",
        "submitter": bytes(ALICE.verify_key).hex(),
        "tx_id": t.tx_id.hex(),
        "height": 1,
        "time_ms": 1_712_000_000_123,
        "metadata": FULL_META,
        "case_id": None,
        "step": None,
    }
    assert result.code == OK
    assert result.data == {"status": "registered", "record": record}
    assert [(e.contract, e.name) for e in result.events] == [("notary", "DocumentRegistered")]
    assert result.events[0].data == {
        "digest": DOC,
        "kind": "document",
        "submitter": record["submitter"],
        "case_id": None,
    }
    assert chain.query("notary", "get", {"digest": DOC}) == record
    assert chain.store.data[b"c/notary/d/" + DOC.encode()] == canonical.dumps(record)


def test_duplicate_registration_returns_the_original_and_changes_nothing() -> None:
    chain = Chain()
    original = chain.one(register(metadata={"label": "first"})).data["record"]
    before = chain.snapshot()
    again = chain.one(
        register(signer=BOB, kind="merkle_root", metadata={"label": "second"}),
        time_ms=9_999_999_999_999,
    )
    assert again.code == OK
    assert again.data == {"status": "already_registered", "record": original}
    assert again.events == ()
    assert chain.snapshot() == before
    # the same digest twice in one block: the first transaction wins there too
    chain2 = Chain()
    first, second = chain2.block([register(metadata={"label": "a"}), register(signer=BOB)]).results
    assert first.data["status"] == "registered"
    assert second.data == {"status": "already_registered", "record": first.data["record"]}


def test_merkle_root_kind_and_minimal_record() -> None:
    chain = Chain()
    result = chain.one(tx(BOB, "notary", "register", {"digest": DOC2, "kind": "merkle_root"}))
    record = result.data["record"]
    assert (
        record["kind"] == "merkle_root"
        and record["metadata"] == {}
        and record["submitter"] == bytes(BOB.verify_key).hex()
    )


BAD_REGISTRATIONS: list[tuple[dict[str, Any], str]] = [
    ({"kind": "document"}, "missing argument(s): digest"),
    ({"digest": DOC}, "missing argument(s): kind"),
    ({"digest": DOC, "kind": "document", "owner": "x"}, "unknown argument(s): owner"),
    ({"digest": DOC.upper(), "kind": "document"}, "digest must be 64 lowercase hex"),
    ({"digest": DOC[:-1], "kind": "document"}, "digest must be 64 lowercase hex"),
    ({"digest": DOC + "0", "kind": "document"}, "digest must be 64 lowercase hex"),
    ({"digest": DOC[:-1] + "g", "kind": "document"}, "digest must be 64 lowercase hex"),
    ({"digest": DOC + "\n", "kind": "document"}, "digest must be 64 lowercase hex"),
    ({"digest": 5, "kind": "document"}, "digest must be 64 lowercase hex"),
    ({"digest": DOC, "kind": "file"}, "kind must be one of document, merkle_root"),
    ({"digest": DOC, "kind": None}, "kind must be one of document, merkle_root"),
    ({"digest": DOC, "kind": "document", "metadata": []}, "metadata must be an object"),
    (
        {"digest": DOC, "kind": "document", "metadata": {"author": "x"}},
        "unknown metadata field(s): author",
    ),
    (
        {"digest": DOC, "kind": "document", "metadata": {"file_name": ""}},
        "metadata.file_name must be a string of 1..255",
    ),
    (
        {"digest": DOC, "kind": "document", "metadata": {"file_name": "f" * 256}},
        "metadata.file_name must be a string of 1..255",
    ),
    (
        {"digest": DOC, "kind": "document", "metadata": {"file_name": 7}},
        "metadata.file_name must be a string",
    ),
    (
        {"digest": DOC, "kind": "document", "metadata": {"file_name": "a\nb"}},
        "metadata.file_name must not contain control",
    ),
    (
        {"digest": DOC, "kind": "document", "metadata": {"file_name": "invoice\u202efdp.exe"}},
        "metadata.file_name must not contain control",
    ),
    (
        {"digest": DOC, "kind": "document", "metadata": {"label": "x\x85y"}},
        "metadata.label must not contain control",
    ),
    (
        {"digest": DOC, "kind": "document", "metadata": {"label": "x\x7f"}},
        "metadata.label must not contain control",
    ),
    (
        {"digest": DOC, "kind": "document", "metadata": {"label": "l" * 129}},
        "metadata.label must be a string of 1..128",
    ),
    (
        {"digest": DOC, "kind": "document", "metadata": {"label": "tab\there"}},
        "metadata.label must not contain control",
    ),
    (
        {"digest": DOC, "kind": "document", "metadata": {"media_type": "pdf"}},
        "metadata.media_type must be type/subtype",
    ),
    (
        {
            "digest": DOC,
            "kind": "document",
            "metadata": {"media_type": "text/plain; charset=utf-8"},
        },
        "media_type must be type/subtype",
    ),
    (
        {"digest": DOC, "kind": "document", "metadata": {"media_type": "/plain"}},
        "media_type must be type/subtype",
    ),
    (
        {"digest": DOC, "kind": "document", "metadata": {"media_type": "a/" + "b" * 126}},
        "at most 127 characters",
    ),
    (
        {"digest": DOC, "kind": "document", "metadata": {"size": -1}},
        "metadata.size must be an integer 0..",
    ),
    (
        {"digest": DOC, "kind": "document", "metadata": {"size": 2**63}},
        "metadata.size must be an integer 0..",
    ),
    (
        {"digest": DOC, "kind": "document", "metadata": {"size": True}},
        "metadata.size must be an integer 0..",
    ),
    (
        {"digest": DOC, "kind": "document", "metadata": {"size": "12"}},
        "metadata.size must be an integer 0..",
    ),
    (
        {"digest": DOC, "kind": "document", "case_id": "case-1"},
        "step is required when case_id is given",
    ),
    (
        {"digest": DOC, "kind": "document", "step": "capture"},
        "step is only allowed together with case_id",
    ),
    (
        {"digest": DOC, "kind": "document", "case_id": "", "step": "capture"},
        "case_id must be 1..64 characters",
    ),
    (
        {"digest": DOC, "kind": "document", "case_id": "c" * 65, "step": "capture"},
        "case_id must be 1..64 characters",
    ),
    (
        {"digest": DOC, "kind": "document", "case_id": "a/b", "step": "capture"},
        "case_id must be 1..64 characters",
    ),
    (
        {"digest": DOC, "kind": "document", "case_id": "ä", "step": "capture"},
        "case_id must be 1..64 characters",
    ),
    (
        {"digest": DOC, "kind": "document", "case_id": 12, "step": "capture"},
        "case_id must be 1..64 characters",
    ),
    (
        {"digest": DOC, "kind": "document", "case_id": "c1", "step": "seizure"},
        "step must be one of capture, preservation",
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD_REGISTRATIONS)
def test_bad_registration_is_rejected_and_writes_nothing(
    args: dict[str, Any], message: str
) -> None:
    chain = Chain()
    chain.one(tx(BOB, "notary", "register", {"digest": DOC2, "kind": "document"}))
    before = chain.snapshot()
    result = chain.one(tx(ALICE, "notary", "register", args))
    assert result.code == BAD_REQUEST, result
    assert message in result.message
    assert result.events == ()
    assert chain.snapshot() == before


def test_a_bad_argument_on_an_already_registered_digest_is_still_rejected() -> None:
    chain = Chain()
    chain.one(register())
    result = chain.one(register(metadata={"bogus": 1}))
    assert result.code == BAD_REQUEST


@pytest.mark.parametrize(
    "meta",
    [
        {"file_name": "f" * 255, "label": "l" * 128, "size": 0},
        {
            "size": 2**63 - 1,
            "media_type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        },
        {"media_type": "a/" + "b" * 125, "file_name": "résumé (final).pdf"},
        {},
    ],
)
def test_metadata_at_its_limits_is_accepted_and_stored_verbatim(meta: dict[str, Any]) -> None:
    chain = Chain()
    result = chain.one(register(metadata=meta))
    assert result.code == OK and result.data["record"]["metadata"] == meta


def test_unknown_method_is_bad_request() -> None:
    result = Chain().one(tx(ALICE, "notary", "revoke", {"digest": DOC}))
    assert result.code == BAD_REQUEST and "no method 'revoke'" in result.message


def test_get_of_unknown_digest_is_none_and_bad_digest_raises() -> None:
    chain = Chain()
    assert chain.query("notary", "get", {"digest": DOC}) is None
    for args in ({"digest": "xyz"}, {}, {"digest": DOC, "x": 1}):
        with pytest.raises(ContractError) as err:
            chain.query("notary", "get", args)
        assert err.value.code == BAD_REQUEST
    with pytest.raises(ContractError):
        chain.query("notary", "history", {})


def test_by_submitter_lists_in_height_then_digest_order_and_pages() -> None:
    chain = Chain()
    digests = [hashlib.sha256(bytes([i])).hexdigest() for i in range(5)]
    chain.block([register(digest=d) for d in digests[:3]])
    chain.block([register(digest=digests[3]), register(signer=BOB, digest=digests[4])])
    alice = bytes(ALICE.verify_key).hex()
    records = chain.query("notary", "by_submitter", {"submitter": alice})
    expected = [*sorted(digests[:3]), digests[3]]
    assert [r["digest"] for r in records] == expected
    first = chain.query("notary", "by_submitter", {"submitter": alice, "limit": 2})
    assert [r["digest"] for r in first] == expected[:2]
    last = first[-1]
    rest = chain.query(
        "notary",
        "by_submitter",
        {"submitter": alice, "after": {"height": last["height"], "digest": last["digest"]}},
    )
    assert [r["digest"] for r in rest] == expected[2:]
    bob = chain.query("notary", "by_submitter", {"submitter": bytes(BOB.verify_key).hex()})
    assert [r["digest"] for r in bob] == [digests[4]]
    for bad in (
        {"submitter": alice, "limit": 1001},
        {"submitter": alice.upper()},
        {"submitter": alice, "after": {"height": 1}},
        {"submitter": alice, "after": {"height": -1, "digest": DOC}},
    ):
        with pytest.raises(ContractError):
            chain.query("notary", "by_submitter", bad)


def test_genesis_takes_no_parameters() -> None:
    app = Application([NotaryContract()])
    assert app.init_chain(MemoryStore(), {"notary": {}}) == []
    with pytest.raises(ValueError, match="no parameters"):
        app.init_chain(MemoryStore(), {"notary": {"x": 1}})
