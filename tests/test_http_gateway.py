"""The real server over HTTP: ``yibao serve`` in a subprocess, driven with httpx.

(a) every acceptance case that passes in-process passes against a sandbox server as well;
(b) a production-mode server (no ``--sandbox``): institution authentication (API key, TIF signed
headers), 9001/9002 sign-in, passwords on the wire, malformed bodies, msgid idempotency, and the
admin REST API. The world of (b) is built through the admin REST API only.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from conftest import ACCEPTANCE, require_pg
from http_world import (
    ADMDVS,
    GATEWAY,
    HOSPITAL,
    PHARMACY,
    Admin,
    Family,
    His,
    add_family,
    add_person,
    beijing_now,
    fen,
    fresh_pg_database,
    issue_credentials,
    ledger_problems,
    new_msgid,
    pharmacy_input,
    settlement_problems,
    setup_region,
    snapshot,
    tif_headers,
    worker_of,
)
from server import Server, running_server
from yibao.cases.driver import InProcessDriver
from yibao.cases.http_driver import HttpDriver
from yibao.cases.runner import run_case
from yibao.nhsa.envelope import parse_body
from yibao.services.case_file import case_files
from yibao.storage.uow import Store

CASES = case_files([ACCEPTANCE])

# (a) acceptance cases over HTTP ------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox_server(tmp_path_factory):
    with running_server(str(tmp_path_factory.mktemp("sandbox") / "sandbox.sqlite"), sandbox=True) as srv:
        yield srv


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_acceptance_case_over_http_matches_in_process(sandbox_server, path):
    local = run_case(path, InProcessDriver)
    remote = run_case(path, lambda: HttpDriver(sandbox_server.url, sandbox_server.admin_token))
    assert sandbox_server.alive(), sandbox_server.log()[-3000:]
    if not local.passed:
        assert not remote.passed, "passes over HTTP but not in-process:\n" + "\n".join(local.failures)
        pytest.skip("does not pass in-process either: " + "; ".join(local.failures))
    assert remote.passed, "passes in-process, fails over HTTP:\n" + "\n".join(remote.failures)
    assert remote.steps_run == local.steps_run


# (b) a production-mode server ---------------------------------------------------------------------


@dataclass
class Live:
    srv: Server
    admin: Admin
    cred: dict  # the pharmacy's API key and TIF token
    hospital_cred: dict
    store: Store  # our own connection to the server's database, for looking only
    db: str

    @property
    def url(self) -> str:
        return self.srv.url

    def his(self, **kw) -> His:
        kw.setdefault("api_key", self.cred["api_key"])
        return His(self.url, **kw)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    db = str(tmp_path_factory.mktemp("live") / "live.sqlite")
    with running_server(db) as srv:
        admin = Admin(srv.url, srv.admin_token)
        setup_region(admin)
        store = Store.open(db, migrate=False)
        try:
            yield Live(srv, admin, issue_credentials(admin), issue_credentials(admin, HOSPITAL), store, db)
        finally:
            store.dispose()
            admin.close()
        assert "Traceback" not in srv.log(), srv.log()[-3000:]


@pytest.fixture
def his(live):
    client = live.his()
    client.sign_in()
    yield client
    client.close()


@pytest.fixture
def fam(live) -> Family:
    return add_family(live.admin, secrets.token_hex(3), son="100.00", father=("300.00", "500.00"))


def query(person: dict) -> dict:
    return {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": person["certno"], "psn_cert_type": "01"}}


def assert_envelope(answer: dict, *, infcode: int, code: str | None = None) -> None:
    assert set(answer) >= {"infcode", "inf_refmsgid", "refmsg_time", "respond_time", "err_msg", "output"}
    assert answer["infcode"] == infcode, answer["err_msg"]
    if code is not None:
        assert answer["err_msg"].startswith(f"[{code}]"), answer["err_msg"]


# Authentication -----------------------------------------------------------------------------------


def test_pubkey_is_a_pem_public_key(live):
    r = httpx.get(live.url + "/fsi/api/pubkey")
    assert r.status_code == 200
    assert r.text.startswith("-----BEGIN PUBLIC KEY-----")


def test_healthz_says_production_mode(live):
    assert httpx.get(live.url + "/healthz").json() == {"ok": True, "sandbox": False, "database": "sqlite"}


def test_unauthenticated_call_is_401_with_an_envelope(live, fam):
    client = live.his(api_key=None)
    status, answer = client.send(client.envelope("1101", query(fam.son)), headers={})
    assert status == 401
    assert_envelope(answer, infcode=-1, code="E0000-006")
    assert answer["output"] == {}


def test_unknown_api_key_is_401(live, fam):
    client = live.his(api_key="yb_" + secrets.token_urlsafe(24))
    status, answer = client.send(client.envelope("9001", {"signIn": {"opter_no": "1"}}))
    assert status == 401
    assert_envelope(answer, infcode=-1, code="E0000-006")


def test_api_key_authenticates(his, fam):
    answer = his.call("1101", query(fam.son))
    assert_envelope(answer, infcode=0)
    assert answer["output"]["baseinfo"]["psn_no"] == fam.son["psn_no"]


def test_tif_signature_authenticates(live, fam):
    client = live.his(api_key=None, tif=(live.cred["tif_paasid"], live.cred["tif_token"]))
    client.sign_in()
    answer = client.call("1101", query(fam.son))
    assert_envelope(answer, infcode=0)


def _bad_tif(live, how: str) -> dict[str, str]:
    paasid, token = live.cred["tif_paasid"], live.cred["tif_token"]
    if how == "wrong signature":
        h = tif_headers(paasid, token)
        h["x-tif-signature"] = tif_headers(paasid, "not-the-token")["x-tif-signature"]
        return h
    if how == "stale timestamp":
        return tif_headers(paasid, token, stamp=int(time.time()) - 301)
    if how == "future timestamp":
        return tif_headers(paasid, token, stamp=int(time.time()) + 301)
    if how == "timestamp not a number":
        h = tif_headers(paasid, token)
        h["x-tif-timestamp"] = "yesterday"
        return h
    if how == "unknown paasid":
        return tif_headers("nobody", token)
    if how == "another institution's token":
        return tif_headers(paasid, live.hospital_cred["tif_token"])
    if how == "missing nonce":
        h = tif_headers(paasid, token)
        del h["x-tif-nonce"]
        return h
    raise AssertionError(how)


@pytest.mark.parametrize(
    "how",
    [
        "wrong signature",
        "stale timestamp",
        "future timestamp",
        "timestamp not a number",
        "unknown paasid",
        "another institution's token",
        "missing nonce",
    ],
)
def test_bad_tif_headers_are_refused(live, his, fam, how):
    status, answer = his.send(his.envelope("1101", query(fam.son)), headers=_bad_tif(live, how))
    assert status == 401
    assert_envelope(answer, infcode=-1, code="E0000-006")


def test_replayed_nonce_is_refused(live, his, fam):
    headers = tif_headers(live.cred["tif_paasid"], live.cred["tif_token"])
    status, answer = his.send(his.envelope("1101", query(fam.son)), headers=headers)
    assert (status, answer["infcode"]) == (200, 0), answer["err_msg"]
    status, answer = his.send(his.envelope("1101", query(fam.son)), headers=headers)
    assert status == 401
    assert_envelope(answer, infcode=-1, code="E0000-006")
    assert "重放" in answer["err_msg"]


def test_tif_signature_on_a_server_outside_china(tmp_path):
    with running_server(str(tmp_path / "utc.sqlite"), env={"TZ": "UTC"}) as srv:
        admin = Admin(srv.url, srv.admin_token)
        setup_region(admin)
        cred = issue_credentials(admin)
        client = His(srv.url, tif=(cred["tif_paasid"], cred["tif_token"]))
        answer = client.call("9001", {"signIn": {"opter_no": "001"}})
        client.close()
        admin.close()
    assert answer["infcode"] == 0, answer["err_msg"]


def test_envelope_institution_must_be_the_authenticated_one(his, fam):
    env = his.envelope("1101", query(fam.son))
    env["fixmedins_code"] = HOSPITAL
    status, answer = his.send(env)
    assert status in (200, 401)
    assert_envelope(answer, infcode=-1, code="E0000-006")


def test_a_bad_key_never_replays_an_answered_msgid(live, his, fam):
    """The key of a settlement without a password is checked in the call's unit of work, after
    the msgid's record was read: that record must never reach a caller the key does not prove."""
    env = his.envelope("2102", pharmacy_input(fam.son, "12.00", acct_used="0"))
    status, first = his.send(env)
    assert status == 200
    assert_envelope(first, infcode=0)
    after = snapshot(live.store)
    for key in ("yb_" + secrets.token_urlsafe(24), live.hospital_cred["api_key"]):  # unknown; another's
        status, answer = his.send(env, headers={"x-api-key": key})
        assert status == 401
        assert_envelope(answer, infcode=-1, code="E0000-006")
        assert answer["output"] == {} and answer["message"] == "身份认证失败：API key 无效"
    assert snapshot(live.store) == after
    assert his.send(env)[1] == first  # the institution's own resend still gets its answer


