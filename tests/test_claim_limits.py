"""Issue 9, "money that goes out by rule gaps": every one reproduced as it was found, then the rule
that closes it, on SQLite and PostgreSQL.

1. Visit and purchase times pick the medical year, so they are judged by the platform's clock; the
   property: no sequence of registrations (at any time an HIS may send), settlements, cancellations
   and reinstatements makes the pooled fund pay more for a medical year than its cap, or pay for a
   year the platform's clock did not allow.
2. Roundings are allowed once per line and once per claim, not once per line summed over 5,000 lines.
3. Amounts have an upper bound, and the ledger refuses before a 64-bit total could overflow.
4. (0.00 settlements and full-width digits: ``test_gateway_refusals.ISSUE_9``.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from support import (
    HOSPITAL,
    PHARMACY,
    TEST_REGION,
    call,
    db_snapshot,
    family_world,
    ledger_problems,
    person,
    pharmacy_input,
    reset_store,
    setup_region,
)
from yibao.errors import DomainError
from yibao.limits import CLOCK_SKEW, LEDGER_TOTAL_MAX, MAX_AMOUNT_FEN
from yibao.policy import load_policy_text
from yibao.services import world
from yibao.services.identity import public_key_pem
from yibao.services.platform import FixedClock, Platform
from yibao.storage import tables as t

CAP = 200_000  # test region: in-service employee, outpatient, 2,000.00 a medical year
LEVEL = 2  # deductible 300.00, ratio 60 %


def code_of(answer: dict) -> str:
    return answer["err_msg"][1:10] if answer["infcode"] else "ok"


@dataclass
class Clinic:
    """The son's outpatient care at the level-2 hospital, through the gateway as an HIS sends it."""

    p: Platform
    son: object
    n: int = 0
    visits: list[tuple[str, str]] = field(default_factory=list)  # (mdtrt_id, total)
    settled: list[tuple[str, str]] = field(default_factory=list)  # (setl_id, mdtrt_id)
    cancels: list[str] = field(default_factory=list)  # msgids of 2208s that were answered

    def call(self, infno: str, inp: dict, **kw) -> dict:
        return call(self.p, infno, inp, institution=HOSPITAL[LEVEL], **kw)

    def register(self, when: datetime, total: str) -> dict:
        """2201 at ``when`` and 2204 of one line of ``total``."""
        self.n += 1
        son = self.son.person
        reg = self.call("2201", {"data": {
            "psn_no": son.psn_no, "insutype": "310", "begntime": f"{when:%Y-%m-%d %H:%M:%S}",
            "mdtrt_cert_type": "02", "mdtrt_cert_no": son.certno, "ipt_otp_no": f"MZ{self.n}"}})  # fmt: skip
        if reg["infcode"] != 0:
            return reg
        mdtrt_id = reg["output"]["data"]["mdtrt_id"]
        up = self.call("2204", {"feedetail": [{
            "feedetl_sn": "1", "mdtrt_id": mdtrt_id, "psn_no": son.psn_no, "chrg_bchno": "B1",
            "med_list_codg": "XJ01CAA0001", "det_item_fee_sumamt": total, "cnt": "1", "pric": total}]})  # fmt: skip
        assert up["infcode"] == 0, up["err_msg"]
        self.visits.append((mdtrt_id, total))
        return reg

    def settle(self, mdtrt_id: str, total: str) -> dict:
        son = self.son.person
        out = self.call("2207", {"data": {
            "psn_no": son.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": son.certno, "med_type": "11",
            "medfee_sumamt": total, "mdtrt_id": mdtrt_id, "chrg_bchno": "B1", "insutype": "310",
            "acct_used_flag": "1"}}, password="123456")  # fmt: skip
        if out["infcode"] == 0:
            self.settled.append((out["output"]["setlinfo"]["setl_id"], mdtrt_id))
        return out

    def cancel(self, setl_id: str, mdtrt_id: str) -> dict:
        msgid = f"C{self.n}{len(self.cancels)}{setl_id[-6:]}"
        self.n += 1
        out = self.call(
            "2208", {"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": self.son.person.psn_no}}, msgid=msgid
        )
        if out["infcode"] == 0:
            self.cancels.append(msgid)
        return out

    def reinstate(self, msgid: str) -> dict:
        return self.call("2601", {"data": {"psn_no": self.son.person.psn_no, "omsgid": msgid, "oinfno": "2208"}})


