"""Issue 9 over real HTTP, against ``yibao serve`` in production mode (SQLite, and PostgreSQL when
``YIBAO_TEST_PG_URL`` is set).

Item 10: identifiers no row can have, dates outside the calendar the platform keeps, amounts past
their bound — refused with their own code by the REST API, the portal and the console (once
503 ``E0000-099``, or 422 with the wrong words on PostgreSQL's "integer out of range").
Item 11: while the database is unreachable the gateway still answers HTTP 200 with the national
envelope, ``infcode -1`` and ``[E0000-098]`` (once a bare 503 JSON an HIS cannot parse).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import create_engine, text

from conftest import DATABASES, require_pg
from http_world import (
    Admin,
    His,
    add_family,
    beijing_now,
    issue_credentials,
    pharmacy_input,
    server_db_url,
    setup_region,
)
from server import running_server
from yibao.nhsa.envelope import parse_body
from yibao.services.platform import Platform
from yibao.services.signin import add_staff
from yibao.storage.db import normalize_url
from yibao.storage.uow import Store

BIG_ST, BIG_MD = "ST3601999999999999", "MD3601999999999999"


@pytest.fixture(scope="module", params=DATABASES)
def live(request, tmp_path_factory):
    url = server_db_url(request, tmp_path_factory.mktemp("limits"), "limits")
    with running_server(url) as srv:
        admin = Admin(srv.url, srv.admin_token)
        setup_region(admin)
        fam = add_family(admin, "L", son="100.00")
        store = Store.open(url, migrate=False)
        add_staff(Platform(store), "operator1", "经办员", "operator", "operator1234")
        store.dispose()
        try:
            yield srv, admin, fam
        finally:
            admin.close()


def _rest(admin: Admin, method: str, path: str, body=None) -> tuple[int, dict]:
    r = admin.http.request(method, path, json=body)
    return r.status_code, r.json()


def test_rest_refuses_ids_dates_and_amounts_past_their_limits(live):
    _, admin, fam = live
    son = fam.son["psn_no"]
    person = {"name": "边界", "gender": "1", "admdvs": "360199"}
    today = beijing_now().date()
    cases = [
        ("GET", f"/api/v1/settlements/{BIG_ST}", None, 404, "E2208-001"),
        ("POST", f"/api/v1/settlements/{BIG_ST}/cancel", None, 404, "E2208-001"),
        ("GET", "/api/v1/settlements/ST3601990000000000", None, 404, "E2208-001"),
        ("POST", "/api/v1/people", {**person, "birth": "0001-01-01"}, 422, "E0000-009"),
        ("POST", "/api/v1/people", {**person, "birth": "9999-12-31"}, 422, "E0000-009"),
        ("POST", "/api/v1/people", {**person, "birth": str(today + timedelta(days=1))}, 422, "E7401-009"),
        (
            "POST",
            "/api/v1/people",
            {**person, "birth": "2020-05-01", "insutype": "390", "psn_type": "1403", "insured_since": "2019-01-01"},
            422,
            "E7401-009",
        ),
        (
            "POST",
            "/api/v1/people",
            {
                **person,
                "birth": "1990-01-01",
                "insutype": "310",
                "psn_type": "1101",
                "insured_since": "2015-01-01",
                "current": "10000000.01",
            },
            422,
            "E0000-009",
        ),
        ("POST", "/api/v1/contributions", {"person": son, "month": "9999-12", "base": "5000.00"}, 422, "E0000-009"),
        ("POST", "/api/v1/contributions", {"person": son, "month": "0000-01", "base": "5000.00"}, 422, "E0000-009"),
        ("POST", "/api/v1/contributions", {"person": son, "month": "2025-13", "base": "5000.00"}, 409, "E7401-005"),
        (
            "POST",
            "/api/v1/enrolments",
            {"person": son, "insutype": "390", "psn_type": "1501", "date": "1800-01-01"},
            422,
            "E0000-009",
        ),
        (
            "POST",
            f"/api/v1/people/{son}/insurance/end",
            {"insutype": "310", "last_day": "9999-12-31"},
            422,
            "E0000-009",
        ),
        ("POST", "/api/v1/offsite-filings", {"person": son, "kind": "filed", "from": "0001-01-01"}, 422, "E0000-009"),
    ]
    problems = []
    for method, path, body, status, code in cases:
        got_status, got = _rest(admin, method, path, body)
        if (got_status, got.get("code")) != (status, code) or not re.search(r"[\u4e00-\u9fff]", got.get("message", "")):
            problems.append(f"{method} {path} {body}: {got_status} {got}")
    assert not problems, "\n".join(problems)


def _sign_in(http: httpx.Client, where: str, fields: dict) -> None:
    form = http.get(f"/{where}/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)[1]
    r = http.post(f"/{where}/login", data={**fields, "csrf": csrf})
    assert r.status_code == 303, r.text[:500]


def test_portal_and_console_answer_not_found_for_a_serial_above_2_31(live):
    srv, _, fam = live
    with httpx.Client(base_url=srv.url, timeout=60) as portal:
        _sign_in(portal, "portal", {"certno": fam.son["certno"], "password": "123456"})
        for path in (f"/portal/settlements/{BIG_ST}", f"/portal/slips/{BIG_ST}.html"):
            r = portal.get(path)
            assert r.status_code == 404 and "结算ID不存在" in r.text, (path, r.status_code, r.text[:300])
    with httpx.Client(base_url=srv.url, timeout=60) as console:
        _sign_in(console, "console", {"username": "operator1", "password": "operator1234"})
        r = console.get(f"/console/settlements/{BIG_ST}")
        assert r.status_code == 404 and "结算ID不存在" in r.text, (r.status_code, r.text[:300])
        csrf = re.search(r'name="csrf" value="([^"]+)"', console.get("/console/").text)[1]
        r = console.post(f"/console/settlements/{BIG_ST}/cancel", data={"csrf": csrf})
        assert r.status_code == 404 and "结算ID不存在" in r.text, (r.status_code, r.text[:300])
    assert srv.alive()


# Item 11: the database goes away ------------------------------------------------------------------


class Relay:
    """A TCP relay to PostgreSQL on a port of its own; ``cut()`` closes the port and every connection
    through it, so the server's database is then a port with nothing listening."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def cut(self) -> None:
        with contextlib.suppress(OSError):  # wakes the blocked accept(); close() alone would not
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        with self.lock:
            for s in self.open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()