def test_a_bad_key_settles_nothing_and_holds_no_msgid(live, his, fam):
    env = his.envelope("2102", pharmacy_input(fam.son, "12.00", acct_used="0"))
    before = snapshot(live.store)
    status, answer = his.send(env, headers={"x-api-key": live.hospital_cred["api_key"]})
    assert status == 401
    assert_envelope(answer, infcode=-1, code="E0000-006")
    assert snapshot(live.store) == before
    assert_envelope(his.send(env)[1], infcode=0)  # the msgid was not taken: the real call settles


def test_a_bad_key_with_a_password_is_refused_before_it_is_decrypted(live, his, fam):
    env = his.envelope("2102", pharmacy_input(fam.son, "12.00"), password="123456")
    before = snapshot(live.store)
    status, answer = his.send(env, headers={"x-api-key": "yb_" + secrets.token_urlsafe(24)})
    assert status == 401
    assert_envelope(answer, infcode=-1, code="E0000-006")
    assert snapshot(live.store) == before


# Sign-in ------------------------------------------------------------------------------------------


def test_sign_in_is_required_then_accepted_then_refused_after_sign_out(live, fam):
    client = live.his()
    refused = client.call("1101", query(fam.son))
    assert_envelope(refused, infcode=-1, code="E0000-007")
    client.sign_in()
    assert_envelope(client.call("1101", query(fam.son)), infcode=0)
    assert_envelope(client.sign_out(), infcode=0)
    assert_envelope(client.call("1101", query(fam.son)), infcode=-1, code="E0000-007")
    client.close()


