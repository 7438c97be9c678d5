"""Read models over visits, settlements and fee lines for the query transactions (52xx, 53xx) and
the checks that look across visits (2001's 在院 lock), always scoped by institution or person."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from yibao.storage.care_repo import _VISIT_COLS, Visit
from yibao.storage.tables import diagnoses, fee_lines, settlements, visits
from yibao.storage.tx_tables import visit_flags


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

    def practitioners(self, institution: str) -> list[tuple[str, str, datetime]]:
        """The doctors this institution's fee lines and diagnoses name: (code, name, first seen)."""
        seen: dict[str, tuple[str, datetime]] = {}
        lines = (
            select(fee_lines.c.bilg_dr_codg, fee_lines.c.bilg_dr_name, visits.c.begntime)
            .join(visits, visits.c.id == fee_lines.c.visit_id)
            .where(visits.c.institution_code == institution, fee_lines.c.bilg_dr_codg.is_not(None))
        )
        diags = (
            select(diagnoses.c.dise_dor_no, diagnoses.c.dise_dor_name, visits.c.begntime)
            .join(visits, visits.c.id == diagnoses.c.visit_id)
            .where(visits.c.institution_code == institution, diagnoses.c.dise_dor_no.is_not(None))
        )
        for stmt in (lines, diags):
            for code, name, at in self.conn.execute(stmt):
                if code not in seen or at < seen[code][1]:
                    seen[code] = (name or seen.get(code, ("", at))[0] or "", at)
        return [(code, name, at) for code, (name, at) in sorted(seen.items())]

    def chronic_lines(self, person_id: int, start: datetime, stop: datetime | None) -> list[dict]:
        """Fee lines of the person's 门诊慢特病 settlements (any institution) in [start, stop)."""
        cond = [
            settlements.c.person_id == person_id,
            settlements.c.category == "chronic",
            settlements.c.status == "settled",
            settlements.c.setl_time >= start,
        ]
        if stop is not None:
            cond.append(settlements.c.setl_time < stop)
        stmt = (
            select(fee_lines, settlements.c.institution_code, settlements.c.med_type)
            .join(settlements, settlements.c.id == fee_lines.c.settlement_id)
            .where(*cond)
            .order_by(settlements.c.setl_time, fee_lines.c.id)
        )
        return [dict(r._mapping) for r in self.conn.execute(stmt)]

    def in_hospital(self, *, institution: str | None, person_id: int | None, since: datetime, until: datetime):
        """Open inpatient visits admitted in [since, until], of one institution or one person."""
        cond = [visits.c.kind == "inpatient", visits.c.status == "open", visits.c.begntime >= since]
        cond.append(visits.c.begntime <= until)
        if institution:
            cond.append(visits.c.institution_code == institution)
        if person_id is not None:
            cond.append(visits.c.person_id == person_id)
        stmt = select(*_VISIT_COLS).where(*cond).order_by(visits.c.begntime, visits.c.id)
        return [Visit(*r) for r in self.conn.execute(stmt)]

    def note_line(self, visit_id: int, feedetl_sn: str, code: str, memo: str | None) -> bool:
        """2306: the memo of one fee line, kept in its record; False when there is no such line."""
        row = self.conn.execute(
            select(fee_lines.c.id, fee_lines.c.info).where(
                fee_lines.c.visit_id == visit_id,
                fee_lines.c.feedetl_sn == feedetl_sn,
                fee_lines.c.med_list_codg == code,
            )
        ).first()
        if row is None:
            return False
        info = json.loads(row.info or "{}")
        info["memo"] = memo
        self.conn.execute(
            fee_lines.update().where(fee_lines.c.id == row.id).values(info=json.dumps(info, ensure_ascii=False))
        )
        return True

    def add_flag(self, **values) -> int:
        return int(self.conn.execute(visit_flags.insert().values(**values)).inserted_primary_key[0])

    def flags(self, institution: str, *, visit_id: int | None = None, flag_type: str | None = None) -> list[dict]:
        cond = [visit_flags.c.institution_code == institution]
        if visit_id is not None:
            cond.append(visit_flags.c.visit_id == visit_id)
        if flag_type:
            cond.append(visit_flags.c.flag_type == flag_type)
        stmt = select(visit_flags).where(*cond).order_by(visit_flags.c.id)
        return [dict(r._mapping) for r in self.conn.execute(stmt)]
