"""The pure settlement calculation (steps 1–10 of spec/policy-format.md) under random claims and families.

Everything here calls ``yibao.settlement.settle`` directly with the acceptance test-region policy (and
random ``policy_overrides`` of the account and mutual-aid keys). A small reference implementation
written from the spec, with ``Decimal`` arithmetic, is the oracle for the exact figures; the other
properties are stated on their own so that a failure says which rule broke.
"""

import json
from dataclasses import asdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from itertools import permutations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from support import TEST_REGION
from yibao.ledger.model import institution_account, net_changes, person_bucket
from yibao.ledger.postings import settlement_entry
from yibao.money import round_half_up_fen
from yibao.policy import apply_overrides, load_policy_file
from yibao.settlement import (
    Buckets,
    CatalogItem,
    Claim,
    FeeLine,
    Patient,
    PayerCandidate,
    Settlement,
    YearToDate,
    settle,
)
from yibao.settlement.record import from_record, to_record

BASE_POLICY = load_policy_file(TEST_REGION)
MED_TYPES = ("11", "13", "14", "21", "41")
RELATIONS = ("spouse", "parent", "child", "sibling", "grandparent", "grandchild")
PARTS = ("ownpay", "overlimit", "preselfpay", "deductible", "coinsurance", "over_cap")
USES = ("outpatient", "chronic", "inpatient", "pharmacy", "resident_premium")
BUCKET_ORDERS = [["current", "historical"], ["historical", "current"], ["historical"], ["current"]]
CLASSES = [("employee", "in_service"), ("employee", "retired"), ("resident", "resident")]

# Strategies ------------------------------------------------------------------------------------

fen = st.integers(min_value=0, max_value=500_000)
small_or_zero = st.one_of(st.just(0), fen)


@st.composite
def catalog_items(draw, n: int) -> CatalogItem:
    lv = draw(st.sampled_from(["01", "02", "03"]))
    prop = draw(st.sampled_from([0, 500, 1000, 2000, 3333, 10000]) | st.integers(0, 10_000)) if lv == "02" else 0
    ceiling = draw(st.none() | st.integers(1, 50_000).map(lambda c: Decimal(c).scaleb(-2)))
    return CatalogItem(f"ITEM{n:04d}", f"项目{n}", lv, prop, ceiling)


@st.composite
def fee_lines(draw) -> tuple[FeeLine, ...]:
    lines = []
    for i in range(draw(st.integers(0, 6))):
        item = draw(catalog_items(i))
        places = draw(st.sampled_from([2, 2, 4]))
        price = Decimal(draw(st.integers(1, 30_000 * 10 ** (places - 2)))).scaleb(-places)
        count = Decimal(draw(st.integers(1, 12))) / draw(st.sampled_from([1, 1, 2, 4]))
        amount = round_half_up_fen(price * count)
        assume(amount > 0)
        lines.append(FeeLine(str(i + 1), item, amount, price, count))
    return tuple(lines)


balance = st.one_of(st.integers(1, 150_000), st.integers(1, 150_000), st.integers(1, 150_000), st.integers(-20_000, 0))
buckets = st.builds(Buckets, balance, balance)


@st.composite
def payers(draw, patient_psn: str, family: bool = False) -> tuple[PayerCandidate, ...]:
    out = []
    close = st.sampled_from(["spouse", "parent", "child"])
    for i in range(draw(st.integers(2, 5) if family else st.integers(0, 4))):
        psn = patient_psn if draw(st.integers(0, 30)) == 0 else f"PAYER{i}"
        out.append(
            PayerCandidate(
                psn_no=psn,
                name=draw(st.sampled_from(["张大山", "李四", "王秀英"])),
                gender=draw(st.sampled_from(["1", "2"])),
                relation=draw(close if family else close | st.sampled_from([*RELATIONS, "none"])),
                order=draw(st.integers(1, 5)),
                insured_active=draw(st.integers(0, 9)) > 0 if family else draw(st.booleans() | st.just(True)),
                balances=draw(st.one_of(buckets, buckets, buckets, st.none())),
            )
        )
    return tuple(out)


