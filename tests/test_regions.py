"""Shipped regions: each loads with graded sources, ``yibao policy show`` prints it, the age dimension
and the 当年账户段 behave, and one hand-computed claim per region settles to the fen through the
gateway and the settlement service (on SQLite and, when configured, PostgreSQL).

The arithmetic of each worked example is written out beside its assertions with the source of
every figure; the figures are the region files' own (most are graded D, 示意 — see the files).
"""

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from yibao.cli.main import app
from yibao.gateway.dispatcher import dispatch
from yibao.ledger.model import person_bucket
from yibao.nhsa.envelope import new_msgid, request_envelope
from yibao.policy import PolicyError, load_policy, load_policy_text
from yibao.policy.loader import shipped_region_ids
from yibao.services import world
from yibao.services.identity import encrypt_password, public_key_pem
from yibao.services.platform import FixedClock, Platform
from yibao.services.regions import demo_sites, install_region, resolve_region
from yibao.settlement.calculate import settle
from yibao.settlement.model import Buckets, CatalogItem, Claim, FeeLine, Patient, YearToDate

REGIONS = {"jiangxi-nanchang": "360100", "beijing": "110000", "shanghai": "310000", "guangdong-guangzhou": "440100"}


# Loading -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("region_id", sorted(REGIONS))
def test_each_shipped_region_loads_with_graded_sources(region_id):
    assert region_id in shipped_region_ids()
    policy, _ = load_policy(region_id)
    assert policy.admdvs == REGIONS[region_id]
    for key, param in policy.parameters.items():
        for entry in param.values:
            source = policy.sources[entry.source]
            assert source.grade in "ABCD" and source.title, key
    day = date(2025, 8, 1)
    shown = {f.key for f in policy.in_force(day)}
    for key in (
        "account.year_start",
        "account.inservice_credit_rate",
        "mutual_aid.relations",
        "mutual_aid.uses",
        "mutual_aid.order",
        "waiting.resident.fixed_months",
        "offsite.ratio_reduction",
        "benefit.employee.outpatient.ratio",
        "benefit.employee.inpatient.ratio",
        "benefit.resident.inpatient.ratio",
    ):
        assert key in shown, (region_id, key)


@pytest.mark.parametrize("ref", ["110000", "shanghai", "440100"])
def test_policy_show_prints_a_region_by_id_or_admdvs(ref):
    region_id = resolve_region(ref)[0].region_id
    out = CliRunner().invoke(app, ["policy", "show", region_id, "--date", "2025-08-01"], terminal_width=200)
    assert out.exit_code == 0, out.output
    assert resolve_region(ref)[0].admdvs in out.output
    flat = "".join(line.rstrip("│ ").split("│")[-1].strip() for line in out.output.splitlines())
    assert "D级·示意" in flat  # unverified figures say so (the source column may be folded over two lines)


def test_unknown_region_is_refused_with_the_list():
    with pytest.raises(Exception, match="没有这个内置统筹区"):
        resolve_region("999999")


# The age dimension -------------------------------------------------------------------------------


def mini(body: str) -> str:
    return "region: {id: mini, admdvs: '360999', name: 小}\nsources:\n  a: {title: A, grade: A}\nparameters:\n" + body


def test_age_bands_pick_the_band_that_starts_at_or_below_the_age():
    policy, _ = load_policy("shanghai")
    day = date(2025, 8, 1)
    ratio = policy.value
    assert ratio("benefit.employee.outpatient.ratio", day, person_class="in_service", age=44, hospital_level=2) == 6000
    assert ratio("benefit.employee.outpatient.ratio", day, person_class="in_service", age=45, hospital_level=2) == 7000
    assert ratio("benefit.employee.outpatient.ratio", day, person_class="retired", age=90, hospital_level=3) == 7000
    # Without an age the banded value is missing, never guessed.
    assert ratio("benefit.employee.outpatient.ratio", day, default=None, person_class="in_service") is None


