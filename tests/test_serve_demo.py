"""``yibao serve --demo``: in production mode too, all or nothing, and a restart says what it found."""

from __future__ import annotations

import re

import httpx
import pytest

from conftest import ACCEPTANCE, DATABASES
from http_world import His, server_db_url
from server import Server
from yibao.cli import demo
from yibao.services.case_file import load_case_file
from yibao.services.case_world import load_world
from yibao.services.platform import FixedClock, Platform
from yibao.storage.uow import Store
from yibao.storage.wipe import holds_data

CASE = ACCEPTANCE / "01-pharmacy-own-account-first.yaml"
CREDENTIAL = re.compile(r"fixmedins_code：(\w+)；x-api-key：(\S+?)；tif_token：(\w+)")


@pytest.fixture(params=DATABASES)
def db_url(request, tmp_path):
    return server_db_url(request, tmp_path, "demo")


def test_serve_demo_in_production_mode_signs_the_demo_institutions_in_and_prints_their_credentials(db_url, tmp_path):
    srv = Server(db_url, args=("--demo",), log_dir=tmp_path)
    try:
        srv.start()
        log = srv.log()
        assert "Traceback" not in log, log[-3000:]
        assert "已载入演示数据" in log
        creds = {code: (key, token) for code, key, token in CREDENTIAL.findall(log)}
        assert set(creds) == {demo.PHARMACY, demo.CLINIC}, log[-3000:]
        api = httpx.Client(base_url=srv.url, headers=srv.admin_headers, timeout=60)
        people = api.get("/api/v1/people").json()
        assert len(people) == 5
        assert len(api.get("/api/v1/settlements").json()) == 2  # the purchase and the clinic visit
        # the printed key works as an HIS would use it: 9001 sign-in, then a query
        his = His(srv.url, institution=demo.PHARMACY, api_key=creds[demo.PHARMACY][0])
        his.sign_in()
        someone = people[0]
        answer = his.call(
            "1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": someone["certno"], "psn_cert_type": "01"}}
        )
        assert answer["infcode"] == 0, answer["err_msg"]
        his.close()
        assert_api_docs_are_for_staff_only(srv)

        srv.stop()
        srv.start()  # the same database again (a new process, a new port): nothing seeded twice, and it says so
        assert "演示数据已于" in srv.log() and "Traceback" not in srv.log()
        api.close()
        api = httpx.Client(base_url=srv.url, headers=srv.admin_headers, timeout=60)
        assert len(api.get("/api/v1/people").json()) == 5
        assert len(api.get("/api/v1/settlements").json()) == 2
        api.close()
    finally:
        srv.close()


def test_serve_demo_leaves_someone_elses_data_alone(tmp_path):
    """A database holding a case's world (``yibao cases load``) is served as it is."""
    db = str(tmp_path / "cases.sqlite")
    case = load_case_file(CASE)
    store = Store.open(db)
    handles = load_world(Platform(store, FixedClock(case.date)), case, CASE.parent, str(CASE))
    store.dispose()
    srv = Server(db, sandbox=True, args=("--demo",), log_dir=tmp_path)
    try:
        srv.start()
        assert "只在空数据库上载入演示数据" in srv.log()
        with httpx.Client(base_url=srv.url, headers=srv.admin_headers, timeout=60) as api:
            names = sorted(p["name"] for p in api.get("/api/v1/people").json())
        assert names == sorted(h.name for h in handles.values())
    finally:
        srv.close()


def test_a_demo_seed_that_fails_half_way_leaves_the_database_empty(store, monkeypatch):
    p = Platform(store, require_sign_in=True)

    def broken_visit(*args, **kwargs):
        raise RuntimeError("2207 失败：模拟的故障")

    monkeypatch.setattr(demo, "_clinic_visit", broken_visit)
    with pytest.raises(demo.DemoSeedFailed, match=r"已撤回.*模拟的故障"):
        demo.seed_server(p)
    with store.uow(read_only=True) as tx:
        assert not holds_data(tx)
    assert demo.demo_state(p) is None
    monkeypatch.undo()
    seeded = demo.seed_server(p)  # and the next start seeds it properly
    assert len(seeded.family) == 5 and len(seeded.credentials) == 2
    assert demo.demo_state(p) not in (None, "other")


def assert_api_docs_are_for_staff_only(srv: Server) -> None:
    """Production default (``--api-docs admin``): the admin token or a signed-in console user."""
    for path in ("/openapi.json", "/docs", "/redoc"):
        r = httpx.get(srv.url + path, timeout=60)
        assert r.status_code == 401, (path, r.status_code)
        assert "管理令牌" in r.text and "openapi" not in r.text.lower().replace("/openapi.json", "")
    spec = httpx.get(srv.url + "/openapi.json", headers=srv.admin_headers, timeout=60)
    assert spec.status_code == 200 and "/fsi/api/rsfComIfsService/callService" in spec.json()["paths"]
    with httpx.Client(base_url=srv.url, timeout=60) as browser:
        form = browser.get("/console/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)[1]
        signed = browser.post("/console/login", data={"username": "viewer", "password": "viewer1234", "csrf": csrf})
        assert signed.status_code == 303, signed.text[:300]
        assert browser.get("/docs").status_code == 200
        assert browser.get("/openapi.json").status_code == 200
