"""Remittance unit tests: the HKD -> PHP happy path, rejection, recall, expiry, idempotency,
authorization, governance and limits — each through real signed transactions and the router."""

from __future__ import annotations

from typing import Any

from baaskit.contracts import BAD_REQUEST, CONFLICT, EXPIRED, NOT_FOUND, OK, UNAUTHORIZED

from .test_remittance_world import HOUR, World, hexkey, status_events, uid

AMOUNT = 1_000_000  # HKD 10,000.00
CORRIDOR_FEE = 500 + AMOUNT * 25 // 10_000  # 3,000
FX_FEE = 100
HELD = AMOUNT + CORRIDOR_FEE + FX_FEE
TARGET = AMOUNT * 71234 // 10_000  # PHP 71,234.00 (both exponents 2)


def _pending(world: World, n: int = 1) -> str:
    qid = world.quote(n, AMOUNT)
    args = world.initiate_args(n, qid, AMOUNT)
    data = world.ok("alipayhk", "initiate", args)
    assert data["transfer"]["status"] == "PDNG"
    return str(args["uetr"])


def test_happy_path_hkd_to_php_hong_kong_wallet_to_philippine_wallet() -> None:
    w = World().setup()
    before = w.balances()
    qid = w.quote(1, AMOUNT)
    assert w.query("quote", quote_id=qid)["target_amount"] == TARGET
    args = w.initiate_args(1, qid, AMOUNT)
    result = w.run("alipayhk-2", "initiate", args)  # the institution's second key acts for it too
    assert result.code == OK
    assert [e["status"] for e in status_events(result)] == ["PDNG"]
    uetr = args["uetr"]
    assert w.available("alipayhk", "HKD") == before["alipayhk", "HKD"][0] - HELD
    assert w.escrow("alipayhk", "HKD") == HELD
    assert w.escrow("fxbank", "PHP") == TARGET
    assert w.query("quote", quote_id=qid)["used_by"] == uetr

    # approvals in an order unrelated to the corridor's list; settlement on the last one
    for signer in ("gcash", "scb-hk"):
        r = w.run(signer, "approve", {"uetr": uetr})
        assert r.code == OK and r.data["transfer"]["status"] == "PDNG"
        assert list(status_events(r)) == []
    last = w.run("alipayhk", "approve", {"uetr": uetr})
    assert [(e["previous"], e["status"]) for e in status_events(last)] == [("PDNG", "ACSC")]
    assert sorted(next(status_events(last))["parties"]) == ["alipayhk", "fxbank", "gcash", "scb-hk"]

    after = w.balances()
    assert after["alipayhk", "HKD"] == (before["alipayhk", "HKD"][0] - HELD, 0)
    assert after["fxbank", "HKD"] == (before["fxbank", "HKD"][0] + AMOUNT + FX_FEE, 0)
    assert after["scb-hk", "HKD"] == (before["scb-hk", "HKD"][0] + CORRIDOR_FEE, 0)
    assert after["fxbank", "PHP"] == (before["fxbank", "PHP"][0] - TARGET, 0)
    assert after["gcash", "PHP"] == (before["gcash", "PHP"][0] + TARGET, 0)

    journal = w.query("journal", uetr=uetr)
    assert [(p["memo"], p["amount"], p["debit"], p["credit"]) for p in journal] == [
        ("hold", HELD, "alipayhk:available", "alipayhk:escrow"),
        ("fx hold", TARGET, "fxbank:available", "fxbank:escrow"),
        ("principal", AMOUNT, "alipayhk:escrow", "fxbank:available"),
        ("fx fee", FX_FEE, "alipayhk:escrow", "fxbank:available"),
        ("corridor fee", CORRIDOR_FEE, "alipayhk:escrow", "scb-hk:available"),
        ("payout", TARGET, "fxbank:escrow", "gcash:available"),
    ]

    done = w.run("gcash", "confirm", {"uetr": uetr, "payout_ref": "gcash-payout-1"})
    assert [(e["previous"], e["status"]) for e in status_events(done)] == [("ACSC", "ACCC")]
    status = w.query("transfer", uetr=uetr)
    assert status["status"] == "ACCC" and status["final"] and status["payout_ref"] == "gcash-payout-1"
    assert all(row["balanced"] for row in w.query("totals").values())
    assert w.run("gcash", "confirm", {"uetr": uetr}).code == CONFLICT  # terminal stays terminal


