"""Steps 4–10 of ``spec/policy-format.md``: who pays what, to the fen, and why.

``settle`` is a pure function of the claim, the patient, their year-to-date accumulators, the
relatives who granted mutual aid, and the policy. It returns every figure and a Chinese
explanation; it never writes anything, so pre-settlement is the same call with the result discarded.

It reads as its steps: split the lines, the pooled fund (account segment, deductible, ratio, cap),
the patient's share and its parts, the own account, mutual aid, cash. Each step asserts its
postconditions (``errors.invariant``: parts ≥ 0, parts adding up to the total to the fen, caps and
balances respected); a broken one is an internal error, never a refusal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from yibao.errors import invariant
from yibao.money import RATIO_SCALE, apply_ratio
from yibao.policy.model import Policy
from yibao.settlement.amounts import account_segment, deductible_due, reduced_ratio, within_cap
from yibao.settlement.explain import (
    BUCKET_NAMES,
    CATEGORY_NAMES,
    CLASS_NAMES,
    LEVEL_NAMES,
    OFFSITE_NAMES,
    SCHEME_NAMES,
    mask_name,
    pct,
    relation_word,
    yuan,
)
from yibao.settlement.lines import split_lines
from yibao.settlement.model import (
    AccountPayment,
    Buckets,
    Claim,
    Draw,
    LineSplit,
    Patient,
    PayerCandidate,
    Settlement,
    YearToDate,
)
from yibao.settlement.mutual_aid import draw, in_draw_order, may_pay, terms_on
from yibao.words import PART_NAMES

PARTS = ("ownpay", "overlimit", "preselfpay", "deductible", "coinsurance", "over_cap")


class UnknownMedType(ValueError):
    """The policy maps no category to this med_type."""


class NegativeTotal(ValueError):
    """The claim's lines add up to less than zero: a refusal (E2207-002), not an internal error."""


def med_type_categories(policy: Policy, day) -> dict[str, str]:
    """med_type → category in force on ``day`` (a required key; none in force maps nothing)."""
    key = "settlement.med_type_category"
    return policy.setting(key, day) if policy.has(key, day) else {}


def category_of(policy: Policy, day, med_type: str) -> str:
    mapping = med_type_categories(policy, day)
    if med_type not in mapping:
        raise UnknownMedType(med_type)
    return mapping[med_type]


@dataclass(frozen=True)
class Benefit:
    in_force: bool
    reason: str  # why there is none, for the explanation
    deductible: int = 0
    scope: str | None = None
    ratio_bp: int = 0
    cap: int | None = None  # None: no annual cap
    segment: tuple[str, ...] = ()  # 当年账户段: own buckets that pay the in-scope amount before the deductible


def benefit_terms(
    policy: Policy, day, scheme: str, category: str, person_class: str, level: int, age: int | None = None
) -> Benefit:
    """The deductible, its scope, the ratio and the annual cap in force on ``day`` (waiting periods
    aside), or why the pooled fund pays nothing in this category."""
    base = f"benefit.{scheme}.{category}"
    dims = {"person_class": person_class, "hospital_level": level}
    if age is not None:
        dims["age"] = age
    if not any(policy.has(f"{base}.{f}", day) for f in ("deductible", "ratio", "cap")):
        return Benefit(False, f"{SCHEME_NAMES[scheme]}{CATEGORY_NAMES[category]}不设统筹基金支付")
    ratio = policy.setting(f"{base}.ratio", day, **dims)
    if ratio is None:
        return Benefit(
            False,
            f"{SCHEME_NAMES[scheme]}{CATEGORY_NAMES[category]}在{LEVEL_NAMES[level]}"
            f"（{CLASS_NAMES[person_class]}）不设统筹基金支付",
        )
    return Benefit(
        True,
        "",
        deductible=policy.setting(f"{base}.deductible", day, **dims),
        scope=policy.setting(f"{base}.deductible_scope", day),
        ratio_bp=ratio,
        cap=policy.setting(f"{base}.cap", day, **dims),
        segment=policy.setting(f"{base}.account_segment", day),
    )