def test_a_sign_no_of_another_institution_is_refused(live, his, fam):
    hospital = His(live.url, institution=HOSPITAL, api_key=live.hospital_cred["api_key"], sign_no=his.sign_no)
    assert_envelope(hospital.call("1101", query(fam.son)), infcode=-1, code="E0000-007")
    hospital.sign_in()
    assert_envelope(hospital.call("1101", query(fam.son)), infcode=0)
    hospital.close()


def test_an_invented_sign_no_is_refused(his, fam):
    answer = his.call("1101", query(fam.son), sign_no="20250101000000" + "0" * 16)
    assert_envelope(answer, infcode=-1, code="E0000-007")


# Passwords --------------------------------------------------------------------------------------


def test_plain_password_is_refused_outside_the_sandbox_and_writes_nothing(live, his, fam):
    before = snapshot(live.store)
    answer = his.call("2102", pharmacy_input(fam.son, "20.00"), cainfo="plain:123456")
    assert_envelope(answer, infcode=-1, code="E2207-003")
    assert snapshot(live.store) == before


def test_rsa_encrypted_password_from_pubkey_settles(live, his, fam):
    answer = his.call("2102", pharmacy_input(fam.son, "150.00"), password="123456")
    assert_envelope(answer, infcode=0)
    info = answer["output"]["setlinfo"]
    assert (info["acct_pay"], info["acct_mulaid_pay"], info["psn_cash_pay"]) == (100, 50, 0)
    assert live.admin.balances(fam.son["psn_no"]) == (0, 0)
    assert live.admin.balances(fam.father["psn_no"]) == (25000, 50000)


def test_wrong_password_is_refused_and_moves_no_money(live, his, fam):
    answer = his.call("2102", pharmacy_input(fam.son, "20.00"), password="000000")
    assert_envelope(answer, infcode=-1, code="E2207-003")
    assert live.admin.balances(fam.son["psn_no"]) == (10000, 0)


def test_missing_password_is_refused(his, fam):
    answer = his.call("2102", pharmacy_input(fam.son, "20.00"))
    assert_envelope(answer, infcode=-1, code="E2207-007")


