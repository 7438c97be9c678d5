"""The HTTP service: the NHSA gateway endpoint, the platform key, the admin REST API.

Gateway calls always answer with an envelope: HTTP 200 for a well-formed request (success or
business refusal, and also when the database is unreachable: ``infcode -1``, ``[E0000-098]``), 400
for a body that is not JSON, 401 when the institution cannot be authenticated. The REST API answers
``{code, message}`` with a 4xx status (503 while the database is unreachable). Nothing answers 500.

The gateway answers at the national URL, at the same URL followed by ``/{infno}``, and at both under
an extra prefix an agency configures (``--gateway-prefix``, ``YIBAO_GATEWAY_PREFIX``). Bodies are
read in the charset the ``Content-Type`` names, else UTF-8, else GB18030; a GB-encoded request is
answered in GB18030.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from yibao import __version__
from yibao.api import admin, sandbox
from yibao.api.admission import MOST, admission
from yibao.api.auth import api_key_of, authenticate_institution
from yibao.api.files import file_response, is_multipart, upload_envelope
from yibao.credentials.model import check_admin
from yibao.errors import DomainError, StoreUnavailable, StoreValueRefused, plain_message, refuse
from yibao.gateway.dispatcher import dispatch, prepare
from yibao.limits import refusal_code
from yibao.nhsa.envelope import MAX_LEN, OPTIONAL, REQUIRED, dumps, is_gb, parse_body, respond
from yibao.services import views
from yibao.services.identity import public_key_pem
from yibao.services.platform import Platform
from yibao.web.docs import default_mode, mount_docs
from yibao.web.mount import error_page, is_page, mount_web

log = logging.getLogger("yibao.http")
GATEWAY_PATH = "/fsi/api/rsfComIfsService/callService"
MAX_BODY = 2_000_000

NOT_FOUND = {
    "E1101-001",
    "E2201-001",
    "E2208-001",
    "E0000-004",
    "E7101-005",
    "E7201-008",
    "E7201-010",
    "E7301-001",
    "E7301-008",
    "E7301-015",
}
UNAUTHORIZED = {"E0000-006"}
FORBIDDEN = {"E7201-009"}
TOO_MANY = {"E7301-014"}
INVALID = {"E0000-002", "E0000-008", "E0000-009", "E8001-001", "E8001-002", "E7301-003", "E7301-006", "E7401-009"}


ENVELOPE = {
    "type": "object",
    "required": list(REQUIRED),
    "properties": {
        **{name: {"type": "string", "maxLength": MAX_LEN.get(name, 200)} for name in (*REQUIRED, *OPTIONAL)},
        "inf_time": {"type": "string", "example": "2025-06-01 10:00:00"},
        "input": {"type": "object"},
    },
}


def require_admin(request: Request) -> None:
    check_admin(request.app.state.admin_token, request.headers.get("authorization"))


def status_of(code: str) -> int:
    if code in UNAUTHORIZED:
        return 401
    if code in FORBIDDEN:
        return 403
    if code in TOO_MANY:
        return 429
    if code in NOT_FOUND:
        return 404
    if code in INVALID:
        return 422
    return 409


def gateway_paths(prefix: str | None) -> list[str]:
    """The national URL, and the same under the agency's prefix when it has one."""
    prefix = "/" + prefix.strip("/") if prefix and prefix.strip("/") else ""
    return [GATEWAY_PATH] + ([prefix + GATEWAY_PATH] if prefix else [])


def charset_of(content_type: str | None) -> str | None:
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return None


