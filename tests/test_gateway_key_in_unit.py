"""Where the gateway checks an API key: in the call's unit of work when the call writes and has no
work to do ahead of it (one round trip and one transaction fewer), up front otherwise."""

from __future__ import annotations

import time

import pytest

import yibao.gateway.dispatcher as dispatcher_module
from yibao.errors import DomainError
from yibao.gateway.dispatcher import dispatch
from yibao.nhsa.envelope import request_envelope
from yibao.services import gateway_access
from yibao.services.gateway_access import access, institution_of_api_key, issue_credentials, recently_proven
from yibao.services.platform import Platform, SandboxClock
from yibao.services.world import add_institution
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


# A call with a password to decrypt ahead: its key goes to the unit once this process saw it proven


def test_a_recently_proven_key_lets_the_work_ahead_go_first(platform, up_front, monkeypatch):
    monkeypatch.setattr(dispatcher_module, "recently_proven", lambda key: NOBODY)
    answer = dispatch(platform, envelope(platform, "2102", SETTLE, cainfo="x" * 40), api_key="yb_wrong")
    assert answer["err_msg"] == "[E0000-006] 身份认证失败：API key 无效"  # refused in the unit all the same
    assert up_front == []


def test_a_key_proven_for_another_institution_is_checked_first(platform, up_front, monkeypatch):
    monkeypatch.setattr(dispatcher_module, "recently_proven", lambda key: "H99999999999")
    dispatch(platform, envelope(platform, "2102", SETTLE, cainfo="x" * 40), api_key="yb_wrong")
    assert up_front == ["yb_wrong"]


@pytest.fixture
def registered(platform):
    add_institution(platform, NOBODY, "测试医院", "hospital", 2, "360100")
    return issue_credentials(platform, NOBODY)["api_key"]


def test_proven_keys_are_remembered_and_forgotten(platform, registered, monkeypatch):
    assert recently_proven(registered) is None
    assert institution_of_api_key(platform, registered) == NOBODY  # the up-front check remembers
    assert recently_proven(registered) == NOBODY
    now = time.monotonic()
    monkeypatch.setattr(gateway_access.time, "monotonic", lambda: now + gateway_access.PROVEN_S + 1)
    assert recently_proven(registered) is None  # too long ago
    monkeypatch.undo()
    with platform.unit() as tx:
        access(platform, tx, NOBODY, api_key=registered)  # proven in a unit of work: remembered
    assert recently_proven(registered) == NOBODY
    issue_credentials(platform, NOBODY)  # a new key: the old one stops working, and is forgotten
    assert recently_proven(registered) is None
    with platform.unit() as tx, pytest.raises(DomainError) as refused:
        access(platform, tx, NOBODY, api_key=registered)
    assert refused.value.code == "E0000-006"
    assert recently_proven(registered) is None
