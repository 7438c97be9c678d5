"""Sessions and CSRF for the web pages.

The browser holds one signed cookie (Starlette's SessionMiddleware) with a random CSRF token and, per
area, the token of a server-side session (``services.sessions``): who is signed in is read from the
database on every request, never from the cookie. Signing in ends the browser's previous session of
that area and rotates the CSRF token; signing out ends the session on the server. Every form and HTMX
request sends the CSRF token back. A person reaches only their own pages and those of their 亲情账户
members; console pages check the staff role as the staff table says it now.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request

from yibao.errors import DomainError
from yibao.services import sessions
from yibao.services.signin import Staff


class SignInRequired(Exception):
    def __init__(self, where: str):
        self.where = where


class Forbidden(DomainError):
    def __init__(self, detail: str):
        super().__init__("E7201-009", f"无权查看：{detail}")


def session_secret(p) -> str:
    return sessions.cookie_secret(p)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if token is None:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, sent: str | None) -> None:
    expected = request.session.get("csrf")
    sent = sent or request.headers.get("x-csrf-token")
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise DomainError("E0000-006", "页面已过期或请求来源无效（CSRF），请刷新后重试")


def _platform(request: Request):
    return request.app.state.platform


def begin_session(request: Request, area: str, subject: str) -> None:
    """After a successful sign-in: a new server-side session (the browser's previous one in this area
    ends) and a new CSRF token."""
    p = _platform(request)
    old = request.session.get(area)
    if old:
        sessions.end(p, old)
    request.session[area] = sessions.start(p, area, subject)
    request.session["csrf"] = secrets.token_urlsafe(24)


def end_session(request: Request, area: str) -> None:
    token = request.session.pop(area, None)
    if token:
        sessions.end(_platform(request), token)
    request.session["csrf"] = secrets.token_urlsafe(24)


def signed_in_person(request: Request) -> str:
    token = request.session.get(sessions.PORTAL)
    psn_no = sessions.person_of(_platform(request), token) if token else None
    if not psn_no:
        request.session.pop(sessions.PORTAL, None)
        raise SignInRequired("/portal/login")
    return psn_no


def signed_in_staff(request: Request) -> Staff:
    token = request.session.get(sessions.CONSOLE)
    staff = sessions.staff_of(_platform(request), token) if token else None
    if staff is None:
        request.session.pop(sessions.CONSOLE, None)
        raise SignInRequired("/console/login")
    return staff


def client_address(request: Request) -> str | None:
    """The address sign-in limits count against: the connection's peer, which uvicorn replaces by
    ``X-Forwarded-For`` only when the peer is a trusted proxy (``--forwarded-allow-ips``)."""
    return request.client.host if request.client else None