@pytest.mark.parametrize(
    ("ages", "reason"),
    [("{45: 0.6}", "从 0 岁开始"), ("{0: 0.5, 200: 0.6}", "0–150"), ("{0: 0.5, x: 0.6}", "0–150")],
)
def test_age_bands_are_checked_at_load(ages, reason):
    body = f"    by: [age]\n    values: {{2025-01-01: {{value: {ages}, source: a}}}}\n"
    text = mini("  benefit.employee.outpatient.ratio:\n" + body)
    with pytest.raises(PolicyError, match=reason):
        load_policy_text(text, "mini.yaml")


# The 当年账户段 ----------------------------------------------------------------------------------------

SHANGHAI = load_policy("shanghai")[0]
DRUG = CatalogItem("XJ01CAA0001", "阿莫西林胶囊", "01")


def _claim(fen: int, acct_used: bool = True, level: int = 2) -> Claim:
    price = Decimal(fen) / 100
    return Claim(date(2025, 8, 1), "11", level, (FeeLine("1", DRUG, fen, price, Decimal(1)),), acct_used)


@given(
    amount=st.integers(1, 2_000_000),
    current=st.integers(0, 500_000),
    historical=st.integers(0, 500_000),
    used=st.integers(0, 200_000),
    acct_used=st.booleans(),
)
def test_account_segment_parts_add_up_and_never_overdraw(amount, current, historical, used, acct_used):
    patient = Patient("S", "张", "employee", "in_service", Buckets(current, historical), age=30)
    s = settle(SHANGHAI, _claim(amount, acct_used), patient, YearToDate(deductible_used=used))
    assert s.account_segment == (min(amount, current) if acct_used else 0)
    parts = s.account_segment + s.ownpay + s.overlimit + s.preselfpay + s.deductible + s.coinsurance + s.over_cap
    assert parts == s.patient_share == s.own_account_pay + s.mutual_aid_pay + s.cash
    assert s.fund_pay + s.patient_share == s.medfee
    assert s.year_deductible_delta + s.account_segment <= amount
    if s.own:
        drawn = {d.bucket: d.amount for d in s.own.draws}
        assert drawn.get("current", 0) <= current and drawn.get("historical", 0) <= historical
        assert drawn.get("current", 0) >= s.account_segment  # the segment is the current account's
    assert min(s.cash, s.coinsurance, s.deductible) >= 0


# Worked examples through the gateway and the settlement service ----------------------------------

AT = datetime(2025, 8, 1, 9, 30)
_serial = [0]


def gw(p: Platform, infno: str, institution: str, inp: dict, password: str | None = None) -> dict:
    _serial[0] += 1
    env = request_envelope(
        infno,
        inp,
        institution=institution,
        admdvs=institution[1:7],
        now=p.now(),
        msgid=new_msgid(institution, p.now(), _serial[0]),
        opter="t",
        opter_name="测试",
    )
    if password:
        env["cainfo"] = encrypt_password(public_key_pem(p), password)
    answer = dispatch(p, env)
    assert answer["infcode"] == 0, answer["err_msg"]
    return answer["output"]


def outpatient(p: Platform, who: world.Created, hospital: str, lines: list[tuple[str, str, str]]) -> dict:
    """2201 → 2204 → 2207 for ``lines`` of (code, amount, count); returns the 2207 setlinfo."""
    person = who.person
    reg = {
        "psn_no": person.psn_no,
        "insutype": "310",
        "begntime": f"{p.now():%Y-%m-%d %H:%M:%S}",
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": person.certno,
        "ipt_otp_no": f"MZ{_serial[0]}",
        "dept_name": "内科",
        "caty": "03",
    }
    mdtrt_id = gw(p, "2201", hospital, {"data": reg})["data"]["mdtrt_id"]
    details = [
        {
            "feedetl_sn": str(i),
            "mdtrt_id": mdtrt_id,
            "psn_no": person.psn_no,
            "chrg_bchno": "B1",
            "med_list_codg": code,
            "det_item_fee_sumamt": amount,
            "cnt": count,
            "pric": str(Decimal(amount) / Decimal(count)),
        }
        for i, (code, amount, count) in enumerate(lines, 1)
    ]
    gw(p, "2204", hospital, {"feedetail": details})
    total = str(sum(Decimal(a) for _, a, _ in lines))
    data = {
        "psn_no": person.psn_no,
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": person.certno,
        "med_type": "11",
        "medfee_sumamt": total,
        "psn_setlway": "01",
        "mdtrt_id": mdtrt_id,
        "chrg_bchno": "B1",
        "insutype": "310",
        "acct_used_flag": "1",
    }
    return gw(p, "2207", hospital, {"data": data}, password="123456")["setlinfo"]


