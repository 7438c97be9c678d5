"""Filings (备案, 2501–2507) and the entitlement check (2001), and what filings change at settlement.

- A chronic/special-disease filing (2503) is what lets a visit settle as 门诊慢特病 where the region's
  policy has a chronic benefit (``benefit.<scheme>.chronic.*``): a medical type the policy maps to
  the ``chronic`` category is then refused without a filing covering the day, and with one the
  chronic benefit applies. (No shipped region has such a benefit yet; see docs/gateway.md.)
- A transfer filing (2501) to an institution in another region makes care there 异地转诊 — one of the
  临时外出就医 kinds (医保发〔2022〕22号) — so the ratio is reduced as ``offsite.ratio_reduction``
  says for ``temporary`` instead of ``unfiled``.
- Designated-institution (2505) and accident (2507) filings are kept and shown (2001, 5302); no
  shipped policy makes settlement depend on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from yibao.care.ids import filing_public_id, parse_filing_id
from yibao.care.model import Filing, Institution
from yibao.errors import DomainError, refuse
from yibao.lifecycle.model import FUND_PAY_TYPE, Person
from yibao.services.care import institution_or_refuse, insurance_on, person_or_refuse
from yibao.services.lifecycle import offsite_status
from yibao.services.platform import Platform
from yibao.settlement.calculate import UnknownMedType, benefit_terms, category_of
from yibao.storage.uow import Tx

KIND_NAMES = {"transfer": "转院", "chronic": "门诊慢特病", "designated": "人员定点", "accident": "意外伤害"}
CANCELS = {"2502": "transfer", "2504": "chronic", "2506": "designated"}
CHRONIC_CATALOGUE = "1309"  # 门诊慢特病种目录: when loaded, a chronic filing must name one of its codes


@dataclass(frozen=True)
class NewFiling:
    kind: str
    psn_no: str
    insutype: str | None
    begndate: date
    enddate: date | None
    info: dict
    code: str | None = None
    name: str | None = None
    target_code: str | None = None
    target_name: str | None = None


# A new filing's fields stored under their own names (its psn_no becomes the person's id).
_FILING_COLUMNS = ("kind", "insutype", "code", "name", "target_code", "target_name", "begndate", "enddate", "info")


def sn_of(person: Person, filing_id: int) -> str:
    return filing_public_id(person.admdvs, filing_id)


def add_filing(platform: Platform, tx: Tx, asking: str, f: NewFiling) -> str:
    """Record one filing after its rules; the answer's 待遇申报明细流水号."""
    institution_or_refuse(tx, asking)
    person = person_or_refuse(tx, f.psn_no, lock=True)
    if f.enddate is not None and f.enddate < f.begndate:
        raise refuse("E2501-001", detail=f"结束日期{f.enddate}早于开始日期{f.begndate}")
    if f.insutype:
        insurance_on(tx, person, f.insutype, f.begndate)
    elif not any(i.covers(f.begndate) for i in tx.people.insurances(person.id)):
        raise refuse("E1101-005", detail=f"{f.begndate} 没有有效参保")
    if f.kind == "transfer":
        target = tx.care.institution(f.target_code)
        if f.target_code == asking:
            raise refuse("E2501-002", detail="转往机构不能是本机构")
        if target is not None and (target.kind != "hospital" or not target.active):
            raise refuse("E2501-002", detail=f"{f.target_code} 不是有效的定点医疗机构")
    if f.kind == "chronic" and tx.reference.latest_version(CHRONIC_CATALOGUE) > 0:
        entry = tx.reference.newest_entries([f.code or ""]).get(f.code or "")
        if entry is None or entry.list_type != CHRONIC_CATALOGUE or entry.vali_flag != "1":
            raise refuse("E2503-001", code=f.code)
    if f.kind == "designated":
        target = tx.care.institution(f.target_code)
        if target is None or not target.active:
            raise refuse("E2505-001", detail=f"{f.target_code} 不是有效的定点医药机构")
    same = f.code if f.kind in ("chronic", "designated") else None  # a disease; a 定点排序号
    clash = None if f.kind == "accident" else tx.reference.overlapping(person.id, f.kind, f.begndate, f.enddate, same)
    if clash is not None and (f.kind != "transfer" or clash.target_code == f.target_code):
        raise refuse("E2501-003", kind=KIND_NAMES[f.kind], sn=sn_of(person, clash.id))
    pk = tx.reference.add_filing(
        **{column: getattr(f, column) for column in _FILING_COLUMNS},
        person_id=person.id,
        institution_code=asking,
        created_at=platform.now(),
    )
    return sn_of(person, pk)


def cancel_filing(platform: Platform, tx: Tx, asking: str, kind: str, sn: str, psn_no: str, memo: str | None) -> None:
    """Only the institution that filed it cancels a filing, and only once."""
    institution_or_refuse(tx, asking)
    person = person_or_refuse(tx, psn_no, lock=True)
    pk = parse_filing_id(sn)
    filing = tx.reference.filing(pk, lock=True) if pk is not None else None
    if filing is None or filing.kind != kind or sn_of(person, filing.id) != sn:
        raise refuse("E2502-001", sn=sn)
    if filing.person_id != person.id or filing.institution_code != asking:
        raise refuse("E2502-003", sn=sn)
    if filing.cancelled_at is not None:
        raise refuse("E2502-002", sn=sn)
    tx.reference.cancel_filing(filing.id, platform.now(), memo)


