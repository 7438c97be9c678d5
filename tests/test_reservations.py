"""Reservations at the 参保地 (issue 15 phase 2, step 1): pending / post / void / expiry / cancel /
reinstate, idempotent by reservation id; no fen spent twice, none lost.

The 参保地 is Nanchang (360100) run as a region instance; the care region is Shanghai (310000).
The functions under test are the units of work the link's handler calls inside ``apply_once``;
here they are called directly, each in a transaction of its own, as the handler would.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from yibao.errors import DomainError
from yibao.ledger.model import person_bucket
from yibao.ledger.reservations import Hold, due_to_account, held_account, next_state
from yibao.services import claimback, crossregion, world
from yibao.services.platform import FixedClock, Platform
from yibao.services.regions import install_region
from yibao.settlement.record import from_record
from yibao.storage.tables import account_shards
from yibao.storage.tables import accounts as account_rows
from yibao.storage.uow import Store

AT = datetime(2025, 8, 1, 9, 0)
I_REGION, C_REGION = "360100", "310000"


def nanchang(store) -> tuple[Platform, world.Created]:
    p = Platform(store, FixedClock(AT), region=I_REGION)
    install_region(p, I_REGION)
    return p, insured_employee(p, "李异地")


def insured_employee(p: Platform, name: str, birth_day: int = 1) -> world.Created:
    """An employee insured in Nanchang since 2010 with 500.00 current and 200.00 historical balance."""
    return world.add_person(
        p,
        world.NewPerson(
            name=name,
            birth=date(1980, 5, birth_day),
            gender="1",
            admdvs=I_REGION,
            insutype="310",
            psn_type="1101",
            insured_since=date(2010, 1, 1),
            current=50_000,
            historical=20_000,
            password="123456",
        ),
    )


def claim(who: world.Created, rid: str, amount: int, *, level: int = 3, expires: datetime | None = None) -> dict:
    """A Shanghai hospital's claim as the 就医地 sends it: one 甲类 line of ``amount`` fen."""
    price = f"{amount // 100}.{amount % 100:02d}"
    return {
        "reservation_id": rid,
        "setl_ref": rid,
        "psn_no": who.person.psn_no,
        "insutype": "310",
        "med_type": "11",
        "day": AT.date().isoformat(),
        "institution": "H31000000003",
        "hospital_level": level,
        "lines": [
            {
                "sn": "1",
                "code": "XJ01CAA0001",
                "name": "阿莫西林胶囊",
                "chrgitm_lv": "01",
                "selfpay_bp": 0,
                "price_ceiling": None,
                "amount_fen": amount,
                "price": price,
                "count": "1",
            }
        ],
        "acct_used": True,
        "family_only": False,
        "visit_deductible_used_fen": 0,
        "expires_at": (expires or AT + timedelta(minutes=10)).isoformat(),
    }


def run(p: Platform, fn, *args):
    with p.store.uow() as tx:
        return fn(p, tx, *args)


def own(p: Platform, who: world.Created) -> int:
    codes = [person_bucket(who.person.psn_no, b) for b in ("current", "historical")]
    with p.store.uow(read_only=True) as tx:
        return sum(tx.ledger.balances(codes).values())


def accounts(p: Platform, *codes: str) -> dict[str, int]:
    with p.store.uow(read_only=True) as tx:
        return tx.ledger.balances(list(codes))


def sound(p: Platform) -> None:
    with p.store.uow(read_only=True) as tx:
        assert tx.ledger.check_invariants() == []
    for check in crossregion.check_reservations(p):
        assert check.problems == (), check


def accumulated(p: Platform, who: world.Created) -> tuple[int, int]:
    with p.store.uow(read_only=True) as tx:
        return tx.care.accumulator(who.person.id, 2025, "outpatient")


