"""Steps 4–10 of ``spec/policy-format.md``: who pays what, to the fen, and why.

``settle`` is a pure function of the claim, the patient, their year-to-date accumulators, the
relatives who granted mutual aid, and the policy. It returns every figure and a Chinese
explanation; it never writes anything, so pre-settlement is the same call with the result discarded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from yibao.money import apply_ratio
from yibao.policy.model import Policy
from yibao.settlement.amounts import account_segment, deductible_due, reduced_ratio, take, within_cap
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
    Patient,
    PayerCandidate,
    Settlement,
    YearToDate,
)
from yibao.words import PART_NAMES

PARTS = ("ownpay", "overlimit", "preselfpay", "deductible", "coinsurance", "over_cap")


class UnknownMedType(ValueError):
    """The policy maps no category to this med_type."""


def category_of(policy: Policy, day, med_type: str) -> str:
    mapping = policy.value("settlement.med_type_category", day, default={})
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
    ratio = policy.value(f"{base}.ratio", day, default=None, **dims)
    if ratio is None:
        return Benefit(
            False,
            f"{SCHEME_NAMES[scheme]}{CATEGORY_NAMES[category]}在{LEVEL_NAMES[level]}"
            f"（{CLASS_NAMES[person_class]}）不设统筹基金支付",
        )
    return Benefit(
        True,
        "",
        deductible=policy.value(f"{base}.deductible", day, default=0, **dims),
        scope=policy.value(f"{base}.deductible_scope", day, default="year"),
        ratio_bp=ratio,
        cap=policy.value(f"{base}.cap", day, default=None, **dims),
        segment=policy.value(f"{base}.account_segment", day, default=()),
    )


def _benefit(policy: Policy, claim: Claim, patient: Patient, category: str) -> Benefit:
    terms = benefit_terms(
        policy, claim.day, patient.scheme, category, patient.person_class, claim.hospital_level, patient.age
    )
    if terms.in_force and patient.in_waiting:
        until = f"，{patient.waiting_until}起享受待遇" if patient.waiting_until else ""
        return Benefit(False, f"处于待遇等待期{until}，统筹基金不予支付")
    return terms


def _draw(balances: Buckets, order: Sequence[str], want: int) -> tuple[tuple[Draw, ...], int]:
    """Take up to ``want`` from the buckets in ``order``, never below zero in any bucket."""
    draws, left = [], want
    for bucket in order:
        if left <= 0:
            break
        got = take(left, balances.get(bucket))
        if got > 0:
            draws.append(Draw(bucket, got))
            left -= got
    return tuple(draws), want - left


def _segment(b: Benefit, claim: Claim, patient: Patient, inscp: int) -> int:
    """How much of the in-scope amount the 当年账户段 takes: only when the account is used at all."""
    if not b.segment or not claim.acct_used or patient.account is None:
        return 0
    a = patient.account
    return account_segment(inscp, a.current, a.historical, "current" in b.segment, "historical" in b.segment)


def _draw_own(
    balances: Buckets, segment_buckets: Sequence[str], segment: int, order: Sequence[str], payable: int
) -> tuple[tuple[Draw, ...], int]:
    """The segment from its own buckets first, then the rest of ``payable`` in the account's order."""
    first, paid_first = _draw(balances, segment_buckets, segment)
    assert paid_first == segment, "the segment never exceeds its buckets' balance"
    taken = {d.bucket: d.amount for d in first}
    left = Buckets(balances.current - taken.get("current", 0), balances.historical - taken.get("historical", 0))
    rest, paid_rest = _draw(left, order, payable - segment)
    for d in rest:
        taken[d.bucket] = taken.get(d.bucket, 0) + d.amount
    ordered = list(dict.fromkeys([*(d.bucket for d in first), *order]))
    return tuple(Draw(x, taken[x]) for x in ordered if taken.get(x)), paid_first + paid_rest