def test_compliance_rejection_refunds_the_escrow_exactly() -> None:
    w = World().setup()
    before = w.balances()
    uetr = _pending(w)
    w.ok("gcash", "approve", {"uetr": uetr})
    r = w.run("scb-hk", "reject", {"uetr": uetr, "reason": "RR04"})
    assert r.code == OK
    assert [(e["status"], e["reason"]) for e in status_events(r)] == [("RJCT", "RR04")]
    assert w.balances() == before
    assert w.query("transfer", uetr=uetr)["final"]
    assert w.run("alipayhk", "approve", {"uetr": uetr}).code == CONFLICT
    assert w.run("alipayhk", "recall", {"uetr": uetr}).code == CONFLICT
    assert [p["memo"] for p in w.query("journal", uetr=uetr)] == ["hold", "fx hold", "refund", "fx release"]


def test_reject_needs_a_known_iso_reason_code() -> None:
    w = World().setup()
    uetr = _pending(w)
    r = w.run("scb-hk", "reject", {"uetr": uetr, "reason": "XX99"})
    assert r.code == BAD_REQUEST and r.data == {"reason": "FF01"}
    assert w.query("transfer", uetr=uetr)["status"] == "PDNG"


def test_recall_by_the_sender_before_settlement_cancels_and_refunds() -> None:
    w = World().setup()
    before = w.balances()
    uetr = _pending(w)
    snapshot = dict(w.store.data)
    assert w.run("gcash", "recall", {"uetr": uetr}).code == UNAUTHORIZED
    assert w.store.data == snapshot
    r = w.run("alipayhk", "recall", {"uetr": uetr, "reason": "DUPL"})
    assert [(e["status"], e["reason"]) for e in status_events(r)] == [("CANC", "DUPL")]
    assert w.balances() == before


def test_recall_after_settlement_is_refused() -> None:
    w = World().setup()
    uetr = _pending(w)
    for signer in ("alipayhk", "scb-hk", "gcash"):
        w.ok(signer, "approve", {"uetr": uetr})
    r = w.run("alipayhk", "recall", {"uetr": uetr})
    assert r.code == CONFLICT and "ACSC" in r.message


def test_lazy_expiry_on_touch_refunds_and_says_the_op_was_not_applied() -> None:
    w = World().setup()
    before = w.balances()
    uetr = _pending(w)  # quote valid 1 h, transfer 2 h: the quote's expiry is the deadline
    assert w.run("gcash", "expire", {"uetr": uetr}).code == CONFLICT  # not yet
    r = w.run("scb-hk", "approve", {"uetr": uetr}, advance_ms=HOUR)
    assert r.code == OK and r.data["applied"] is False and "not applied" in r.message
    assert [(e["status"], e["reason"]) for e in status_events(r)] == [("RJCT", "AB05")]
    assert w.balances() == before


def test_explicit_expire_by_any_party_and_not_by_an_outsider() -> None:
    w = World().setup()
    qid = w.quote(1, AMOUNT, expires_in=10 * HOUR)
    args = w.initiate_args(1, qid, AMOUNT, expires_in=HOUR)
    w.ok("alipayhk", "initiate", args)
    snapshot = dict(w.store.data)
    assert w.run("stranger", "expire", {"uetr": args["uetr"]}, advance_ms=2 * HOUR).code == UNAUTHORIZED
    assert w.store.data == snapshot
    r = w.run("fxbank", "expire", {"uetr": args["uetr"]})
    assert r.data["applied"] is True
    assert [(e["status"], e["reason"]) for e in status_events(r)] == [("RJCT", "AB01")]
    assert w.escrow("fxbank", "PHP") == 0 and w.escrow("alipayhk", "HKD") == 0


