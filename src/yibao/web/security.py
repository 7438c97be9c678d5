"""Sessions and CSRF for the web pages.

The session is a signed cookie (Starlette's SessionMiddleware); it holds who signed in (a person's
``psn_no`` for the portal, a staff username for the console) and a random CSRF token that every
form and HTMX request must send back. A person reaches only their own pages and those of their
亲情账户 members; console pages check the staff role.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request

from yibao.errors import DomainError

SESSION_KEY = "session_secret"


class SignInRequired(Exception):
    def __init__(self, where: str):
        self.where = where


class Forbidden(DomainError):
    def __init__(self, detail: str):
        super().__init__("E7201-009", f"无权查看：{detail}")


def session_secret(p) -> str:
    with p.store.uow() as tx:
        value = tx.config.get(SESSION_KEY)
        if value is None:
            value = secrets.token_hex(32)
            tx.config.put(SESSION_KEY, value)
    return value


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


def signed_in_person(request: Request) -> str:
    psn_no = request.session.get("psn_no")
    if not psn_no:
        raise SignInRequired("/portal/login")
    return psn_no


def signed_in_staff(request: Request) -> dict:
    staff = request.session.get("staff")
    if not staff:
        raise SignInRequired("/console/login")
    return staff