def eligible_payers(
    policy: Policy, claim: Claim, category: str, patient: Patient, candidates: Sequence[PayerCandidate]
) -> tuple[list[PayerCandidate], list[str]]:
    """The relatives who may pay for this claim, in draw order, and notes on those who may not."""
    day, notes = claim.day, []
    if not policy.value("mutual_aid.enabled", day, default=False):
        return [], (["本统筹区未开通家庭共济"] if candidates else [])
    if category not in policy.value("mutual_aid.uses", day, default=()):
        return [], ([f"家庭共济不可用于{CATEGORY_NAMES[category]}"] if candidates else [])
    allowed = policy.value("mutual_aid.relations", day, default=())
    shareable = policy.value("mutual_aid.buckets", day, default=("current", "historical"))
    out = []
    for c in candidates:
        who = f"{relation_word(c.relation, c.gender)}{mask_name(c.name)}"
        if c.psn_no == patient.psn_no:
            continue
        if c.relation not in allowed:
            notes.append(f"{who}：该亲属关系在{day}不在共济范围内")
        elif not c.insured_active or c.balances is None:
            notes.append(f"{who}：未处于职工医保有效参保状态，不能共济")
        else:
            out.append(c)
    if policy.value("mutual_aid.order", day, default="binding_order") == "balance_desc":
        out.sort(key=lambda c: (-sum(max(c.balances.get(b), 0) for b in shareable), c.order, c.psn_no))
    else:
        out.sort(key=lambda c: (c.order, c.psn_no))
    return out, notes


