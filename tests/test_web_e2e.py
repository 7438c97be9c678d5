"""End to end through Debian's chromium (Playwright): the portal and the console on a real server.

Screenshots of each main page are written to docs/screenshots/ (linked from the README).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from server import running_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The committed screenshots are refreshed with YIBAO_UPDATE_SCREENSHOTS=1; otherwise they go to a
# scratch folder, so that a test run leaves the working tree as it was.
SHOTS = (
    Path(__file__).resolve().parents[1] / "docs" / "screenshots"
    if os.environ.get("YIBAO_UPDATE_SCREENSHOTS")
    else Path(os.environ.get("TMPDIR", "/tmp")) / "yibao-screenshots"
)
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("web") / "web.sqlite"
    with running_server(str(db), sandbox=True, admin_token="sandbox", args=("--demo",), env={"COLUMNS": "300"}) as srv:
        with httpx.Client(base_url=srv.url, headers=srv.admin_headers, timeout=60) as api:
            people = {p["name"]: p for p in api.get("/api/v1/people").json()}
        yield {"base": srv.url, "people": people, "server": srv}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])  # fmt: skip
        yield b
        b.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page, base: str, certno: str) -> None:
    page.goto(f"{base}/portal/login")
    page.get_by_label("身份证号").fill(certno)
    page.get_by_label("密码（6位数字）").fill("123456")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/portal/")


def test_api_docs_render_offline_from_the_package(server, browser):
    """/docs and /redoc with every request off this machine refused: they render from yibao's own files."""
    base = server["base"]
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN")
    outside: list[str] = []

    def only_local(route) -> None:
        url = route.request.url
        if urlparse(url).hostname in ("127.0.0.1", "localhost") or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.goto(f"{base}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=60_000)
    paths = page.locator(".opblock-summary-path").evaluate_all("els => els.map(e => e.getAttribute('data-path'))")
    assert "/fsi/api/rsfComIfsService/callService" in paths and "/api/v1/people" in paths, paths
    assert "交易入口" in page.content()
    shot(page, "api-docs")
    page.goto(f"{base}/redoc")
    page.locator("h2", has_text="交易入口（infno 选择交易）").first.wait_for(timeout=60_000)  # ReDoc's operation title
    assert page.locator("h2", has_text="查询结算").count() > 0
    assert page.request.get(f"{base}/favicon.ico").ok
    context.close()
    assert outside == [], outside


def test_portal_journey(server, browser):
    base, people = server["base"], server["people"]
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base}/portal/login")
    shot(page, "portal-login")
    sign_in(page, base, people["张伟"]["certno"])
    assert "张伟，您好" in page.content()
    shot(page, "portal-home")

    # read a settlement's explanation
    page.get_by_role("link", name=re.compile("看明白这笔钱")).first.click()
    steps = page.locator("#explanation li")
    assert steps.count() >= 4
    assert "家庭共济" in page.locator("#explanation").inner_text()
    shot(page, "portal-settlement")

    # print the slip (HTML) and fetch the PDF
    with context.expect_page() as popup:
        page.get_by_role("link", name="打印结算单").click()
    slip = popup.value
    slip.wait_for_load_state()
    assert "医疗保障基金结算单" in slip.content()
    shot(slip, "settlement-slip")
    pdf_link = page.get_by_role("link", name="下载 PDF").get_attribute("href")
    pdf = context.request.get(f"{base}{pdf_link}")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF")
    slip.close()

    # mutual aid: reorder my payers (HTMX), then authorise my child
    page.get_by_role("link", name="家庭共济").click()
    order = page.locator("#payers li span")
    assert [t.split(". ")[1] for t in order.all_inner_texts()] == ["张建国", "王秀英"]
    page.get_by_role("button", name="把张建国往后移").click()
    page.wait_for_function("document.querySelector('#payers li span').innerText.includes('王秀英')")
    assert [t.split(". ")[1] for t in page.locator("#payers li span").all_inner_texts()] == ["王秀英", "张建国"]
    page.get_by_label("选择家人").select_option(label="张小宝（子女）")
    page.get_by_role("button", name="同意授权").click()
    assert "已授权" in page.locator("[role=status]").inner_text()
    assert "张小宝" in page.locator("table.list").inner_text()
    shot(page, "portal-mutual-aid")

    # 亲情账户: bind my father with the face-verification step, then show his QR code
    page.get_by_role("link", name="亲情账户").click()
    form = page.locator("form.bind", has_text="张建国")
    form.get_by_label(re.compile("已完成人脸认证")).check()
    form.get_by_role("button", name="绑定").click()
    assert "已绑定" in page.locator("[role=status]").inner_text()
    # a child under 16 is bound with a commitment letter instead of a face check
    kid = page.locator("form.bind", has_text="张小宝")
    assert kid.get_by_label(re.compile("人脸认证")).count() == 0
    kid.get_by_label(re.compile("已上传个人承诺书")).check()
    kid.get_by_role("button", name="绑定").click()
    assert [t.strip() for t in page.locator("ul.members li > a").all_inner_texts()] == ["张建国", "张小宝"]
    shot(page, "portal-family")
    page.get_by_role("link", name="张小宝").click()
    assert page.locator("#qr svg").count() == 1
    assert page.locator("svg.chart").count() == 1  # the child's clinic visit this year
    assert "260.00" in page.content()
    shot(page, "portal-member")
    context.close()