def region_platform(store, region: str) -> tuple[Platform, dict[int, str]]:
    p = Platform(store, FixedClock(AT), region=REGIONS[region])
    policy = install_region(p, region, sites=True)
    return p, {s.level: s.code for s in demo_sites(policy) if s.kind == "hospital"}


def insured(p: Platform, name: str, birth: date, psn_type: str, current: int, historical: int = 0) -> world.Created:
    return world.add_person(
        p,
        world.NewPerson(
            name=name,
            birth=birth,
            gender="1",
            admdvs=p.region,
            insutype="310",
            psn_type=psn_type,
            insured_since=date(2010, 1, 1),
            current=current,
            historical=historical,
            password="123456",
        ),
    )


def own_balance(p: Platform, who: world.Created) -> tuple[int, int]:
    codes = [person_bucket(who.person.psn_no, b) for b in ("current", "historical")]
    with p.store.uow() as tx:
        got = tx.ledger.balances(codes)
    return got[codes[0]], got[codes[1]]


def money(setl: dict, *keys: str) -> tuple[str, ...]:
    return tuple(str(setl[k]) for k in keys)


FIELDS = ("medfee_sumamt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "psn_part_amt", "acct_pay", "psn_cash_pay")


def test_beijing_retiree_over_70_at_a_tertiary_hospital(platform):
    """北京，退休职工（72岁），三级医院门诊，本年已累计起付线1000元。

    Lines: 甲类 2000.00 (all in scope); 乙类 300.00 with 10% 先行自付 → 30.00 自付, 270.00 in scope;
    自费 100.00. medfee 2400.00, in scope I = 2270.00.
    Deductible (benefit.employee.outpatient.deductible, retired): 1300.00, used 1000.00 → 300.00 now.
    Ratio (…outpatient.ratio, retired, age band 70, level 3): 85% → F = (2270 − 300) × 0.85 = 1674.50.
    Cap 20000.00, nothing paid yet → fund 1674.50. Personal 2400 − 1674.50 = 725.50
    (= 100 自费 + 30 先行自付 + 300 起付线 + 295.50 按比例自付). Own account 500.00 (当年) pays 500.00,
    cash 225.50. Under 70 the band is 80%: the same claim would get 1576.00 (checked in the pure calc).
    """
    p, hospitals = region_platform(platform.store, "beijing")
    world.add_catalog_item(p, CatalogItem("XB02BAA0010", "某乙类药品", "02", 1000))
    world.add_catalog_item(p, CatalogItem("ZZ0000000011", "某自费项目", "03"))
    man = insured(p, "赵国庆", date(1953, 3, 1), "1201", current=50000)
    world.seed_accumulator(p, man.person.psn_no, 2025, "outpatient", 100000, 0)
    lines = [("XJ01CAA0001", "2000.00", "10"), ("XB02BAA0010", "300.00", "3"), ("ZZ0000000011", "100.00", "1")]
    setl = outpatient(p, man, hospitals[3], lines)
    assert money(setl, *FIELDS) == ("2400.00", "2270.00", "300.00", "1674.50", "725.50", "500.00", "225.50")
    assert own_balance(p, man) == (0, 0)
    policy = p.policy_for_admdvs("110000")
    younger = Patient("Y", "钱", "employee", "retired", Buckets(0, 0), age=69)
    claim = Claim(date(2025, 8, 1), "11", 3, (FeeLine("1", DRUG, 227000, Decimal("2270.00"), Decimal(1)),), False)
    assert settle(policy, claim, younger, YearToDate(100000)).fund_pay == 157600  # (2270 − 300) × 0.80


def test_shanghai_in_service_over_45_pays_the_current_account_segment_first(platform):
    """上海，在职职工（50岁），二级医院门诊，医疗年度自2025-07-01起（account.year_start 07-01）。

    Own account: 当年 300.00, 历年 2000.00. One 甲类 line 2000.00 → in scope I = 2000.00.
    当年账户段 (benefit.employee.outpatient.account_segment [current]): 300.00 from the current account,
    outside the deductible. 自负段 (…deductible, in_service): 1500.00 of the remaining 1700.00.
    共付段 (…ratio, in_service, age band 45, level 2): 70% of 200.00 → fund 140.00 (no outpatient cap).
    Personal 1860.00 = 300 当年账户段 + 1500 自负段 + 60 按比例自付; the account pays all of it:
    300.00 当年 + 1560.00 历年; cash 0; balance after 440.00 历年.
    The year's accumulators (medical year 2025, from 07-01) hold 1500.00 deductible and 140.00 fund.
    """
    p, hospitals = region_platform(platform.store, "shanghai")
    woman = insured(p, "孙丽华", date(1975, 1, 1), "1101", current=30000, historical=200000)
    setl = outpatient(p, woman, hospitals[2], [("XJ01CAA0001", "2000.00", "20")])
    assert money(setl, *FIELDS) == ("2000.00", "2000.00", "1500.00", "140.00", "1860.00", "1860.00", "0.00")
    assert own_balance(p, woman) == (0, 44000)
    with p.store.uow() as tx:
        person = tx.people.by_psn_no(woman.person.psn_no)
        assert tx.care.accumulator(person.id, 2025, "outpatient") == (150000, 14000)
        assert tx.care.accumulator(person.id, 2024, "outpatient") == (0, 0)


def test_guangzhou_retiree_at_a_community_clinic(platform):
    """广州，退休职工（66岁），一级（社区）医院门诊。

    Lines: 甲类 500.00; 乙类 100.00 with 5% 先行自付 → 5.00 自付, 95.00 in scope. I = 595.00.
    No deductible (benefit.employee.outpatient.deductible 0.00). Ratio (retired, level 1): 85% →
    F = 595.00 × 0.85 = 505.75; cap 10000.00 → fund 505.75. Personal 600 − 505.75 = 94.25
    (= 5.00 先行自付 + 89.25 按比例自付). Own account 50.00 pays 50.00; cash 44.25.
    """
    p, hospitals = region_platform(platform.store, "guangdong-guangzhou")
    world.add_catalog_item(p, CatalogItem("XB02BAA0020", "某乙类药品", "02", 500))
    man = insured(p, "陈志强", date(1959, 5, 5), "1201", current=5000)
    setl = outpatient(p, man, hospitals[1], [("XJ01CAA0001", "500.00", "5"), ("XB02BAA0020", "100.00", "2")])
    assert money(setl, *FIELDS) == ("600.00", "595.00", "0.00", "505.75", "94.25", "50.00", "44.25")
    assert own_balance(p, man) == (0, 0)


def test_a_region_instance_answers_as_its_region(platform):
    p, hospitals = region_platform(platform.store, "shanghai")
    woman = insured(p, "孙丽华", date(1975, 1, 1), "1101", current=30000)
    assert woman.person.psn_no.startswith("310000")
    env = request_envelope(
        "1101",
        {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": woman.person.certno, "psn_cert_type": "01"}},
        institution=hospitals[1],
        admdvs="999999",  # an HIS that fills its area wrongly still gets an answer from 310000
        now=p.now(),
        msgid=new_msgid(hospitals[1], p.now(), 1),
        opter="t",
        opter_name="测试",
    )
    answer = dispatch(p, env)
    assert answer["infcode"] == 0, answer["err_msg"]
    assert answer["inf_refmsgid"].startswith("310000")


def test_install_region_is_idempotent_and_keeps_the_stored_policy(platform):
    p = Platform(platform.store, FixedClock(AT), region="440100")
    install_region(p, "440100", sites=True)
    install_region(p, "guangdong-guangzhou", sites=True)
    with p.store.uow() as tx:
        assert [r.admdvs for r in tx.config.regions()] == ["440100"]
        assert tx.config.region("440100").version == 1
    with pytest.raises(ValueError):
        Platform(platform.store, region="31000")


@pytest.mark.parametrize("region", ["310000", "beijing"])
def test_the_demo_runs_in_another_region(region):
    out = CliRunner().invoke(app, ["demo", "--region", region], terminal_width=200)
    assert out.exit_code == 0, out.output
    assert resolve_region(region)[0].name in out.output
    assert "借贷平衡" in out.output