@st.composite
def policies(draw, family: bool = False):
    overrides = {}
    if draw(st.booleans()):
        overrides["mutual_aid.order"] = draw(st.sampled_from(["binding_order", "balance_desc"]))
    if draw(st.booleans()):
        overrides["mutual_aid.buckets"] = draw(st.sampled_from(BUCKET_ORDERS))
    if draw(st.booleans()):
        overrides["account.bucket_order"] = draw(st.sampled_from(BUCKET_ORDERS))
    if not family and draw(st.booleans()):
        overrides["mutual_aid.uses"] = draw(st.lists(st.sampled_from(USES), unique=True))
    if draw(st.integers(0, 3)) == 0:
        overrides["account.payable_parts"] = draw(st.lists(st.sampled_from(PARTS), unique=True))
    if not family and draw(st.integers(0, 9)) == 0:
        overrides["mutual_aid.enabled"] = False
    return apply_overrides(BASE_POLICY, overrides) if overrides else BASE_POLICY


@st.composite
def scenario_parts(draw, family: bool):
    policy = draw(policies(family))
    scheme, cls = draw(st.sampled_from(CLASSES))
    if family:
        account = draw(st.none() | st.builds(Buckets, st.integers(0, 5_000), st.integers(0, 5_000)))
    else:
        account = draw(st.one_of(buckets, buckets, buckets, st.none()) if scheme == "employee" else st.none() | buckets)
    patient = Patient(
        "PATIENT",
        "张小明",
        scheme,
        cls,
        account,
        in_waiting=draw(st.integers(0, 7)) == 0,
        waiting_until=None,
    )
    claim = Claim(
        day=draw(st.dates(min_value=date(2021, 5, 1), max_value=date(2026, 12, 31))),
        med_type=draw(st.sampled_from(MED_TYPES)),
        hospital_level=draw(st.integers(0, 3)),
        lines=draw(fee_lines()),
        acct_used=draw(st.sampled_from([True, True, True, True, False])),
        offsite=draw(st.sampled_from([None, None, None, "filed", "temporary", "unfiled"])),
    )
    near_cap = st.sampled_from([39_000, 39_950, 40_000, 199_000, 199_990, 200_000, 299_000, 310_000, 29_999_000])
    ytd = YearToDate(draw(small_or_zero), draw(small_or_zero | near_cap), draw(small_or_zero))
    return policy, claim, patient, ytd, draw(payers(patient.psn_no, family))


def scenarios():
    """Random claims; half of them in families where several relatives have granted mutual aid."""
    return st.one_of(scenario_parts(False), scenario_parts(True))


# The oracle: the spec's ten steps, written out independently ------------------------------------


