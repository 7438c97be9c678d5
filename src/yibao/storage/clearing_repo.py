"""Detail reconciliation (3202) and clearing (3203/3204): the settlements of a period as lines, the
runs and their mismatches, the clearing applications."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import or_, select

from yibao.care.model import Clearing, PeriodSettlement
from yibao.storage.tables import settlements
from yibao.storage.tx_tables import clearing_applications, reconciliation_lines, reconciliation_runs


class ClearingRepo:
    def __init__(self, tx):
        self.tx = tx
        self.conn = tx.conn

    def period(self, institution: str, clr_type: str, start: datetime, stop: datetime) -> list[PeriodSettlement]:
        """Settlements made or cancelled in [start, stop) by the institution, of the clearing type."""
        c = settlements.c
        stmt = (
            select(
                c.id,
                c.person_id,
                c.visit_id,
                c.msgid,
                c.medfee,
                c.fund_pay,
                c.acct_pay,
                c.cash_pay,
                c.setl_time,
                c.cancelled_at,
            )
            .where(
                c.institution_code == institution,
                c.clr_type == clr_type,
                or_(
                    (c.setl_time >= start) & (c.setl_time < stop),
                    (c.cancelled_at >= start) & (c.cancelled_at < stop),
                ),
            )
            .order_by(c.id)
        )
        return [PeriodSettlement(*r) for r in self.conn.execute(stmt)]

    def add_run(self, off: list[dict], **values) -> int:
        pk = int(self.conn.execute(reconciliation_runs.insert().values(**values)).inserted_primary_key[0])
        if off:
            self.conn.execute(reconciliation_lines.insert(), [{**x, "run_id": pk} for x in off])
        return pk

    def agreed_run(self, institution: str, clr_type: str, begin: date, end: date) -> int | None:
        """The latest run over exactly this period, if every line agreed."""
        r = self.conn.execute(
            select(reconciliation_runs.c.id, reconciliation_runs.c.mismatches)
            .where(
                reconciliation_runs.c.institution_code == institution,
                reconciliation_runs.c.clr_type == clr_type,
                reconciliation_runs.c.begin_date == begin,
                reconciliation_runs.c.end_date == end,
            )
            .order_by(reconciliation_runs.c.id.desc())
            .limit(1)
        ).first()
        return r[0] if r is not None and r[1] == 0 else None

    def runs(self, limit: int = 50) -> list[dict]:
        stmt = select(reconciliation_runs).order_by(reconciliation_runs.c.id.desc()).limit(limit)
        return [dict(r._mapping) for r in self.conn.execute(stmt)]

    def mismatches(self, run_id: int) -> list[dict]:
        stmt = select(reconciliation_lines).where(reconciliation_lines.c.run_id == run_id)
        return [dict(r._mapping) for r in self.conn.execute(stmt.order_by(reconciliation_lines.c.id))]

    def add_clearing(self, **values) -> int:
        return int(self.conn.execute(clearing_applications.insert().values(**values)).inserted_primary_key[0])

    def clearing(self, pk: int, *, lock: bool = False) -> Clearing | None:
        stmt = select(clearing_applications).where(clearing_applications.c.id == pk)
        r = self.conn.execute(self.tx.for_update(stmt) if lock else stmt).first()
        return Clearing(**r._mapping) if r else None

    def active_clearing(self, institution: str, clr_type: str, setlym: str) -> Clearing | None:
        r = self.conn.execute(
            select(clearing_applications).where(
                clearing_applications.c.institution_code == institution,
                clearing_applications.c.clr_type == clr_type,
                clearing_applications.c.setlym == setlym,
                clearing_applications.c.cancelled_at.is_(None),
            )
        ).first()
        return Clearing(**r._mapping) if r else None

    def cancel_clearing(self, pk: int, at: datetime) -> None:
        self.conn.execute(
            clearing_applications.update().where(clearing_applications.c.id == pk).values(cancelled_at=at)
        )

    def clearings(self, limit: int = 100) -> list[Clearing]:
        stmt = select(clearing_applications).order_by(clearing_applications.c.id.desc()).limit(limit)
        return [Clearing(**r._mapping) for r in self.conn.execute(stmt)]