def test_state_machine_first_of_post_and_void_wins():
    assert next_state("pending", "post") == ("posted", True)
    assert next_state("posted", "post") == ("posted", False)
    assert next_state("voided", "void") == ("voided", False)
    assert next_state("posted", "cancel") == ("reversed", True)
    assert next_state("reversed", "reinstate") == ("posted", True)
    for state, action in (("voided", "post"), ("posted", "void"), ("pending", "reinstate"), ("reversed", "post")):
        with pytest.raises(ValueError):
            next_state(state, action)


def test_reserve_holds_the_amounts_then_post_moves_them_to_the_care_region(store):
    p, who = nanchang(store)
    before = own(p, who)
    answer = run(p, crossregion.reserve, claim(who, "R1", 30_000), C_REGION)
    assert answer["status"] == "pending"
    result = answer["result"]
    held = result["fund_pay"] + (result["own"]["draws"][0]["amount"] if result["own"] else 0)
    acct = before - own(p, who)
    assert acct > 0 and held > 0
    assert accounts(p, held_account(C_REGION))[held_account(C_REGION)] == held  # nobody else can spend it
    assert accumulated(p, who) != (0, 0)  # the pending claim counts against the deductible and the cap
    sound(p)
    assert run(p, crossregion.post, "R1", C_REGION, "ST3100000000000001")["status"] == "posted"
    assert run(p, crossregion.post, "R1", C_REGION, None)["status"] == "posted"  # a replay answers again
    got = accounts(p, held_account(C_REGION), due_to_account(C_REGION))
    assert got == {held_account(C_REGION): 0, due_to_account(C_REGION): held}
    with pytest.raises(DomainError) as e:
        run(p, crossregion.void, "R1", C_REGION, "timeout")
    assert e.value.code == "E7602-002"
    assert own(p, who) == before - acct
    sound(p)


def test_void_returns_every_fen_and_the_accumulators(store):
    p, who = nanchang(store)
    before, acc_before = own(p, who), accumulated(p, who)
    run(p, crossregion.reserve, claim(who, "R2", 12_345), C_REGION)
    assert own(p, who) < before
    assert run(p, crossregion.void, "R2", C_REGION, "failed")["status"] == "voided"
    assert run(p, crossregion.void, "R2", C_REGION, "failed")["status"] == "voided"
    assert own(p, who) == before and accumulated(p, who) == acc_before
    with pytest.raises(DomainError) as e:
        run(p, crossregion.post, "R2", C_REGION, None)
    assert e.value.code == "E7602-002"
    assert accounts(p, held_account(C_REGION))[held_account(C_REGION)] == 0
    sound(p)


def test_reserve_is_idempotent_by_reservation_id_and_a_changed_claim_is_refused(store):
    p, who = nanchang(store)
    first = run(p, crossregion.reserve, claim(who, "R3", 20_000), C_REGION)
    after = own(p, who)
    again = run(p, crossregion.reserve, claim(who, "R3", 20_000), C_REGION)
    assert again == first and own(p, who) == after
    with pytest.raises(DomainError) as e:
        run(p, crossregion.reserve, claim(who, "R3", 20_001), C_REGION)
    assert e.value.code == "E7602-003"
    sound(p)


def test_a_void_before_its_reserve_leaves_a_tombstone_and_the_late_reserve_is_refused(store):
    p, who = nanchang(store)
    before = own(p, who)
    assert run(p, crossregion.void, "R4", C_REGION, "timeout")["status"] == "voided"
    with pytest.raises(DomainError) as e:
        run(p, crossregion.reserve, claim(who, "R4", 10_000), C_REGION)
    assert e.value.code == "E7602-002"
    assert own(p, who) == before
    sound(p)


def test_a_second_reservation_sees_only_what_is_not_held(store):
    p, who = nanchang(store)
    run(p, crossregion.reserve, claim(who, "R5a", 6_000_000), C_REGION)  # most of the account is held
    left = own(p, who)
    second = run(p, crossregion.reserve, claim(who, "R5b", 6_000_000), C_REGION)
    drawn = sum(d["amount"] for d in second["result"]["own"]["draws"]) if second["result"]["own"] else 0
    assert drawn <= left and own(p, who) == left - drawn >= 0
    sound(p)