def test_an_expired_quote_cannot_start_a_transfer() -> None:
    w = World().setup()
    qid = w.quote(1, AMOUNT, expires_in=5_000)
    snapshot = dict(w.store.data)
    r = w.run("alipayhk", "initiate", w.initiate_args(1, qid, AMOUNT), advance_ms=5_000)
    assert r.code == EXPIRED and w.store.data == snapshot


def test_idempotency_same_key_same_content_returns_the_transfer_different_content_is_dupl() -> None:
    w = World().setup()
    qid = w.quote(1, AMOUNT)
    args = w.initiate_args(1, qid, AMOUNT)
    first = w.ok("alipayhk", "initiate", args)
    again = w.step("alipayhk-2", "initiate", args)  # same institution, other key, same content
    assert again.result.code == OK and again.writes == []
    assert again.result.data["transfer"] == first["transfer"] and again.result.data["applied"] is False
    changed = dict(args, beneficiary_hash="ab" * 32)
    snapshot = dict(w.store.data)
    r = w.run("alipayhk", "initiate", changed)
    assert r.code == CONFLICT and r.data == {"reason": "DUPL"}
    assert w.run("gcash", "initiate", args).code == CONFLICT  # another sender reusing the uetr
    assert w.store.data == snapshot


def test_a_quote_serves_one_transfer_only() -> None:
    w = World().setup()
    qid = w.quote(1, AMOUNT)
    w.ok("alipayhk", "initiate", w.initiate_args(1, qid, AMOUNT))
    r = w.run("alipayhk", "initiate", w.initiate_args(2, qid, AMOUNT))
    assert r.code == CONFLICT and "already used" in r.message


def test_only_parties_act_each_in_its_own_role() -> None:
    w = World().setup()
    uetr = _pending(w)
    snapshot = dict(w.store.data)
    refused: list[tuple[str, str, dict[str, Any]]] = [
        ("fxbank", "approve", {"uetr": uetr}),  # party, but not an approver
        ("checker", "reject", {"uetr": uetr, "reason": "RR04"}),  # approver role, other corridor
        ("stranger", "approve", {"uetr": uetr}),
        ("scb-hk", "recall", {"uetr": uetr}),
        ("alipayhk", "confirm", {"uetr": uetr}),
        ("stranger", "expire", {"uetr": uetr}),
        ("alipayhk", "quote", {"quote_id": uid(9, "q"), "corridor": "hkd-php", "source_amount": 1, "rate_num": 1, "rate_den": 1, "fee": 0, "expires_at_ms": w.time_ms + HOUR}),
        ("fxbank", "initiate", w.initiate_args(9, uid(1, "quote"), AMOUNT)),
        ("alipayhk", "mint", {"institution": "alipayhk", "currency": "HKD", "amount": 1, "ref": "x"}),
        ("scb-hk", "define_corridor", {}),
    ]
    for signer, method, args in refused:
        r = w.run(signer, method, args)
        assert r.code == UNAUTHORIZED, (signer, method, r.code, r.message)
        assert r.message
    assert w.store.data == snapshot


def test_out_of_order_confirm_before_settlement_is_a_conflict() -> None:
    w = World().setup()
    uetr = _pending(w)
    r = w.run("gcash", "confirm", {"uetr": uetr})
    assert r.code == CONFLICT and "ACSC" in r.message
    w.ok("gcash", "approve", {"uetr": uetr})
    assert w.run("gcash", "approve", {"uetr": uetr}).code == CONFLICT  # decided once