def clinic(p: Platform, *, current: int = 0) -> Clinic:
    setup_region(p)
    public_key_pem(p)
    return Clinic(p, person(p, "张小明", current=current))


def fund_by_year(p: Platform) -> dict[int, int]:
    """What the pooled fund paid, by the medical year each settlement counts in (settled ones only)."""
    with p.store.engine.connect() as conn:
        rows = conn.execute(
            select(t.settlements.c.year, func.sum(t.settlements.c.fund_pay))
            .where(t.settlements.c.status == "settled", t.settlements.c.category == "outpatient")
            .group_by(t.settlements.c.year)
        ).all()
        acc = dict(
            conn.execute(
                select(t.accumulators.c.year, t.accumulators.c.fund_paid).where(
                    t.accumulators.c.category == "outpatient"
                )
            ).all()
        )
    paid = {int(y): int(s) for y, s in rows}
    assert {y: v for y, v in acc.items() if v} == {y: v for y, v in paid.items() if v}, "accumulators ≠ settlements"
    return paid


# 1. The medical year is the platform's to decide ---------------------------------------------------------------


def test_six_visits_in_chosen_years_pay_one_years_cap(platform):
    """The attack as found: six visits with begntime in 2025, 2027, 2035, 2099, 9999 and 2022, each
    settled for the full cap — 12,000.00 paid where the cap allowed 2,000.00. Now only the visit the
    platform's clock allows is registered, and the fund pays one cap."""
    c = clinic(platform, current=0)
    now = platform.now()
    times = [now, datetime(2027, 3, 1, 9), datetime(2035, 3, 1, 9), datetime(2099, 3, 1, 9), None, datetime(2022, 3, 1)]
    codes = []
    for when in times:
        if when is None:  # 9999: past the calendar the platform accepts at all
            son = c.son.person
            reg = c.call("2201", {"data": {
                "psn_no": son.psn_no, "insutype": "310", "begntime": "9999-12-31 23:59:59", "mdtrt_cert_type": "02",
                "mdtrt_cert_no": son.certno, "ipt_otp_no": "MZ9999"}})  # fmt: skip
        else:
            reg = c.register(when, "10000.00")
        codes.append(code_of(reg))
    for mdtrt_id, total in c.visits:
        assert c.settle(mdtrt_id, total)["infcode"] == 0
    assert codes == ["ok", "E2201-008", "E2201-008", "E2201-008", "E0000-009", "E2201-009"]
    assert fund_by_year(platform) == {2025: CAP}
    assert ledger_problems(platform) == []


def test_a_purchase_dated_9999_12_31_is_refused(platform):
    fam = family_world(platform)
    public_key_pem(platform)  # the platform key exists before the snapshot
    inp = pharmacy_input(fam.son, "10.00")
    inp["druginfo"]["begntime"] = "9999-12-31 23:59:59"
    before = db_snapshot(platform.store)
    assert code_of(call(platform, "2102", inp, password="123456")) == "E0000-009"
    inp["druginfo"]["begntime"] = "2099-12-31 23:59:59"
    assert code_of(call(platform, "2102", inp, password="123456")) == "E2201-008"
    assert db_snapshot(platform.store) == before


