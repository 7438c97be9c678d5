"""A browser without a browser: the portal and the console over HTTP, cookies and CSRF included.

Each ``WebClient`` keeps its own cookie jar (one browser). ``ip`` sends ``X-Forwarded-For``: the test
server listens on 127.0.0.1, which uvicorn trusts as a proxy, so each client can stand for a
different address on the internet.
"""

from __future__ import annotations

import re
from html import unescape

import httpx

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
ALERT = re.compile(r'<p class="error" role="alert">([^<]*)</p>')

WRONG = "身份证号或密码错误"  # E7301-009
LOCKED = "登录失败次数过多"  # E7301-011
LIMITED = "登录尝试过于频繁"  # E7301-014


class WebClient:
    def __init__(self, url: str, *, ip: str | None = None, timeout: float = 60):
        headers = {"x-forwarded-for": ip} if ip else {}
        self.http = httpx.Client(base_url=url, timeout=timeout, headers=headers, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> WebClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def get(self, path: str, **kw) -> httpx.Response:
        return self.http.get(path, **kw)

    def csrf(self, path: str) -> str:
        page = self.http.get(path)
        found = CSRF.search(page.text)
        assert found, f"no CSRF token on {path}: {page.status_code} {page.text[:300]}"
        return found[1]

    def post(self, path: str, data: dict, *, csrf: str | None = None, page: str | None = None) -> httpx.Response:
        """Post a form with the CSRF token of ``page`` (default: the portal or console home)."""
        if csrf is None:
            csrf = self.csrf(page or ("/console/" if path.startswith("/console") else "/portal/"))
        return self.http.post(path, data={**data, "csrf": csrf})

    def portal_login(self, certno: str, password: str, *, csrf: str | None = None) -> httpx.Response:
        csrf = csrf or self.csrf("/portal/login")
        return self.http.post("/portal/login", data={"certno": certno, "password": password, "csrf": csrf})

    def console_login(self, username: str, password: str) -> httpx.Response:
        csrf = self.csrf("/console/login")
        r = self.http.post("/console/login", data={"username": username, "password": password, "csrf": csrf})
        assert r.status_code == 303, r.text[:500]
        return r


def outcome(r: httpx.Response) -> str:
    """What a sign-in answer said: ok, wrong, locked, limited (or the status and text if none)."""
    if r.status_code == 303:
        return "ok"
    for word, name in ((WRONG, "wrong"), (LOCKED, "locked"), (LIMITED, "limited")):
        if word in r.text:
            return name
    return f"{r.status_code}: {r.text[:200]}"


def alert(r: httpx.Response) -> str | None:
    found = ALERT.search(r.text)
    return found[1] if found else None


def visible(html: str) -> str:
    """The text a person reads: no tags, scripts, styles or drawings; identifiers shown on purpose
    (``<code class="ident">``: national field names, policy keys) left out."""
    html = re.sub(r"<(script|style|svg|title)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r'<code class="ident">.*?</code>', " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


# Issue 9 item 17: what must never reach a page: Python reprs and the platform's internal codes.
FORBIDDEN_TEXT = ("Decimal(", "datetime.", "['", "{'", "[]", "{}", "setl:", "cancel:", "P:3", "F:3", "I:P", "I:H")
# A word, not letters inside a random id (a settlement's hex id once held "face"): bounded by neither
# letters nor digits.
FORBIDDEN_WORDS = re.compile(
    r"(?<![A-Za-z0-9_])("
    r"True|False|None|acct_pay|mutual_aid|fund_pay|cash_pay|opening|credit|rollover|clawback|premium"
    r"|current|historical|in_service|retired|resident|binding_order|balance_desc|spouse|parent|child|sibling"
    r"|outpatient|inpatient|pharmacy|chronic|settled|cancelled|granted|revoked|reordered|face|commitment_letter"
    r"|pending|confirmed|rejected|operator|viewer|ownpay|overlimit|preselfpay|deductible|coinsurance|over_cap"
    r")(?![A-Za-z0-9_])"
)
EMPTY_ORDERED_LIST = re.compile(r'<ol\b[^>]*>\s*<li class="muted">')


def page_problems(path: str, html: str) -> list[str]:
    text = visible(html)
    found = [f"{path}: {bad!r}" for bad in FORBIDDEN_TEXT if bad in text]
    found += [
        f"{path}: {m[0]!r} in …{text[max(0, m.start() - 30) : m.end() + 30]}…" for m in FORBIDDEN_WORDS.finditer(text)
    ]
    if EMPTY_ORDERED_LIST.search(html):
        found.append(f"{path}: an empty numbered list shows “1. 无”")
    return found