def filings_of(tx: Tx, psn_no: str, kind: str, *, active_on: date | None = None) -> tuple[Person, list[Filing]]:
    person = person_or_refuse(tx, psn_no)
    rows = tx.reference.filings_of(person.id, kind, active_only=True)
    if active_on is not None:
        rows = [f for f in rows if f.enddate is None or f.enddate >= active_on]
    return person, rows


# What filings change at settlement ----------------------------------------------------------------


def chronic_benefit(policy, scheme: str | None, day: date) -> bool:
    """Whether the region's policy has a 门诊慢特病 benefit for the scheme that day."""
    base = f"benefit.{scheme or 'employee'}.chronic"
    return any(policy.has(f"{base}.{f}", day) for f in ("deductible", "ratio", "cap"))


def check_chronic_filing(tx: Tx, policy, person: Person, scheme: str | None, category: str, day: date) -> None:
    """Where the region has a 门诊慢特病 benefit, it is settled only for a person with a chronic
    filing covering the day (where it has none, the fund pays nothing in that category anyway)."""
    if category != "chronic" or not chronic_benefit(policy, scheme, day):
        return
    if not any(f.covers(day) for f in tx.reference.filings_of(person.id, "chronic", active_only=True)):
        raise refuse("E2503-003", detail=f"{day} 无有效的门诊慢特病备案（2503）")


def with_transfer(tx: Tx, person: Person, inst: Institution, day: date, status: str | None) -> str | None:
    """Off-site care at the institution a covering transfer filing names counts as 异地转诊 (临时外出)."""
    if status != "unfiled":
        return status
    for f in tx.reference.filings_of(person.id, "transfer", active_only=True):
        if f.covers(day) and f.target_code == inst.code:
            return "temporary"
    return status


# 2001 -----------------------------------------------------------------------------------------------


def entitlement(
    platform: Platform, tx: Tx, asking: str, psn_no: str, insutype: str, med_type: str, start: datetime
) -> list:
    """What the fund would do for this person, here, on this day: each check a row with its flag
    (1 享受, 0 不享受) and the reason in Chinese. Only an unknown person or institution is refused."""
    inst = institution_or_refuse(tx, asking)
    person = person_or_refuse(tx, psn_no)
    day = start.date()
    fund = FUND_PAY_TYPE.get(insutype, "310100")
    rows: list[dict] = []

    def row(kind: str, ok: bool, words: str, begin: date | None = None, end: date | None = None) -> None:
        rows.append(
            {
                "psn_no": psn_no,
                "trt_chk_type": kind,
                "fund_pay_type": fund,
                "trt_enjymnt_flag": "1" if ok else "0",
                "begndate": begin or day,
                "enddate": end,
                "trt_chk_rslt": words,
            }
        )

    try:
        insurance = insurance_on(tx, person, insutype, day)
    except DomainError as exc:
        row("01", False, f"未参保或参保已中断：{exc.message}")
        return rows
    policy = platform.policy(tx, person.admdvs)
    if insurance.in_waiting(day):
        row("01", False, f"处于待遇等待期，{insurance.benefit_start}起享受统筹基金待遇", day, insurance.benefit_start)
    try:
        category = category_of(policy, day, med_type)
    except UnknownMedType:
        row("01", False, f"本统筹区不办理医疗类别{med_type}")
        return rows
    terms = benefit_terms(
        policy, day, insurance.scheme or "employee", category, insurance.person_class, inst.level, None
    )
    if not terms.in_force:
        row("01", False, terms.reason)
    elif not insurance.in_waiting(day):
        ratio = f"{terms.ratio_bp / 100:g}%"
        row("01", True, f"参保有效，{category_name(category)}统筹基金支付比例{ratio}", insurance.begin)
    if category == "chronic" and chronic_benefit(policy, insurance.scheme, day):
        covering = [f for f in tx.reference.filings_of(person.id, "chronic", active_only=True) if f.covers(day)]
        if covering:
            f = covering[0]
            row("99", True, f"门诊慢特病备案：{f.name or f.code}（{sn_of(person, f.id)}）", f.begndate, f.enddate)
        else:
            row("99", False, "无有效的门诊慢特病备案，不能按门诊慢特病结算")
    stays = [v for v in tx.records.open_stays(person.id) if v.institution_code != asking]
    if category == "inpatient" and stays:
        row("99", False, f"已在其他机构住院（{stays[0].begntime:%Y-%m-%d}入院），未办理出院，不能重复入院")
    status = with_transfer(tx, person, inst, day, offsite_status(tx, person, inst.admdvs, day))
    if status is not None:
        cut = policy.value("offsite.ratio_reduction", day, default={}).get(status, 0)
        words = {
            "filed": "已办理异地长期居住备案",
            "temporary": "临时外出就医（转诊或临时备案）",
            "unfiled": "未办理异地就医备案",
        }
        row("99", True, f"异地就医：{words[status]}，支付比例降低{cut / 100:g}个百分点")
    return rows


def category_name(category: str) -> str:
    return {"outpatient": "普通门诊", "chronic": "门诊慢特病", "inpatient": "住院", "pharmacy": "药店购药"}.get(
        category, category
    )


def filings_in_words(tx: Tx, person: Person) -> list[dict]:
    """A person's filings in force or to come, as the portal shows them to the family."""
    out = []
    for f in tx.reference.filings_of(person.id, active_only=True):
        where = tx.care.institution(f.target_code) if f.target_code else None
        out.append(
            {
                "kind": KIND_NAMES[f.kind],
                "what": f.name or f.code or "",
                "where": where.name if where else (f.target_name or ""),
                "begndate": f.begndate,
                "enddate": f.enddate,
                "sn": sn_of(person, f.id),
            }
        )
    return out