def test_later_today_is_accepted_tomorrow_is_not(platform):
    """Only the day of a start picks money rules: a purchase stamped later today (an HIS clock ahead, an
    order for this afternoon) settles; one stamped on a later day does not, even a minute after midnight."""
    fam = family_world(platform)  # the clock stands at 2025-06-01 10:00
    assert call(platform, "2102", pharmacy_input(fam.son, "1.00", when=datetime(2025, 6, 1, 23, 59)),
                password="123456")["infcode"] == 0  # fmt: skip
    late = call(platform, "2102", pharmacy_input(fam.son, "1.00", when=datetime(2025, 6, 2, 0, 1)), password="123456")
    assert code_of(late) == "E2201-008"
    platform.clock.set(datetime(2025, 6, 1, 23, 58))  # a client clock five minutes fast at midnight
    ahead = call(platform, "2102", pharmacy_input(fam.son, "1.00", when=datetime(2025, 6, 2, 0, 2)), password="123456")
    assert ahead["infcode"] == 0, ahead["err_msg"]


def test_outpatient_visit_is_settled_within_its_lookback(platform):
    c = clinic(platform, current=100_000)
    start = platform.now()
    assert code_of(c.register(start - timedelta(hours=23), "100.00")) == "ok"  # registered late the next morning
    assert code_of(c.register(start - timedelta(hours=25), "100.00")) == "E2201-009"
    assert code_of(c.register(start, "100.00")) == "ok"
    (old, total), (fresh, _) = c.visits
    platform.clock.set(start + timedelta(days=2))
    assert code_of(c.settle(old, total)) == "ok"  # begun 2 days 23 hours ago: within 3 days
    platform.clock.set(start + timedelta(days=3, minutes=1))
    refused = c.settle(fresh, total)
    assert code_of(refused) == "E2201-009" and "普通门诊结算时最多回溯3天" in refused["err_msg"], refused["err_msg"]


def test_an_inpatient_stay_may_be_long_but_its_admission_is_registered_within_days(platform):
    setup_region(platform)
    c = person(platform, "住院", current=0)
    son, hospital = c.person, HOSPITAL[LEVEL]

    def admit(when: datetime) -> dict:
        return call(platform, "2401", {"mdtrtinfo": {
            "psn_no": son.psn_no, "insutype": "310", "begntime": f"{when:%Y-%m-%d %H:%M:%S}", "mdtrt_cert_type": "02",
            "mdtrt_cert_no": son.certno, "med_type": "21", "ipt_no": f"ZY{when:%d%H}"}},
            institution=hospital)  # fmt: skip

    start = platform.now()
    assert code_of(admit(start - timedelta(hours=73))) == "E2201-009"
    mdtrt_id = admit(start - timedelta(hours=71))["output"]["result"]["mdtrt_id"]
    line = {"feedetl_sn": "1", "mdtrt_id": mdtrt_id, "psn_no": son.psn_no, "med_list_codg": "XJ01CAA0001",
            "det_item_fee_sumamt": "5000.00", "cnt": "10", "pric": "500.00"}  # fmt: skip
    assert call(platform, "2301", {"feedetail": [line]}, institution=hospital)["infcode"] == 0
    platform.clock.set(start + timedelta(days=250))  # a long stay, across the year end
    out = call(platform, "2402", {"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": son.psn_no, "insutype": "310",
                                               "endtime": f"{platform.now() + timedelta(days=1):%Y-%m-%d %H:%M:%S}"}},
               institution=hospital)  # fmt: skip
    assert code_of(out) == "E2201-008"  # a discharge is registered when it happens
    out = call(platform, "2402", {"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": son.psn_no, "insutype": "310",
                                               "endtime": f"{platform.now():%Y-%m-%d %H:%M:%S}"}},
               institution=hospital)  # fmt: skip
    assert out["infcode"] == 0, out["err_msg"]
    settle = {"data": {"psn_no": son.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": son.certno,
                       "medfee_sumamt": "5000.00", "mdtrt_id": mdtrt_id, "insutype": "310", "acct_used_flag": "0",
                       "mid_setl_flag": "0"}}  # fmt: skip
    done = call(platform, "2304", settle, password="123456", institution=hospital)
    assert done["infcode"] == 0, done["err_msg"]
    with platform.store.uow() as tx:  # the stay counts in the medical year it began in
        assert tx.care.settlement(1).year == 2025