def _benefit(policy: Policy, claim: Claim, patient: Patient, category: str) -> Benefit:
    terms = benefit_terms(
        policy, claim.day, patient.scheme, category, patient.person_class, claim.hospital_level, patient.age
    )
    if terms.in_force and patient.in_waiting:
        until = f"，{patient.waiting_until}起享受待遇" if patient.waiting_until else ""
        return Benefit(False, f"处于待遇等待期{until}，统筹基金不予支付")
    return terms


def eligible_payers(
    policy: Policy, claim: Claim, category: str, patient: Patient, candidates: Sequence[PayerCandidate]
) -> tuple[list[PayerCandidate], list[str]]:
    """The relatives who may pay for this claim, in draw order, and notes on those who may not."""
    day, notes = claim.day, []
    terms = terms_on(policy, day)
    if not terms.enabled:
        return [], (["本统筹区未开通家庭共济"] if candidates else [])
    if not terms.usable_for(category):
        return [], ([f"家庭共济不可用于{CATEGORY_NAMES[category]}"] if candidates else [])
    out = []
    for c in candidates:
        who = f"{relation_word(c.relation, c.gender)}{mask_name(c.name)}"
        if c.psn_no == patient.psn_no:
            continue
        if not terms.allows(c.relation):
            notes.append(f"{who}：该亲属关系在{day}不在共济范围内")
        elif not may_pay(c.insured_active, c.balances is not None):
            notes.append(f"{who}：未处于职工医保有效参保状态，不能共济")
        else:
            out.append(c)
    return in_draw_order(terms, out), notes


# Steps 1–3: the fee lines ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    lines: tuple[LineSplit, ...]
    medfee: int
    ownpay: int
    overlimit: int
    preselfpay: int
    in_scope: int


def split_claim(claim: Claim, steps: list[str]) -> Split:
    lines = split_lines(claim.lines)
    s = Split(
        lines,
        medfee=sum(x.amount for x in lines),
        ownpay=sum(x.ownpay for x in lines),
        overlimit=sum(x.overlimit for x in lines),
        preselfpay=sum(x.preselfpay for x in lines),
        in_scope=sum(x.in_scope for x in lines),
    )
    if s.medfee < 0 or s.in_scope < 0:
        raise NegativeTotal("费用合计不能为负数")
    invariant(
        all(x.ownpay + x.overlimit + x.preselfpay + x.in_scope == x.amount for x in lines),
        "each line's parts add up to the line",
    )
    invariant(s.ownpay + s.overlimit + s.preselfpay + s.in_scope == s.medfee, "the split adds up to the total")
    split = [("全自费", s.ownpay), ("超限价自费", s.overlimit), ("乙类先行自付", s.preselfpay)]
    shown = "".join(f"{label}{yuan(v)}，" for label, v in split if v)
    steps.append(f"医疗费总额{yuan(s.medfee)}：{shown}符合政策范围{yuan(s.in_scope)}。")
    return s


# Steps 4–6: the pooled fund -------------------------------------------------------------------------


@dataclass(frozen=True)
class Fund:
    segment: int = 0  # 当年账户段, paid by the own account outside the fund
    deductible: int = 0  # act_pay_dedc
    ratio_bp: int = 0
    before_cap: int = 0  # F
    pay: int = 0  # what the pooled fund pays


def account_segment_step(b: Benefit, claim: Claim, patient: Patient, in_scope: int, steps: list[str]) -> int:
    """Step 4′: how much of the in-scope amount the 当年账户段 takes (only when the account is used)."""
    if not b.segment or not claim.acct_used or patient.account is None:
        return 0
    a = patient.account
    segment = account_segment(in_scope, a.current, a.historical, "current" in b.segment, "historical" in b.segment)
    invariant(0 <= segment <= in_scope, "the account segment lies within the in-scope amount")
    if segment:
        steps.append(
            f"当年账户段：符合政策范围的费用先由本人{'、'.join(BUCKET_NAMES[x] for x in b.segment)}支付"
            f"{yuan(segment)}，这部分不计入起付线，统筹基金不支付。"
        )
    return segment


