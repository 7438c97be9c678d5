"""The gateway's POSTs skip FastAPI's stack (``YibaoApp``); what they answer must not change.

Every other request still goes through FastAPI; an error outside ``_gateway``'s own net is answered
by the app's exception handlers, as the routed endpoint's was.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

import yibao.api.app as app_module
from yibao.api.app import GATEWAY_PATH, create_app
from yibao.nhsa.envelope import request_envelope
from yibao.services.platform import Platform, SandboxClock
from yibao.storage.uow import Store

NOBODY = "H36010000001"  # no such institution: an envelope refused by the dispatcher, status 200


@pytest.fixture
def platform():
    return Platform(Store.open("sqlite://", create=True), SandboxClock(), sandbox=True)


@pytest.fixture
def client(platform):
    with TestClient(
        create_app(platform, admin_token="t", gateway_prefix="/agency"), raise_server_exceptions=False
    ) as c:
        yield c


@pytest.fixture
def sign_in(platform):
    inp = {"signIn": {"opter_no": "1"}}
    return request_envelope("9001", inp, institution=NOBODY, admdvs="360100", now=platform.now(), msgid="H" * 30)


@pytest.mark.parametrize("path", [GATEWAY_PATH, GATEWAY_PATH + "/9001", "/agency" + GATEWAY_PATH + "/9001"])
def test_every_gateway_url_answers_an_envelope(client, sign_in, path):
    r = client.post(path, json=sign_in)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.json()["err_msg"] == f"[E0000-004] 定点医药机构不存在或已停用：{NOBODY}"
    gb = client.post(path, content=r.request.content, headers={"content-type": "application/json; charset=GBK"})
    assert gb.headers["content-type"] == "application/json; charset=GB18030"
    wrong = client.post(path.rsplit("/9001", 1)[0] + "/2101", json=sign_in)  # the URL's infno must match
    assert wrong.status_code == 400 and "URL 中的交易编号 2101" in wrong.json()["err_msg"]


def test_other_methods_and_urls_still_go_through_fastapi(client, sign_in):
    assert client.get(GATEWAY_PATH).json() == {"code": "H405", "message": "不支持该请求方法"}
    assert client.post(GATEWAY_PATH + "/9001/extra", json=sign_in).status_code == 404
    assert client.post("/agency/other" + GATEWAY_PATH, json=sign_in).status_code == 404
    assert client.get("/healthz").json()["ok"] is True


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (UnicodeEncodeError("gb18030", "\ud800", 0, 1, "surrogate"), 422, "E0000-008"),
        (RuntimeError("bug"), 503, "E0000-099"),
    ],
)
def test_an_error_outside_the_gateways_net_is_answered_by_the_apps_handlers(
    client, sign_in, monkeypatch, error, status, code
):
    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(app_module, "_log_call", broken)
    r = client.post(GATEWAY_PATH, json=sign_in)
    assert (r.status_code, r.json()["code"]) == (status, code)