def test_reinstating_a_settlement_whose_cap_was_used_again_is_refused(platform):
    """Settle A (the whole cap), cancel A, settle B (the whole cap again), 冲正 the cancellation of A:
    A would stand again beside B and the year would pay two caps."""
    c = clinic(platform, current=0)
    now = platform.now()
    for _ in range(2):
        c.register(now, "5000.00")
    (a, total), (b, _) = c.visits
    assert code_of(c.settle(a, total)) == "ok"
    assert code_of(c.cancel(*c.settled[0])) == "ok"
    assert code_of(c.settle(b, total)) == "ok"
    before = db_snapshot(platform.store)
    refused = c.reinstate(c.cancels[0])
    assert code_of(refused) == "E2601-005" and "年度限额" in refused["err_msg"], refused["err_msg"]
    assert db_snapshot(platform.store) == before
    assert fund_by_year(platform) == {2025: CAP}
    # with B cancelled, A may stand again exactly as it was booked
    assert code_of(c.cancel(*c.settled[1])) == "ok"
    assert code_of(c.reinstate(c.cancels[0])) == "ok"
    assert fund_by_year(platform) == {2025: CAP}


# The property ----------------------------------------------------------------------------------------------------

START = datetime(2025, 12, 30, 10)  # two days before a medical year ends
WILD = [
    datetime(1900, 1, 1),
    datetime(2022, 3, 1, 9),
    datetime(2026, 6, 1),
    datetime(2027, 1, 1),
    datetime(2099, 12, 31),
]
OFFSETS = [timedelta(hours=h) for h in (0, -1, -23, -25, -72, -24 * 400, 14, 24, 24 * 366)] + [timedelta(minutes=6)]
STEPS = st.one_of(
    st.tuples(
        st.just("visit"),
        st.one_of(st.sampled_from(WILD), st.sampled_from(OFFSETS)),
        st.sampled_from(["400.00", "1500.00", "3000.00", "9000.00"]),
        st.booleans(),
    ),
    st.tuples(st.just("settle"), st.integers(0, 9)),
    st.tuples(st.just("cancel"), st.integers(0, 9)),
    st.tuples(st.just("reinstate"), st.integers(0, 9)),
    st.tuples(st.just("clock"), st.sampled_from([timedelta(hours=5), timedelta(days=1), timedelta(days=2)])),
)
ATTACK = [("visit", when, "9000.00", True) for when in (timedelta(0), *WILD)]
NOW = timedelta(0)
REINSTATE = [("visit", NOW, "9000.00", True), ("cancel", 0), ("visit", NOW, "9000.00", True), ("reinstate", 0),
             ("clock", timedelta(days=2)), ("visit", timedelta(hours=-1), "9000.00", True)]  # fmt: skip


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@example(steps=ATTACK)
@example(steps=REINSTATE)
@given(steps=st.lists(STEPS, min_size=1, max_size=14))
def test_no_request_sequence_pays_more_than_a_years_cap(store, steps):
    reset_store(store)
    p = Platform(store, FixedClock(START))
    c = clinic(p, current=50_000)
    allowed_years: set[int] = set()
    for step in steps:
        now = p.now()
        if step[0] == "visit":
            _, when, total, settle_now = step
            c.register(now + when if isinstance(when, timedelta) else when, total)
            if settle_now and c.visits:
                c.settle(*c.visits[-1])
        elif step[0] == "settle" and c.visits:
            c.settle(*c.visits[step[1] % len(c.visits)])
        elif step[0] == "cancel" and c.settled:
            c.cancel(*c.settled[step[1] % len(c.settled)])
        elif step[0] == "reinstate" and c.cancels:
            c.reinstate(c.cancels[step[1] % len(c.cancels)])
        elif step[0] == "clock":
            p.clock.set(now + step[1])
        # a settlement made now may count in the year of any day its look-back (3 days) reaches
        allowed_years |= {(p.now() - timedelta(days=d)).year for d in range(4)} | {(p.now() + CLOCK_SKEW).year}
    paid = fund_by_year(p)
    assert all(v <= CAP for v in paid.values()), paid
    assert set(paid) <= allowed_years, (paid, allowed_years)
    assert ledger_problems(p) == []