def test_limits_per_transfer_and_per_block_time_utc_day() -> None:
    w = World().setup()
    qid = w.quote(1, 5_000_001)
    r = w.run("alipayhk", "initiate", w.initiate_args(1, qid, 5_000_001))
    assert r.code == CONFLICT and r.data == {"reason": "AM02"}
    # daily limit 20,000,000: four transfers of 5,000,000 fit, the fifth does not
    w.time_ms = (w.time_ms // 86_400_000 + 1) * 86_400_000  # start of a UTC day
    w.ok("admin", "mint", {"institution": "alipayhk", "currency": "HKD", "amount": 100_000_000, "ref": "big"})
    for n in range(2, 6):
        q = w.quote(n, 5_000_000)
        w.ok("alipayhk", "initiate", w.initiate_args(n, q, 5_000_000))
    q = w.quote(6, 5_000_000)
    r = w.run("alipayhk", "initiate", w.initiate_args(6, q, 5_000_000))
    assert r.code == CONFLICT and r.data == {"reason": "AM14"}
    q = w.quote(7, 5_000_000, expires_in=30 * HOUR)
    args = w.initiate_args(7, q, 5_000_000, expires_in=26 * HOUR)
    w.ok("alipayhk", "initiate", args, advance_ms=24 * HOUR)  # the next UTC day has a fresh limit


def test_insufficient_funds_is_am04_and_changes_nothing() -> None:
    w = World().setup()
    w.ok("admin", "define_corridor", {**_corridor("hkd-php"), "per_transfer_limit": 10**15, "daily_limit": 10**15})
    qid = w.quote(1, 9_999_999)
    snapshot = dict(w.store.data)
    r = w.run("alipayhk", "initiate", w.initiate_args(1, qid, 9_999_999))
    assert r.code == CONFLICT and r.data == {"reason": "AM04"}
    assert w.store.data == snapshot


def _corridor(name: str) -> dict[str, Any]:
    from .test_remittance_world import CORRIDORS

    return dict(CORRIDORS[name])


def test_governance_mint_burn_and_duplicate_references() -> None:
    w = World().setup()
    before = w.query("totals", currency="HKD")["HKD"]
    w.ok("admin", "mint", {"institution": "gcash", "currency": "HKD", "amount": 700, "ref": "dep-77"})
    r = w.run("admin", "mint", {"institution": "gcash", "currency": "HKD", "amount": 700, "ref": "dep-77"})
    assert r.code == CONFLICT and r.data == {"reason": "DUPL"}
    w.ok("admin", "burn", {"institution": "gcash", "currency": "HKD", "amount": 200, "ref": "wd-1"})
    assert w.run("admin", "burn", {"institution": "gcash", "currency": "HKD", "amount": 10**9, "ref": "wd-2"}).code == CONFLICT
    totals = w.query("totals", currency="HKD")["HKD"]
    assert totals["minted"] == before["minted"] + 700 and totals["burned"] == 200 and totals["balanced"]
    assert w.run("admin", "open_account", {"institution": "gcash", "currency": "HKD"}).code == CONFLICT
    assert w.run("admin", "open_account", {"institution": "gcash", "currency": "EUR"}).code == NOT_FOUND
    assert w.run("admin", "register_institution", {"id": "evil", "name": "E", "roles": ["sender"], "keys": [hexkey("gcash")]}).code == CONFLICT
    assert w.query("whois", key=hexkey("alipayhk-2")) == "alipayhk"


def test_corridor_approvers_must_be_approvers() -> None:
    w = World().setup()
    r = w.run("admin", "define_corridor", {**_corridor("hkd-php"), "approvers": ["fxbank"]})
    assert r.code == CONFLICT and "approver" in r.message


def test_unknown_method_and_malformed_args_are_bad_requests() -> None:
    w = World().setup()
    snapshot = dict(w.store.data)
    malformed: list[tuple[str, dict[str, Any]]] = [
        ("teleport", {}),
        ("approve", {}),
        ("approve", {"uetr": "not-a-uuid"}),
        ("approve", {"uetr": uid(1), "extra": 1}),
        ("quote", {"quote_id": uid(1, "q"), "corridor": "hkd-php", "source_amount": True, "rate_num": 1, "rate_den": 1, "fee": 0, "expires_at_ms": 1}),
        ("initiate", {**w.initiate_args(1, uid(1, "q"), 10), "amount": "10"}),
    ]
    for method, args in malformed:
        r = w.run("alipayhk" if method != "quote" else "fxbank", method, args)
        assert r.code == BAD_REQUEST, (method, r.code, r.message)
    assert w.store.data == snapshot


def test_state_holds_only_the_beneficiary_hash() -> None:
    w = World().setup()
    uetr = _pending(w)
    stored = w.query("transfer", uetr=uetr)
    assert len(stored["beneficiary_hash"]) == 64
    assert not any(b"beneficiary-1" in v for v in w.store.data.values())
