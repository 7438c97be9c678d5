"""Lifecycle jobs: enrolment (with waiting periods), contributions and crediting, pre-allocation and
clawback, suspension and termination, off-site filing."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from yibao.errors import refuse
from yibao.family.model import relation_between
from yibao.ledger.model import CLAWBACK, CREDIT, PREMIUM, Entry, Transfer, external_account, fund_account, person_bucket
from yibao.lifecycle.model import EMPLOYEE, RESIDENT, Person, check_birth, person_class_of, valid_psn_type
from yibao.lifecycle.waiting import Wait, employee_wait, first_of_month_after, resident_wait
from yibao.limits import EARLIEST_DATE, LATEST_DATE, OutOfRange, check_date, parse_month
from yibao.money import apply_ratio, fmt_yuan
from yibao.services.care import person_or_refuse
from yibao.services.platform import Platform
from yibao.services.world import open_person_account
from yibao.settlement import mutual_aid
from yibao.settlement.model import Buckets
from yibao.storage.uow import Tx


def _psn_type_fits(insutype: str, psn_type: str) -> bool:
    if insutype == RESIDENT:
        return psn_type.startswith(("14", "15", "16"))
    return psn_type.startswith(("11", "12", "13"))


def in_collection_window(policy, day: date) -> bool:
    """Whether ``day`` falls in a collection window (``resident.collection_window``, e.g. 09-15 → 02-28)."""
    window = policy.setting("resident.collection_window", day)
    if window is None:
        return False
    (sm, sd), (em, ed) = window
    start, end = (sm, sd), (em, ed)
    here = (day.month, day.day)
    return start <= here <= end if start <= end else (here >= start or here <= end)


def enroll(
    platform: Platform,
    psn_no: str,
    insutype: str,
    psn_type: str,
    day: date,
    *,
    in_window: bool | None = None,
    exempt: bool = False,
    repaired_years: int = 0,
    emp_name: str | None = None,
    tx: Tx | None = None,
) -> Wait:
    """Start (or restart) insurance; returns the waiting period and the day benefits start."""
    if insutype not in (EMPLOYEE, RESIDENT) or not valid_psn_type(psn_type) or not _psn_type_fits(insutype, psn_type):
        raise refuse("E7401-005", detail=f"险种{insutype}与人员类别{psn_type}不相符")
    if repaired_years < 0:
        raise refuse("E7401-005", detail="补缴修复年数不能为负数")
    check_date(day, "参保日期")
    now = platform.now()
    with platform.unit(tx) as tx:
        person = person_or_refuse(tx, psn_no)
        check_birth(person.birth, now.date(), insured_from=day)
        tx.people.lock(person.id)
        history = tx.people.insurances(person.id)
        for ins in history:
            if ins.insutype == insutype and (ins.end is None or ins.end >= day):
                raise refuse("E7401-001", insutype=insutype, begin=ins.begin)
        ended = [i.end for i in history if i.end is not None and i.end < day]
        previous_end = max(ended) if ended else None
        if previous_end is None and any(i.end is None and i.begin < day for i in history):
            previous_end = day  # insured under another scheme until now: continuous
        policy = platform.policy(tx, person.admdvs)
        if insutype == RESIDENT:
            window = in_collection_window(policy, day) if in_window is None else in_window
            wait = resident_wait(
                policy,
                day,
                in_window=window,
                previous_end=previous_end,
                repaired_years=repaired_years,
                exempt=exempt,
                psn_type=psn_type,
            )
        else:
            wait = employee_wait(
                policy,
                day,
                person_class=person_class_of(insutype, psn_type),
                psn_type=psn_type,
                previous_end=previous_end,
            )
        tx.people.add_insurance(
            person.id,
            insutype=insutype,
            psn_type=psn_type,
            begin=day,
            benefit_start=wait.benefit_start,
            emp_name=emp_name,
            now=now,
        )
        if insutype == EMPLOYEE:
            open_person_account(tx, person, now)
        return wait


def end_insurance(platform: Platform, psn_no: str, insutype: str, last_day: date, *, tx: Tx | None = None) -> dict:
    """Terminate on ``last_day``: grants that depended on it end, a pre-allocation is clawed back."""
    check_date(last_day, "参保终止日期")
    now = platform.now()
    with platform.unit(tx) as tx:
        person = person_or_refuse(tx, psn_no)
        tx.people.lock(person.id)
        ins = next(
            (
                i
                for i in reversed(tx.people.insurances(person.id))
                if i.insutype == insutype and (i.end is None or i.end >= last_day) and i.begin <= last_day
            ),
            None,
        )
        if ins is None:
            raise refuse("E7401-006", detail=f"险种{insutype}在{last_day}没有有效参保记录")
        tx.people.end_insurance(ins.id, last_day)
        ended = _end_dependent_grants(tx, person, insutype, last_day, now)
        clawed = _claw_back(platform, tx, person, last_day) if insutype == EMPLOYEE else 0
        return {"grants_ended": ended, "clawed_back": clawed}


def suspend_insurance(
    platform: Platform, psn_no: str, insutype: str, since: date | None, *, tx: Tx | None = None
) -> None:
    """暂停参保 from ``since``; ``None`` resumes it."""
    if since is not None:
        check_date(since, "暂停日期")
    with platform.unit(tx) as tx:
        person = person_or_refuse(tx, psn_no)
        ins = next(
            (i for i in reversed(tx.people.insurances(person.id)) if i.insutype == insutype and i.end is None), None
        )
        if ins is None:
            raise refuse("E7401-006", detail=f"险种{insutype}没有进行中的参保记录")
        tx.people.suspend_insurance(ins.id, since)


def _end_dependent_grants(tx: Tx, person: Person, insutype: str, last_day: date, now) -> int:
    """A grant ends by itself when the payer's employee insurance ends, or the beneficiary's last one."""
    count = 0
    if insutype == EMPLOYEE:
        for g in tx.family.grants_by(person.id, active_at=now):
            tx.family.end_grant(g, now, "insurance_ended")
            count += 1
    still = [i for i in tx.people.insurances(person.id) if i.end is None or i.end > last_day]
    if not still:
        for g in tx.family.grants_for(person.id, active_at=now):
            tx.family.end_grant(g, now, "insurance_ended")
            count += 1
    return count


# Contributions and crediting ------------------------------------------------------------------------


def _month_days(month: str) -> tuple[date, date]:
    try:
        first = parse_month(month)
    except OutOfRange:
        raise
    except ValueError as exc:
        raise refuse("E7401-005", detail=str(exc)) from None
    return first, date.fromordinal(first_of_month_after(first, 1).toordinal() - 1)


def contribute_employee(
    platform: Platform, psn_no: str, month: str, base: int, *, paid_on: date | None = None, tx: Tx | None = None
) -> int:
    """A month's employee contribution; the in-service share (base × rate) goes to the 当年账户."""
    first, last = _month_days(month)
    if paid_on is not None:
        check_date(paid_on, "缴费日期")
    now = platform.now()
    with platform.unit(tx) as tx:
        person = person_or_refuse(tx, psn_no)
        tx.people.lock(person.id)
        ins = next(
            (
                i
                for i in tx.people.insurances(person.id)
                if i.insutype == EMPLOYEE and i.begin <= last and (i.end is None or i.end >= first)
            ),
            None,
        )
        if ins is None:
            raise refuse("E7401-004", period=month)
        if tx.lifecycle.has_contribution(person.id, "employee_month", month):
            raise refuse("E7401-002", period=month)
        policy = platform.policy(tx, person.admdvs)
        floor = policy.setting("contribution.base_floor", first)
        ceiling = policy.setting("contribution.base_ceiling", first)
        if (floor is not None and base < floor) or (ceiling is not None and base > ceiling):
            raise refuse(
                "E7401-003",
                base=fmt_yuan(base),
                floor=fmt_yuan(floor or 0),
                ceiling=fmt_yuan(ceiling) if ceiling is not None else "不限",
            )
        credited = 0
        if ins.person_class == "in_service" and not tx.lifecycle.preallocated(person.id, month):
            credited = apply_ratio(base, policy.setting("account.inservice_credit_rate", first))
        if credited:
            transfer = Transfer(
                external_account(f"contributions:{person.admdvs}"),
                person_bucket(person.psn_no, "current"),
                credited,
                CREDIT,
            )
            tx.ledger.post(Entry(f"credit:{person.psn_no}:{month}", "credit", (transfer,), ref=person.psn_no), now)
        _record(tx, person, ("employee_month", month, base, base, credited, paid_on or now.date()), now)
        return credited