def _half_up(x: Decimal) -> int:
    return int(x.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _take(balances: Buckets, order, want: int) -> list[tuple[str, int]]:
    out = []
    for bucket in order:
        have = max(getattr(balances, bucket), 0)
        take = min(want, have)
        if take > 0:
            out.append((bucket, take))
            want -= take
    return out


def oracle(policy, claim: Claim, patient: Patient, ytd: YearToDate, candidates) -> dict:
    day = claim.day
    category = policy.value("settlement.med_type_category", day)[claim.med_type]
    ownpay = overlimit = preselfpay = inscp = 0
    for line in claim.lines:
        item, a = line.item, line.amount
        if item.chrgitm_lv == "03":
            ownpay += a
            continue
        over = 0
        if item.price_ceiling is not None and line.price > item.price_ceiling:
            over = min(_half_up((line.price - item.price_ceiling) * line.count * 100), a)
        rest = a - over
        pre = _half_up(Decimal(rest) * item.selfpay_bp / 10_000) if item.chrgitm_lv == "02" else 0
        overlimit, preselfpay, inscp = overlimit + over, preselfpay + pre, inscp + rest - pre
    medfee = ownpay + overlimit + preselfpay + inscp

    base = f"benefit.{patient.scheme}.{category}"
    dims = {"person_class": patient.person_class, "hospital_level": claim.hospital_level}
    has_keys = any(policy.has(f"{base}.{f}", day) for f in ("deductible", "ratio", "cap"))
    ratio = policy.value(f"{base}.ratio", day, default=None, **dims) if has_keys else None
    deductible = fund = hifp = 0
    if ratio is not None and not patient.in_waiting:
        scope = policy.value(f"{base}.deductible_scope", day, default="year")
        used = ytd.deductible_used if scope == "year" else ytd.visit_deductible_used
        left = policy.value(f"{base}.deductible", day, default=0, **dims) - used
        deductible = min(inscp, max(left, 0))
        if claim.offsite:
            ratio = max(ratio - policy.value("offsite.ratio_reduction", day)[claim.offsite], 0)
        fund = _half_up(Decimal(inscp - deductible) * ratio / 10_000)
        cap = policy.value(f"{base}.cap", day, default=None, **dims)
        hifp = fund if cap is None else min(fund, max(cap - ytd.fund_paid, 0))
    parts = {
        "ownpay": ownpay,
        "overlimit": overlimit,
        "preselfpay": preselfpay,
        "deductible": deductible,
        "coinsurance": inscp - deductible - fund,
        "over_cap": fund - hifp,
    }
    payable = sum(parts[k] for k in policy.value("account.payable_parts", day))
    own = []
    if claim.acct_used and patient.account is not None:
        own = _take(patient.account, policy.value("account.bucket_order", day), payable)
    left = payable - sum(a for _, a in own)
    aid = []
    if (
        claim.acct_used
        and left > 0
        and policy.value("mutual_aid.enabled", day, default=False)
        and category in policy.value("mutual_aid.uses", day, default=())
    ):
        shareable = policy.value("mutual_aid.buckets", day)
        allowed = policy.value("mutual_aid.relations", day)
        eligible = [
            c
            for c in candidates
            if c.psn_no != patient.psn_no and c.relation in allowed and c.insured_active and c.balances is not None
        ]
        if policy.value("mutual_aid.order", day) == "balance_desc":
            eligible.sort(key=lambda c: (-sum(max(getattr(c.balances, b), 0) for b in shareable), c.order, c.psn_no))
        else:
            eligible.sort(key=lambda c: (c.order, c.psn_no))
        for c in eligible:
            draws = _take(c.balances, shareable, left)
            if draws:
                aid.append((c.psn_no, draws))
                left -= sum(a for _, a in draws)
    psn_part = medfee - hifp
    acct_pay = sum(a for _, a in own)
    mulaid = sum(a for _, d in aid for _, a in d)
    return {
        "category": category,
        "medfee": medfee,
        "ownpay": ownpay,
        "overlimit": overlimit,
        "preselfpay": preselfpay,
        "inscp": inscp,
        "deductible": deductible,
        "fund_before_cap": fund,
        "hifp_pay": hifp,
        "payable": payable,
        "own": own,
        "aid": aid,
        "cash": psn_part - acct_pay - mulaid,
    }


def observed(s: Settlement) -> dict:
    return {
        "category": s.category,
        "medfee": s.medfee,
        "ownpay": s.ownpay,
        "overlimit": s.overlimit,
        "preselfpay": s.preselfpay,
        "inscp": s.in_scope,
        "deductible": s.deductible,
        "fund_before_cap": s.fund_before_cap,
        "hifp_pay": s.fund_pay,
        "payable": s.payable,
        "own": [(d.bucket, d.amount) for d in s.own.draws] if s.own else [],
        "aid": [(p.psn_no, [(d.bucket, d.amount) for d in p.draws]) for p in s.mutual_aid],
        "cash": s.cash,
    }


PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# Properties --------------------------------------------------------------------------------------


@PROPS
@given(scenarios())
def test_matches_the_spec_to_the_fen(scenario):
    policy, claim, patient, ytd, candidates = scenario
    assert observed(settle(policy, claim, patient, ytd, candidates)) == oracle(policy, claim, patient, ytd, candidates)


@PROPS
@given(scenarios())
def test_every_fen_is_accounted_for(scenario):
    policy, claim, patient, ytd, candidates = scenario
    s = settle(policy, claim, patient, ytd, candidates)
    assert s.medfee == sum(line.amount for line in claim.lines)
    assert s.medfee == s.fund_pay + s.own_account_pay + s.mutual_aid_pay + s.cash
    assert s.fund_pay == s.fund_pay
    assert s.patient_share == s.medfee - s.fund_pay
    assert s.patient_share == s.own_account_pay + s.mutual_aid_pay + s.cash
    assert s.cash >= 0
    assert min(s.fund_pay, s.own_account_pay, s.mutual_aid_pay, s.deductible, s.coinsurance, s.over_cap) >= 0
    # The parts of the personal burden add up to it (step 7).
    assert s.ownpay + s.overlimit + s.preselfpay + s.deductible + s.coinsurance + s.over_cap == s.patient_share
    assert s.in_scope == s.deductible + s.coinsurance + s.fund_before_cap
    assert s.over_cap == s.fund_before_cap - s.fund_pay
    # Account money only pays the parts the policy lets it pay.
    assert s.own_account_pay + s.mutual_aid_pay <= s.payable <= s.patient_share
    # Per-line split (steps 1–3).
    assert len(s.lines) == len(claim.lines)
    for line, split in zip(claim.lines, s.lines, strict=True):
        assert split.amount == line.amount
        assert split.ownpay + split.overlimit + split.preselfpay + split.in_scope == split.amount
        assert min(split.ownpay, split.overlimit, split.preselfpay, split.in_scope) >= 0
        if line.item.chrgitm_lv == "03":
            assert split.ownpay == split.amount
        else:
            assert split.ownpay == 0
        if line.item.chrgitm_lv != "02":
            assert split.preselfpay == 0
        if line.item.price_ceiling is None or line.price <= line.item.price_ceiling:
            assert split.overlimit == 0
    assert s.ownpay == sum(x.ownpay for x in s.lines)
    assert s.overlimit == sum(x.overlimit for x in s.lines)
    assert s.preselfpay == sum(x.preselfpay for x in s.lines)
    assert s.in_scope == sum(x.in_scope for x in s.lines)


@PROPS
@given(scenarios())
def test_no_draw_exceeds_its_bucket(scenario):
    policy, claim, patient, ytd, candidates = scenario
    s = settle(policy, claim, patient, ytd, candidates)
    if s.own is not None:
        assert s.own.psn_no == patient.psn_no
        order = policy.value("account.bucket_order", claim.day)
        for d in s.own.draws:
            assert d.bucket in order
            assert 0 < d.amount <= max(patient.account.get(d.bucket), 0)
        assert len({d.bucket for d in s.own.draws}) == len(s.own.draws)
        assert s.own_balance_after == patient.account.total - s.own_account_pay
    shareable = policy.value("mutual_aid.buckets", claim.day)
    by_psn = {c.psn_no: c for c in candidates}
    assert len({p.psn_no for p in s.mutual_aid}) == len(s.mutual_aid)
    for paid in s.mutual_aid:
        assert paid.psn_no != patient.psn_no
        payer = by_psn[paid.psn_no]
        assert payer.balances is not None
        for d in paid.draws:
            assert d.bucket in shareable
            assert 0 < d.amount <= max(payer.balances.get(d.bucket), 0)
        assert paid.total <= sum(max(payer.balances.get(b), 0) for b in shareable)


@PROPS
@given(scenarios())
def test_fund_never_exceeds_cap_or_remaining_deductible(scenario):
    policy, claim, patient, ytd, candidates = scenario
    s = settle(policy, claim, patient, ytd, candidates)
    day = claim.day
    base = f"benefit.{patient.scheme}.{s.category}"
    dims = {"person_class": patient.person_class, "hospital_level": claim.hospital_level}
    cap = policy.value(f"{base}.cap", day, default=None, **dims)
    if cap is not None:
        assert s.fund_pay <= max(cap - ytd.fund_paid, 0)
    scope = policy.value(f"{base}.deductible_scope", day, default="year")
    used = ytd.deductible_used if scope == "year" else ytd.visit_deductible_used
    assert s.deductible <= max(policy.value(f"{base}.deductible", day, default=0, **dims) - used, 0)
    assert s.deductible <= s.in_scope
    assert s.fund_pay <= s.fund_before_cap <= s.in_scope - s.deductible
    if s.benefit:
        assert s.year_deductible_delta == s.deductible and s.year_fund_delta == s.fund_pay
    else:
        assert s.fund_pay == s.deductible == s.fund_before_cap == 0
        assert s.year_deductible_delta == s.year_fund_delta == 0


@PROPS
@given(scenarios())
def test_account_flag_off_means_cash(scenario):
    policy, claim, patient, ytd, candidates = scenario
    claim = Claim(claim.day, claim.med_type, claim.hospital_level, claim.lines, False, claim.offsite)
    s = settle(policy, claim, patient, ytd, candidates)
    assert s.own_account_pay == 0 and s.own is None
    assert s.mutual_aid_pay == 0 and s.mutual_aid == ()
    assert s.cash == s.patient_share
    assert s.own_balance_after == (patient.account.total if patient.account else None)


@PROPS
@given(scenarios())
def test_only_allowed_insured_relatives_pay(scenario):
    policy, claim, patient, ytd, candidates = scenario
    s = settle(policy, claim, patient, ytd, candidates)
    allowed = policy.value("mutual_aid.relations", claim.day)
    by_psn = {c.psn_no: c for c in candidates}
    for paid in s.mutual_aid:
        payer = by_psn[paid.psn_no]
        assert payer.relation in allowed, f"{payer.relation} paid on {claim.day}"
        assert payer.insured_active
        assert paid.relation == payer.relation
    if s.mutual_aid:
        assert policy.value("mutual_aid.enabled", claim.day)
        assert s.category in policy.value("mutual_aid.uses", claim.day)
        assert claim.acct_used


@PROPS
@given(scenarios(), st.sampled_from(["sibling", "grandparent", "grandchild"]))
def test_wider_relations_pay_only_from_2025(scenario, relation):
    policy, claim, patient, ytd, _ = scenario
    assume(claim.lines)
    claim = Claim(claim.day, "41", 0, claim.lines, True, None)
    payer = PayerCandidate("PAYER9", "王秀英", "2", relation, 1, True, Buckets(10**10, 10**10))
    patient = Patient("PATIENT", "张小明", patient.scheme, patient.person_class, None)
    s = settle(policy, claim, patient, ytd, (payer,))
    can_use = policy.value("mutual_aid.enabled", claim.day, default=False) and "pharmacy" in policy.value(
        "mutual_aid.uses", claim.day
    )
    if claim.day < date(2025, 1, 1):
        assert s.mutual_aid == ()
        if can_use and s.payable:
            assert any("不在共济范围内" in step for step in s.steps)
    elif can_use:
        assert s.mutual_aid_pay == s.payable


@PROPS
@given(scenarios())
def test_mutual_aid_only_in_its_uses(scenario):
    policy, claim, patient, ytd, candidates = scenario
    category = policy.value("settlement.med_type_category", claim.day)[claim.med_type]
    narrowed = apply_overrides(policy, {"mutual_aid.uses": [u for u in USES if u != category]})
    s = settle(narrowed, claim, patient, ytd, candidates)
    assert s.mutual_aid_pay == 0 and s.mutual_aid == ()
    assert s.cash == s.patient_share - s.own_account_pay


@PROPS
@given(scenarios())
def test_waiting_period_means_no_fund_and_no_accumulator(scenario):
    policy, claim, patient, ytd, candidates = scenario
    waiting = Patient(
        patient.psn_no,
        patient.name,
        patient.scheme,
        patient.person_class,
        patient.account,
        in_waiting=True,
        waiting_until=date(2025, 9, 1),
    )
    s = settle(policy, claim, waiting, ytd, candidates)
    assert not s.benefit
    assert s.fund_pay == s.fund_before_cap == s.deductible == 0
    assert s.year_deductible_delta == s.year_fund_delta == 0
    assert s.patient_share == s.medfee
    assert s.medfee == s.own_account_pay + s.mutual_aid_pay + s.cash


@PROPS
@given(scenarios())
def test_payers_are_drawn_in_the_regions_order(scenario):
    policy, claim, patient, ytd, candidates = scenario
    day = claim.day
    s = settle(policy, claim, patient, ytd, candidates)
    if not s.mutual_aid:
        return
    shareable = policy.value("mutual_aid.buckets", day)
    allowed = policy.value("mutual_aid.relations", day)

    def share(c: PayerCandidate) -> int:
        return sum(max(c.balances.get(b), 0) for b in shareable)

    eligible = [
        c
        for c in candidates
        if c.psn_no != patient.psn_no and c.relation in allowed and c.insured_active and c.balances is not None
    ]
    if policy.value("mutual_aid.order", day) == "balance_desc":
        eligible.sort(key=lambda c: (-share(c), c.order, c.psn_no))
        largest = eligible[0]
        # The largest shareable balance is drawn first (ties by binding order).
        assert s.mutual_aid[0].psn_no == largest.psn_no
        paid_shares = [share(next(c for c in eligible if c.psn_no == p.psn_no)) for p in s.mutual_aid]
        assert paid_shares == sorted(paid_shares, reverse=True)
    else:
        eligible.sort(key=lambda c: (c.order, c.psn_no))
    # Whoever pays, everyone before them in the order was drained of what they could share.
    paid = {p.psn_no: p.total for p in s.mutual_aid}
    last = max(i for i, c in enumerate(eligible) if c.psn_no in paid)
    for c in eligible[:last]:
        assert paid.get(c.psn_no, 0) == share(c)
    assert [p.psn_no for p in s.mutual_aid] == [c.psn_no for c in eligible if c.psn_no in paid]


def _record_by_asdict(s) -> dict:
    """The record as ``to_record`` made it with ``dataclasses.asdict`` (before issue 11's CPU work)."""
    d = asdict(s)
    for line in d["lines"]:
        line["price"], line["count"] = str(line["price"]), str(line["count"])
        ceiling = line["item"]["price_ceiling"]
        line["item"]["price_ceiling"] = None if ceiling is None else str(ceiling)
    d["steps"] = list(s.steps)
    return d


@PROPS
@given(scenarios())
def test_record_round_trip_and_ledger_entry(scenario):
    policy, claim, patient, ytd, candidates = scenario
    s = settle(policy, claim, patient, ytd, candidates)
    assert from_record(json.loads(json.dumps(to_record(s), ensure_ascii=False))) == s
    assert to_record(s) == _record_by_asdict(s)  # the fast walk makes what dataclasses.asdict made
    entry = settlement_entry("setl:X", s, admdvs="360199", fund_pay_type="310100", institution="H1", ref="X")
    changes = net_changes(entry.transfers)
    assert all(t.amount > 0 for t in entry.transfers)
    assert changes.get(institution_account("H1"), (0, 0)) == (0, s.medfee)
    for payment in ([s.own] if s.own else []) + list(s.mutual_aid):
        for d in payment.draws:
            assert changes[person_bucket(payment.psn_no, d.bucket)][0] >= d.amount
    assert sum(d for d, _ in changes.values()) == sum(c for _, c in changes.values())


@PROPS
@given(scenarios())
def test_settle_is_pure(scenario):
    policy, claim, patient, ytd, candidates = scenario
    assert settle(policy, claim, patient, ytd, candidates) == settle(policy, claim, patient, ytd, candidates)


# Worked examples ---------------------------------------------------------------------------------

ITEM_A = CatalogItem("XJ01CAA0001", "阿莫西林胶囊", "01")
ITEM_B = CatalogItem("XB02BAA0002", "某乙类药品", "02", 1000)
ITEM_C = CatalogItem("ZZ0000000003", "某自费检查", "03")
ITEM_CEIL = CatalogItem("XC03AAA0004", "某限价耗材", "01", 0, Decimal("12.00"))
DAY = date(2025, 6, 1)


def line(sn: str, item: CatalogItem, price: str, count: str) -> FeeLine:
    p, n = Decimal(price), Decimal(count)
    return FeeLine(sn, item, round_half_up_fen(p * n), p, n)


def test_case_05_outpatient_pooled_fund():
    """1000.00 at a level-2 hospital: 50 自费, 30 超限价, 20 先行自付, 900 in scope; 300 deductible; 60%."""
    claim = Claim(
        DAY,
        "11",
        2,
        (
            line("1", ITEM_A, "60.00", "10"),
            line("2", ITEM_B, "100.00", "2"),
            line("3", ITEM_C, "50.00", "1"),
            line("4", ITEM_CEIL, "15.00", "10"),
        ),
        True,
    )
    patient = Patient("S", "张小明", "employee", "in_service", Buckets(50000, 0))
    s = settle(BASE_POLICY, claim, patient, YearToDate())
    assert [(x.ownpay, x.overlimit, x.preselfpay, x.in_scope) for x in s.lines] == [
        (0, 0, 0, 60000),
        (0, 0, 2000, 18000),
        (5000, 0, 0, 0),
        (0, 3000, 0, 12000),
    ]
    assert (s.medfee, s.ownpay, s.overlimit, s.preselfpay, s.in_scope) == (100000, 5000, 3000, 2000, 90000)
    assert (s.deductible, s.ratio_bp, s.fund_before_cap, s.fund_pay) == (30000, 6000, 36000, 36000)
    assert (s.patient_share, s.own_account_pay, s.mutual_aid_pay, s.cash) == (64000, 50000, 0, 14000)
    assert s.coinsurance == 24000 and s.over_cap == 0
    assert s.own_balance_after == 0
    assert (s.year_deductible_delta, s.year_fund_delta) == (30000, 36000)
    text = s.explanation
    for amount in ("1000.00元", "900.00元", "300.00元", "600.00元", "360.00元", "640.00元", "500.00元", "140.00元"):
        assert amount in text, amount
    assert "60%" in text
    assert "统筹基金" in text and "个人账户" in text and "现金" in text


def test_case_12_cap_and_mutual_aid():
    """1000.00 at level 3 (55%): fund 385; own 100; the mother pays 515 through mutual aid."""
    mother = PayerCandidate("M", "冯妈妈", "2", "parent", 1, True, Buckets(100000, 0))
    claim = Claim(DAY, "11", 3, (line("1", ITEM_A, "50.00", "20"),), True)
    s = settle(
        BASE_POLICY, claim, Patient("S", "冯小刚", "employee", "in_service", Buckets(10000, 0)), YearToDate(), [mother]
    )
    assert (s.deductible, s.fund_pay, s.own_account_pay, s.mutual_aid_pay, s.cash) == (30000, 38500, 10000, 51500, 0)
    assert [(d.bucket, d.amount) for d in s.mutual_aid[0].draws] == [("current", 51500)]
    assert "母亲冯*妈" in s.explanation and "515.00元" in s.explanation


def test_cap_reached_fund_pays_only_what_is_left():
    """Retired, level 1 (70%), 2900.00 of the 3000.00 cap already paid: the fund pays 100.00 of 350.00."""
    claim = Claim(DAY, "11", 1, (line("1", ITEM_A, "500.00", "1"),), True)
    patient = Patient("R", "张大山", "employee", "retired", Buckets(0, 0))
    s = settle(BASE_POLICY, claim, patient, YearToDate(deductible_used=20000, fund_paid=290000))
    assert (s.deductible, s.fund_before_cap, s.fund_pay, s.over_cap) == (0, 35000, 10000, 25000)
    assert (s.patient_share, s.cash) == (40000, 40000)
    assert "3000.00元" in s.explanation and "100.00元" in s.explanation


def test_case_02_balance_desc_takes_the_largest_balance_first():
    policy = apply_overrides(BASE_POLICY, {"mutual_aid.order": "balance_desc"})
    mother = PayerCandidate("M", "王秀英", "2", "parent", 1, True, Buckets(12000, 0))
    father = PayerCandidate("F", "李建国", "1", "parent", 2, True, Buckets(8000, 20000))
    claim = Claim(DAY, "41", 0, (line("1", ITEM_A, "20.00", "20"),), True)
    s = settle(
        policy,
        claim,
        Patient("D", "李小红", "employee", "in_service", Buckets(5000, 0)),
        YearToDate(),
        [mother, father],
    )
    assert s.fund_pay == 0 and s.own_account_pay == 5000
    assert [(p.psn_no, p.total) for p in s.mutual_aid] == [("F", 28000), ("M", 7000)]
    assert [(d.bucket, d.amount) for d in s.mutual_aid[0].draws] == [("current", 8000), ("historical", 20000)]
    assert s.cash == 0
    # Under the binding order the mother (position 1) pays first instead.
    s2 = settle(
        BASE_POLICY,
        claim,
        Patient("D", "李小红", "employee", "in_service", Buckets(5000, 0)),
        YearToDate(),
        [mother, father],
    )
    assert [(p.psn_no, p.total) for p in s2.mutual_aid] == [("M", 12000), ("F", 23000)]


def test_case_07_resident_child_without_account_uses_mutual_aid():
    mother = PayerCandidate("M", "周妈妈", "2", "parent", 1, True, Buckets(100000, 0))
    claim = Claim(DAY, "11", 1, (line("1", ITEM_A, "30.00", "10"),), True)
    s = settle(BASE_POLICY, claim, Patient("C", "周小宝", "resident", "resident", None), YearToDate(), [mother])
    assert (s.fund_pay, s.own_account_pay, s.mutual_aid_pay, s.cash) == (15000, 0, 15000, 0)
    assert s.own is None and s.own_balance_after is None


@pytest.mark.parametrize(("day", "pays"), [(date(2024, 12, 31), False), (date(2025, 1, 1), True)])
def test_sibling_relation_is_allowed_from_2025(day, pays):
    sister = PayerCandidate("X", "张小丽", "2", "sibling", 1, True, Buckets(100000, 0))
    claim = Claim(day, "41", 0, (line("1", ITEM_A, "90.00", "1"),), True)
    s = settle(
        BASE_POLICY, claim, Patient("S", "张小明", "employee", "in_service", Buckets(0, 0)), YearToDate(), [sister]
    )
    assert s.mutual_aid_pay == (9000 if pays else 0)
    assert s.cash == (0 if pays else 9000)
    if not pays:
        assert "姐妹张*丽" in s.explanation and "不在共济范围内" in s.explanation


def test_waiting_period_example_explains_itself():
    claim = Claim(DAY, "11", 1, (line("1", ITEM_A, "100.00", "1"),), True)
    patient = Patient("C", "周小宝", "resident", "resident", None, in_waiting=True, waiting_until=date(2025, 9, 1))
    s = settle(BASE_POLICY, claim, patient, YearToDate())
    assert (s.fund_pay, s.cash) == (0, 10000)
    assert "等待期" in s.explanation and "2025-09-01" in s.explanation


def test_offsite_unfiled_takes_twenty_points_off():
    claim = Claim(DAY, "11", 1, (line("1", ITEM_A, "400.00", "1"),), False, offsite="unfiled")
    s = settle(BASE_POLICY, claim, Patient("S", "张小明", "employee", "in_service", Buckets(0, 0)), YearToDate(30000))
    assert s.ratio_bp == 4500  # 65% − 20 points
    assert s.fund_pay == 18000
    assert "45%" in s.explanation


def test_inpatient_deductible_is_per_admission():
    claim = Claim(DAY, "21", 2, (line("1", ITEM_A, "1000.00", "1"),), False)
    patient = Patient("S", "张小明", "employee", "in_service", Buckets(0, 0))
    first = settle(BASE_POLICY, claim, patient, YearToDate(deductible_used=10**6))
    assert first.deductible == 50000  # the year's outpatient/inpatient use does not count
    interim = settle(BASE_POLICY, claim, patient, YearToDate(visit_deductible_used=50000))
    assert interim.deductible == 0
    assert interim.fund_pay == 90000


def test_all_permutations_of_bucket_orders_are_respected():
    claim = Claim(DAY, "41", 0, (line("1", ITEM_A, "150.00", "1"),), True)
    for order in permutations(["current", "historical"]):
        policy = apply_overrides(BASE_POLICY, {"account.bucket_order": list(order)})
        s = settle(policy, claim, Patient("S", "张", "employee", "in_service", Buckets(10000, 10000)), YearToDate())
        assert [(d.bucket, d.amount) for d in s.own.draws] == [(order[0], 10000), (order[1], 5000)]
