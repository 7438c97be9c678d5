"""Web sessions: server-side records behind the portal's and the console's cookie.

The (signed) cookie carries a random token per area; the table keeps only the token's SHA-256, who
signed in and until when. Every request reads the record — for the console together with the staff
row, so a changed role or a removed account counts from the next request. Logout ends the record, and
so does a later sign-in in the same browser: a copied cookie opens nothing afterwards.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from yibao.services.platform import Platform
from yibao.services.signin import Staff

_COOKIE_SECRET_SETTING = "session_secret"
SESSION_HOURS = 8  # an absolute lifetime from sign-in; the cookie's max-age is the same
PORTAL, CONSOLE = "portal", "console"


def _sid(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(platform: Platform, area: str, subject: str) -> str:
    """A new session; returns the token for the cookie."""
    now = platform.now()
    token = secrets.token_urlsafe(32)
    with platform.store.uow() as tx:
        tx.access.prune_sessions(now - timedelta(days=1))
        tx.access.add_session(_sid(token), area, subject, now, now + timedelta(hours=SESSION_HOURS))
    return token


def end(platform: Platform, token: str) -> None:
    with platform.store.uow() as tx:
        tx.access.end_session(_sid(token), platform.now())


def person_of(platform: Platform, token: str) -> str | None:
    """The psn_no a live portal session belongs to."""
    with platform.store.uow(read_only=True) as tx:
        return tx.access.session_subject(_sid(token), PORTAL, platform.now())


def staff_of(platform: Platform, token: str) -> Staff | None:
    """The staff member of a live console session, with the role the staff table gives now."""
    with platform.store.uow(read_only=True) as tx:
        row = tx.access.session_staff(_sid(token), platform.now())
    return Staff(row.username, row.name, row.role) if row else None


def cookie_secret(platform: Platform) -> str:
    """The key that signs the pages' cookie: made once, kept in the settings table, so every worker
    and every restart of the server accepts the same cookies."""
    with platform.unit() as tx:
        value = tx.config.get(_COOKIE_SECRET_SETTING)
        if value is None:  # another worker may be making it at the same moment: the first one kept wins
            value = tx.config.put_new(_COOKIE_SECRET_SETTING, secrets.token_hex(32))
    return value
