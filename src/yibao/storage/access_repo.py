"""Who may come in: web sessions, sign-in failure counters, and the console's staff accounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from yibao.credentials.model import Claim, StaffRow
from yibao.storage.tables import sign_in_counters, staff, web_sessions

_STAFF = select(
    staff.c.username, staff.c.name, staff.c.role, staff.c.password_hash, staff.c.failures, staff.c.locked_until
)


class AccessRepo:
    def __init__(self, tx):
        self.tx = tx
        self.conn = tx.conn

    # Sessions -----------------------------------------------------------------------------------

    def add_session(self, sid: str, area: str, subject: str, now: datetime, expires_at: datetime) -> None:
        self.conn.execute(
            web_sessions.insert().values(id=sid, area=area, subject=subject, created_at=now, expires_at=expires_at)
        )

    def _alive(self, sid: str, area: str, now: datetime):
        s = web_sessions.c
        return and_(s.id == sid, s.area == area, s.ended_at.is_(None), s.expires_at > now)

    def session_subject(self, sid: str, area: str, now: datetime) -> str | None:
        return self.conn.execute(select(web_sessions.c.subject).where(self._alive(sid, area, now))).scalar()

    def session_staff(self, sid: str, now: datetime) -> StaffRow | None:
        """The staff member a live console session belongs to, as the staff table says now."""
        row = self.conn.execute(
            _STAFF.join(web_sessions, web_sessions.c.subject == staff.c.username).where(
                self._alive(sid, "console", now)
            )
        ).first()
        return StaffRow(*row) if row else None

    def end_session(self, sid: str, now: datetime) -> None:
        self.conn.execute(
            update(web_sessions).where(web_sessions.c.id == sid, web_sessions.c.ended_at.is_(None)).values(ended_at=now)
        )

    def end_sessions_of(self, area: str, subject: str, now: datetime) -> None:
        s = web_sessions.c
        self.conn.execute(
            update(web_sessions).where(s.area == area, s.subject == subject, s.ended_at.is_(None)).values(ended_at=now)
        )

    def prune_sessions(self, before: datetime) -> None:
        """Forget sessions that expired or ended before ``before`` (they open nothing either way)."""
        s = web_sessions.c
        self.conn.execute(delete(web_sessions).where(or_(s.expires_at < before, s.ended_at < before)))

    # Sign-in failure counters -----------------------------------------------------------------------

    def claim(
        self,
        scope: str,
        subject: str,
        now: datetime,
        *,
        max_failures: int,
        lock_until: datetime,
        window_floor: datetime | None = None,
    ) -> Claim:
        """Count one attempt as a failure *before* its password is checked, in one UPDATE.

        The count is read and written by the same statement, so parallel attempts queue on the row
        and each sees the others' counts: once ``max_failures`` attempts are counted, every further one
        is refused unchecked until ``lock_until``. A success gives its count back (``refund`` /
        ``reset``). ``window_floor``: counts from a window that started at or before it are forgotten.
        """
        c = sign_in_counters.c
        self._ensure_counter(scope, subject, now)
        stale = or_(and_(c.locked_until.is_not(None), c.locked_until <= now), c.window_start.is_(None))
        if window_floor is not None:
            stale = or_(stale, c.window_start <= window_floor)
        failures = case((stale, 1), else_=c.failures + 1)
        stmt = (
            update(sign_in_counters)
            .where(c.scope == scope, c.subject == subject, or_(c.locked_until.is_(None), c.locked_until <= now))
            .values(
                failures=failures,
                window_start=case((stale, now), else_=c.window_start),
                locked_until=case((failures >= max_failures, lock_until), else_=None),
                updated_at=now,
            )
            .returning(c.failures, c.locked_until)
        )
        row = self.conn.execute(stmt).first()
        if row is not None:
            return Claim(False, row.failures, row.locked_until)
        until = self.conn.execute(select(c.locked_until).where(c.scope == scope, c.subject == subject)).scalar_one()
        return Claim(True, max_failures, until)

    def _ensure_counter(self, scope: str, subject: str, now: datetime) -> None:
        insert = sqlite_insert if self.tx.sqlite else pg_insert
        self.conn.execute(
            insert(sign_in_counters)
            .values(scope=scope, subject=subject, failures=0, updated_at=now)
            .on_conflict_do_nothing(index_elements=["scope", "subject"])
        )

    def refund(self, scope: str, subject: str, now: datetime, *, max_failures: int) -> None:
        """Give back the count a successful attempt claimed (the others' counts stay)."""
        c = sign_in_counters.c
        self.conn.execute(
            update(sign_in_counters)
            .where(c.scope == scope, c.subject == subject)
            .values(
                failures=case((c.failures > 0, c.failures - 1), else_=0),
                locked_until=case((c.failures - 1 < max_failures, None), else_=c.locked_until),
                updated_at=now,
            )
        )

    def reset(self, scope: str, subject: str, now: datetime) -> None:
        c = sign_in_counters.c
        self.conn.execute(
            update(sign_in_counters)
            .where(c.scope == scope, c.subject == subject)
            .values(failures=0, window_start=None, locked_until=None, updated_at=now)
        )

    def counter(self, scope: str, subject: str) -> tuple[int, datetime | None] | None:
        c = sign_in_counters.c
        row = self.conn.execute(
            select(c.failures, c.locked_until).where(c.scope == scope, c.subject == subject)
        ).first()
        return (row.failures, row.locked_until) if row else None

    # Staff ----------------------------------------------------------------------------------------

    def staff(self, username: str, *, lock: bool = False) -> StaffRow | None:
        stmt = _STAFF.where(staff.c.username == username)
        row = self.conn.execute(self.tx.for_update(stmt) if lock else stmt).first()
        return StaffRow(*row) if row else None

    def all_staff(self) -> list[StaffRow]:
        return [StaffRow(*r) for r in self.conn.execute(_STAFF.order_by(staff.c.username))]

    def add_staff(self, username: str, name: str, role: str, password_hash: str, now: datetime) -> None:
        self.conn.execute(
            staff.insert().values(
                username=username, name=name, role=role, password_hash=password_hash, failures=0, created_at=now
            )
        )

    def update_staff(self, username: str, **values) -> bool:
        return self.conn.execute(update(staff).where(staff.c.username == username).values(**values)).rowcount > 0

    def delete_staff(self, username: str) -> bool:
        return self.conn.execute(delete(staff).where(staff.c.username == username)).rowcount > 0
