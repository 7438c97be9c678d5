"""Mount the portal, the console and the static files onto the service's FastAPI app."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from yibao.services.sessions import SESSION_HOURS
from yibao.web import console, portal
from yibao.web.render import page
from yibao.web.security import SignInRequired, session_secret

STATIC = Path(__file__).with_name("static")


def is_page(request: Request) -> bool:
    return request.url.path.startswith(("/portal", "/console"))


def error_page(request: Request, status: int, code: str, message: str):
    return page(request, "error.html", status_code=status, code=code, message=message)


def mount_web(app: FastAPI, p) -> None:
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(p),
        session_cookie="yibao_session",
        same_site="lax",
        https_only=os.environ.get("YIBAO_SECURE_COOKIES") == "1",  # set behind TLS
        max_age=SESSION_HOURS * 3600,  # the server-side record expires at the same time
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(portal.router)
    app.include_router(console.router)

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, exc: SignInRequired):
        return RedirectResponse(exc.where, status_code=303)

    @app.get("/", include_in_schema=False)
    def root():
        return RedirectResponse("/portal/", status_code=303)
