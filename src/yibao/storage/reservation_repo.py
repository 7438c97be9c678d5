"""Reservations at the 参保地 and cross-region settlements at the 就医地 (issue 15 phase 2)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from yibao.ledger.reservations import CrossSettlement, Hold, Reservation
from yibao.storage.tables import claim_backs, clearings, cross_settlements, people, reservations


def movements_text(holds: tuple[Hold, ...]) -> str:
    return json.dumps([[h.account, h.amount, h.code] for h in holds])


class ReservationRepo:
    def __init__(self, tx):
        self.tx = tx
        self.conn = tx.conn

    # 参保地 ----------------------------------------------------------------------------------

    def add(self, **values) -> None:
        self.conn.execute(reservations.insert().values(**values))

    def get(self, rid: str, *, lock: bool = False) -> Reservation | None:
        stmt = select(reservations).where(reservations.c.reservation_id == rid)
        r = self.conn.execute(self.tx.for_update(stmt) if lock else stmt).first()
        return Reservation(*r) if r else None

    def update(self, rid: str, **values) -> None:
        self.conn.execute(reservations.update().where(reservations.c.reservation_id == rid).values(**values))

    def expired(self, now: datetime, limit: int = 1000) -> list[str]:
        stmt = (
            select(reservations.c.reservation_id)
            .where(reservations.c.status == "pending", reservations.c.expires_at < now)
            .order_by(reservations.c.expires_at)
            .limit(limit)
        )
        return list(self.conn.execute(stmt).scalars())

    def listed(self, *, status: str | None = None, care_region: str | None = None, limit: int = 1000):
        stmt = select(reservations).order_by(reservations.c.created_at, reservations.c.reservation_id).limit(limit)
        if status:
            stmt = stmt.where(reservations.c.status == status)
        if care_region:
            stmt = stmt.where(reservations.c.care_region == care_region)
        return [Reservation(*r) for r in self.conn.execute(stmt)]

    def counts(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(care region, status) → (how many, fen held or moved)."""
        held = reservations.c.fund_pay + reservations.c.own_account_pay + reservations.c.mutual_aid_pay
        stmt = select(
            reservations.c.care_region, reservations.c.status, func.count(), func.coalesce(func.sum(held), 0)
        ).group_by(reservations.c.care_region, reservations.c.status)
        return {(r[0], r[1]): (r[2], int(r[3])) for r in self.conn.execute(stmt)}

    def of_month(self, care_region: str, start: datetime, end: datetime) -> list[Reservation]:
        stmt = select(reservations).where(
            reservations.c.care_region == care_region,
            reservations.c.created_at >= start,
            reservations.c.created_at < end,
        )
        return [Reservation(*r) for r in self.conn.execute(stmt)]

    # 就医地 ----------------------------------------------------------------------------------

    def add_cross(self, **values) -> None:
        self.conn.execute(cross_settlements.insert().values(**values))

    def cross(self, setl_id: str, *, lock: bool = False) -> CrossSettlement | None:
        stmt = select(cross_settlements).where(cross_settlements.c.setl_id == setl_id)
        r = self.conn.execute(self.tx.for_update(stmt) if lock else stmt).first()
        return CrossSettlement(*r) if r else None

    def set_cross(self, setl_id: str, **values) -> None:
        self.conn.execute(cross_settlements.update().where(cross_settlements.c.setl_id == setl_id).values(**values))

    def crosses(self, *, status: str | None = None, insured_region: str | None = None) -> list[CrossSettlement]:
        stmt = select(cross_settlements).order_by(cross_settlements.c.settlement_id)
        if status:
            stmt = stmt.where(cross_settlements.c.status == status)
        if insured_region:
            stmt = stmt.where(cross_settlements.c.insured_region == insured_region)
        return [CrossSettlement(*r) for r in self.conn.execute(stmt)]

    # Clearing ------------------------------------------------------------------------------

    def crosses_of_month(self, insured_region: str, start: datetime, end: datetime) -> list[CrossSettlement]:
        stmt = (
            select(cross_settlements)
            .where(
                cross_settlements.c.insured_region == insured_region,
                cross_settlements.c.created_at >= start,
                cross_settlements.c.created_at < end,
            )
            .order_by(cross_settlements.c.settlement_id)
        )
        return [CrossSettlement(*r) for r in self.conn.execute(stmt)]

    def clearing(self, month: str, counterpart: str, role: str, *, lock: bool = False):
        stmt = select(clearings).where(
            clearings.c.month == month, clearings.c.counterpart == counterpart, clearings.c.role == role
        )
        return self.conn.execute(self.tx.for_update(stmt) if lock else stmt).first()

    def put_clearing(self, **values) -> None:
        key = (values["month"], values["counterpart"], values["role"])
        if self.clearing(*key) is None:
            self.conn.execute(clearings.insert().values(**values))
        else:
            self.conn.execute(
                clearings.update()
                .where(clearings.c.month == key[0], clearings.c.counterpart == key[1], clearings.c.role == key[2])
                .values(**values)
            )

    def clearings(self, month: str | None = None):
        stmt = select(clearings).order_by(clearings.c.month, clearings.c.counterpart, clearings.c.role)
        if month:
            stmt = stmt.where(clearings.c.month == month)
        return list(self.conn.execute(stmt))

    def cleared_total(self, counterpart: str, role: str) -> int:
        stmt = select(func.coalesce(func.sum(clearings.c.total), 0)).where(
            clearings.c.counterpart == counterpart, clearings.c.role == role, clearings.c.status == "agreed"
        )
        return int(self.conn.execute(stmt).scalar_one())

    # Claim-back (手工报销) -------------------------------------------------------------------

    def claim_back_of_receipt(self, institution: str, receipt_no: str):
        stmt = select(claim_backs).where(
            claim_backs.c.institution == institution, claim_backs.c.receipt_no == receipt_no
        )
        return self.conn.execute(stmt).first()

    def add_claim_back(self, **values) -> int | None:
        """The new claim's id; None when a claim of the same receipt is already there (a concurrent
        twin that passed the check at the same time): inside a savepoint, so the unit of work goes on."""
        try:
            with self.conn.begin_nested():
                return self.conn.execute(claim_backs.insert().values(**values)).inserted_primary_key[0]
        except IntegrityError:
            return None

    def claim_backs_of(self, person_id: int):
        stmt = select(claim_backs).where(claim_backs.c.person_id == person_id).order_by(claim_backs.c.id)
        return list(self.conn.execute(stmt))

    def claim_back_by_id(self, claim_id: int):
        """One claim with its person's 人员编号 and name (``psn_no``, ``name`` beside the claim's columns)."""
        stmt = (
            select(claim_backs, people.c.psn_no, people.c.name)
            .join(people, people.c.id == claim_backs.c.person_id)
            .where(claim_backs.c.id == claim_id)
        )
        return self.conn.execute(stmt).first()

    def direct_settlements(self, person_id: int, institution: str) -> list[Reservation]:
        stmt = select(reservations).where(
            reservations.c.person_id == person_id,
            reservations.c.institution == institution,
            reservations.c.status.in_(("pending", "posted")),
        )
        return [Reservation(*r) for r in self.conn.execute(stmt)]