# Malformed bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b'{"infno": "1101",', b"\xff\xfe{}", '{"infno": "\u00e9"'.encode("latin-1")],
    ids=["broken", "empty", "truncated", "bad-utf8", "latin1"],
)
def test_malformed_json_is_400_with_an_envelope(his, body):
    r = his.post(body)
    assert r.status_code == 400
    answer = parse_body(r.content)
    assert_envelope(answer, infcode=-1, code="E0000-001")
    assert r.headers["content-type"].startswith("application/json")


def test_missing_envelope_field_is_an_envelope(his, fam):
    env = his.envelope("1101", query(fam.son))
    del env["msgid"]
    status, answer = his.send(env)
    assert status in (200, 400)
    assert_envelope(answer, infcode=-1, code="E0000-002")


def test_unknown_infno_is_refused(his):
    status, answer = his.send(his.envelope("9999", {}))
    assert status == 200
    assert_envelope(answer, infcode=-1, code="E0000-003")


# msgid idempotency ------------------------------------------------------------------------------


def test_same_msgid_same_body_returns_the_same_answer_and_settles_once(live, his, fam):
    msgid = new_msgid("IDEM")
    inp = pharmacy_input(fam.son, "120.00")
    original = his.envelope("2102", inp, msgid=msgid, password="123456")
    original["inf_time"] = f"{beijing_now() - timedelta(seconds=2):%Y-%m-%d %H:%M:%S}"
    first = his.send(original)[1]
    assert_envelope(first, infcode=0)
    after = snapshot(live.store)
    # a later inf_time and a fresh cainfo (RSA-OAEP is randomised): still a resend
    again = his.call("2102", inp, msgid=msgid, password="123456")
    assert again == first
    assert snapshot(live.store) == after
    mine = live.admin.get(f"/api/v1/people/{fam.son['psn_no']}/settlements")
    assert len(mine) == 1
    assert mine[0]["setl_id"] == first["output"]["setlinfo"]["setl_id"]


def test_same_msgid_different_body_is_refused(live, his, fam):
    msgid = new_msgid("CLASH")
    first = his.call("2102", pharmacy_input(fam.son, "30.00"), msgid=msgid, password="123456")
    assert_envelope(first, infcode=0)
    after = snapshot(live.store)
    other = his.call("2102", pharmacy_input(fam.son, "31.00"), msgid=msgid, password="123456")
    assert_envelope(other, infcode=-1, code="E0000-005")
    assert snapshot(live.store) == after


def test_the_same_msgid_from_another_institution_is_a_different_message(live, his, fam):
    msgid = new_msgid("TWIN")
    assert_envelope(his.call("1101", query(fam.son), msgid=msgid), infcode=0)
    hospital = His(live.url, institution=HOSPITAL, api_key=live.hospital_cred["api_key"])
    hospital.sign_in()
    assert_envelope(hospital.call("1101", query(fam.father), msgid=msgid), infcode=0)
    hospital.close()


def test_reversal_by_omsgid_restores_balances(live, his, fam):
    msgid = new_msgid("REV")
    before = live.admin.balances(fam.son["psn_no"]), live.admin.balances(fam.father["psn_no"])
    assert_envelope(his.call("2102", pharmacy_input(fam.son, "250.00"), msgid=msgid, password="123456"), infcode=0)
    undo = {"data": {"psn_no": fam.son["psn_no"], "omsgid": msgid, "oinfno": "2102"}}
    assert_envelope(his.call("2601", undo), infcode=0)
    assert (live.admin.balances(fam.son["psn_no"]), live.admin.balances(fam.father["psn_no"])) == before
    assert_envelope(his.call("2601", undo), infcode=-1, code="E2601-002")
    assert ledger_problems(live.db) == []