def deductible_step(b: Benefit, ytd: YearToDate, pooled: int, who: str, steps: list[str]) -> int:
    """Step 4: what this claim counts towards the deductible (this year's, or this admission's)."""
    used = ytd.deductible_used if b.scope == "year" else ytd.visit_deductible_used
    left = max(b.deductible - used, 0)
    deductible = deductible_due(pooled, b.deductible, used)
    invariant(0 <= deductible <= min(pooled, left), "the deductible counted is within what is left of it")
    scope_word = "本年" if b.scope == "year" else "本次住院"
    if b.deductible == 0:
        steps.append(f"{who}：不设起付线。")
    else:
        steps.append(
            f"{who}：{scope_word}起付线{yuan(b.deductible)}，已累计{yuan(min(used, b.deductible))}，"
            f"剩余{yuan(left)}，本次计入起付线{yuan(deductible)}。"
        )
    return deductible


def ratio_step(policy: Policy, b: Benefit, claim: Claim, steps: list[str]) -> int:
    """Step 5: the ratio in basis points, reduced for care off-site."""
    if not claim.offsite:
        return b.ratio_bp
    cut = policy.setting("offsite.ratio_reduction", claim.day).get(claim.offsite, 0)
    ratio = reduced_ratio(b.ratio_bp, cut)
    invariant(0 <= ratio <= b.ratio_bp, "an off-site reduction only lowers the ratio")
    steps.append(f"{OFFSITE_NAMES[claim.offsite]}：支付比例由{pct(b.ratio_bp)}降低{pct(cut)}，按{pct(ratio)}支付。")
    return ratio


def cap_step(b: Benefit, ytd: YearToDate, above: int, ratio: int, fund: int, steps: list[str]) -> int:
    """Step 6: what the pooled fund pays within this year's cap."""
    if b.cap is None:
        pay, cap_text = fund, "不设年度限额"
    else:
        cap_left = max(b.cap - ytd.fund_paid, 0)
        pay = within_cap(fund, b.cap, ytd.fund_paid)
        invariant(pay <= cap_left, "the pooled fund never pays past the annual cap")
        cap_text = f"年度限额{yuan(b.cap)}，已支付{yuan(ytd.fund_paid)}，剩余{yuan(cap_left)}"
    invariant(0 <= pay <= fund, "the cap only lowers what the fund pays")
    steps.append(
        f"起付线以上{yuan(above)}按{pct(ratio)}应由统筹基金支付{yuan(fund)}；{cap_text}；统筹基金实际支付{yuan(pay)}。"
    )
    return pay


def pooled_fund_step(
    policy: Policy, b: Benefit, claim: Claim, patient: Patient, ytd: YearToDate, who: str, s: Split, steps: list[str]
) -> Fund:
    """Steps 4–6 together: segment, deductible, ratio, cap — or why the fund pays nothing."""
    if not b.in_force:
        steps.append(f"{b.reason}：统筹基金支付{yuan(0)}，不计入起付线和年度累计。")
        return Fund()
    segment = account_segment_step(b, claim, patient, s.in_scope, steps)
    pooled = s.in_scope - segment  # what reaches 起付段 and 共付段
    deductible = deductible_step(b, ytd, pooled, who, steps)
    ratio = ratio_step(policy, b, claim, steps)
    invariant(0 <= ratio <= RATIO_SCALE, "a ratio lies between 0 and 100%")
    fund = apply_ratio(pooled - deductible, ratio)
    invariant(0 <= fund <= pooled - deductible, "the fund's share lies within the amount above the deductible")
    pay = cap_step(b, ytd, pooled - deductible, ratio, fund, steps)
    return Fund(segment, deductible, ratio, fund, pay)


# Step 7: the patient's share and its parts ----------------------------------------------------------


