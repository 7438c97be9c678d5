"""What people read in the portal and the console, on a served demo world (``yibao serve --demo``).

Issue 9 items 9, 17 and 18: no text from a URL in a message box; people's words on every page (no
Python reprs, no internal codes); a payer's home page says what left his account and for whom.
"""

from __future__ import annotations

import re
from collections import deque
from html import unescape
from urllib.parse import quote

import httpx
import pytest

from server import Server
from web_client import WebClient, alert, outcome, page_problems, visible

CONSOLE_OPERATOR = ("operator", "operator123")


class DemoServer(Server):
    def command(self, port: int) -> list[str]:
        return [*super().command(port), "--demo"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    srv = DemoServer(str(tmp_path_factory.mktemp("pages") / "demo.sqlite"), sandbox=True)
    try:
        srv.start()
        with httpx.Client(base_url=srv.url, headers=srv.admin_headers, timeout=60) as api:
            people = {p["name"]: p for p in api.get("/api/v1/people").json()}
            setl = {
                name: [s["setl_id"] for s in api.get("/api/v1/settlements", params={"psn_no": p["psn_no"]}).json()]
                for name, p in people.items()
            }
        yield srv, people, setl
        assert "Traceback" not in srv.all_logs(), srv.all_logs()[-3000:]
    finally:
        srv.close()


def portal(url: str, person: dict) -> WebClient:
    web = WebClient(url)
    assert outcome(web.portal_login(person["certno"], "123456")) == "ok"
    return web


def console(url: str) -> WebClient:
    web = WebClient(url)
    web.console_login(*CONSOLE_OPERATOR)
    return web


# Item 9: only messages the server chose --------------------------------------------------------------

SPOOF = "您的账户已被冻结请致电4001234567解冻"


def test_query_text_never_reaches_a_message_box(demo):
    srv, people, setl = demo
    with portal(srv.url, people["张伟"]) as web:
        for path in ("/portal/mutual-aid", "/portal/family"):
            for param in ("error", "done"):
                r = web.get(path, params={param: SPOOF})
                assert r.status_code == 200
                assert "4001234567" not in r.text, (path, param)
                assert alert(r) is None, (path, param)
                assert '<p class="ok"' not in r.text, (path, param)  # an unknown code says nothing
        # messages the server chose still show
        assert "已调整顺序" in web.get("/portal/mutual-aid", params={"done": "reordered"}).text
        # nor does a "not found" repeat what the address asked for
        for path in (f"/portal/family/{quote(SPOOF)}", f"/portal/settlements/{quote(SPOOF)}"):
            r = web.get(path)
            assert r.status_code in (403, 404) and "4001234567" not in r.text, (path, r.status_code)
    with console(srv.url) as staff:
        r = staff.get(f"/console/settlements/{setl['张伟'][0]}", params={"error": SPOOF})
        assert r.status_code == 200 and "4001234567" not in r.text and alert(r) is None
        for path in (
            f"/console/people/{quote(SPOOF)}",
            f"/console/institutions/{quote(SPOOF)}/daily",
            f"/console/policies?region={quote(SPOOF)}",
        ):
            r = staff.get(path)
            assert "4001234567" not in r.text, (path, r.status_code)


# Item 17: people's words on every page -------------------------------------------------------------


def crawl(web: WebClient, starts: list[str], area: str, limit: int = 150) -> dict[str, str]:
    """Every page reachable by links from ``starts`` inside ``area`` (GET only, no PDFs)."""
    seen: dict[str, str] = {}
    todo = deque(starts)
    while todo and len(seen) < limit:
        path = todo.popleft()
        if path in seen:
            continue
        r = web.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        seen[path] = r.text
        for link in re.findall(r'href="(/[^"#]*)"', r.text):
            link = unescape(link)
            if link.startswith(area) and not link.endswith((".pdf", "/logout")) and link not in seen:
                todo.append(link)
    return seen


def test_every_page_speaks_to_people(demo):
    srv, people, _ = demo
    with portal(srv.url, people["张伟"]) as web:
        # bind the father (the sandbox takes the face check on trust) so his member pages are crawled
        web.post("/portal/family/bind", {"member": people["张建国"]["psn_no"], "face_verified": "yes"})
    pages: dict[str, str] = {}
    for name in ("张伟", "张建国", "张小宝", "李娜"):
        with portal(srv.url, people[name]) as web:
            seen = crawl(web, ["/portal/", "/portal/mutual-aid"], "/portal")
            pages.update({f"{name} {path}": html for path, html in seen.items()})
    with console(srv.url) as staff:
        regions = re.findall(r'<option value="(\d{6})"', staff.get("/console/policies").text)
        starts = ["/console/", "/console/proxy-verifications"]
        starts += [f"/console/policies?region={r}&on={d}" for r in regions for d in ("2024-06-01", "2025-06-01")]
        starts += [f"/console/people/{p['psn_no']}" for p in people.values()]
        pages.update(crawl(staff, starts, "/console"))
    assert len(pages) > 20, sorted(pages)
    problems = [p for path, html in pages.items() for p in page_problems(path, html)]
    assert not problems, "\n".join(problems[:40])


def test_policy_page_shows_values_as_people_read_them(demo):
    srv, _, _ = demo
    with console(srv.url) as staff:
        html = staff.get("/console/policies", params={"on": "2025-06-01"}).text
    rows = {m[1]: visible(m[2]) for m in re.finditer(r'<tr data-key="([^"]+)">(.*?)</tr>', html, flags=re.S)}
    assert "在职：2,000.00元" in rows["benefit.employee.outpatient.cap"]
    assert "退休：3,000.00元" in rows["benefit.employee.outpatient.cap"]
    assert "三级医疗机构：85%" in rows["benefit.employee.inpatient.ratio"]
    assert "是" in rows["mutual_aid.enabled"]
    assert "当年账户、历年账户" in rows["account.bucket_order"]
    assert "配偶、父母、子女" in rows["mutual_aid.relations"]
    assert "按授权人设置的顺序" in rows["mutual_aid.order"]


def test_the_console_says_who_authorised_whom_and_what_each_movement_was(demo):
    srv, people, setl = demo
    with console(srv.url) as staff:
        son = visible(staff.get(f"/console/people/{people['张伟']['psn_no']}").text)
        father = visible(staff.get(f"/console/people/{people['张建国']['psn_no']}").text)
    assert "张建国授权张伟使用其个人账户共济" in son
    assert "王秀英授权张伟使用其个人账户共济" in son
    assert "张建国授权张伟使用其个人账户共济" in father
    assert f"为儿子张伟的结算{setl['张伟'][0]}共济支付" in father
    assert "期初余额" in father


# Item 18: what left the payer's account, and why ----------------------------------------------------------


def test_a_payer_sees_what_left_his_account_and_for_whom(demo):
    srv, people, setl = demo
    with portal(srv.url, people["张建国"]) as web:
        home = web.get("/portal/").text
    movements = re.search(r'<section class="card" id="movements">(.*?)</section>', home, flags=re.S)
    assert movements, "the home page has no account movements"
    text = visible(movements[1])
    assert f"为儿子张*的结算{setl['张伟'][0]}共济支付" in text, text
    assert "-270.00" in text and setl["张伟"][0] in text and "南昌市示例大药房" in text, text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", text), text