def contribute_resident(
    platform: Platform,
    psn_no: str,
    year: int,
    amount: int,
    *,
    paid_on: date,
    paid_by: str | None = None,
    tx: Tx | None = None,
) -> dict:
    """A resident's annual premium, by the person or from a relative's account through mutual aid."""
    if not EARLIEST_DATE.year <= year <= LATEST_DATE.year:
        raise OutOfRange(f"缴费年度超出允许范围（{EARLIEST_DATE.year}–{LATEST_DATE.year}）：{year}")
    check_date(paid_on, "缴费日期")
    now = platform.now()
    period = f"{year:04d}"
    with platform.unit(tx) as tx:
        person = person_or_refuse(tx, psn_no)
        tx.people.lock(person.id)
        if tx.lifecycle.has_contribution(person.id, "resident_year", period):
            raise refuse("E7401-002", period=f"{year}年度")
        if amount <= 0:
            raise refuse("E7401-005", detail="缴费金额须大于0")
        policy = platform.policy(tx, person.admdvs)
        window = in_collection_window(policy, paid_on)
        income = fund_account(person.admdvs, "390100")
        payer_id, from_account = None, 0
        if paid_by:
            transfers = _premium_from_relative(platform, tx, policy, person, paid_by, amount, paid_on, income)
            tx.ledger.post(Entry(f"premium:{person.psn_no}:{period}", "premium", transfers, ref=person.psn_no), now)
            payer_id, from_account = person_or_refuse(tx, paid_by).id, amount
        else:
            transfer = Transfer(external_account(f"premiums:{person.admdvs}"), income, amount, PREMIUM)
            tx.ledger.post(Entry(f"premium:{person.psn_no}:{period}", "premium", (transfer,), ref=person.psn_no), now)
        _record(tx, person, ("resident_year", period, None, amount, 0, paid_on), now, payer_id, window)
        return {"in_window": window, "paid_from_account": fmt_yuan(from_account)}


