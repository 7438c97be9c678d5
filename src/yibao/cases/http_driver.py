"""The case runner over HTTP: a live sandbox server, reached only through its public interfaces.

The world is loaded through ``/api/v1/sandbox`` (the server is wiped first), gateway calls go to
the national endpoint, balances, accumulators and actions through the admin REST API.

Wiping is never silent: a sandbox that holds data a case did not load (the ``--demo`` family,
people added by hand) is only wiped when the user said so (``clear=True``,
``yibao cases run --clear-sandbox``); otherwise the run stops with ``ServerProblem`` first.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from yibao.cases.driver import ActionResult
from yibao.money import parse_fen
from yibao.nhsa.envelope import dumps, parse_body
from yibao.services.case_file import Case, CaseError
from yibao.services.case_world import Handle
from yibao.services.platform import CHINA
from yibao.yamlio import load_yaml_text

GATEWAY = "/fsi/api/rsfComIfsService/callService"

# action → (method, path template, body keys)
ACTIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "authorize_mutual_aid": ("POST", "/api/v1/mutual-aid/grants", ("payer", "beneficiary")),
    "revoke_mutual_aid": ("POST", "/api/v1/mutual-aid/revocations", ("payer", "beneficiary")),
    "set_mutual_aid_order": ("PUT", "/api/v1/people/{beneficiary}/mutual-aid/order", ("payers",)),
    "bind_proxy": ("POST", "/api/v1/proxy-bindings", ("holder", "member", "face_verified", "commitment_letter")),
    "unbind_proxy": ("POST", "/api/v1/proxy-bindings/unbind", ("holder", "member")),
    "report_card_lost": ("POST", "/api/v1/people/{person}/card/loss", ("kind",)),
    "replace_card": ("POST", "/api/v1/people/{person}/card/replacement", ()),
    "set_password": ("PUT", "/api/v1/people/{person}/password", ("password", "reset")),
    "enroll": (
        "POST",
        "/api/v1/enrolments",
        ("person", "insutype", "psn_type", "date", "in_collection_window", "exempt"),
    ),
    "contribute": (
        "POST",
        "/api/v1/contributions",
        ("person", "month", "base", "year", "amount", "paid_on", "paid_by"),
    ),
    "file_offsite": ("POST", "/api/v1/offsite-filings", ("person", "kind", "from", "to")),
}


class ServerProblem(Exception):
    """The server cannot run cases (not reachable, not a sandbox, holds data not to be wiped);
    the message says what to do, in Chinese."""


def check_server(url: str) -> None:
    """A yibao server in sandbox mode answers at ``url``, or ``ServerProblem`` saying what is wrong."""
    base = url.rstrip("/")
    try:
        r = httpx.get(base + "/healthz", timeout=10)
        health = r.json() if r.status_code == 200 else {}
    except httpx.HTTPError as exc:
        raise ServerProblem(
            f"无法连接 yibao 服务 {base}（{_why(exc)}）。"
            "请先启动沙箱服务：yibao serve --sandbox，或检查 --server 地址。"
        ) from None
    except ValueError:
        health = {}
    if not health.get("ok"):
        raise ServerProblem(f"{base} 不是 yibao 服务（/healthz 应答 HTTP {r.status_code}），请检查 --server 地址。")
    if not health.get("sandbox"):
        raise ServerProblem(
            f"{base} 是生产模式的服务：案例运行会清空并载入案例世界，只能对沙箱服务（yibao serve --sandbox）运行。"
        )


def _why(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "连接被拒绝或地址不可达"
    if isinstance(exc, httpx.TimeoutException):
        return "连接超时"
    return type(exc).__name__


class HttpDriver:
    def __init__(self, url: str, admin_token: str | None = None, *, clear: bool = False):
        self.http = httpx.Client(
            base_url=url.rstrip("/"), timeout=60, headers={"Authorization": f"Bearer {admin_token or 'sandbox'}"}
        )
        self.clear = clear
        self._region = "000000"
        self._pem: str | None = None

    def _json(self, method: str, path: str, body: Any = None) -> Any:
        r = self.http.request(method, path, json=body)
        if r.status_code >= 400:
            try:
                err = r.json()
            except ValueError:
                err = {"code": f"H{r.status_code}", "message": r.text[:200]}
            raise CaseError(path, "", f"服务返回 {r.status_code}：[{err.get('code')}] {err.get('message')}")
        return r.json()

    def load(self, case: Case, base: Path, origin: str) -> dict[str, Handle]:
        text = Path(origin).read_text(encoding="utf-8")
        policy_text = None
        if isinstance(case.policy, str):
            candidate = base / case.policy
            if candidate.exists():
                policy_text = candidate.read_text(encoding="utf-8")
        load_yaml_text(text)  # fail here, not on the server, on a file that is not YAML
        self._check_wipe()
        self._json("POST", "/api/v1/sandbox/reset")
        made = self._json(
            "POST",
            "/api/v1/sandbox/worlds",
            {"case_yaml": text, "policy_text": policy_text, "origin": Path(origin).name},
        )
        self._region = made["admdvs"]
        self._pem = None
        return {k: Handle(**v) for k, v in made["handles"].items()}

    def _check_wipe(self) -> None:
        held = self._json("GET", "/api/v1/sandbox/world")
        if held["holds_data"] and not held.get("case_origin") and not self.clear:
            raise ServerProblem(
                f"沙箱 {self.http.base_url} 中有不是由案例载入的数据"
                f"（{held.get('people', 0)} 位人员，例如 --demo 演示家庭）；"
                "运行案例会先清空沙箱。确认清空请加 --clear-sandbox；"
                "或另起一个沙箱专门运行案例：yibao serve --sandbox --port 8081 --db cases.sqlite"
            )

    def now(self) -> datetime:
        now = datetime.fromisoformat(self._json("GET", "/api/v1/sandbox/clock")["now"])
        return now.astimezone(CHINA).replace(tzinfo=None) if now.tzinfo else now

    def region(self) -> str:
        return self._region

    def public_key(self) -> str:
        if self._pem is None:
            r = self.http.get("/fsi/api/pubkey")
            r.raise_for_status()
            self._pem = r.text
        return self._pem

    def call(self, envelope: dict[str, Any]) -> dict[str, Any]:
        r = self.http.post(GATEWAY, content=dumps(envelope).encode(), headers={"content-type": "application/json"})
        return parse_body(r.content)

    def balances(self, psn_no: str) -> tuple[int, int]:
        got = self._json("GET", f"/api/v1/people/{psn_no}/accounts")
        return parse_fen(got["current"], allow_negative=True), parse_fen(got["historical"], allow_negative=True)

    def accumulators(self, psn_no: str) -> dict[str, tuple[int, int]]:
        got = self._json("GET", f"/api/v1/people/{psn_no}/accumulators")
        return {c: (parse_fen(v["deductible_used"]), parse_fen(v["fund_paid"])) for c, v in got["categories"].items()}

    def clock(self, to: datetime) -> None:
        self._json("POST", "/api/v1/sandbox/clock", {"to": to.isoformat()})

    def action(self, name: str, args: dict[str, Any]) -> ActionResult:
        method, template, keys = ACTIONS[name]
        path = template.format(**{k: v for k, v in args.items() if isinstance(v, str)})
        body = {k: _plain(args[k]) for k in keys if k in args}
        if name == "contribute":
            body = {k: (str(v) if k in ("base", "amount") else v) for k, v in body.items()}
        if name == "set_password":
            body["reset"] = True
        r = self.http.request(method, path, json=body)
        if r.status_code < 400:
            return ActionResult(True, None, r.json().get("detail") or {})
        err = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        return ActionResult(False, err.get("code") or f"H{r.status_code}")

    def close(self) -> None:
        self.http.close()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return str(value) if not isinstance(value, bool | int | str | type(None)) else value
