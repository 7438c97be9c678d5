"""Signing in to the portal (insured people: ID number + password) and the console (staff).

The portal's failures have counters of their own, apart from the counter PIN's: a web attacker who
knows an ID number can at worst lock that person's portal for the policy's lock period, never their
card password at the pharmacy. Two counters guard each portal sign-in, both claimed *before* the
password is checked (``AccessRepo.claim``), so parallel attempts cannot outrun them:

- per person: ``credential.max_failures`` consecutive failures lock the portal for
  ``credential.lock_minutes`` (the region's password policy); a success resets it;
- per client address: ``SignInLimits.client_max_failures`` failures within
  ``client_window_minutes`` refuse that address for a window (E7301-014), whoever it names; a
  success gives its own count back.

A refusal never says which of the two fields was wrong.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from yibao.credentials.model import PasswordState, hash_password, verify_password
from yibao.errors import DomainError, refuse
from yibao.lifecycle.model import Person
from yibao.services.platform import Platform

STAFF_MAX_FAILURES, STAFF_LOCK_MINUTES = 5, 30
ROLES = ("viewer", "operator")
PORTAL_PERSON, PORTAL_CLIENT = "portal_person", "portal_client"
NO_LIMIT = 2**31 - 1  # a policy's max_failures of 0 turns the lockout off


def client_subject(address: str | None) -> str | None:
    """The counter key of a client address: IPv4 as is, IPv6 by its /64 (one home network)."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _until(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else ""


def sign_in_person(platform: Platform, certno: str, password: str, client: str | None = None) -> Person:
    now = platform.now()
    limits = platform.sign_in_limits
    key = client_subject(client)
    if key is not None:
        window = timedelta(minutes=limits.client_window_minutes)
        with platform.store.uow() as tx:
            claim = tx.access.claim(
                PORTAL_CLIENT,
                key,
                now,
                max_failures=limits.client_max_failures,
                lock_until=now + window,
                window_floor=now - window,
            )
        if claim.refused:
            raise refuse("E7301-014", until=_until(claim.locked_until))
    person = _check_person(platform, certno, password, now)
    if key is not None:
        with platform.store.uow() as tx:
            tx.access.refund(PORTAL_CLIENT, key, now, max_failures=limits.client_max_failures)
    return person


def _check_person(platform: Platform, certno: str, password: str, now: datetime) -> Person:
    with platform.store.uow(read_only=True) as tx:
        person = tx.people.by_certno(certno.strip().upper()) if certno else None
        state = tx.credentials.password(person.id) if person else None
        policy = platform.policy(tx, person.admdvs) if person else None
    if person is None or state is None:
        raise refuse("E7301-009")
    day = now.date()
    max_failures = policy.setting("credential.max_failures", day) or NO_LIMIT
    lock_minutes = policy.setting("credential.lock_minutes", day)
    with platform.store.uow() as tx:
        claim = tx.access.claim(
            PORTAL_PERSON,
            str(person.id),
            now,
            max_failures=max_failures,
            lock_until=now + timedelta(minutes=lock_minutes),
        )
    if claim.refused:
        raise refuse("E7301-011", until=_until(claim.locked_until))
    if verify_password(state.hash, password or ""):
        with platform.store.uow() as tx:
            tx.access.reset(PORTAL_PERSON, str(person.id), now)
        return person
    if claim.locked_until is not None:
        raise refuse("E7301-011", until=_until(claim.locked_until))
    raise refuse("E7301-009")


def portal_lock(platform: Platform, psn_no: str) -> datetime | None:
    """Until when the person's portal sign-in is locked (None: not locked), for the console."""
    now = platform.now()
    with platform.store.uow(read_only=True) as tx:
        person = tx.people.by_psn_no(psn_no)
        got = tx.access.counter(PORTAL_PERSON, str(person.id)) if person else None
    return got[1] if got and got[1] is not None and got[1] > now else None


# Staff -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Staff:
    username: str
    name: str
    role: str

    @property
    def may_cancel(self) -> bool:
        return self.role == "operator"

    @property
    def may_confirm(self) -> bool:
        return self.role == "operator"

    @property
    def signature(self) -> str:
        """How the staff member signs what they decide (kept even if the account is removed later)."""
        return f"{self.name}（{self.username}）"


def _valid_role(role: str) -> bool:
    return role in ROLES


def add_staff(platform: Platform, username: str, name: str, role: str, password: str) -> Staff:
    if not re.fullmatch(r"[A-Za-z0-9_]{3,40}", username or "") or not _valid_role(role) or len(password or "") < 8:
        raise refuse("E7301-012")
    with platform.store.uow() as tx:
        if tx.access.staff(username) is not None:
            raise refuse("E7301-013", username=username)
        tx.access.add_staff(username, name or username, role, hash_password(password), platform.now())
    return Staff(username, name or username, role)


def set_staff_role(platform: Platform, username: str, role: str) -> Staff:
    """Takes effect on the member's next request: console sessions re-read the staff row each time."""
    if not _valid_role(role):
        raise refuse("E7301-012")
    with platform.store.uow() as tx:
        if not tx.access.update_staff(username, role=role):
            raise refuse("E7301-015", username=username)
        row = tx.access.staff(username)
    return Staff(row.username, row.name, row.role)


def remove_staff(platform: Platform, username: str) -> None:
    """The account goes, and with it every console session it had."""
    with platform.store.uow() as tx:
        if not tx.access.delete_staff(username):
            raise refuse("E7301-015", username=username)
        tx.access.end_sessions_of("console", username, platform.now())


def all_staff(platform: Platform) -> list[Staff]:
    with platform.store.uow(read_only=True) as tx:
        return [Staff(r.username, r.name, r.role) for r in tx.access.all_staff()]


def sign_in_staff(platform: Platform, username: str, password: str) -> Staff:
    """The staff row is locked while its password is checked, so parallel attempts queue on it."""
    now = platform.now()
    with platform.store.uow() as tx:
        row = tx.access.staff(username or "", lock=True)
        if row is None:
            raise refuse("E7301-010")
        state = PasswordState(row.password_hash, row.failures, row.locked_until)
        if state.locked(now):
            raise refuse("E7301-011", until=_until(state.locked_until))
        if verify_password(row.password_hash, password or ""):
            tx.access.update_staff(row.username, failures=0, locked_until=None)
            return Staff(row.username, row.name, row.role)
        failed = state.after_failure(now, STAFF_MAX_FAILURES, STAFF_LOCK_MINUTES)
        tx.access.update_staff(row.username, failures=failed.failures, locked_until=failed.locked_until)
        error: DomainError = (
            refuse("E7301-011", until=_until(failed.locked_until)) if failed.locked(now) else refuse("E7301-010")
        )
        error.keep_writes = True
        raise error


def staff_member(platform: Platform, username: str) -> Staff | None:
    with platform.store.uow(read_only=True) as tx:
        row = tx.access.staff(username)
    return Staff(row.username, row.name, row.role) if row else None
