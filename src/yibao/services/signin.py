"""Signing in to the portal (insured people: ID number + password) and the console (staff).

Both count failures and lock for the policy's period, like the counter password; a refusal never
says which of the two fields was wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select, update

from yibao.credentials.model import PasswordState, hash_password, verify_password
from yibao.errors import refuse
from yibao.lifecycle.model import Person
from yibao.services.platform import Platform
from yibao.storage.tables import staff

STAFF_MAX_FAILURES, STAFF_LOCK_MINUTES = 5, 30
ROLES = ("viewer", "operator")


def sign_in_person(p: Platform, certno: str, password: str) -> Person:
    now = p.now()
    with p.store.uow(read_only=True) as tx:
        person = tx.people.by_certno(certno.strip().upper()) if certno else None
        state = tx.credentials.password(person.id) if person else None
        policy = p.policy(tx, person.admdvs) if person else None
    if person is None or state is None:
        raise refuse("E7301-009")
    if state.locked(now):
        raise refuse("E7301-011", until=f"{state.locked_until:%Y-%m-%d %H:%M}")
    if verify_password(state.hash, password or ""):
        if state.failures:
            with p.store.uow() as tx:
                tx.credentials.put_password(person.id, state.after_success(), now)
        return person
    day = now.date()
    failed = state.after_failure(
        now,
        policy.value("credential.max_failures", day, default=5),
        policy.value("credential.lock_minutes", day, default=1440),
    )
    with p.store.uow() as tx:
        tx.credentials.put_password(person.id, failed, now)
    if failed.locked(now):
        raise refuse("E7301-011", until=f"{failed.locked_until:%Y-%m-%d %H:%M}")
    raise refuse("E7301-009")


@dataclass(frozen=True)
class Staff:
    username: str
    name: str
    role: str

    @property
    def may_cancel(self) -> bool:
        return self.role == "operator"


def add_staff(p: Platform, username: str, name: str, role: str, password: str) -> Staff:
    if not re.fullmatch(r"[A-Za-z0-9_]{3,40}", username or "") or role not in ROLES or len(password or "") < 8:
        raise refuse("E7301-012")
    with p.store.uow() as tx:
        if tx.conn.execute(select(staff.c.username).where(staff.c.username == username)).first():
            raise refuse("E7301-013", username=username)
        tx.conn.execute(
            staff.insert(),
            dict(
                username=username,
                name=name or username,
                role=role,
                password_hash=hash_password(password),
                created_at=p.now(),
            ),
        )
    return Staff(username, name or username, role)


def sign_in_staff(p: Platform, username: str, password: str) -> Staff:
    now = p.now()
    with p.store.uow() as tx:
        row = tx.conn.execute(tx.for_update(select(staff).where(staff.c.username == (username or "")))).first()
        if row is None:
            raise refuse("E7301-010")
        state = PasswordState(row.password_hash, row.failures, row.locked_until)
        if state.locked(now):
            raise refuse("E7301-011", until=f"{state.locked_until:%Y-%m-%d %H:%M}")
        if verify_password(row.password_hash, password or ""):
            tx.conn.execute(update(staff).where(staff.c.username == row.username).values(failures=0, locked_until=None))
            return Staff(row.username, row.name, row.role)
        failed = state.after_failure(now, STAFF_MAX_FAILURES, STAFF_LOCK_MINUTES)
        tx.conn.execute(
            update(staff)
            .where(staff.c.username == row.username)
            .values(failures=failed.failures, locked_until=failed.locked_until)
        )
        error = (
            refuse("E7301-011", until=f"{failed.locked_until:%Y-%m-%d %H:%M}")
            if failed.locked(now)
            else refuse("E7301-010")
        )
        error.keep_writes = True
        raise error


def staff_member(p: Platform, username: str) -> Staff | None:
    with p.store.uow(read_only=True) as tx:
        row = tx.conn.execute(select(staff).where(staff.c.username == username)).first()
    return Staff(row.username, row.name, row.role) if row else None