def test_a_payer_sees_what_left_his_account(server, browser):
    """Issue 9 item 18: the father paid for his son through mutual aid; his home page says so."""
    base, people = server["base"], server["people"]
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, base, people["张建国"]["certno"])
    movements = page.locator("#movements")
    assert "为儿子张*的结算" in movements.inner_text() and "-270.00" in movements.inner_text()
    shot(page, "portal-home-payer")
    context.close()


def test_a_person_cannot_read_another_persons_pages(server):
    base, people = server["base"], server["people"]
    with httpx.Client(base_url=base, follow_redirects=True) as c:
        page = c.get("/portal/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)[1]
        c.post("/portal/login", data={"certno": people["张小宝"]["certno"], "password": "123456", "csrf": csrf})
        assert "张小宝，您好" in c.get("/portal/").text
        with httpx.Client(base_url=base, headers={"Authorization": "Bearer sandbox"}) as api:
            theirs = api.get("/api/v1/settlements", params={"psn_no": people["张伟"]["psn_no"]}).json()[0]["setl_id"]
            mine = api.get("/api/v1/settlements", params={"psn_no": people["张小宝"]["psn_no"]}).json()[0]["setl_id"]
        own = c.get(f"/portal/settlements/{mine}")
        assert own.status_code == 200 and "一步一步的说明" in own.text and "费用明细" in own.text
        for url in (
            f"/portal/settlements/{theirs}",
            f"/portal/slips/{theirs}.html",
            f"/portal/slips/{theirs}.pdf",
            f"/portal/family/{people['李娜']['psn_no']}",
            f"/portal/family/{people['李娜']['psn_no']}/qr",
        ):
            r = c.get(url)
            assert r.status_code in (403, 409), (url, r.status_code)
            assert "张伟" not in r.text and "李娜" not in r.text.replace("无权查看", "")
        # a form posted without the session's CSRF token is refused
        assert c.post("/portal/mutual-aid/revoke", data={"beneficiary": "x", "csrf": "forged"}).status_code == 401
        # a refused action re-renders its page with the Chinese reason, and changes nothing
        csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/portal/").text)[1]
        for url, field, page_title in (
            ("/portal/mutual-aid/grants", "beneficiary", "家庭共济"),
            ("/portal/family/unbind", "member", "亲情账户"),
        ):
            r = c.post(url, data={field: people["李娜"]["psn_no"], "csrf": csrf})
            assert r.status_code == 200 and page_title in r.text, (url, r.status_code)
            alert = re.search(r'<p class="error" role="alert">([^<]+)</p>', r.text)
            assert alert and re.search(r"[\u4e00-\u9fff]", alert[1]), (url, r.text[:300])
    with httpx.Client(base_url=base) as anonymous:
        r = anonymous.get(f"/portal/settlements/{mine}")
        assert r.status_code == 303 and r.headers["location"] == "/portal/login"


def test_console_journey(server, browser):
    base, people = server["base"], server["people"]
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base}/console/login")
    page.get_by_label("用户名").fill("viewer")
    page.get_by_label("密码").fill("viewer1234")
    page.get_by_role("button", name="登录").click()
    page.get_by_label("姓名、人员编号或身份证号").fill("张")
    page.get_by_role("button", name="查找").click()
    shot(page, "console-search")
    page.get_by_role("link", name="张伟").click()
    assert "账户分录" in page.content()
    shot(page, "console-person")
    page.locator("a[href^='/console/settlements/']").first.click()
    assert page.get_by_role("button", name="撤销结算").count() == 0  # a viewer may not cancel
    page.get_by_role("link", name="政策参数").click()
    assert "benefit.employee.outpatient.ratio" in page.content()
    shot(page, "console-policies")
    page.get_by_role("button", name="退出").click()

    page.goto(f"{base}/console/login")
    page.get_by_label("用户名").fill("operator")
    page.get_by_label("密码").fill("operator123")
    page.get_by_role("button", name="登录").click()
    page.goto(f"{base}/console/people/{people['张小宝']['psn_no']}")
    page.locator("a[href^='/console/settlements/']").first.click()
    shot(page, "console-settlement")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="撤销结算").click()
    page.wait_for_selector("text=已撤销")
    assert page.get_by_role("button", name="撤销结算").count() == 0
    page.goto(f"{base}/console/")
    page.get_by_role("link", name="南昌市示例社区卫生服务中心").click()
    assert "日对账" in page.content()
    shot(page, "console-daily")
    context.close()
