"""Read-only jobs: 对总账 (3201) totals and a person's year-to-date accumulators (5206)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, select

from yibao.services.care import institution_or_refuse, person_or_refuse
from yibao.services.platform import Platform
from yibao.settlement.claim_rules import medical_year_of
from yibao.storage.tables import settlements


@dataclass(frozen=True)
class Totals:
    medfee: int
    fund: int
    acct: int
    mulaid: int
    count: int


def institution_totals(
    p: Platform, institution: str, insutype: str, clr_type: str, begin: date, end: date, *, tx=None
) -> Totals:
    """What the platform holds for an institution over [begin, end] (days, inclusive).

    A settlement counts on the day it was made; a cancellation counts, negated, on the day it was
    made; so the totals net out exactly as the institution's own books do.
    """
    start, stop = datetime.combine(begin, time.min), datetime.combine(end + timedelta(days=1), time.min)
    base = and_(
        settlements.c.institution_code == institution,
        settlements.c.insutype == insutype,
        settlements.c.clr_type == clr_type,
    )
    sums = (
        func.coalesce(func.sum(settlements.c.medfee), 0),
        func.coalesce(func.sum(settlements.c.fund_pay), 0),
        func.coalesce(func.sum(settlements.c.acct_pay), 0),
        func.coalesce(func.sum(settlements.c.mulaid_pay), 0),
        func.count(),
    )
    with p.unit(tx, read_only=True) as tx:
        institution_or_refuse(tx, institution)
        made = tx.conn.execute(
            select(*sums).where(base, settlements.c.setl_time >= start, settlements.c.setl_time < stop)
        ).one()
        undone = tx.conn.execute(
            select(*sums).where(base, settlements.c.cancelled_at >= start, settlements.c.cancelled_at < stop)
        ).one()
    return Totals(*(int(a - b) for a, b in zip(made, undone, strict=True)))  # PostgreSQL sums are NUMERIC


def year_to_date(p: Platform, psn_no: str, day: date, *, tx=None) -> tuple[int, dict[str, tuple[int, int]], dict]:
    """The medical year containing ``day``, its accumulators per category, and settlement sums."""
    with p.unit(tx, read_only=True) as tx:
        person = person_or_refuse(tx, psn_no)
        policy = p.policy(tx, person.admdvs)
        year = medical_year_of(policy, day)
        acc = tx.care.accumulators_of(person.id, year)
        rows = tx.conn.execute(
            select(settlements.c.category, func.sum(settlements.c.medfee), func.count())
            .where(settlements.c.person_id == person.id, settlements.c.year == year, settlements.c.status == "settled")
            .group_by(settlements.c.category)
        ).all()
    return year, acc, {r[0]: (int(r[1]), int(r[2])) for r in rows}
