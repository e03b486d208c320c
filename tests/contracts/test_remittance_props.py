"""Stateful property test: random sequences of EVERY remittance operation — governance, quotes,
initiations, approvals, rejections, recalls, confirmations, expiries, queries, idle blocks — by
authorized and unauthorized signers, with duplicate, expired, out-of-order and malformed requests,
each a real signed transaction in its own block through the real router, block time advancing.

After every step:
  conservation  per currency, sum of every account's available + escrow == recorded mints - burns
                (the test's own tally of successful mint/burn results, and the contract's supply)
  non-negative  no available or escrow balance is negative
  escrow        each account's escrow == what its PDNG transfers hold (sender: principal + fees in
                the source currency; FX provider: the target amount)
  lifecycle     every status change is announced by an event whose `previous` is the last status
                seen; no transfer leaves a terminal status (so none reaches two); the stored
                status equals the last announced one
  rejection     a rejected transaction leaves the store byte-for-byte unchanged (and writes nothing)
  idempotency   re-initiating with the same uetr and content returns the same transfer and writes
                nothing; different content is a DUPL conflict
The test counts the operations it executed (printed, and in OPS_EXPLORED).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import pytest
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from baaskit import canonical
from baaskit.contracts import (
    BAD_REQUEST,
    CONFLICT,
    OK,
    UNAUTHORIZED,
    BlockContext,
    ContractError,
    remittance_transfer,
)
from baaskit.contracts.remittance_ledger import AVAILABLE, ESCROW
from baaskit.contracts.remittance_model import RECALL_REASONS, REJECT_REASONS, TERMINAL, Transfer
from tests.budget import budget

from .support import CHAIN
from .test_remittance_world import CORRIDORS, FUNDING, HOUR, INSTITUTIONS, World, hexkey, uid

KEYS = ["admin", "alipayhk", "alipayhk-2", "gcash", "fxbank", "scb-hk", "checker", "stranger", "newbie-0", "newbie-1"]
INSTS = [*INSTITUTIONS, "newbie", "nobody"]
CURRENCIES = ["HKD", "PHP", "JPY", "EUR", "hkd"]
METHODS = ["register_currency", "register_institution", "open_account", "mint", "burn", "define_corridor",
           "quote", "initiate", "approve", "reject", "recall", "confirm", "expire"]
QUERIES = ["balance", "balances", "transfer", "quote", "corridor", "corridors", "institution",
           "institutions", "whois", "currencies", "journal", "totals", "codes", "admins", "nope"]
FIELDS = ["uetr", "quote_id", "amount", "receiver", "beneficiary_hash", "expires_at_ms", "reason",
          "institution", "currency", "ref", "id", "code", "exponent", "corridor", "source_amount",
          "rate_num", "rate_den", "fee", "payout_ref", "roles", "keys", "name"]

TEXT = st.characters(codec="utf-8")
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.text(TEXT, max_size=8),
                      st.sampled_from([uid(1), uid(1, "quote"), "HKD", "gcash", "RR04", "ab" * 32]))
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(TEXT, max_size=4), inner, max_size=3), max_leaves=6)
advance = st.integers(1, 5_000)  # per transaction block; long gaps come from the `idle` rule
pick = st.integers(0, 2**16)
rightness = st.sampled_from([1, 1, 1, 1, 0])  # 0: a random signer; 1: the party whose turn it is
seldom = st.sampled_from([1, 0, 0])  # disruptive ops (reject, recall) by the right party a third of the time
mistake = st.sampled_from([0, 0, 0, 0, 0, 1])  # 1: deliberately off (wrong amount, unknown id...)

def _corridor_body(base: str, limit: int, daily: int, fee_fixed: int, fee_bps: int, approvers: list[str] | None) -> dict[str, Any]:
    body = {**CORRIDORS[base], "per_transfer_limit": limit, "daily_limit": daily, "fee_fixed": fee_fixed, "fee_bps": fee_bps}
    return body if approvers is None else {**body, "approvers": approvers}


GOVERNANCE_ARGS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "mint": st.fixed_dictionaries({"institution": st.sampled_from(INSTS), "currency": st.sampled_from(CURRENCIES),
                                   "amount": st.integers(-1, 20_000_000), "ref": st.integers(0, 30).map("mint-{}".format)}),
    "burn": st.fixed_dictionaries({"institution": st.sampled_from(INSTS), "currency": st.sampled_from(CURRENCIES),
                                   "amount": st.integers(-1, 2_000_000), "ref": st.integers(0, 30).map("burn-{}".format)}),
    "open_account": st.fixed_dictionaries({"institution": st.sampled_from(INSTS), "currency": st.sampled_from(CURRENCIES)}),
    "register_currency": st.fixed_dictionaries({"code": st.sampled_from(CURRENCIES), "exponent": st.integers(-1, 9)}),
    "register_institution": st.fixed_dictionaries({
        "id": st.just("newbie"), "name": st.just("Newbie"),
        "roles": st.lists(st.sampled_from(["sender", "receiver", "fx_provider", "compliance", "settlement_bank", "king"]), max_size=3, unique=True),
        "keys": st.sampled_from(["newbie-0", "newbie-1", "gcash"]).map(lambda k: [hexkey(k)])}),
    "define_corridor": st.builds(
        _corridor_body, st.sampled_from(sorted(CORRIDORS)), st.sampled_from([10**12] * 3 + [1_000, 5_000_000]),
        st.sampled_from([10**13] * 3 + [5_000, 20_000_000]), st.integers(0, 1_000), st.integers(0, 10_001),
        st.one_of(st.none(), st.lists(st.sampled_from(["@sender", "@receiver", "scb-hk", "checker", "fxbank", "ghost"]), max_size=3))),
}


OPS_EXPLORED: Counter[str] = Counter()  # method -> executed transactions, over the whole session
CODES_SEEN: Counter[int] = Counter()
STATUSES_SEEN: Counter[str] = Counter()


INITIAL_QUOTES = {uid(i, "quote"): (amount, corridor) for i, (corridor, amount) in enumerate([("hkd-php", 250_000), ("hkd-php", 40_000), ("php-hkd", 900_000)])}
_BASE: list[World] = []


def _base_world() -> World:
    """Governance set-up and three open quotes, built once and forked for every example."""
    if not _BASE:
        world = World().setup()
        for i, (qid, (amount, corridor)) in enumerate(INITIAL_QUOTES.items()):
            assert world.quote(i, amount, corridor=corridor, expires_in=3 * HOUR) == qid
        _BASE.append(world)
    return _BASE[0]


class RemittanceMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.w = _base_world().fork()
        self.net: dict[str, int] = defaultdict(int)
        for _, code, amount in FUNDING:
            self.net[code] += amount
        self.quotes: dict[str, tuple[int, str]] = {}  # quote id -> (source amount, corridor) issued
        self.used_quotes: set[str] = set()  # membership only; pools are built from sorted lists
        self.initiations: dict[str, tuple[str, dict[str, Any]]] = {}  # uetr -> (institution, args)
        self.status: dict[str, str] = {}  # uetr -> last announced status
        self.order: list[str] = []  # uetrs in initiation order
        self.version = 0  # bumped whenever a step writes; invariants re-check only changed state
        self.checked: dict[str, int] = {}
        self.serial = 0
        self.quotes.update(INITIAL_QUOTES)

    # --- execution and per-step checks ----------------------------------------------------
    def exec(self, signer: str, method: str, args: dict[str, Any], adv: int) -> Any:
        before = dict(self.w.store.data)
        step = self.w.step(signer, method, args, adv)
        r = step.result
        OPS_EXPLORED[method] += 1
        self.version += bool(step.writes)
        CODES_SEEN[r.code] += 1
        if r.code != OK:
            assert step.writes == [], f"rejected {method} wrote {step.writes[:3]}"
            assert self.w.store.data == before, f"rejected {method} changed state"
            assert r.message, f"{method} rejected without a message"
        if signer == "stranger":
            assert r.code != OK, f"an unenrolled key succeeded at {method}"
        if method in ("register_currency", "register_institution", "open_account", "mint", "burn", "define_corridor") and signer != "admin":
            assert r.code == UNAUTHORIZED, f"non-admin {signer} got {r.code} on {method}"
        if r.code == OK:
            if method == "mint":
                self.net[args["currency"]] += args["amount"]
            elif method == "burn":
                self.net[args["currency"]] -= args["amount"]
            for event in r.events:
                if event.name == "StatusChanged":
                    self._announce(dict(event.data))
        return r

    def _announce(self, data: dict[str, Any]) -> None:
        uetr = data["uetr"]
        previous = self.status.get(uetr)
        assert data["previous"] == previous, f"{uetr}: event says previous {data['previous']}, last seen {previous}"
        assert previous not in TERMINAL, f"{uetr} left terminal status {previous} for {data['status']}"
        self.status[uetr] = data["status"]
        STATUSES_SEEN[data["status"]] += 1

    def _next_id(self, kind: str) -> str:
        self.serial += 1
        return uid(self.serial, kind)

    def _transfer(self, n: int, unknown: int) -> Transfer | None:
        if not self.initiations or unknown:
            return None
        live = sorted(u for u in self.initiations if self.status.get(u) not in TERMINAL)
        pool = live if live and n % 4 != 3 else sorted(self.initiations)
        uetr = pool[n % len(pool)]
        body = self.w.raw(f"xfer/{uetr}")
        return None if body is None else Transfer.from_json(body)

    @staticmethod
    def _key_of(inst: str, n: int) -> str:
        keys = INSTITUTIONS.get(inst, ([], ["stranger"]))[1]
        return keys[n % len(keys)]

    # --- governance (one rule, so the lifecycle rules get most of the steps) -------------------
    @rule(op=st.sampled_from(["mint", "mint", "burn", "open_account", "register_currency", "register_institution", "define_corridor"]),
          data=st.data(), adv=advance)
    def governance(self, op: str, data: st.DataObject, adv: int) -> None:
        signer = data.draw(st.sampled_from(["admin"] * 4 + ["fxbank", "newbie-0", "stranger"]), label="signer")
        self.exec(signer, op, data.draw(GOVERNANCE_ARGS[op], label="args"), adv)

    # --- quotes and transfers -------------------------------------------------------------
    @rule(right=rightness, alt=st.sampled_from(KEYS), corridor=st.sampled_from([*sorted(CORRIDORS), "nowhere"]),
          amount=st.one_of(st.integers(1, 3_000_000), st.integers(-5, 5)), num=st.integers(0, 100_000),
          den=st.sampled_from([1, 1_000, 10_000]), fee=st.integers(0, 500),
          expires_in=st.sampled_from([HOUR, 3 * HOUR, HOUR, 2_000, 0, -1_000]), reuse=st.integers(0, 9), n=pick, adv=advance)
    def quote(self, right: int, alt: str, corridor: str, amount: int, num: int, den: int, fee: int,
              expires_in: int, reuse: int, n: int, adv: int) -> None:
        signer = "fxbank" if right else alt
        qid = sorted(self.quotes)[n % len(self.quotes)] if reuse == 9 and self.quotes else self._next_id("quote")
        args = {"quote_id": qid, "corridor": corridor, "source_amount": amount, "rate_num": num, "rate_den": den,
                "fee": fee, "expires_at_ms": self.w.time_ms + adv + expires_in}
        r = self.exec(signer, "quote", args, adv)
        if r.code == OK and not r.data["duplicate"]:
            self.quotes[qid] = (amount, corridor)

    @rule(right=rightness, alt=st.sampled_from(KEYS), n=pick, odd_receiver=mistake,
          receiver=st.sampled_from(["alipayhk", "fxbank", "nobody"]), wrong_amount=mistake,
          expires_in=st.sampled_from([4 * HOUR] * 4 + [HOUR, 5_000, -5]), salt=st.integers(0, 3), adv=advance)
    def initiate(self, right: int, alt: str, n: int, odd_receiver: int, receiver: str, wrong_amount: int,
                 expires_in: int, salt: int, adv: int) -> None:
        fresh = sorted(q for q in self.quotes if q not in self.used_quotes)
        pool = fresh if fresh and n % 5 != 4 else sorted(self.quotes)
        qid = pool[n % len(pool)] if pool and n % 11 != 10 else uid(n, "quote-unknown")
        amount, corridor = self.quotes.get(qid, (100, "hkd-php"))
        sender = "alipayhk" if corridor == "hkd-php" else "gcash"  # the one with source funds
        uetr = self._next_id("uetr")
        args: dict[str, Any] = {"uetr": uetr, "quote_id": qid, "amount": amount + wrong_amount,
                "receiver": receiver if odd_receiver else "gcash", "beneficiary_hash": f"{salt:064x}",
                "expires_at_ms": self.w.time_ms + adv + expires_in}
        signer = self._key_of(sender, n) if right else alt
        r = self.exec(signer, "initiate", args, adv)
        if r.code == OK:
            self.initiations[uetr] = (r.data["transfer"]["sender"], args)
            self.order.append(uetr)
            self.used_quotes.add(qid)

    @precondition(lambda self: bool(self.initiations))
    @rule(n=pick, same=st.booleans(), other_key=st.booleans(), adv=advance)
    def reinitiate(self, n: int, same: bool, other_key: bool, adv: int) -> None:
        """Idempotency: the same uetr again, with the same or a changed content."""
        uetr = sorted(self.initiations)[n % len(self.initiations)]
        inst, args = self.initiations[uetr]
        signer = self._key_of(inst, 1 if other_key else 0)
        sent = args if same else {**args, "beneficiary_hash": "f" * 64}
        before = self.w.raw(f"xfer/{uetr}")
        step_writes_before = dict(self.w.store.data)
        r = self.exec(signer, "initiate", sent, adv)
        if same:
            assert r.code == OK and r.data["applied"] is False, (r.code, r.message)
            assert r.data["transfer"] == before
            assert self.w.store.data == step_writes_before
        else:
            assert r.code == CONFLICT and r.data == {"reason": "DUPL"}, (r.code, r.message)

    def _party(self, t: Transfer | None, role: str, n: int) -> str:
        if t is None:
            return "scb-hk"
        if role == "approver":
            pending = [a.institution for a in t.approvals if a.decision == "pending"] or [a.institution for a in t.approvals]
            return self._key_of(pending[n % len(pending)], n)
        return self._key_of({"sender": t.sender, "receiver": t.receiver, "any": t.parties[n % len(t.parties)]}[role], n)

    def _act(self, method: str, role: str, right: int, alt: str, n: int, extra: dict[str, Any], adv: int) -> None:
        t = self._transfer(n, unknown=int(n % 8 == 7))
        uetr = t.uetr if t is not None else uid(n, "uetr-unknown")
        signer = self._party(t, role, n) if right else alt
        self.exec(signer, method, {"uetr": uetr, **extra}, adv)

    @precondition(lambda self: bool(self.initiations))
    @rule(right=rightness, alt=st.sampled_from(KEYS), n=pick, adv=advance)
    def approve(self, right: int, alt: str, n: int, adv: int) -> None:
        self._act("approve", "approver", right, alt, n, {}, adv)

    @precondition(lambda self: any(s == "PDNG" for s in self.status.values()))
    @rule(k=st.integers(0, 2), adv=advance)
    def approve_newest(self, k: int, adv: int) -> None:
        """The common case, weighted up: a pending approver of the newest PDNG transfer approves."""
        uetr = [u for u in self.order if self.status.get(u) == "PDNG"][-1]
        t = Transfer.from_json(self.w.raw(f"xfer/{uetr}"))
        self.exec(self._party(t, "approver", k), "approve", {"uetr": uetr}, adv)

    @precondition(lambda self: any(s == "ACSC" for s in self.status.values()))
    @rule(adv=advance)
    def confirm_settled(self, adv: int) -> None:
        uetr = next(u for u in self.order if self.status.get(u) == "ACSC")
        t = Transfer.from_json(self.w.raw(f"xfer/{uetr}"))
        self.exec(self._key_of(t.receiver, 0), "confirm", {"uetr": uetr}, adv)

    @precondition(lambda self: bool(self.initiations))
    @rule(right=seldom, alt=st.sampled_from(KEYS), n=pick, code=st.sampled_from([*sorted(REJECT_REASONS), "ZZ00"]), adv=advance)
    def reject(self, right: int, alt: str, n: int, code: str, adv: int) -> None:
        self._act("reject", "approver", right, alt, n, {"reason": code}, adv)

    @precondition(lambda self: bool(self.initiations))
    @rule(right=seldom, alt=st.sampled_from(KEYS), n=pick, code=st.sampled_from([*sorted(RECALL_REASONS), "RR04"]), adv=advance)
    def recall(self, right: int, alt: str, n: int, code: str, adv: int) -> None:
        self._act("recall", "sender", right, alt, n, {"reason": code}, adv)

    @precondition(lambda self: bool(self.initiations))
    @rule(right=rightness, alt=st.sampled_from(KEYS), n=pick, ref=st.sampled_from([None, "payout-1"]), adv=advance)
    def confirm(self, right: int, alt: str, n: int, ref: str | None, adv: int) -> None:
        self._act("confirm", "receiver", right, alt, n, {} if ref is None else {"payout_ref": ref}, adv)

    @precondition(lambda self: bool(self.initiations))
    @rule(right=rightness, alt=st.sampled_from(KEYS), n=pick, adv=advance)
    def expire(self, right: int, alt: str, n: int, adv: int) -> None:
        self._act("expire", "any", right, alt, n, {}, adv)

    # --- malformed, queries, time -----------------------------------------------------------
    @rule(signer=st.sampled_from(KEYS), method=st.sampled_from([*METHODS, "teleport", ""]),
          args=st.dictionaries(st.sampled_from(FIELDS), json_value, max_size=6), adv=advance)
    def malformed(self, signer: str, method: str, args: dict[str, Any], adv: int) -> None:
        if method == "":
            method = "x" * 64
        r = self.exec(signer, method, args, adv)
        assert r.code != 7, f"contract crashed (INTERNAL) on {method} {args}: {r.message}"

    @rule(method=st.sampled_from(QUERIES), args=st.dictionaries(st.sampled_from(FIELDS), json_value, max_size=3), n=pick)
    def query(self, method: str, args: dict[str, Any], n: int) -> None:
        before = dict(self.w.store.data)
        if self.initiations and n % 2:
            args = {"uetr": sorted(self.initiations)[n % len(self.initiations)]}
        try:
            canonical.dumps(self.w.query(method, **args))
        except ContractError as exc:
            assert exc.code in (BAD_REQUEST, 3), exc.message
        assert self.w.store.data == before

    @rule(ms=st.sampled_from([1, 60_000, 600_000, 1_800_000, HOUR, 1, 60_000, 600_000, 5 * HOUR, 25 * HOUR]))
    def idle(self, ms: int) -> None:
        """An empty block: only time passes."""
        self.w.height += 1
        self.w.time_ms += ms
        outcome = self.w.app.execute_block(self.w.store, BlockContext(CHAIN, self.w.height, self.w.time_ms, 0), [])
        assert outcome.writes == [] and outcome.results == ()

    # --- invariants -----------------------------------------------------------------------
    def _unchanged_since_last(self, name: str) -> bool:
        if self.checked.get(name) == self.version:
            return True
        self.checked[name] = self.version
        return False

    def _scan(self, prefix: str) -> list[Any]:
        full = b"c/remittance/" + prefix.encode()
        return [canonical.loads(v) for k, v in sorted(self.w.store.data.items()) if k.startswith(full)]

    @invariant()
    def money_is_conserved_and_never_negative(self) -> None:
        if self._unchanged_since_last("money_is_conserved_and_never_negative"):
            return
        totals: dict[str, int] = defaultdict(int)
        for acct in self._scan("acct/"):
            assert acct["available"] >= 0 and acct["escrow"] >= 0, f"negative balance {acct}"
            totals[acct["currency"]] += acct["available"] + acct["escrow"]
        supply = {s["currency"]: s["minted"] - s["burned"] for s in self._scan("supply/")}
        for code in sorted(set(totals) | set(self.net) | set(supply)):
            assert totals.get(code, 0) == self.net.get(code, 0), f"conservation: {code} balances {totals.get(code, 0)} != mints - burns {self.net.get(code, 0)}"
            assert supply.get(code, 0) == self.net.get(code, 0), f"supply record of {code} disagrees"

    @invariant()
    def escrow_matches_pending_transfers(self) -> None:
        if self._unchanged_since_last("escrow_matches_pending_transfers"):
            return
        held: dict[tuple[str, str], int] = defaultdict(int)
        for body in self._scan("xfer/"):
            t = Transfer.from_json(body)
            if t.status == "PDNG":
                held[t.sender, t.source] += t.held
                held[t.provider, t.target] += t.target_amount
        for acct in self._scan("acct/"):
            key = (acct["institution"], acct["currency"])
            assert acct["escrow"] == held.get(key, 0), f"escrow of {key} is {acct['escrow']}, open transfers hold {held.get(key, 0)}"

    @invariant()
    def stored_status_is_the_last_announced_and_terminal_is_final(self) -> None:
        if self._unchanged_since_last("stored_status_is_the_last_announced_and_terminal_is_final"):
            return
        stored = {body["uetr"]: body["status"] for body in self._scan("xfer/")}
        assert stored == self.status


STEPS = 100


def test_remittance_state_machine(capsys: pytest.CaptureFixture[str]) -> None:
    for counter in (OPS_EXPLORED, CODES_SEEN, STATUSES_SEEN):
        counter.clear()
    run_state_machine_as_test(RemittanceMachine, settings=settings(max_examples=budget(150), stateful_step_count=STEPS))
    explored = sum(OPS_EXPLORED.values())
    with capsys.disabled():
        print(f"\nremittance property test: {explored} operations explored; by method {dict(sorted(OPS_EXPLORED.items()))}; "
              f"result codes {dict(sorted(CODES_SEEN.items()))}; statuses {dict(sorted(STATUSES_SEEN.items()))}")
    # the search must reach every corner it claims to explore
    assert {"PDNG", "ACSC", "ACCC", "RJCT", "CANC"} <= set(STATUSES_SEEN), STATUSES_SEEN
    assert {0, 1, 2, 3, 4, 5} <= set(CODES_SEEN), CODES_SEEN
    assert set(METHODS) <= set(OPS_EXPLORED)


# --- the property test can fail: planted bugs ------------------------------------------------


def _settle_without_corridor_fee(ledger: Any, t: Transfer) -> None:
    ledger.post(t.source, t.amount, (t.sender, ESCROW), (t.provider, AVAILABLE), "principal", uetr=t.uetr)
    ledger.post(t.source, t.fx_fee, (t.sender, ESCROW), (t.provider, AVAILABLE), "fx fee", uetr=t.uetr)
    ledger.post(t.target, t.target_amount, (t.provider, ESCROW), (t.receiver, AVAILABLE), "payout", uetr=t.uetr)


def _settle_with_unbacked_payout(ledger: Any, t: Transfer) -> None:
    """Pays the receiver from thin air and leaves the FX escrow in place."""
    ledger.post(t.source, t.held, (t.sender, ESCROW), (t.provider, AVAILABLE), "everything", uetr=t.uetr)
    ledger.post(t.target, t.target_amount, ("@issuance", ""), (t.receiver, AVAILABLE), "payout", uetr=t.uetr)
    ledger.post(t.target, t.target_amount, (t.provider, ESCROW), (t.provider, AVAILABLE), "release", uetr=t.uetr)


def _drive_happy_path(m: RemittanceMachine) -> None:
    """One settlement, driven by calling the machine's own rules and invariants."""
    m.quote(right=1, alt="admin", corridor="hkd-php", amount=100_000, num=71234, den=10_000, fee=10, expires_in=HOUR, reuse=1, n=0, adv=1)
    m.initiate(right=1, alt="admin", n=3, odd_receiver=0, receiver="nobody", wrong_amount=0, expires_in=HOUR, salt=1, adv=1)
    assert list(m.status.values()) == ["PDNG"]
    for _ in range(3):
        m.approve(right=1, alt="admin", n=1, adv=1)
        m.money_is_conserved_and_never_negative()
        m.escrow_matches_pending_transfers()
        m.stored_status_is_the_last_announced_and_terminal_is_final()


def test_the_driven_happy_path_settles_cleanly() -> None:
    m = RemittanceMachine()
    _drive_happy_path(m)
    assert list(m.status.values()) == ["ACSC"]


@pytest.mark.parametrize(
    ("bug", "caught_by"),
    [(_settle_without_corridor_fee, "escrow of"), (_settle_with_unbacked_payout, "conservation")],
)
def test_a_planted_settlement_bug_is_caught(monkeypatch: pytest.MonkeyPatch, bug: Any, caught_by: str) -> None:
    monkeypatch.setattr(remittance_transfer, "settle", bug)
    with pytest.raises(AssertionError, match=caught_by):
        _drive_happy_path(RemittanceMachine())


@pytest.mark.parametrize("bug", [_settle_without_corridor_fee, _settle_with_unbacked_payout])
def test_the_state_machine_search_finds_a_planted_bug(monkeypatch: pytest.MonkeyPatch, bug: Any) -> None:
    monkeypatch.setattr(remittance_transfer, "settle", bug)
    quick = settings(max_examples=budget(150), stateful_step_count=STEPS, phases=[Phase.generate], print_blob=False)
    with pytest.raises(AssertionError):
        run_state_machine_as_test(RemittanceMachine, settings=quick)