def test_holds_past_a_bucket_s_floor_are_refused_whole(store):
    """Two 就医地 racing for the same account: the second hold is checked against the floor again."""
    p, who = nanchang(store)
    result = from_record(run(p, crossregion.quote, claim(who, "Q", 10_000), C_REGION)["result"])
    before = own(p, who)
    holds = (
        Hold("F:360100:310100", 500, "fund_pay"),
        Hold(person_bucket(who.person.psn_no, "current"), 10**7, "acct_pay"),
    )
    with pytest.raises(DomainError) as e, p.store.uow() as tx:
        crossregion.reserve_holds(
            p,
            tx,
            rid="R5c",
            care_region=C_REGION,
            setl_ref="R5c",
            institution="H31000000003",
            person=who.person,
            year=2025,
            result=result,
            holds=holds,
            expires_at=AT + timedelta(minutes=5),
            digest="x",
        )
    assert e.value.code == "E7602-004"
    assert own(p, who) == before and crossregion.reservations(p) == [] and accumulated(p, who) == (0, 0)
    sound(p)


def test_the_deadline_job_voids_what_is_left_pending_and_only_that(store):
    p, who = nanchang(store)
    before = own(p, who)
    run(p, crossregion.reserve, claim(who, "R6a", 10_000, expires=AT + timedelta(minutes=5)), C_REGION)
    run(p, crossregion.reserve, claim(who, "R6b", 10_000, expires=AT + timedelta(minutes=5)), C_REGION)
    run(p, crossregion.reserve, claim(who, "R6c", 10_000, expires=AT + timedelta(hours=1)), C_REGION)
    run(p, crossregion.post, "R6b", C_REGION, None)
    assert crossregion.expire_reservations(p) == []
    p.clock.set(AT + timedelta(minutes=6))
    assert crossregion.expire_reservations(p) == ["R6a"]
    assert crossregion.expire_reservations(p) == []
    rows = {r.reservation_id: r for r in crossregion.reservations(p)}
    assert (rows["R6a"].status, rows["R6a"].void_reason) == ("voided", "expired")
    assert rows["R6b"].status == "posted" and rows["R6c"].status == "pending"
    run(p, crossregion.void, "R6c", C_REGION, "failed")
    assert own(p, who) == before - (rows["R6b"].own_account_pay + rows["R6b"].mutual_aid_pay)
    sound(p)


def test_cancel_and_reinstate_of_a_posted_reservation(store):
    p, who = nanchang(store)
    before, acc_before = own(p, who), accumulated(p, who)
    run(p, crossregion.reserve, claim(who, "R7", 40_000), C_REGION)
    run(p, crossregion.post, "R7", C_REGION, None)
    posted_own, posted_acc = own(p, who), accumulated(p, who)
    assert run(p, crossregion.cancel, "R7", C_REGION, 0)["status"] == "reversed"
    assert own(p, who) == before and accumulated(p, who) == acc_before
    assert run(p, crossregion.reinstate, "R7", C_REGION, 1)["status"] == "posted"
    assert own(p, who) == posted_own and accumulated(p, who) == posted_acc
    sound(p)


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["reserve", "post", "void", "cancel", "reinstate", "expire"]),
        st.integers(0, 3),  # which reservation
        st.integers(1, 3_000_000),  # the claim's amount in fen
    ),
    min_size=1,
    max_size=14,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_no_fen_is_spent_twice_or_lost_whatever_the_order(actions):
    """Any sequence of reserve / post / void / cancel / reinstate / expiry, refused or not: the
    person's accounts, the escrow and the due-to account always add up to what there was; the
    escrow is exactly the pending reservations, the due-to account the posted ones; the
    accumulators are exactly those of the reservations still pending or posted."""
    p, who = nanchang(Store.open("sqlite://", create=True))
    fund = "F:360100:310100"
    start_total = own(p, who) + accounts(p, fund)[fund]
    for step, (action, n, amount) in enumerate(actions):
        rid = f"P{n}"
        try:
            if action == "reserve":
                run(p, crossregion.reserve, claim(who, rid, amount, expires=AT + timedelta(minutes=n)), C_REGION)
            elif action == "post":
                run(p, crossregion.post, rid, C_REGION, None)
            elif action == "void":
                run(p, crossregion.void, rid, C_REGION, "failed")
            elif action == "cancel":
                run(p, crossregion.cancel, rid, C_REGION, step)
            elif action == "reinstate":
                run(p, crossregion.reinstate, rid, C_REGION, step)
            else:
                p.clock.set(p.now() + timedelta(minutes=2))
                crossregion.expire_reservations(p)
        except DomainError:
            pass
        held, due = held_account(C_REGION), due_to_account(C_REGION)
        got = accounts(p, fund, held, due)
        assert own(p, who) >= 0
        assert own(p, who) + got[fund] + got[held] + got[due] == start_total
        sound(p)
        live = [r for r in crossregion.reservations(p) if r.status in ("pending", "posted") and r.person_id]
        expected = (sum(r.deductible_delta for r in live), sum(r.fund_delta for r in live))
        assert accumulated(p, who) == expected


