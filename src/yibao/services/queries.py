"""Read-only jobs: 对总账 (3201) totals and a person's year-to-date accumulators (5206)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from yibao.lifecycle.model import medical_year_of
from yibao.services.care import institution_or_refuse, person_or_refuse
from yibao.services.platform import Platform
from yibao.storage.uow import Tx


@dataclass(frozen=True)
class Totals:
    medfee: int
    fund: int
    acct: int
    mulaid: int
    count: int


def institution_totals(
    platform: Platform, institution: str, insutype: str, clr_type: str, begin: date, end: date, *, tx: Tx | None = None
) -> Totals:
    """What the platform holds for an institution over [begin, end] (days, inclusive).

    A settlement counts on the day it was made; a cancellation counts, negated, on the day it was
    made; so the totals net out exactly as the institution's own books do.
    """
    start, stop = datetime.combine(begin, time.min), datetime.combine(end + timedelta(days=1), time.min)
    with platform.unit(tx, read_only=True) as tx:
        institution_or_refuse(tx, institution)
        return Totals(*tx.care.settlement_totals(institution, insutype, clr_type, start, stop))


def year_to_date(
    platform: Platform, psn_no: str, day: date, *, tx: Tx | None = None, with_insutype: bool = False
) -> tuple:
    """The medical year containing ``day``, its accumulators per category, and settlement sums (and,
    ``with_insutype``, the scheme the person is insured under that day: 310 before 390, "" if none)."""
    with platform.unit(tx, read_only=True) as tx:
        person = person_or_refuse(tx, psn_no)
        covering = sorted(i.insutype for i in tx.people.insurances(person.id) if i.covers(day))
        policy = platform.policy(tx, person.admdvs)
        year = medical_year_of(policy, day)
        acc = tx.care.accumulators_of(person.id, year)
        sums = tx.care.sums_by_category(person.id, year)
    if with_insutype:
        return year, acc, sums, covering[0] if covering else ""
    return year, acc, sums


# The figures a 3201 statement compares, in the order of ``theirs`` and ``ours``.
COMPARED = ("medfee", "fund", "acct", "count")


def record_reconciliation(
    platform: Platform,
    *,
    institution: str,
    msgid: str | None,
    row: dict,
    insutype: str,
    clr_type: str,
    setl_optins: str,
    begin: date,
    end: date,
    theirs: tuple[int, int, int, int],
    ours: tuple[int, int, int, int],
    result: str,
    tx: Tx | None = None,
) -> int:
    """3201: the statement as compared, with the institution's refund flags, kept for audit and clearing."""
    with platform.unit(tx) as tx:
        return tx.care.add_reconciliation(
            institution_code=institution,
            msgid=msgid,
            insutype=insutype,
            clr_type=clr_type,
            setl_optins=setl_optins,
            begin_date=begin,
            end_date=end,
            refd_setl_flag=row.get("refd_setl_flag"),
            fixmedins_refd_setl_flag=row.get("fixmedins_refd_setl_flag"),
            **{f"their_{figure}": v for figure, v in zip(COMPARED, theirs, strict=True)},
            **{f"our_{figure}": v for figure, v in zip(COMPARED, ours, strict=True)},
            stmt_rslt=result,
            at=platform.now(),
        )