# The admin REST API ----------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer wrong-token", "Basic dGVzdA=="])
def test_admin_api_without_the_token_is_401(live, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in [("GET", "/api/v1/people"), ("POST", "/api/v1/people"), ("GET", "/api/v1/regions")]:
        r = httpx.request(method, live.url + path, headers=headers, json={} if method == "POST" else None)
        assert r.status_code == 401, (method, path, r.text)
        assert r.json()["code"] == "E0000-006"


def test_admin_token_does_not_open_the_gateway(live, fam):
    r = httpx.post(
        live.url + GATEWAY,
        headers={"Authorization": f"Bearer {live.srv.admin_token}"},
        content=b'{"infno": "9001"}',
    )
    assert r.status_code == 401
    assert_envelope(r.json(), infcode=-1, code="E0000-006")


def test_admin_people_accounts_and_settlement_explanation(live, his):
    made = add_person(live.admin, "王五", current="80.00", historical="20.00")
    assert made["admdvs"] == ADMDVS and made["card_no"] and made["ec_token"]
    assert live.admin.get(f"/api/v1/people/{made['psn_no']}")["certno"] == made["certno"]
    assert live.admin.get(f"/api/v1/people/{made['psn_no']}/accounts") == {
        "psn_no": made["psn_no"],
        "current": "80.00",
        "historical": "20.00",
        "total": "100.00",
        "has_account": True,
    }
    search = live.admin.http.get("/api/v1/people", params={"q": made["psn_no"]}).json()
    assert [p["psn_no"] for p in search] == [made["psn_no"]]

    answer = his.call("2102", pharmacy_input(made, "90.00"), password="123456")
    assert_envelope(answer, infcode=0)
    setl_id = answer["output"]["setlinfo"]["setl_id"]
    detail = live.admin.get(f"/api/v1/settlements/{setl_id}")
    assert detail["setl_id"] == setl_id and detail["psn_no"] == made["psn_no"] and detail["status"] == "settled"
    assert detail["institution"] == PHARMACY and detail["infno"] == "2102"
    assert (detail["medfee"], detail["acct_pay"], detail["cash_pay"]) == ("90.00", "90.00", "0.00")
    assert detail["explanation"] and all(isinstance(s, str) and s for s in detail["explanation"])
    assert Decimal(str(detail["setlinfo"]["acct_pay"])) == answer["output"]["setlinfo"]["acct_pay"]
    assert fen(live.admin.get(f"/api/v1/people/{made['psn_no']}/accounts")["total"]) == 1000

    listed = live.admin.http.get("/api/v1/settlements", params={"psn_no": made["psn_no"]}).json()
    assert [s["setl_id"] for s in listed] == [setl_id]

    r = live.admin.http.get("/api/v1/settlements/36019900000000009999")
    assert r.status_code == 404 and r.json()["code"] == "E2208-001"
    r = live.admin.http.get("/api/v1/people/nobody/accounts")
    assert r.status_code == 404


def test_admin_refuses_invalid_bodies_with_4xx(live):
    for body in [{}, {"name": "x"}, {"name": "x", "birth": "1990-01-01", "gender": "1", "admdvs": "abc"}]:
        r = live.admin.http.post("/api/v1/people", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "E0000-008"
    r = live.admin.http.post("/api/v1/people", content=b"{oops", headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500


def test_admin_cancel_restores_balances(live, his, fam):
    before = live.admin.balances(fam.son["psn_no"]), live.admin.balances(fam.father["psn_no"])
    answer = his.call("2102", pharmacy_input(fam.son, "160.00"), password="123456")
    assert_envelope(answer, infcode=0)
    setl_id = answer["output"]["setlinfo"]["setl_id"]
    cancelled = live.admin.post(f"/api/v1/settlements/{setl_id}/cancel", ok=(200,))
    assert cancelled["status"] == "cancelled"
    assert (live.admin.balances(fam.son["psn_no"]), live.admin.balances(fam.father["psn_no"])) == before
    r = live.admin.http.post(f"/api/v1/settlements/{setl_id}/cancel")
    assert r.status_code == 409 and r.json()["code"] == "E2208-002"


def test_database_is_consistent_after_the_module(live):
    """Runs last in this module (pytest keeps file order): nothing half-written, the ledger balanced."""
    assert settlement_problems(live.store) == []
    assert ledger_problems(live.db) == []
    assert live.srv.alive()


@pytest.mark.pg
def test_tif_signature_on_postgresql(request):
    require_pg()
    with running_server(fresh_pg_database(worker_of(request))) as srv:
        admin = Admin(srv.url, srv.admin_token)
        setup_region(admin)
        cred = issue_credentials(admin)
        client = His(srv.url, tif=(cred["tif_paasid"], cred["tif_token"]))
        answer = client.call("9001", {"signIn": {"opter_no": "001"}})
        client.close()
        admin.close()
    assert answer["infcode"] == 0, answer["err_msg"]