def settle(
    policy: Policy,
    claim: Claim,
    patient: Patient,
    ytd: YearToDate,
    payers: Sequence[PayerCandidate] = (),
) -> Settlement:
    day = claim.day
    category = category_of(policy, day, claim.med_type)
    steps: list[str] = []

    # Steps 1–3: fee lines.
    lines = split_lines(claim.lines)
    medfee = sum(s.amount for s in lines)
    ownpay = sum(s.ownpay for s in lines)
    overlimit = sum(s.overlimit for s in lines)
    preselfpay = sum(s.preselfpay for s in lines)
    inscp = sum(s.in_scope for s in lines)
    if medfee < 0 or inscp < 0:
        raise ValueError("费用合计不能为负数")
    split = [("全自费", ownpay), ("超限价自费", overlimit), ("乙类先行自付", preselfpay)]
    shown_split = "".join(f"{label}{yuan(v)}，" for label, v in split if v)
    steps.append(f"医疗费总额{yuan(medfee)}：{shown_split}符合政策范围{yuan(inscp)}。")

    # Steps 4–6: deductible, ratio, cap.
    b = _benefit(policy, claim, patient, category)
    who = (
        f"{SCHEME_NAMES[patient.scheme]}{CATEGORY_NAMES[category]}"
        f"（{CLASS_NAMES[patient.person_class]}，{LEVEL_NAMES[claim.hospital_level]}）"
    )
    ratio = deductible = fund = hifp = segment = 0
    if b.in_force:
        segment = _segment(b, claim, patient, inscp)
        if segment:
            steps.append(
                f"当年账户段：符合政策范围的费用先由本人{'、'.join(BUCKET_NAMES[x] for x in b.segment)}支付"
                f"{yuan(segment)}，这部分不计入起付线，统筹基金不支付。"
            )
        pooled = inscp - segment  # what reaches 起付段 and 共付段
        used = ytd.deductible_used if b.scope == "year" else ytd.visit_deductible_used
        left = max(b.deductible - used, 0)
        deductible = deductible_due(pooled, b.deductible, used)
        scope_word = "本年" if b.scope == "year" else "本次住院"
        if b.deductible == 0:
            steps.append(f"{who}：不设起付线。")
        else:
            steps.append(
                f"{who}：{scope_word}起付线{yuan(b.deductible)}，已累计{yuan(min(used, b.deductible))}，"
                f"剩余{yuan(left)}，本次计入起付线{yuan(deductible)}。"
            )
        ratio = b.ratio_bp
        if claim.offsite:
            cut = policy.value("offsite.ratio_reduction", day, default={}).get(claim.offsite, 0)
            ratio = reduced_ratio(b.ratio_bp, cut)
            steps.append(
                f"{OFFSITE_NAMES[claim.offsite]}：支付比例由{pct(b.ratio_bp)}降低{pct(cut)}，按{pct(ratio)}支付。"
            )
        fund = apply_ratio(pooled - deductible, ratio)
        if b.cap is None:
            hifp = fund
            cap_text = "不设年度限额"
        else:
            cap_left = max(b.cap - ytd.fund_paid, 0)
            hifp = within_cap(fund, b.cap, ytd.fund_paid)
            cap_text = f"年度限额{yuan(b.cap)}，已支付{yuan(ytd.fund_paid)}，剩余{yuan(cap_left)}"
        steps.append(
            f"起付线以上{yuan(pooled - deductible)}按{pct(ratio)}应由统筹基金支付{yuan(fund)}；"
            f"{cap_text}；统筹基金实际支付{yuan(hifp)}。"
        )
    else:
        steps.append(f"{b.reason}：统筹基金支付{yuan(0)}，不计入起付线和年度累计。")
    fund_note = steps[-1]

    # Step 7: the personal burden and its parts.
    psn_part = medfee - hifp
    parts = {
        "account_segment": segment,
        "ownpay": ownpay,
        "overlimit": overlimit,
        "preselfpay": preselfpay,
        "deductible": deductible,
        "coinsurance": inscp - segment - deductible - fund,
        "over_cap": fund - hifp,
    }
    names = PART_NAMES if b.in_force else {**PART_NAMES, "coinsurance": "政策范围内自付"}
    shown = "，".join(f"{names[k]}{yuan(v)}" for k, v in parts.items() if v)
    steps.append(f"个人负担{yuan(psn_part)}" + (f"（{shown}）。" if shown else "。"))

    # Step 8: the patient's own account.
    payable_parts = policy.value("account.payable_parts", day, default=PARTS)
    payable = segment + sum(parts[k] for k in payable_parts)  # the segment is account money by definition
    own: AccountPayment | None = None
    own_after: int | None = patient.account.total if patient.account else None
    own_note = ""
    if not claim.acct_used:
        steps.append("个人账户使用标志为0：本次不使用个人账户和家庭共济，个人负担全部以现金支付。")
    elif not claim.own_account:
        steps.append("个人账户使用标志为2：使用共济人个人账户支付，本人个人账户不支付。")
    elif patient.account is None:
        steps.append("本人没有职工医保个人账户。")
    else:
        order = policy.value("account.bucket_order", day, default=("current", "historical"))
        draws, paid = _draw_own(patient.account, b.segment, segment, order, payable)
        own = AccountPayment(patient.psn_no, patient.name, None, "", draws)
        own_after = patient.account.total - paid
        by_bucket = "，".join(f"{BUCKET_NAMES[d.bucket]}{yuan(d.amount)}" for d in draws)
        not_payable = psn_part - payable
        scope = f"其中账户可支付{yuan(payable)}" + (
            f"（另有{yuan(not_payable)}不属于账户支付范围）" if not_payable else ""
        )
        own_note = (
            f"{scope}：本人个人账户支付{yuan(paid)}"
            + (f"（{by_bucket}）" if by_bucket else "")
            + f"，支付后余额{yuan(own_after)}。"
        )
        steps.append(own_note)

    # Step 9: mutual aid, in the region's order.
    aid: list[AccountPayment] = []
    remainder = payable - (own.total if own else 0)
    if claim.acct_used and remainder > 0:
        ordered, notes = eligible_payers(policy, claim, category, patient, payers)
        steps.extend(f"家庭共济：{n}。" for n in notes)
        shareable = policy.value("mutual_aid.buckets", day, default=("current", "historical"))
        for c in ordered:
            if remainder <= 0:
                break
            draws, paid = _draw(c.balances, shareable, remainder)
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

    # Step 10: cash.
    acct_pay = own.total if own else 0
    mulaid = sum(p.total for p in aid)
    cash = psn_part - acct_pay - mulaid
    why = []
    if cash and claim.acct_used:
        if payable - acct_pay - mulaid > 0:
            why.append("本人账户" + ("和家庭共济账户" if aid or payers else "") + "余额不足")
        if psn_part - payable > 0:
            why.append(f"{yuan(psn_part - payable)}不属于账户支付范围")
    steps.append(f"个人现金支付{yuan(cash)}" + (f"（{'；'.join(why)}）" if why else "") + "。")

    return Settlement(
        category=category,
        scheme=patient.scheme,
        person_class=patient.person_class,
        hospital_level=claim.hospital_level,
        benefit=b.in_force,
        ratio_bp=ratio,
        deductible_scope=b.scope,
        lines=lines,
        medfee=medfee,
        ownpay=ownpay,
        overlimit=overlimit,
        preselfpay=preselfpay,
        in_scope=inscp,
        deductible=deductible,
        fund_before_cap=fund,
        fund_pay=hifp,
        coinsurance=parts["coinsurance"],
        over_cap=parts["over_cap"],
        payable=payable,
        own=own,
        mutual_aid=tuple(aid),
        cash=cash,
        own_balance_after=own_after,
        year_deductible_delta=deductible if b.in_force else 0,
        year_fund_delta=hifp if b.in_force else 0,
        steps=tuple(steps),
        fund_note=fund_note,
        own_note=own_note,
        account_segment=segment,
    )