# 2. A rounding a line, a rounding a claim ---------------------------------------------------------------------------


def sub_fen_purchase(fam, n: int) -> dict:
    """``n`` lines of ``pric`` 0.004 × ``cnt`` 1 charged 0.01 each: goods worth 0.004 × n."""
    inp = pharmacy_input(fam.son, "0.01")
    inp["drugdetail"] = [
        {"feedetl_sn": str(i), "med_list_codg": "XJ01CAA0001", "det_item_fee_sumamt": "0.01", "cnt": "1",
         "pric": "0.004"}
        for i in range(1, n + 1)
    ]  # fmt: skip
    inp["druginfo"]["medfee_sumamt"] = f"{Decimal(n) / 100:.2f}"
    return inp


def test_5000_lines_of_0_004_charged_0_01_are_refused(platform):
    """As found: 5,000 lines of 0.004 × 1 charged 0.01 each; the account paid 50.00 for goods worth 20.00."""
    fam = family_world(platform, son_current=100_000)
    public_key_pem(platform)
    before = db_snapshot(platform.store)
    assert code_of(call(platform, "2102", sub_fen_purchase(fam, 5000), password="123456")) == "E2204-009"
    assert db_snapshot(platform.store) == before
    # with the region's line limit raised past 5,000, the sum of the roundings still refuses it
    limits = {"outpatient": 500, "chronic": 500, "pharmacy": 6000, "inpatient": 10000}
    world.put_region(
        platform, TEST_REGION.read_text(encoding="utf-8"), "test-region.yaml", {"settlement.max_fee_lines": limits}
    )
    before = db_snapshot(platform.store)
    refused = call(platform, "2102", sub_fen_purchase(fam, 5000), password="123456")
    assert code_of(refused) == "E2204-010" and "多50.00元" in refused["err_msg"], refused["err_msg"]
    assert db_snapshot(platform.store) == before


def test_roundings_spread_over_uploads_are_caught_at_settlement(platform):
    """One upload of one line each: every upload is within its fen, the claim is not."""
    c = clinic(platform, current=100_000)
    c.register(platform.now(), "1.00")
    mdtrt_id, _ = c.visits[0]
    son = c.son.person
    for sn in ("2", "3"):
        up = c.call("2204", {"feedetail": [{
            "feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": son.psn_no, "chrg_bchno": "B1",
            "med_list_codg": "XJ01CAA0001", "det_item_fee_sumamt": "0.01", "cnt": "1", "pric": "0.004"}]})  # fmt: skip
        assert up["infcode"] == 0, up["err_msg"]
    assert code_of(c.settle(mdtrt_id, "1.02")) == "E2204-010"


def test_honest_roundings_still_settle(platform):
    """Half-up per line is the national rule: 0.005 → 0.01 three times is honest; one fen off is tolerated once."""
    fam = family_world(platform)
    inp = pharmacy_input(fam.son, "0.03")
    inp["drugdetail"] = [
        {"feedetl_sn": str(i), "med_list_codg": "XJ01CAA0001", "det_item_fee_sumamt": "0.01", "cnt": "1",
         "pric": "0.005"}
        for i in (1, 2, 3)
    ] + [{"feedetl_sn": "4", "med_list_codg": "XJ01CAA0001", "det_item_fee_sumamt": "1.01", "cnt": "3",
          "pric": "0.3333"}]  # fmt: skip
    inp["druginfo"]["medfee_sumamt"] = "1.04"
    out = call(platform, "2102", inp, password="123456")
    assert out["infcode"] == 0, out["err_msg"]