def _record(tx: Tx, person: Person, what: tuple, now, paid_by_id: int | None = None, in_window: bool | None = None):
    """One contribution: (kind, period, base, amount, credited, paid_on)."""
    kind, period, base, amount, credited, paid_on = what
    values = dict(kind=kind, period=period, base=base, amount=amount, credited=credited, paid_on=paid_on)
    if paid_by_id is not None or in_window is not None:
        values.update(paid_by_id=paid_by_id, in_window=in_window)
    tx.lifecycle.add_contribution(person_id=person.id, created_at=now, **values)


def _premium_from_relative(
    platform: Platform, tx: Tx, policy, person: Person, paid_by: str, amount: int, day: date, income: str
):
    payer = person_or_refuse(tx, paid_by)
    tx.people.lock(payer.id)
    terms = mutual_aid.terms_on(policy, day)
    if not terms.usable_for(mutual_aid.RESIDENT_PREMIUM):
        raise refuse("E7401-007", detail="本统筹区家庭共济不可用于缴纳居民医保")
    relation = relation_between(tx.family.relations_of([payer.id]), payer.id, person.id)
    if not terms.allows(relation):
        raise refuse("E7401-007", detail=f"{payer.name}与{person.name}的亲属关系不在共济范围内")
    if not any(g.payer_id == payer.id for g in tx.family.grants_for(person.id, active_at=platform.now())):
        raise refuse("E7401-007", detail=f"{payer.name}尚未授权为{person.name}共济")
    if not any(i.insutype == EMPLOYEE and i.covers(day) for i in tx.people.insurances(payer.id)):
        raise refuse("E7401-007", detail=f"{payer.name}不在职工医保有效参保状态")
    codes = {b: person_bucket(payer.psn_no, b) for b in terms.buckets}
    have = tx.ledger.locked_balances(list(codes.values()))
    balances = Buckets(*(have.get(codes[b], 0) if b in codes else 0 for b in mutual_aid.BUCKETS))
    draws, paid = mutual_aid.draw(balances, terms.buckets, amount)
    if paid < amount:
        raise refuse("E7401-008", need=fmt_yuan(amount), have=fmt_yuan(paid))
    return tuple(Transfer(codes[d.bucket], income, d.amount, PREMIUM) for d in draws)


# Pre-allocation (预划) and clawback -------------------------------------------------------------------


