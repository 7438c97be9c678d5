"""Where the gateway checks an API key: in the call's unit of work when the call writes and has no
work to do ahead of it (one round trip and one transaction fewer), up front otherwise."""

from __future__ import annotations

import pytest

import yibao.gateway.dispatcher as dispatcher_module
from yibao.gateway.dispatcher import dispatch
from yibao.nhsa.envelope import request_envelope
from yibao.services.platform import Platform, SandboxClock
from yibao.storage.uow import Store

NOBODY = "H36010000001"


@pytest.fixture
def platform():
    return Platform(Store.open("sqlite://", create=True), SandboxClock(), sandbox=False)


@pytest.fixture
def up_front(monkeypatch):
    """The institutions asked of the key up front (``institution_of_api_key``), in order."""
    asked: list[str] = []

    def spy(p, api_key):
        asked.append(api_key)
        return None

    monkeypatch.setattr(dispatcher_module, "institution_of_api_key", spy)
    return asked


def envelope(p: Platform, infno: str, inp: dict, **extra) -> dict:
    env = request_envelope(infno, inp, institution=NOBODY, admdvs="360100", now=p.now(), msgid="M" * 30)
    return {**env, **extra}


SIGN_IN = {"signIn": {"opter_no": "1"}}
SETTLE = {"druginfo": {"psn_no": "1", "acct_used_flag": "1"}}


@pytest.mark.parametrize(
    ("infno", "inp", "extra", "in_unit"),
    [
        ("9001", SIGN_IN, {}, True),  # writes, nothing ahead
        ("2102", SETTLE, {}, True),  # a settlement without a password
        ("2102", SETTLE, {"cainfo": "x" * 40}, False),  # a password to decrypt ahead: key first
        ("1101", {"data": {"psn_no": "1"}}, {}, False),  # a query writes nothing: key first
    ],
)
def test_where_the_key_is_checked(platform, up_front, infno, inp, extra, in_unit):
    answer = dispatch(platform, envelope(platform, infno, inp, **extra), api_key="yb_wrong")
    assert answer["err_msg"] == "[E0000-006] 身份认证失败：API key 无效"
    assert up_front == ([] if in_unit else ["yb_wrong"])


def test_a_malformed_envelope_with_a_bad_key_is_refused_for_the_key(platform, up_front):
    answer = dispatch(platform, {"infno": "9001"}, api_key="yb_wrong")
    assert answer["err_msg"] == "[E0000-006] 身份认证失败：API key 无效"
    assert up_front == ["yb_wrong"]


def test_a_url_naming_another_transaction_checks_the_key_first(platform, up_front):
    env = envelope(platform, "9001", SIGN_IN)
    answer = dispatch(platform, env, api_key="yb_wrong", path_infno="2102")
    assert answer["err_msg"] == "[E0000-006] 身份认证失败：API key 无效"
    assert up_front == ["yb_wrong"]
