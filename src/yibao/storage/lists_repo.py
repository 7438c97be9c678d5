"""Settlement lists (结算清单, 4101–4105) and departments (3401–3403, 5101)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import and_, func, select

from yibao.care.model import Department, SettlementList
from yibao.storage.tables import settlements
from yibao.storage.tx_tables import departments, settlement_lists


def _list(r) -> SettlementList:
    v = dict(r._mapping)
    v["record"], v["qc"] = json.loads(v["record"]), json.loads(v["qc"])
    return SettlementList(**v)


def _dept(r) -> Department:
    v = dict(r._mapping)
    v["info"] = json.loads(v["info"])
    return Department(**v)


class ListsRepo:
    def __init__(self, tx):
        self.tx = tx
        self.conn = tx.conn

    # Settlement lists --------------------------------------------------------------------------------

    def by_settlement(self, settlement_id: int, *, lock: bool = False) -> SettlementList | None:
        stmt = select(settlement_lists).where(settlement_lists.c.settlement_id == settlement_id)
        r = self.conn.execute(self.tx.for_update(stmt) if lock else stmt).first()
        return _list(r) if r else None

    def put(self, existing: SettlementList | None, **values) -> int:
        values["record"] = json.dumps(values["record"], ensure_ascii=False, default=str)
        values["qc"] = json.dumps(values["qc"], ensure_ascii=False)
        if existing is None:
            return int(self.conn.execute(settlement_lists.insert().values(**values)).inserted_primary_key[0])
        values.pop("created_at", None)
        self.conn.execute(settlement_lists.update().where(settlement_lists.c.id == existing.id).values(**values))
        return existing.id

    def set_status(self, pk: int, status: str, at: datetime) -> None:
        self.conn.execute(
            settlement_lists.update().where(settlement_lists.c.id == pk).values(status=status, updated_at=at)
        )

    def of_institution(self, institution: str, start: datetime, stop: datetime) -> list[tuple[SettlementList, str]]:
        """Lists of settlements made in [start, stop), with each settlement's time."""
        stmt = (
            select(settlement_lists, settlements.c.setl_time)
            .join(settlements, settlements.c.id == settlement_lists.c.settlement_id)
            .where(
                settlement_lists.c.institution_code == institution,
                settlements.c.setl_time >= start,
                settlements.c.setl_time < stop,
            )
            .order_by(settlements.c.setl_time, settlement_lists.c.id)
        )
        out = []
        for r in self.conn.execute(stmt):
            m = dict(r._mapping)
            setl_time = m.pop("setl_time")
            m["record"], m["qc"] = json.loads(m["record"]), json.loads(m["qc"])
            out.append((SettlementList(**m), setl_time))
        return out

    def list_counts(
        self, institution: str, categories: tuple[str, ...], start: datetime, stop: datetime, refunds: bool
    ):
        """(settlements that need a list, of which have one) over [start, stop)."""
        cond = [
            settlements.c.institution_code == institution,
            settlements.c.setl_time >= start,
            settlements.c.setl_time < stop,
            settlements.c.category.in_(categories),
        ]
        if not refunds:
            cond.append(settlements.c.status == "settled")
        need = self.conn.execute(select(func.count()).where(*cond)).scalar()
        done = self.conn.execute(
            select(func.count())
            .select_from(settlements.join(settlement_lists, settlement_lists.c.settlement_id == settlements.c.id))
            .where(and_(*cond))
        ).scalar()
        return int(need), int(done)

    # Departments -----------------------------------------------------------------------------------------

    def department(self, institution: str, code: str, *, lock: bool = False) -> Department | None:
        stmt = select(departments).where(
            departments.c.institution_code == institution,
            departments.c.code == code,
            departments.c.cancelled_at.is_(None),
        )
        r = self.conn.execute(self.tx.for_update(stmt) if lock else stmt).first()
        return _dept(r) if r else None

    def add_department(self, **values) -> int:
        values["info"] = json.dumps(values["info"], ensure_ascii=False, default=str)
        return int(self.conn.execute(departments.insert().values(**values)).inserted_primary_key[0])

    def update_department(self, pk: int, **values) -> None:
        if "info" in values:
            values["info"] = json.dumps(values["info"], ensure_ascii=False, default=str)
        self.conn.execute(departments.update().where(departments.c.id == pk).values(**values))

    def departments_of(self, institution: str) -> list[Department]:
        stmt = (
            select(departments)
            .where(departments.c.institution_code == institution, departments.c.cancelled_at.is_(None))
            .order_by(departments.c.code)
        )
        return [_dept(r) for r in self.conn.execute(stmt)]
