"""Read models over visits, settlements and fee lines for the query transactions (52xx, 53xx) and
the checks that look across visits (2001's 在院 lock), always scoped by institution or person."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from yibao.storage.care_repo import _VISIT_COLS, Visit
from yibao.storage.tables import visits


class RecordsRepo:
    def __init__(self, tx):
        self.tx = tx
        self.conn = tx.conn

    def open_stays(self, person_id: int) -> list[Visit]:
        """The person's inpatient visits not yet discharged or cancelled (在院)."""
        stmt = select(*_VISIT_COLS).where(
            visits.c.person_id == person_id, visits.c.kind == "inpatient", visits.c.status == "open"
        )
        return [Visit(*r) for r in self.conn.execute(stmt.order_by(visits.c.id))]

    def visits_of(
        self,
        person_id: int,
        *,
        institution: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        kind: str | None = None,
        limit: int = 200,
    ) -> list[Visit]:
        cond = [visits.c.person_id == person_id]
        if institution:
            cond.append(visits.c.institution_code == institution)
        if since:
            cond.append(visits.c.begntime >= since)
        if until:
            cond.append(visits.c.begntime <= until)
        if kind:
            cond.append(visits.c.kind == kind)
        stmt = select(*_VISIT_COLS).where(*cond).order_by(visits.c.begntime, visits.c.id).limit(limit)
        return [Visit(*r) for r in self.conn.execute(stmt)]