def patient_parts_step(b: Benefit, s: Split, f: Fund, steps: list[str]) -> tuple[int, dict[str, int]]:
    share = s.medfee - f.pay
    parts = {
        "account_segment": f.segment,
        "ownpay": s.ownpay,
        "overlimit": s.overlimit,
        "preselfpay": s.preselfpay,
        "deductible": f.deductible,
        "coinsurance": s.in_scope - f.segment - f.deductible - f.before_cap,
        "over_cap": f.before_cap - f.pay,
    }
    invariant(sum(parts.values()) == share, "the parts add up to the patient's share")
    invariant(min(parts["coinsurance"], parts["over_cap"], parts["deductible"]) >= 0, "computed parts are ≥ 0")
    names = PART_NAMES if b.in_force else {**PART_NAMES, "coinsurance": "政策范围内自付"}
    shown = "，".join(f"{names[k]}{yuan(v)}" for k, v in parts.items() if v)
    steps.append(f"个人负担{yuan(share)}" + (f"（{shown}）。" if shown else "。"))
    return share, parts


# Step 8: the patient's own account ------------------------------------------------------------------


@dataclass(frozen=True)
class Own:
    payment: AccountPayment | None = None
    balance_after: int | None = None
    note: str = ""


def _draw_own(
    balances: Buckets, segment_buckets: Sequence[str], segment: int, order: Sequence[str], payable: int
) -> tuple[tuple[Draw, ...], int]:
    """The segment from its own buckets first, then the rest of ``payable`` in the account's order."""
    first, paid_first = draw(balances, segment_buckets, segment)
    invariant(paid_first == segment, "the segment never exceeds its buckets' balance")
    taken = {d.bucket: d.amount for d in first}
    left = Buckets(balances.current - taken.get("current", 0), balances.historical - taken.get("historical", 0))
    rest, paid_rest = draw(left, order, payable - segment)
    for d in rest:
        taken[d.bucket] = taken.get(d.bucket, 0) + d.amount
    ordered = list(dict.fromkeys([*(d.bucket for d in first), *order]))
    return tuple(Draw(x, taken[x]) for x in ordered if taken.get(x)), paid_first + paid_rest


def own_account_step(
    policy: Policy, b: Benefit, claim: Claim, patient: Patient, segment: int, payable: int, share: int, steps
) -> Own:
    balance = patient.account.total if patient.account else None
    if not claim.acct_used:
        steps.append("个人账户使用标志为0：本次不使用个人账户和家庭共济，个人负担全部以现金支付。")
        return Own(balance_after=balance)
    if not claim.own_account:
        steps.append("个人账户使用标志为2：使用共济人个人账户支付，本人个人账户不支付。")
        return Own(balance_after=balance)
    if patient.account is None:
        steps.append("本人没有职工医保个人账户。")
        return Own()
    order = policy.setting("account.bucket_order", claim.day)
    draws, paid = _draw_own(patient.account, b.segment, segment, order, payable)
    invariant(0 <= paid <= max(payable, segment), "the own account pays only what account money may pay")
    own = AccountPayment(patient.psn_no, patient.name, None, "", draws)
    after = patient.account.total - paid
    by_bucket = "，".join(f"{BUCKET_NAMES[d.bucket]}{yuan(d.amount)}" for d in draws)
    not_payable = share - payable
    scope = f"其中账户可支付{yuan(payable)}" + (f"（另有{yuan(not_payable)}不属于账户支付范围）" if not_payable else "")
    note = (
        f"{scope}：本人个人账户支付{yuan(paid)}"
        + (f"（{by_bucket}）" if by_bucket else "")
        + f"，支付后余额{yuan(after)}。"
    )
    steps.append(note)
    return Own(own, after, note)


# Step 9: mutual aid ---------------------------------------------------------------------------------


