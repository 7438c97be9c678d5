"""The insurance lifecycle: waiting periods, enrolment, contributions and crediting, the medical
year's jobs, pre-allocation and clawback, off-site filing."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import (
    ADMDVS,
    TEST_REGION,
    balances,
    call,
    family_world,
    ledger_problems,
    person,
    pharmacy_input,
    setup_region,
)
from yibao.errors import DomainError
from yibao.lifecycle.waiting import add_months, employee_wait, resident_wait
from yibao.policy import load_policy_file
from yibao.services import jobs, lifecycle, world
from yibao.services.platform import FixedClock, Platform
from yibao.storage.uow import Store

POLICY = load_policy_file(TEST_REGION)  # fixed 3, +1 per break year (offset 0), floor 6 from a 4-year break


def code_of(fn, *args, **kw) -> str | None:
    try:
        fn(*args, **kw)
    except DomainError as exc:
        return exc.code
    return None


# Waiting periods: worked examples, each citing the rule ------------------------------------------------------

RESIDENT_EXAMPLES = [
    # (enrol day, in window, previous insured day, repaired years, exempt, psn_type, months, rule)
    (date(2025, 3, 10), False, None, 0, False, "1501", 3, "38号：未在集中参保期参保，固定等待期3个月"),
    (date(2025, 1, 1), True, None, 0, False, "1501", 0, "38号：集中参保期内首次参保，不设等待期"),
    (date(2025, 1, 1), True, date(2024, 12, 31), 0, False, "1501", 0, "集中参保期内连续参保"),
    (date(2025, 3, 10), False, date(2024, 2, 1), 0, False, "1501", 4, "断保1年：3+1=4个月（seed 000）"),
    (date(2025, 3, 10), False, date(2023, 2, 1), 0, False, "1501", 5, "断保2年：3+2=5个月（seed 000）"),
    (date(2025, 3, 10), False, date(2023, 2, 1), 1, False, "1501", 4, "每多缴1年修复1个月变动等待期"),
    (date(2025, 3, 10), False, date(2023, 2, 1), 5, False, "1501", 3, "修复不能低于固定等待期"),
    (date(2025, 3, 10), False, date(2021, 2, 1), 0, False, "1501", 7, "断保4年：3+4=7个月"),
    (date(2025, 3, 10), False, date(2021, 2, 1), 3, False, "1501", 6, "断保4年及以上修复后合计不少于6个月"),
    (date(2025, 1, 1), True, date(2023, 12, 31), 0, False, "1501", 4, "集中期内参保但断保1年：未连续参保仍有等待期"),
    (date(2025, 5, 1), False, None, 0, False, "1401", 0, "新生儿不设等待期"),
    (date(2025, 5, 1), False, None, 0, True, "1501", 0, "困难群体等特殊人群（exempt）不设等待期"),
    (date(2024, 6, 1), False, None, 0, False, "1501", 0, "2025年前不适用（参数自2025-01-01生效）"),
]


@pytest.mark.parametrize(
    ("day", "window", "prev", "repaired", "exempt", "psn_type", "months", "rule"),
    RESIDENT_EXAMPLES,
    ids=[r[-1] for r in RESIDENT_EXAMPLES],
)
def test_resident_waiting_period_worked_examples(day, window, prev, repaired, exempt, psn_type, months, rule):
    wait = resident_wait(POLICY, day, in_window=window, previous_end=prev, repaired_years=repaired, exempt=exempt,
                         psn_type=psn_type)  # fmt: skip
    assert wait.months == months, (rule, wait.reason)
    assert wait.benefit_start == add_months(day, months)


EMPLOYEE_EXAMPLES = [
    (date(2025, 3, 10), "in_service", "1101", None, date(2025, 4, 1), "单位职工首次参保：缴费次月享受"),
    (date(2025, 3, 10), "retired", "1201", None, date(2025, 3, 10), "退休人员：参保即享受（测试区参数0个月）"),
    (date(2025, 3, 10), "in_service", "1101", date(2025, 1, 31), date(2025, 3, 10), "中断不超过3个月视为连续"),
    (date(2025, 6, 10), "in_service", "1101", date(2025, 1, 31), date(2025, 7, 1), "中断超过3个月重新计算等待期"),
]


@pytest.mark.parametrize(("day", "cls", "psn_type", "prev", "start", "rule"), EMPLOYEE_EXAMPLES,
                         ids=[r[-1] for r in EMPLOYEE_EXAMPLES])  # fmt: skip
def test_employee_waiting_period_worked_examples(day, cls, psn_type, prev, start, rule):
    wait = employee_wait(POLICY, day, person_class=cls, psn_type=psn_type, previous_end=prev)
    assert wait.benefit_start == start, (rule, wait.reason)


def test_add_months_clamps_to_the_end_of_month():
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2024, 11, 30), 3) == date(2025, 2, 28)


# Enrolment ----------------------------------------------------------------------------------------------------


def test_waiting_resident_gets_no_fund_and_moves_no_accumulator(platform):
    setup_region(platform)
    chen = person(platform, "陈六", insutype=None, password="999999")
    wait = lifecycle.enroll(platform, chen.person.psn_no, "390", "1501", date(2025, 3, 10), in_window=False)
    assert wait.benefit_start == date(2025, 6, 10)
    platform.clock.set(datetime(2025, 5, 1, 9))  # the visit is registered when it happens
    reg = call(platform, "2201", {"data": {"psn_no": chen.person.psn_no, "insutype": "390",
                                           "begntime": "2025-05-01 09:00:00", "mdtrt_cert_type": "02",
                                           "mdtrt_cert_no": chen.person.certno, "ipt_otp_no": "MZ1"}},
               institution="H36019900001")  # fmt: skip
    assert reg["infcode"] == 0, reg["err_msg"]
    mdtrt_id = reg["output"]["data"]["mdtrt_id"]
    call(platform, "2204", {"feedetail": [{"feedetl_sn": "1", "mdtrt_id": mdtrt_id, "psn_no": chen.person.psn_no,
                                           "chrg_bchno": "B1", "med_list_codg": "XJ01CAA0001",
                                           "det_item_fee_sumamt": "200.00", "cnt": "10", "pric": "20.00"}]},
         institution="H36019900001")  # fmt: skip
    out = call(platform, "2207", {"data": {"psn_no": chen.person.psn_no, "mdtrt_cert_type": "02",
                                           "mdtrt_cert_no": chen.person.certno, "med_type": "11",
                                           "medfee_sumamt": "200.00", "mdtrt_id": mdtrt_id, "chrg_bchno": "B1",
                                           "insutype": "390", "acct_used_flag": "1"}},
               password="999999", institution="H36019900001")  # fmt: skip
    info = out["output"]["setlinfo"]
    assert info["hifp_pay"] == Decimal("0.00") and "待遇等待期" in json.loads(info["exp_content"])["setl_proc_info"]
    with platform.store.uow() as tx:
        assert tx.care.accumulators_of(chen.person.id, 2025) == {"outpatient": (0, 0)}


def test_enrolment_refusals_change_nothing(platform):
    setup_region(platform)
    c = person(platform, "重复参保")
    with platform.store.uow() as tx:
        before = len(tx.people.insurances(c.person.id))
    assert code_of(lifecycle.enroll, platform, c.person.psn_no, "310", "1101", date(2025, 6, 1)) == "E7401-001"
    assert code_of(lifecycle.enroll, platform, c.person.psn_no, "390", "1101", date(2025, 6, 1)) == "E7401-005"
    assert code_of(lifecycle.file_offsite, platform, c.person.psn_no, "filed", date(2025, 6, 1),
                   date(2025, 5, 1)) == "E7501-001"  # fmt: skip
    with platform.store.uow() as tx:
        assert len(tx.people.insurances(c.person.id)) == before


def test_status_shows_in_1101(platform):
    setup_region(platform)
    c = person(platform, "暂停参保")
    lifecycle.suspend_insurance(platform, c.person.psn_no, "310", date(2025, 5, 1))
    q = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": c.person.certno, "psn_cert_type": "01"}}
    info = call(platform, "1101", q)["output"]["insuinfo"][0]
    assert (info["psn_insu_stas"], info["paus_insu_date"]) == ("2", "2025-05-01")
    lifecycle.suspend_insurance(platform, c.person.psn_no, "310", None)
    lifecycle.end_insurance(platform, c.person.psn_no, "310", date(2025, 5, 31))
    info = call(platform, "1101", q)["output"]["insuinfo"][0]
    assert (info["psn_insu_stas"], info["paus_insu_date"]) == ("4", "2025-05-31")


# Contributions, crediting, the medical year ------------------------------------------------------------------


def test_employee_contribution_credits_two_percent_once(platform):
    setup_region(platform)
    c = person(platform, "在职", current=0)
    assert lifecycle.contribute_employee(platform, c.person.psn_no, "2025-05", 800_000) == 16_000
    before = snapshot_balances(platform, c)
    assert code_of(lifecycle.contribute_employee, platform, c.person.psn_no, "2025-05", 800_000) == "E7401-002"
    assert code_of(lifecycle.contribute_employee, platform, c.person.psn_no, "2014-05", 800_000) == "E7401-004"
    assert snapshot_balances(platform, c) == before == (16_000, 0)


def snapshot_balances(p, c):
    return balances(p, c)


def test_base_outside_floor_and_ceiling_is_refused(store):
    p = Platform(store, FixedClock(datetime(2025, 6, 1)))
    setup_region(p, overrides={"contribution.base_floor": Decimal("3000.00"),
                               "contribution.base_ceiling": Decimal("30000.00")})  # fmt: skip
    c = person(p, "基数")
    assert code_of(lifecycle.contribute_employee, p, c.person.psn_no, "2025-05", 100_000) == "E7401-003"
    assert code_of(lifecycle.contribute_employee, p, c.person.psn_no, "2025-05", 4_000_000) == "E7401-003"
    assert balances(p, c) == (0, 0)


def test_resident_premium_from_a_relatives_account(platform):
    fam = family_world(platform, son_current=50_000)
    out = lifecycle.contribute_resident(platform, fam.child.person.psn_no, 2026, 40_000, paid_on=date(2025, 10, 1),
                                        paid_by=fam.son.person.psn_no)  # fmt: skip
    assert out["paid_from_account"] == "400.00"
    assert balances(platform, fam.son) == (10_000, 0)
    assert ledger_problems(platform) == []


def test_resident_premium_needs_enough_shareable_balance(platform):
    fam = family_world(platform, son_current=10_000)
    assert code_of(lifecycle.contribute_resident, platform, fam.child.person.psn_no, 2026, 40_000,
                   paid_on=date(2025, 10, 1), paid_by=fam.son.person.psn_no) == "E7401-008"  # fmt: skip
    assert balances(platform, fam.son) == (10_000, 0)


def test_retiree_credit_and_rollover_run_once_however_often_the_jobs_run(platform):
    setup_region(platform)
    retiree = person(platform, "退休", psn_type="1201", current=1000, historical=500, birth=date(1955, 1, 1))
    jobs.mark_done_until(platform, datetime(2025, 10, 15))
    platform.clock.set(datetime(2026, 1, 1, 8))
    jobs.run_until(platform, datetime(2026, 1, 1, 8))
    after_once = balances(platform, retiree)
    # Oct, Nov, Dec credits of 90.00, then the rollover
    assert after_once == (0, 500 + 1000 + 3 * 9000)
    jobs.mark_done_until(platform, datetime(2025, 10, 15))  # as if the run had crashed and restarted
    jobs.run_until(platform, datetime(2026, 1, 1, 8))
    assert balances(platform, retiree) == after_once
    assert ledger_problems(platform) == []


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bases=st.lists(st.integers(100_000, 3_000_000), min_size=1, max_size=12),
       spend=st.lists(st.integers(1, 5_000), max_size=4), current=st.integers(0, 100_000),
       historical=st.integers(0, 100_000))  # fmt: skip
def test_crediting_then_rollover_conserves_money(bases, spend, current, historical):
    p = Platform(Store.open("sqlite://", create=True), FixedClock(datetime(2025, 1, 5, 9)))
    setup_region(p)
    c = person(p, "守恒", current=current, historical=historical)
    jobs.mark_done_until(p, datetime(2025, 1, 5, 9))
    credited = 0
    for i, base in enumerate(bases, start=1):
        p.clock.set(datetime(2025, i, 5, 9))
        credited += lifecycle.contribute_employee(p, c.person.psn_no, f"2025-{i:02d}", base)
    paid = 0
    for amount in spend:
        out = call(p, "2102", pharmacy_input(c, f"{amount // 100}.{amount % 100:02d}", when=p.now()), password="123456")
        paid += int(Decimal(out["output"]["setlinfo"]["acct_pay"]) * 100)
    before = sum(balances(p, c))
    assert before == current + historical + credited - paid
    p.clock.set(datetime(2026, 1, 1, 8))
    jobs.run_until(p, datetime(2026, 1, 1, 8))
    cur, hist = balances(p, c)
    assert cur == 0 and hist == before
    jobs.run_until(p, datetime(2026, 1, 1, 8))
    assert balances(p, c) == (0, before)
    assert ledger_problems(p) == []
    p.store.dispose()


def test_preallocation_clawback_may_leave_a_negative_balance(platform):
    """004 相关推荐: 离职前消费超过预划金额时，个人账户余额为负数."""
    setup_region(platform)
    c = person(platform, "离职", current=0)
    assert lifecycle.preallocate(platform, c.person.psn_no, "2025-01", 12, 500_000) == 12 * 10_000
    assert lifecycle.contribute_employee(platform, c.person.psn_no, "2025-02", 500_000) == 0  # already given
    call(platform, "2102", pharmacy_input(c, "1000.00"), password="123456")
    assert balances(platform, c) == (20_000, 0)
    out = lifecycle.end_insurance(platform, c.person.psn_no, "310", date(2025, 3, 31))
    assert out["clawed_back"] == 9 * 10_000
    assert balances(platform, c) == (20_000 - 90_000, 0)
    assert ledger_problems(platform) == []


def test_clawback_stops_at_zero_where_negative_balances_are_not_allowed(store):
    p = Platform(store, FixedClock(datetime(2025, 6, 1)))
    setup_region(p, overrides={"account.allow_negative": False})
    c = person(p, "离职2", current=0)
    lifecycle.preallocate(p, c.person.psn_no, "2025-01", 12, 500_000)
    call(p, "2102", pharmacy_input(c, "1000.00"), password="123456")
    out = lifecycle.end_insurance(p, c.person.psn_no, "310", date(2025, 3, 31))
    assert out["clawed_back"] == 20_000 and balances(p, c) == (0, 0)


# Off-site care ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "ratio"), [(None, "0.4000"), ("temporary", "0.5000"), ("filed", "0.6000")])
def test_offsite_ratio_reduction_depends_on_filing(platform, kind, ratio):
    setup_region(platform)
    world.add_institution(platform, "H11000000001", "外地医院", "hospital", 2, "110000")
    c = person(platform, "异地", current=0)
    if kind:
        lifecycle.file_offsite(platform, c.person.psn_no, kind, date(2025, 1, 1), date(2025, 12, 31))
    reg = call(platform, "2201", {"data": {"psn_no": c.person.psn_no, "insutype": "310", "begntime":
                                           "2025-06-01 09:00:00", "mdtrt_cert_type": "02",
                                           "mdtrt_cert_no": c.person.certno, "ipt_otp_no": "MZ9"}},
               institution="H11000000001")  # fmt: skip
    mdtrt_id = reg["output"]["data"]["mdtrt_id"]
    call(platform, "2204", {"feedetail": [{"feedetl_sn": "1", "mdtrt_id": mdtrt_id, "psn_no": c.person.psn_no,
                                           "chrg_bchno": "B", "med_list_codg": "XJ01CAA0001",
                                           "det_item_fee_sumamt": "1300.00", "cnt": "1", "pric": "1300.00"}]},
         institution="H11000000001")  # fmt: skip
    # off-site across provinces: no password is asked for
    out = call(platform, "2207", {"data": {"psn_no": c.person.psn_no, "mdtrt_cert_type": "02",
                                           "mdtrt_cert_no": c.person.certno, "med_type": "11",
                                           "medfee_sumamt": "1300.00", "mdtrt_id": mdtrt_id, "chrg_bchno": "B",
                                           "insutype": "310", "acct_used_flag": "0"}},
               institution="H11000000001")  # fmt: skip
    info = out["output"]["setlinfo"]
    assert out["infcode"] == 0, out["err_msg"]
    assert info["pool_prop_selfpay"] == Decimal(ratio)
    assert info["hifp_pay"] == Decimal(ratio) * 1000
    if kind != "filed":
        assert "异地" in json.loads(info["exp_content"])["setl_proc_info"]
    assert ADMDVS == "360199"