def preallocate(
    platform: Platform, psn_no: str, first_month: str, months: int, base: int, *, tx: Tx | None = None
) -> int:
    """Credit ``months`` of the in-service share in advance; contributions for those months add nothing."""
    first, _ = _month_days(first_month)
    if not 1 <= months <= 24:
        raise refuse("E7401-005", detail="预划月数应为1–24")
    last_month = f"{first_of_month_after(first, months - 1):%Y-%m}"
    now = platform.now()
    with platform.unit(tx) as tx:
        person = person_or_refuse(tx, psn_no)
        tx.people.lock(person.id)
        if not any(
            i.insutype == EMPLOYEE and i.person_class == "in_service" and i.covers(first)
            for i in tx.people.insurances(person.id)
        ):
            raise refuse("E7401-004", period=first_month)
        policy = platform.policy(tx, person.admdvs)
        monthly = apply_ratio(base, policy.setting("account.inservice_credit_rate", first))
        credited = monthly * months
        transfer = Transfer(
            external_account(f"contributions:{person.admdvs}"),
            person_bucket(person.psn_no, "current"),
            credited,
            CREDIT,
        )
        tx.ledger.post(
            Entry(f"prealloc:{person.psn_no}:{first_month}", "preallocation", (transfer,), ref=person.psn_no), now
        )
        tx.lifecycle.add_preallocation(
            person_id=person.id,
            first_month=first_month,
            last_month=last_month,
            monthly=monthly,
            credited=credited,
            created_at=now,
        )
        return credited


def _claw_back(platform: Platform, tx: Tx, person: Person, last_day: date) -> int:
    """Take back what was pre-allocated beyond the last insured month; a region may allow a negative balance."""
    rows = tx.lifecycle.open_preallocations(person.id)
    policy = platform.policy(tx, person.admdvs)
    current = person_bucket(person.psn_no, "current")
    total = 0
    for row in rows:
        last_month = f"{last_day:%Y-%m}"
        covered = (
            _months_between(row.first_month, min(last_month, row.last_month)) if last_month >= row.first_month else 0
        )
        excess = row.credited - covered * row.monthly
        if excess > 0:
            allow = policy.setting("account.allow_negative", last_day)
            balance = tx.ledger.locked_balances([current]).get(current, 0)
            take = excess if allow else min(excess, max(balance, 0))
            if take:
                transfer = Transfer(current, external_account(f"contributions:{person.admdvs}"), take, CLAWBACK)
                tx.ledger.post(
                    Entry(
                        f"clawback:{person.psn_no}:{row.id}",
                        "clawback",
                        (transfer,),
                        ref=person.psn_no,
                        lower_floors=frozenset({current}) if allow else frozenset(),
                    ),
                    platform.now(),
                )
                total += take
        tx.lifecycle.settle_preallocation(row.id, platform.now())
    return total


def _months_between(first: str, last: str) -> int:
    return (int(last[:4]) - int(first[:4])) * 12 + int(last[5:7]) - int(first[5:7]) + 1


# Off-site filing (异地就医备案) --------------------------------------------------------------------------


@dataclass(frozen=True)
class Filing:
    kind: str
    valid_from: date
    valid_to: date | None
    admdvs: str | None


def file_offsite(
    platform: Platform,
    psn_no: str,
    kind: str,
    valid_from: date,
    valid_to: date | None = None,
    admdvs: str | None = None,
    *,
    tx: Tx | None = None,
) -> Filing:
    if kind not in ("filed", "temporary"):
        raise refuse("E7501-002", kind=kind)
    check_date(valid_from, "备案开始日期")
    if valid_to is not None:
        check_date(valid_to, "备案结束日期")
    if valid_to is not None and valid_to < valid_from:
        raise refuse("E7501-001")
    filing = Filing(kind, valid_from, valid_to, admdvs)
    with platform.unit(tx) as tx:
        person = person_or_refuse(tx, psn_no)
        tx.lifecycle.add_filing(**asdict(filing), person_id=person.id, created_at=platform.now())
    return filing


def offsite_status(tx: Tx, person: Person, care_admdvs: str, day: date) -> str | None:
    """None at home; otherwise the filing that covers the day (long-term first), or ``unfiled``."""
    if care_admdvs == person.admdvs:
        return None
    kinds = tx.lifecycle.filing_kinds(person.id, care_admdvs, day)
    return "filed" if "filed" in kinds else "temporary" if "temporary" in kinds else "unfiled"