# Pay first, claim back (手工报销) ------------------------------------------------------------------


def test_a_claim_back_is_computed_like_a_direct_settlement_paid_to_the_person_and_paid_once(store):
    p, who = nanchang(store)
    body = claim(who, "Q1", 150_000)
    body["acct_used"] = False
    quoted = run(p, crossregion.quote, body, C_REGION)["result"]
    before_own = own(p, who)
    paid = claimback.claim_back(
        p,
        psn_no=who.person.psn_no,
        care_region=C_REGION,
        institution="H31000000002",
        hospital_level=3,
        receipt_no="RCPT-0001",
        day=AT.date(),
        med_type="11",
        case="unfiled",
        lines=body["lines"],
        filed_by="console:operator",
    )
    assert paid.fund_pay == quoted["fund_pay"] > 0 and paid.medfee == 150_000
    assert "手工报销" in paid.explanation and "未备案" in paid.explanation
    assert accounts(p, f"X:reimburse:{who.person.psn_no}")[f"X:reimburse:{who.person.psn_no}"] == paid.fund_pay
    assert own(p, who) == before_own  # the account is not drawn: the person paid in full
    assert accumulated(p, who) == (quoted["year_deductible_delta"], quoted["year_fund_delta"])
    with pytest.raises(DomainError) as e:
        claimback.claim_back(
            p,
            psn_no=who.person.psn_no,
            care_region=C_REGION,
            institution="H31000000002",
            hospital_level=3,
            receipt_no="RCPT-0001",
            day=AT.date(),
            med_type="11",
            case="emergency",
            lines=body["lines"],
            filed_by="portal",
        )
    assert e.value.code == "E7602-009"  # 票据已报销
    # An emergency counts as filed: a better ratio than unfiled for the same receipt lines.
    urgent = claimback.claim_back(
        p,
        psn_no=who.person.psn_no,
        care_region=C_REGION,
        institution="H31000000002",
        hospital_level=3,
        receipt_no="RCPT-0002",
        day=AT.date(),
        med_type="11",
        case="emergency",
        lines=body["lines"],
        filed_by="portal",
    )
    assert urgent.fund_pay >= 0
    sound(p)


def test_a_visit_settled_directly_cannot_be_claimed_back(store):
    p, who = nanchang(store)
    run(p, crossregion.reserve, claim(who, "R9", 50_000), C_REGION)
    run(p, crossregion.post, "R9", C_REGION, "ST3601000000000009")
    with pytest.raises(DomainError) as e:
        claimback.claim_back(
            p,
            psn_no=who.person.psn_no,
            care_region=C_REGION,
            institution="H31000000003",
            hospital_level=3,
            receipt_no="R-9",
            day=AT.date(),
            med_type="11",
            case="filed",
            lines=claim(who, "x", 50_000)["lines"],
            filed_by="portal",
        )
    assert e.value.code == "E7602-010" and "直接结算" in e.value.message
    sound(p)