def mutual_aid_step(
    policy: Policy,
    claim: Claim,
    category: str,
    patient: Patient,
    payers: Sequence[PayerCandidate],
    remainder: int,
    steps: list[str],
) -> tuple[AccountPayment, ...]:
    """Relatives' accounts, in the region's order, for what account money may still pay."""
    if not claim.acct_used or remainder <= 0:
        return ()
    want = remainder
    ordered, notes = eligible_payers(policy, claim, category, patient, payers)
    steps.extend(f"家庭共济：{n}。" for n in notes)
    buckets = terms_on(policy, claim.day).buckets
    aid: list[AccountPayment] = []
    for c in ordered:
        if remainder <= 0:
            break
        draws, paid = draw(c.balances, buckets, remainder)
        if paid:
            aid.append(AccountPayment(c.psn_no, c.name, c.relation, c.gender, draws))
            remainder -= paid
            by_bucket = "，".join(f"{BUCKET_NAMES[d.bucket]}{yuan(d.amount)}" for d in draws)
            steps.append(
                f"家庭共济：{relation_word(c.relation, c.gender)}{mask_name(c.name)}的个人账户支付"
                f"{yuan(paid)}（{by_bucket}）。"
            )
    if ordered and remainder > 0 and not aid:
        steps.append("家庭共济：授权人的可共济余额为0。")
    invariant(0 <= sum(p.total for p in aid) <= want, "mutual aid pays no more than was left to pay")
    return tuple(aid)


# Step 10: cash ------------------------------------------------------------------------------------


def cash_step(claim: Claim, share: int, payable: int, own: int, aid: int, relatives: bool, steps: list[str]) -> int:
    cash = share - own - aid
    why = []
    if cash and claim.acct_used:
        if payable - own - aid > 0:
            why.append("本人账户" + ("和家庭共济账户" if relatives else "") + "余额不足")
        if share - payable > 0:
            why.append(f"{yuan(share - payable)}不属于账户支付范围")
    steps.append(f"个人现金支付{yuan(cash)}" + (f"（{'；'.join(why)}）" if why else "") + "。")
    return cash


def settle(
    policy: Policy,
    claim: Claim,
    patient: Patient,
    ytd: YearToDate,
    payers: Sequence[PayerCandidate] = (),
) -> Settlement:
    category = category_of(policy, claim.day, claim.med_type)
    steps: list[str] = []
    s = split_claim(claim, steps)
    b = _benefit(policy, claim, patient, category)
    who = (
        f"{SCHEME_NAMES[patient.scheme]}{CATEGORY_NAMES[category]}"
        f"（{CLASS_NAMES[patient.person_class]}，{LEVEL_NAMES[claim.hospital_level]}）"
    )
    f = pooled_fund_step(policy, b, claim, patient, ytd, who, s, steps)
    fund_note = steps[-1]
    share, parts = patient_parts_step(b, s, f, steps)
    payable_parts = policy.setting("account.payable_parts", claim.day)
    payable = f.segment + sum(parts[k] for k in payable_parts)  # the segment is account money by definition
    own = own_account_step(policy, b, claim, patient, f.segment, payable, share, steps)
    own_paid = own.payment.total if own.payment else 0
    aid = mutual_aid_step(policy, claim, category, patient, payers, payable - own_paid, steps)
    aid_paid = sum(p.total for p in aid)
    cash = cash_step(claim, share, payable, own_paid, aid_paid, bool(aid or payers), steps)
    invariant(f.pay + own_paid + aid_paid + cash == s.medfee, "fund + own account + mutual aid + cash = total")
    if min(s.ownpay, s.overlimit, s.preselfpay) >= 0:  # refund lines may make an input part negative
        invariant(cash >= 0, "cash is never negative")
    return Settlement(
        category=category,
        scheme=patient.scheme,
        person_class=patient.person_class,
        hospital_level=claim.hospital_level,
        benefit=b.in_force,
        ratio_bp=f.ratio_bp,
        deductible_scope=b.scope,
        **{x.name: getattr(s, x.name) for x in fields(Split)},  # the split's figures, under their names
        deductible=f.deductible,
        fund_before_cap=f.before_cap,
        fund_pay=f.pay,
        coinsurance=parts["coinsurance"],
        over_cap=parts["over_cap"],
        payable=payable,
        own=own.payment,
        mutual_aid=aid,
        cash=cash,
        own_balance_after=own.balance_after,
        year_deductible_delta=f.deductible if b.in_force else 0,
        year_fund_delta=f.pay if b.in_force else 0,
        steps=tuple(steps),
        fund_note=fund_note,
        own_note=own.note,
        account_segment=f.segment,
    )
