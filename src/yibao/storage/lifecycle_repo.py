"""Contributions (缴费), pre-allocations (预划) and off-site filings (异地就医备案)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, select

from yibao.storage.tables import contributions, offsite_filings, preallocations


class LifecycleRepo:
    def __init__(self, tx):
        self.tx = tx
        self.conn = tx.conn

    # Contributions -------------------------------------------------------------------------------

    def add_contribution(self, **values: Any) -> None:
        self.conn.execute(contributions.insert(), values)

    def has_contribution(self, person_id: int, kind: str, period: str) -> bool:
        stmt = select(contributions.c.id).where(
            contributions.c.person_id == person_id, contributions.c.kind == kind, contributions.c.period == period
        )
        return self.conn.execute(stmt).first() is not None

    def premiums_paid_by(self, person_id: int, payer_id: int, since: date, until: date) -> int:
        """What ``payer_id`` paid towards ``person_id``'s premiums on days in [since, until]."""
        stmt = select(func.coalesce(func.sum(contributions.c.amount), 0)).where(
            contributions.c.person_id == person_id,
            contributions.c.paid_by_id == payer_id,
            contributions.c.paid_on >= since,
            contributions.c.paid_on <= until,
        )
        return int(self.conn.execute(stmt).scalar_one())

    # Pre-allocations -----------------------------------------------------------------------------

    def add_preallocation(self, **values: Any) -> None:
        self.conn.execute(preallocations.insert(), values)

    def preallocated(self, person_id: int, month: str) -> bool:
        """An open pre-allocation covers ``month`` (YYYY-MM)."""
        stmt = select(preallocations.c.id).where(
            preallocations.c.person_id == person_id,
            preallocations.c.first_month <= month,
            preallocations.c.last_month >= month,
            preallocations.c.settled_at.is_(None),
        )
        return self.conn.execute(stmt).first() is not None

    def open_preallocations(self, person_id: int) -> list:
        stmt = select(preallocations).where(
            preallocations.c.person_id == person_id, preallocations.c.settled_at.is_(None)
        )
        return list(self.conn.execute(stmt).all())

    def settle_preallocation(self, pk: int, at: datetime) -> None:
        self.conn.execute(preallocations.update().where(preallocations.c.id == pk).values(settled_at=at))

    # Off-site filings ----------------------------------------------------------------------------

    def add_filing(self, **values: Any) -> None:
        self.conn.execute(offsite_filings.insert(), values)

    def filing_kinds(self, person_id: int, care_admdvs: str, day: date) -> set[str]:
        """The kinds of filing in force on ``day`` for care in ``care_admdvs`` (any region when unnamed)."""
        stmt = select(offsite_filings.c.kind).where(
            and_(
                offsite_filings.c.person_id == person_id,
                offsite_filings.c.cancelled_at.is_(None),
                offsite_filings.c.valid_from <= day,
                (offsite_filings.c.valid_to.is_(None)) | (offsite_filings.c.valid_to >= day),
                (offsite_filings.c.admdvs.is_(None)) | (offsite_filings.c.admdvs == care_admdvs),
            )
        )
        return {r[0] for r in self.conn.execute(stmt)}