def test_an_upload_past_the_line_limit_is_refused(platform):
    c = clinic(platform)
    c.register(platform.now(), "1.00")
    mdtrt_id, _ = c.visits[0]
    son = c.son.person
    lines = [{"feedetl_sn": f"L{i}", "mdtrt_id": mdtrt_id, "psn_no": son.psn_no, "med_list_codg": "XJ01CAA0001",
              "chrg_bchno": "B1", "det_item_fee_sumamt": "1.00", "cnt": "1", "pric": "1.00"}
             for i in range(500)]  # fmt: skip
    out = c.call("2204", {"feedetail": lines})
    assert code_of(out) == "E2204-009" and "500条" in out["err_msg"], out["err_msg"]  # 1 uploaded + 500 > 500
    assert c.call("2204", {"feedetail": lines[:499]})["infcode"] == 0


# 3. Bounds, and a ledger that cannot overflow ------------------------------------------------------------------------


def test_the_largest_amount_settles_one_fen_more_does_not(platform):
    fam = family_world(platform, son_current=10_000)
    top = f"{Decimal(MAX_AMOUNT_FEN) / 100:.2f}"
    out = call(platform, "2102", pharmacy_input(fam.son, top), password="123456")
    assert out["infcode"] == 0, out["err_msg"]
    assert out["output"]["setlinfo"]["medfee_sumamt"] == Decimal(top)
    refused = call(platform, "2102", pharmacy_input(fam.son, "10000000.01"), password="123456")
    assert code_of(refused) == "E0000-009" and "10000000.00" in refused["err_msg"], refused["err_msg"]


def test_the_ledger_refuses_an_entry_that_would_overflow_an_account(platform):
    """9,223 purchases of 9,999,999,999,990.00 once overflowed an institution's BIGINT total, after which
    every settlement there answered E0000-099. The amount is bounded now; and an account whose total
    is near 2^63 refuses the entry that would pass it, writing nothing — and stays usable."""
    fam = family_world(platform, son_current=0)
    public_key_pem(platform)
    first = call(platform, "2102", pharmacy_input(fam.son, "50.00"), password="123456")
    assert first["infcode"] == 0, first["err_msg"]
    with platform.store.uow() as tx:
        tx.ledger.roll_up(f"I:{PHARMACY}")  # the running sums by shard folded in: the row holds the total
        tx.conn.execute(
            update(t.accounts).where(t.accounts.c.code == f"I:{PHARMACY}").values(credits=LEDGER_TOTAL_MAX - 1000)
        )
    before = db_snapshot(platform.store)
    refused = call(platform, "2102", pharmacy_input(fam.son, "10.01"), password="123456")
    assert code_of(refused) == "E0000-010" and f"I:{PHARMACY}" in refused["err_msg"], refused["err_msg"]
    assert db_snapshot(platform.store) == before
    assert call(platform, "2102", pharmacy_input(fam.son, "10.00"), password="123456")["infcode"] == 0  # up to it
    setl_id = first["output"]["setlinfo"]["setl_id"]
    undo = call(platform, "2103", {"data": {"setl_id": setl_id, "psn_no": fam.son.person.psn_no}})
    assert undo["infcode"] == 0, undo["err_msg"]  # a reversal moves its debits, never past the limit


def test_policy_amounts_and_counts_are_bounded():
    text = TEST_REGION.read_text(encoding="utf-8")
    cap = "values: {2021-01-01: {value: 300000.00, source: test}}"
    lock = "values: {2021-01-01: {value: 1440, source: test}}"
    assert cap in text and lock in text
    for bad in (
        text.replace(cap, cap.replace("300000.00", "10000000.01")),
        text.replace(lock, lock.replace("1440", "10000000000")),
    ):
        with pytest.raises(DomainError) as info:
            load_policy_text(bad, "t.yaml")
        assert info.value.code == "E8001-001" and "超出上限" in info.value.message, info.value.message
