"""The interface description and its readers, served from the package, never from a CDN.

``/openapi.json`` is the OpenAPI document; ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) read it.
Their scripts and styles come from the ``fastapi-offline`` wheel installed with yibao, so the pages
work offline and where a CDN is unreachable. Nothing on these pages is fetched from elsewhere.

Who may read them is a setting (``yibao serve --api-docs`` or ``YIBAO_API_DOCS``):

- ``public``: anyone; the sandbox's default (an HIS developer reads the docs before holding any
  credential).
- ``admin``: the production default. The admin token (``Authorization: Bearer …``, for tools that
  fetch ``/openapi.json``) or a console staff member signed in in the same browser (``/console/``).
- ``off``: not served at all.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from yibao.credentials.model import check_admin
from yibao.errors import DomainError
from yibao.web.mount import STATIC, error_page
from yibao.web.security import SignInRequired, signed_in_staff

API_DOCS = ("public", "admin", "off")
ASSETS = Path(fastapi_offline.__file__).with_name("static")
ASSETS_URL = "/docs-assets"  # not under /static, which the web pages mount first
FAVICON = "/favicon.ico"
# The pages may load nothing from elsewhere (ReDoc would fetch its logo from its CDN): the browser
# itself refuses, so an agency's network never sees a request leave for a CDN.
ONLY_LOCAL = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)
CLOSED = "接口文档仅对经办机构开放：请带管理令牌（Authorization: Bearer …）访问，或先登录经办控制台 /console/"


def default_mode(sandbox: bool) -> str:
    return "public" if sandbox else "admin"


def mount_docs(app: FastAPI, mode: str) -> None:
    """Serve the favicon, and the OpenAPI document with its two readers as ``mode`` allows."""
    if mode not in API_DOCS:
        raise ValueError(f"api_docs should be one of {API_DOCS}: {mode!r}")

    @app.get(FAVICON, include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(STATIC / "favicon.ico", media_type="image/vnd.microsoft.icon")

    if mode == "off":
        return
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="api-docs-assets")

    def allowed(request: Request) -> bool:
        if mode == "public":
            return True
        try:
            check_admin(request.app.state.admin_token, request.headers.get("authorization"))
            return True
        except DomainError:
            pass
        try:
            signed_in_staff(request)
            return True
        except SignInRequired:
            return False

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(request: Request):
        if not allowed(request):
            return JSONResponse({"code": "E0000-006", "message": CLOSED}, status_code=401)
        return JSONResponse(app.openapi())

    def reader(page: HTMLResponse):
        """A reader page, for those ``allowed``; its HTML does not depend on the request."""

        def route(request: Request):
            if not allowed(request):
                return error_page(request, 401, "E0000-006", CLOSED)
            return _only_local(page)

        return route

    swagger = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title=f"{app.title} · Swagger UI",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=FAVICON,
        swagger_ui_parameters={"validatorUrl": None},  # no call to swagger.io's validator
    )
    redoc = get_redoc_html(
        openapi_url="/openapi.json",
        title=f"{app.title} · ReDoc",
        redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
        redoc_favicon_url=FAVICON,
        with_google_fonts=False,
    )
    app.get("/docs", include_in_schema=False)(reader(swagger))
    app.get("/redoc", include_in_schema=False)(reader(redoc))


def _only_local(page: HTMLResponse) -> HTMLResponse:
    fresh = HTMLResponse(page.body, status_code=page.status_code)
    fresh.headers["Content-Security-Policy"] = ONLY_LOCAL
    return fresh