@pytest.fixture
def pg_database():
    """A PostgreSQL database of this test's own (dropped at the end whatever happens)."""
    base = normalize_url(require_pg())
    name = f"yibao_down_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    drop()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0], name, drop
    finally:
        drop()
        admin.dispose()


def _world(srv) -> tuple[His, dict]:
    admin = Admin(srv.url, srv.admin_token)
    setup_region(admin)
    fam = add_family(admin, "D", son="100.00")
    cred = issue_credentials(admin)
    admin.close()
    his = His(srv.url, api_key=cred["api_key"])
    his.sign_in()
    status, answer = his.send(his.envelope("2102", pharmacy_input(fam.son, "10.00"), password="123456"))
    assert (status, answer["infcode"]) == (200, 0), answer["err_msg"]
    return his, fam.son


def _assert_envelope_098(his: His, son: dict) -> None:
    for infno, inp in (("2102", pharmacy_input(son, "10.00")), ("2101", pharmacy_input(son, "10.00"))):
        r = his.post(his.envelope(infno, inp, password="123456" if infno == "2102" else None))
        assert r.status_code == 200, (infno, r.status_code, r.text[:300])
        answer = parse_body(r.content)
        assert answer["infcode"] == -1 and answer["err_msg"].startswith("[E0000-098]"), answer
        assert answer["output"] == {} and answer["inf_refmsgid"] and answer["respond_time"]


@pytest.mark.pg
def test_gateway_answers_an_envelope_while_the_database_is_dropped(pg_database):
    server_url, name, drop = pg_database
    with running_server(f"{server_url}/{name}") as srv:
        his, son = _world(srv)
        drop()
        _assert_envelope_098(his, son)
        # the REST API keeps its own shape: 503 with the same code
        r = httpx.get(f"{srv.url}/api/v1/regions", headers=srv.admin_headers, timeout=60)
        assert (r.status_code, r.json()["code"]) == (503, "E0000-098")
        assert srv.alive()
        his.close()


@pytest.mark.pg
def test_gateway_answers_an_envelope_while_nothing_listens_on_the_database_port(pg_database):
    server_url, name, _ = pg_database
    host_port = re.search(r"@([^/:]+):(\d+)$", server_url)
    relay = Relay((host_port[1], int(host_port[2])))
    relayed = re.sub(r"@[^/]+$", f"@127.0.0.1:{relay.port}", server_url)
    with running_server(f"{relayed}/{name}") as srv:
        his, son = _world(srv)
        relay.cut()
        _assert_envelope_098(his, son)
        assert srv.alive()
        his.close()