def test_a_receipt_filed_twice_at_the_same_moment_is_stored_once(store):
    """The service checks for the receipt before inserting; a twin that passed that check at the same
    moment meets the unique key, which the repository turns into "already there" (no 500)."""
    p, who = nanchang(store)
    row = {
        "person_id": who.person.id,
        "care_region": C_REGION,
        "institution": "H31000000002",
        "receipt_no": "TWIN-1",
        "case": "unfiled",
        "day": AT.date(),
        "year": 2025,
        "category": "outpatient",
        "medfee": 100,
        "fund_pay": 0,
        "deductible_delta": 0,
        "fund_delta": 0,
        "result": "{}",
        "filed_by": "portal",
        "created_at": AT,
    }
    with p.store.uow() as tx:
        first = tx.reservations.add_claim_back(**row)
        assert first is not None
        assert tx.reservations.add_claim_back(**row) is None  # the savepoint keeps the unit of work usable
        assert tx.reservations.claim_back_of_receipt("H31000000002", "TWIN-1") is not None
    with p.store.uow(read_only=True) as tx:
        assert [r._mapping["id"] for r in tx.reservations.claim_backs_of(who.person.id)] == [first]


def test_claim_back_from_the_command_line(tmp_path):
    import json

    from typer.testing import CliRunner

    from yibao.cli.main import app

    db = tmp_path / "nc.sqlite"
    _, who = nanchang(Store.open(f"sqlite:///{db}"))
    receipt = tmp_path / "receipt.json"
    doc = {
        "care_region": C_REGION,
        "institution": "H31000000001",
        "hospital_level": 1,
        "receipt_no": "SH-2025-0001",
        "day": AT.date().isoformat(),
        "lines": claim(who, "x", 88_000)["lines"],
    }
    receipt.write_text(json.dumps(doc), encoding="utf-8")
    args = [
        "region",
        "claim-back",
        who.person.psn_no,
        "--receipt",
        str(receipt),
        "--case",
        "emergency",
        "--db",
        str(db),
    ]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "统筹支付" in first.output and "急诊抢救" in first.output
    again = CliRunner().invoke(app, args)
    assert again.exit_code != 0 and "E7602-009" in again.output


def test_escrow_and_due_accounts_run_by_shard_and_their_balances_count_the_shards(store):
    """``X:held:<C>`` and ``X:due-to:<C>`` have no floor: postings add to running sums by shard
    (issue 11), never to one hot row; balances and the invariants count those sums, and folding
    them back (``roll_up``) changes no balance."""
    p, who = nanchang(store)
    held_code, due_code = held_account(C_REGION), due_to_account(C_REGION)
    for rid in ("S1", "S2", "S3"):
        run(p, crossregion.reserve, claim(who, rid, 5_000), C_REGION)
    run(p, crossregion.post, "S1", C_REGION, "ST3100000000000011")
    run(p, crossregion.void, "S2", C_REGION, "failed")
    before = accounts(p, held_code, due_code)
    assert before[held_code] > 0 and before[due_code] > 0
    with p.store.uow(read_only=True) as tx:
        for code in (held_code, due_code):
            row = tx.ledger.account(code)
            assert row.floor is None
            assert row.balance == before[code]
    with p.store.uow(read_only=True) as tx:
        own_rows = dict(
            tx.conn.execute(
                select(account_rows.c.code, account_rows.c.credits - account_rows.c.debits).where(
                    account_rows.c.code.in_([held_code, due_code])
                )
            ).all()
        )
        shard_rows = tx.conn.execute(
            select(func.count())
            .select_from(account_shards.join(account_rows, account_rows.c.id == account_shards.c.account_id))
            .where(account_rows.c.code.in_([held_code, due_code]))
        ).scalar()
    assert own_rows == {held_code: 0, due_code: 0} and shard_rows > 0  # everything is in the shards
    sound(p)
    with p.store.uow() as tx:
        tx.ledger.roll_up(held_code)
        tx.ledger.roll_up(due_code)
    assert accounts(p, held_code, due_code) == before
    sound(p)