class YibaoApp(FastAPI):
    """The FastAPI app, with the gateway's POSTs taken before its middleware and router.

    A settlement is the hot path: the session middleware, the exception middleware, routing,
    dependency solving and anyio's thread hand-off cost about as much CPU as authenticating the
    caller. The gateway needs none of them — it answers every outcome with an envelope itself — so a
    POST to a gateway URL goes straight to ``_gateway`` on a thread of the gateway's own pool; every
    other request (and a GET on a gateway URL: 405) goes through FastAPI as before. The routes stay
    registered for the OpenAPI document."""

    gateway_urls: tuple[Platform, frozenset[str]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.gateway_urls is not None and scope["type"] == "http" and scope["method"] == "POST":
            p, paths = self.gateway_urls
            path = scope["path"]
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            infno = None
            if path not in paths:
                head, _, infno = path.rpartition("/")
                if not infno or head not in paths:
                    infno = None
            if path in paths or infno is not None:
                scope["app"] = self
                await _serve_gateway(self, p, scope, receive, send, infno)
                return
        await super().__call__(scope, receive, send)

    async def error_response(self, scope: Scope, receive: Receive, exc: Exception) -> Response:
        """What the app's exception handlers answer for ``exc`` (the last one catches everything)."""
        for cls in type(exc).__mro__:
            handler = self.exception_handlers.get(cls)
            if handler is not None:
                return await handler(Request(scope, receive), exc)
        raise exc  # pragma: no cover - create_app registers a handler for Exception


def create_app(
    p: Platform, *, admin_token: str | None, api_docs: str | None = None, gateway_prefix: str | None = None
) -> FastAPI:
    """``api_docs``: who may read /docs, /redoc and /openapi.json (``api.docs``; default by mode);
    ``gateway_prefix``: the agency's extra path before the national URL."""
    app = YibaoApp(
        title="yibao 医保平台接口",
        version=__version__,
        description="国家医保接口（/fsi/api/rsfComIfsService/callService）与经办管理接口（/api/v1，Bearer 管理令牌）。"
        + ("\n\n**沙箱模式：机构认证已关闭。**" if p.sandbox else ""),
        docs_url=None,  # served by api.docs from the package, behind the api_docs setting
        redoc_url=None,
        openapi_url=None,
    )
    app.state.platform = p
    app.state.admin_token = admin_token
    app.gateway_urls = (p, frozenset(gateway_paths(gateway_prefix)))
    prepare()

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError):
        if is_page(request):
            # A "not found" names what the URL asked for; a page says only that it was not found.
            message = plain_message(exc.code) if exc.code in NOT_FOUND else exc.message
            return error_page(request, status_of(exc.code), exc.code, message)
        return JSONResponse({"code": exc.code, "message": exc.message}, status_code=status_of(exc.code))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()))
        code = refusal_code((first.get("ctx") or {}).get("error"))
        if is_page(request):
            return error_page(request, 422, code, f"请求格式错误：{where}")
        why = str(first.get("msg", "")).removeprefix("Value error, ")
        return JSONResponse({"code": code, "message": f"请求格式错误：{where}：{why}"}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        words = {404: "没有这个接口", 405: "不支持该请求方法"}.get(exc.status_code, str(exc.detail))
        if is_page(request):
            return error_page(
                request, exc.status_code, f"H{exc.status_code}", "没有这个页面" if exc.status_code == 404 else words
            )
        return JSONResponse({"code": f"H{exc.status_code}", "message": words}, status_code=exc.status_code)

    @app.exception_handler(StoreValueRefused)
    @app.exception_handler(UnicodeEncodeError)
    async def unstorable(request: Request, exc: Exception):
        message = "请求含有数据库无法保存的内容（如 NUL 字符、孤立代理项或超长文本）"
        if is_page(request):
            return error_page(request, 422, "E0000-008", message)
        return JSONResponse({"code": "E0000-008", "message": message}, status_code=422)

    @app.exception_handler(StoreUnavailable)
    async def database_busy(request: Request, exc: StoreUnavailable):
        log.warning("database unavailable on %s: %s", request.url.path, exc)
        return JSONResponse({"code": "E0000-098", "message": "数据库暂时不可用或繁忙，请稍后重试"}, status_code=503)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):  # pragma: no cover - a bug, logged not shown
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse({"code": "E0000-099", "message": "系统内部错误"}, status_code=503)

    for path in gateway_paths(gateway_prefix):
        app.add_api_route(
            path,
            _endpoint(p),
            methods=["POST"],
            tags=["国家接口"],
            summary="交易入口（infno 选择交易）",
            openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": ENVELOPE}}}},
            responses={200: {"description": "应答报文（infcode 0 成功，-1 失败）"}},
        )
        app.add_api_route(
            path + "/{infno}",
            _endpoint(p),
            methods=["POST"],
            tags=["国家接口"],
            summary="交易入口（URL 末尾的交易编号须与报文 infno 一致）",
            openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": ENVELOPE}}}},
            responses={200: {"description": "应答报文（infcode 0 成功，-1 失败）"}},
        )

    @app.get(
        "/fsi/api/pubkey",
        response_class=PlainTextResponse,
        tags=["国家接口"],
        summary="平台公钥（PEM），用于 RSA-OAEP-SHA256 加密 cainfo 中的患者密码",
    )
    def pubkey() -> str:
        return public_key_pem(p)

    @app.get("/healthz", tags=["运维"])
    def health() -> dict:
        answer = {"ok": True, "sandbox": p.sandbox, "database": views.health(p)}
        return {**answer, "region": p.region} if p.region else answer  # a region instance names itself

    guard = [Depends(require_admin)]  # a dependency, not an HTTP middleware: nothing extra on the gateway path
    app.include_router(admin.router, dependencies=guard)
    if p.sandbox:
        app.include_router(sandbox.router, dependencies=guard)
    mount_web(app, p)
    mount_docs(app, api_docs or default_mode(p.sandbox))
    return app


