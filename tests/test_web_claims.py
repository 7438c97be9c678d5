"""Pay first, claim back (手工报销) through the pages (issue 15): the insured person files in the portal,
an operator in the console; the result page explains the payment; refusals are Chinese messages with
stable codes, never a 500; CSRF and roles are enforced; nothing is recorded by a refused form.

One served Nanchang region instance (``yibao serve --region 360100``) on a SQLite file seeded before
the start: 李异地 insured there, his brother 李别人 (another person), an operator and a viewer, and
one visit of 李异地 settled directly in Shanghai (a posted reservation), which cannot be claimed back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from server import Server
from test_reservations import insured_employee
from web_client import WebClient, alert, outcome, page_problems, visible
from yibao.money import fmt_yuan
from yibao.services import claimback, crossregion, world
from yibao.services.platform import FixedClock, Platform
from yibao.services.regions import install_region
from yibao.services.signin import add_staff
from yibao.storage.uow import Store

AT = datetime(2025, 8, 1, 9, 0)
I_REGION, C_REGION = "360100", "310000"
SETTLED_INSTITUTION = "H31000000003"
OPERATOR, VIEWER = ("claimop", "password123"), ("claimview", "password123")


def _line(amount_fen: int) -> dict:
    price = f"{amount_fen // 100}.{amount_fen % 100:02d}"
    return {
        "sn": "1",
        "code": "XJ01CAA0001",
        "name": "阿莫西林胶囊",
        "chrgitm_lv": "01",
        "selfpay_bp": 0,
        "price_ceiling": None,
        "amount_fen": amount_fen,
        "price": price,
        "count": "1",
    }


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    db = str(tmp_path_factory.mktemp("claims") / "nanchang.sqlite")
    store = Store.open(f"sqlite:///{db}")
    p = Platform(store, FixedClock(AT), region=I_REGION)
    install_region(p, I_REGION)
    who, other = insured_employee(p, "李异地", 1), insured_employee(p, "李别人", 2)
    add_staff(p, OPERATOR[0], "经办甲", "operator", OPERATOR[1])
    add_staff(p, VIEWER[0], "查询乙", "viewer", VIEWER[1])
    settled = {
        "reservation_id": "RWEB1",
        "setl_ref": "RWEB1",
        "psn_no": who.person.psn_no,
        "insutype": "310",
        "med_type": "11",
        "day": AT.date().isoformat(),
        "institution": SETTLED_INSTITUTION,
        "hospital_level": 3,
        "lines": [_line(50_000)],
        "acct_used": True,
        "family_only": False,
        "visit_deductible_used_fen": 0,
        "expires_at": (AT + timedelta(minutes=10)).isoformat(),
    }
    with store.uow() as tx:
        crossregion.reserve(p, tx, settled, C_REGION)
    with store.uow() as tx:
        crossregion.post(p, tx, "RWEB1", C_REGION, "ST3100000000000001")
    store.dispose()
    srv = Server(db, sandbox=True, args=("--region", I_REGION))
    try:
        srv.start()
        yield srv, db, who, other
        assert "Traceback" not in srv.all_logs(), srv.all_logs()[-3000:]
    finally:
        srv.close()


def claims_in_db(db: str, psn_no: str) -> list[claimback.ClaimRecord]:
    store = Store.open(f"sqlite:///{db}", migrate=False)
    try:
        return claimback.claims_of(Platform(store, FixedClock(AT), region=I_REGION), psn_no)
    finally:
        store.dispose()


def receipt(receipt_no: str, *, institution: str = "H31000000002", case: str = "unfiled", **lines) -> dict:
    """The form as a browser sends it: one 甲类 line of 1500.00 and one item outside the catalogue."""
    form = {
        "care_region": C_REGION,
        "institution": institution,
        "hospital_level": "3",
        "receipt_no": receipt_no,
        "day": AT.date().isoformat(),
        "med_type": "11",
        "case": case,
        "code": ["XJ01CAA0001", "LOCAL-0001", ""],
        "name": ["阿莫西林胶囊", "院内制剂（目录外）", ""],
        "price": ["1500.00", "20.00", ""],
        "count": ["1", "2", ""],
        "amount": ["1500.00", "40.00", ""],
    }
    return {**form, **lines}


def person_web(url: str, who: world.Created) -> WebClient:
    web = WebClient(url)
    assert outcome(web.portal_login(who.person.certno, "123456")) == "ok"
    return web


def staff_web(url: str, account: tuple[str, str]) -> WebClient:
    web = WebClient(url)
    web.console_login(*account)
    return web


def test_a_person_files_a_claim_in_the_portal_and_reads_how_it_was_paid(region):
    srv, db, who, other = region
    with person_web(srv.url, who) as web:
        form = web.get("/portal/claims")
        assert form.status_code == 200 and "申请报销" in form.text and page_problems("/portal/claims", form.text) == []
        r = web.post("/portal/claims", receipt("SH-P-0001"), page="/portal/claims")
        assert r.status_code == 303, alert(r) or r.text[:500]
        where = r.headers["location"]
        assert where.startswith("/portal/claims/")
        [paid] = claims_in_db(db, who.person.psn_no)
        assert paid.medfee == 154_000 and 0 < paid.fund_pay < 150_000 and paid.filed_by == f"portal:{who.person.psn_no}"
        assert paid.result.lines[1].item.chrgitm_lv == "03" and paid.result.lines[1].ownpay == 4_000  # 目录外: 自费
        shown = web.get(where)
        assert shown.status_code == 200 and page_problems(where, shown.text) == []
        text = visible(shown.text)
        for words in ("这张票据报销了多少", "未备案", "SH-P-0001", fmt_yuan(paid.fund_pay), fmt_yuan(paid.borne)):
            assert words in text, words
        assert all(step in text for step in paid.result.steps)
        assert "费用明细" in text and all(line.item.name in text for line in paid.result.lines)
        assert "SH-P-0001" in web.get("/portal/claims").text  # listed among my claims
    with person_web(srv.url, other) as stranger:  # another person cannot read it, whatever the URL says
        r = stranger.get(where)
        assert r.status_code == 403 and "SH-P-0001" not in r.text and "李异地" not in r.text
        assert stranger.get("/portal/claims/999999").status_code == 403


def test_the_portal_refuses_a_duplicate_a_settled_visit_and_bad_lines_with_codes_and_records_nothing(region):
    srv, db, who, _ = region
    with person_web(srv.url, who) as web:
        first = web.post("/portal/claims", receipt("SH-P-0002"), page="/portal/claims")
        assert first.status_code == 303, alert(first)
        before = len(claims_in_db(db, who.person.psn_no))
        refusals = {
            "E7602-009": receipt("SH-P-0002", case="emergency"),  # the same receipt again
            "E7602-010": receipt(  # the visit settled directly in Shanghai (same day, same amount)
                "SH-P-0003",
                institution=SETTLED_INSTITUTION,
                code=["XJ01CAA0001"],
                name=["阿莫西林胶囊"],
                price=["500.00"],
                count=["1"],
                amount=["500.00"],
            ),
            "E2204-003": receipt("SH-P-0004", amount=["1500.00", "41.00", ""]),  # amount ≠ price × count
            "E7602-008": receipt("SH-P-0005", price=["一千", "20.00", ""]),
        }
        for code, form in refusals.items():
            r = web.post("/portal/claims", form, page="/portal/claims")
            assert r.status_code == 200, (code, r.status_code, r.text[:300])
            message = alert(r)
            assert message is not None and message.startswith(f"[{code}]"), (code, message)
            assert form["receipt_no"] in r.text  # the form comes back as typed
        assert "不能重复报销" in alert(web.post("/portal/claims", refusals["E7602-009"], page="/portal/claims"))
        empty = receipt("SH-P-0006", code=[""], name=[""], price=[""], count=[""], amount=[""])
        assert alert(web.post("/portal/claims", empty, page="/portal/claims")).startswith("[E7602-008]")
        assert len(claims_in_db(db, who.person.psn_no)) == before


def test_the_portal_claim_form_enforces_csrf_and_sign_in(region):
    srv, db, who, _ = region
    before = len(claims_in_db(db, who.person.psn_no))
    with person_web(srv.url, who) as web:
        forged = web.http.post("/portal/claims", data={**receipt("SH-P-0100"), "csrf": "forged"})
        assert forged.status_code == 401 and "CSRF" in forged.text
        missing = web.http.post("/portal/claims", data=receipt("SH-P-0101"))
        assert missing.status_code == 401
    with WebClient(srv.url) as anonymous:
        token = anonymous.csrf("/portal/login")
        r = anonymous.http.post("/portal/claims", data={**receipt("SH-P-0102"), "csrf": token})
        assert r.status_code == 303 and r.headers["location"] == "/portal/login"
    assert len(claims_in_db(db, who.person.psn_no)) == before


def test_an_operator_files_a_claim_in_the_console_a_viewer_cannot(region):
    srv, db, who, _ = region
    path = f"/console/people/{who.person.psn_no}/claims"
    with staff_web(srv.url, OPERATOR) as op:
        page = op.get(path)
        assert page.status_code == 200 and "受理报销" in page.text and page_problems(path, page.text) == []
        assert path in op.get(f"/console/people/{who.person.psn_no}").text  # reached from the person's page
        r = op.post(path, receipt("SH-C-0001", case="emergency"), page=path)
        assert r.status_code == 303, alert(r) or r.text[:500]
        where = r.headers["location"]
        [paid] = [c for c in claims_in_db(db, who.person.psn_no) if c.receipt_no == "SH-C-0001"]
        assert paid.filed_by == f"console:{OPERATOR[0]}" and paid.case == "emergency"
        shown = op.get(where)
        assert shown.status_code == 200 and page_problems(where, shown.text) == []
        text = visible(shown.text)
        assert "急诊抢救" in text and "经办受理" in text and fmt_yuan(paid.fund_pay) in text
        again = op.post(path, receipt("SH-C-0001"), page=path)
        assert again.status_code == 200 and alert(again).startswith("[E7602-009]")
        forged = op.http.post(path, data={**receipt("SH-C-0002"), "csrf": "forged"})
        assert forged.status_code == 401
        assert op.get("/console/claims/999999").status_code == 404
    with staff_web(srv.url, VIEWER) as viewer:
        assert viewer.get(where).status_code == 200  # a viewer reads
        page = viewer.get(path)
        assert 'name="receipt_no"' not in page.text and "只有经办角色可以受理报销" in page.text
        r = viewer.post(path, receipt("SH-C-0003"), page=path)
        assert r.status_code == 403
    receipts = {c.receipt_no for c in claims_in_db(db, who.person.psn_no)}
    assert "SH-C-0002" not in receipts and "SH-C-0003" not in receipts