# The gateway's threads: as many as the admission lets run at most (``api.admission.MOST``; the
# database pool's connections are the real bound), most of the time only ``BASE`` of them busy.
GATEWAY_THREADS = MOST
_pool: ThreadPoolExecutor | None = None


def _threads() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(GATEWAY_THREADS, thread_name_prefix="yibao-gateway")
    return _pool


async def _serve_gateway(
    app: YibaoApp, p: Platform, scope: Scope, receive: Receive, send: Send, infno: str | None
) -> None:
    """One gateway call straight from ASGI: read the body, answer on a pool thread, send."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return  # the HIS went away before it finished sending: nobody to answer
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    loop = asyncio.get_running_loop()
    gate = admission()
    await gate.enter()  # few calls at once, first come first run (``api.admission``)
    try:
        response = await loop.run_in_executor(_threads(), partial(_gateway, p, Headers(scope=scope), body, infno))
    except Exception as exc:  # outside _gateway's own net (e.g. an answer GB18030 cannot encode): as routed
        response = await app.error_response(scope, receive, exc)
    finally:
        gate.leave()
    await response(scope, receive, send)


def _endpoint(p: Platform):
    """The routed endpoint (YibaoApp answers first; this one serves apps built without it, and the OpenAPI)."""

    async def call_service(request: Request) -> Response:
        body = await request.body()
        loop = asyncio.get_running_loop()
        call = partial(_gateway, p, request.headers, body, request.path_params.get("infno"))
        return await loop.run_in_executor(_threads(), call)

    return call_service


def _gateway(p: Platform, headers: Headers, body: bytes, path_infno: str | None = None) -> Response:
    """Every answer is an envelope: an HIS parses ``infcode`` and ``err_msg``, whatever went wrong."""
    started = time.perf_counter()
    received = p.now()
    status, institution, doc = 200, None, None
    content_type = headers.get("content-type")
    charset = charset_of(content_type)
    try:
        if len(body) > MAX_BODY:
            raise refuse("E0000-002", detail=f"报文超过{MAX_BODY}字节")
        try:
            doc = upload_envelope(body, content_type) if is_multipart(content_type) else parse_body(body, charset)
        except DomainError:
            status = 400
            raise
        api_key = None
        if not p.sandbox and (api_key := api_key_of(headers)) is None:
            try:
                institution = authenticate_institution(p, headers, p.now())
            except DomainError:
                status = 401
                raise
        answer = dispatch(p, doc, received=received, authenticated=institution, path_infno=path_infno, api_key=api_key)
        if path_infno is not None and answer["err_msg"].startswith("[E0000-002] 报文格式错误：URL"):
            status = 400
        elif answer["err_msg"].startswith("[E0000-006]"):  # e.g. an SM2 cainfo that does not verify
            status = 401
            answer = {**answer, "code": 401, "message": answer["err_msg"][12:]}
    except DomainError as exc:
        answer = respond("000000", received, error=exc, now=p.now())
        if status == 401:  # the provincial gateway's rejection shape, next to the envelope
            answer = {**answer, "code": 401, "message": exc.message}
    except StoreUnavailable as exc:  # the database is unreachable (authentication reads it first)
        log.warning("database unavailable on the gateway: %s", exc)
        status, answer = 200, respond("000000", received, error=refuse("E0000-098"), now=p.now())
    except Exception:  # never a stack trace to the caller; the log keeps it
        log.exception("internal error on the gateway")
        status, answer = 200, respond("000000", received, error=refuse("E0000-099"), now=p.now())
    _log_call(doc, institution, answer, status, started)
    if isinstance(doc, dict) and doc.get("infno") == "9102" and (download := file_response(answer)) is not None:
        return download
    if not is_multipart(content_type) and is_gb(body, charset):
        return Response(
            dumps(answer).encode("gb18030"), status_code=status, media_type="application/json; charset=GB18030"
        )
    return Response(dumps(answer), status_code=status, media_type="application/json; charset=utf-8")


def _log_call(doc, institution: str | None, answer: dict, status: int, started: float) -> None:
    """One structured line per gateway call: what, who, the outcome, the time — no personal data."""
    sent = doc if isinstance(doc, dict) else {}
    err = answer["err_msg"]
    outcome = "ok" if answer["infcode"] == 0 else (err[1:10] if err.startswith("[") else "refused")
    log.info(
        "gateway",
        extra={
            "event": "gateway",
            "infno": _short(sent.get("infno")),
            "msgid": _short(sent.get("msgid")),
            "institution": institution or _short(sent.get("fixmedins_code")),
            "opter": _short(sent.get("opter")),
            "outcome": outcome,
            "status": status,
            "ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )


def _short(value) -> str | None:
    return None if value is None else str(value)[:40]
