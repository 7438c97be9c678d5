"""A settlement's password is decrypted before its unit of work opens and its hash checked before the
patient is locked (issue 11: "do the hash and the RSA decryption outside the database transaction"):
on PostgreSQL the hash is read without a lock in the first round trip, on SQLite before the one write
lock is taken. The early check counts only if the hash under the lock is still the one checked."""

from __future__ import annotations

import pytest

from conftest import START
from support import balances, call, envelope, family_world, pharmacy_input
from yibao.credentials import model as credentials_model
from yibao.gateway.dispatcher import dispatch
from yibao.services import identity
from yibao.services.credentials import set_password
from yibao.services.platform import FixedClock, Platform
from yibao.storage import raw


@pytest.fixture
def p(store):
    platform = Platform(store, FixedClock(START))
    platform.fam = family_world(platform)
    return platform


def _refused(answer: dict, code: str) -> None:
    assert answer["infcode"] == -1 and answer["err_msg"].startswith(f"[{code}]"), answer["err_msg"]


def test_the_hash_is_checked_before_the_patient_is_locked(p, store, monkeypatch):
    sent: list[tuple[str, bool]] = []
    checks: list[dict] = []
    verify = credentials_model.verify_password

    def watched(hashed: str, password: str) -> bool:
        checks.append(
            {
                "patient_locked": any("FROM people" in sql and "FOR UPDATE" in sql for sql, _ in sent),
                "writer_held": store.one_writer and store._writer._is_owned(),
            }
        )
        return verify(hashed, password)

    monkeypatch.setattr(identity, "verify_password", watched)
    raw.STATEMENT_LISTENERS.append(lambda sql, params, count, new_trip: sent.append((sql, new_trip)))
    try:
        answer = call(p, "2102", pharmacy_input(p.fam.son, "10.00"), password="123456")
    finally:
        raw.STATEMENT_LISTENERS.clear()
    assert answer["infcode"] == 0, answer["err_msg"]
    assert len(checks) == 1  # checked once, not again under the lock
    assert checks[0]["patient_locked"] is False
    assert checks[0]["writer_held"] is False
    if store.sqlite:
        return
    # PostgreSQL: the hash came in the first round trip, with the institution's credential
    trips: list[list[str]] = []
    for sql, new_trip in sent:
        if new_trip or not trips:
            trips.append([])
        trips[-1].append(sql)
    first = next(trip for trip in trips if any("institution_credentials" in sql for sql in trip))
    read = [sql for sql in first if "FROM passwords" in sql]
    assert len(read) == 1 and "FOR UPDATE" not in read[0]  # read without a lock
    locked = next(trip for trip in trips if any("FROM people" in sql and "FOR UPDATE" in sql for sql in trip))
    assert locked is not first


def _changed_after_the_early_check(p, store, monkeypatch, new: str) -> None:
    """Give the son a new password right after his old hash was checked early (another transaction)."""
    psn_no = p.fam.son.person.psn_no
    if store.sqlite:  # checked before the unit opens: change it right after
        early = identity.password_early

        def then_changed(platform, number, cainfo):
            got = early(platform, number, cainfo)
            set_password(platform, psn_no, new, reset=True)
            return got

        monkeypatch.setattr("yibao.gateway.common.password_early", then_changed)
    else:  # checked between the first round trip and the patient's lock: change it then, committed
        check = identity.PasswordEarly.check

        def then_changed(self):
            check(self)
            set_password(p, psn_no, new, reset=True)

        monkeypatch.setattr(identity.PasswordEarly, "check", then_changed)


def test_an_early_check_of_a_hash_changed_since_does_not_count(p, store, monkeypatch):
    _changed_after_the_early_check(p, store, monkeypatch, "888888")
    son = p.fam.son
    before = balances(p, son)
    # the old password passed the early check, but the hash under the lock is the new one's
    _refused(call(p, "2102", pharmacy_input(son, "10.00"), password="123456"), "E2207-003")
    assert balances(p, son) == before
    with p.store.uow() as tx:
        assert tx.credentials.password(son.person.id).failures == 1  # counted under the lock, once


def test_a_new_password_refused_early_is_accepted_under_the_lock(p, store, monkeypatch):
    _changed_after_the_early_check(p, store, monkeypatch, "888888")
    son = p.fam.son
    before = balances(p, son)
    answer = call(p, "2102", pharmacy_input(son, "10.00"), password="888888")
    assert answer["infcode"] == 0, answer["err_msg"]
    assert balances(p, son) != before


def test_an_unreadable_cainfo_is_refused_as_before(p):
    env = envelope(p, "2102", pharmacy_input(p.fam.son, "10.00"))
    env["cainfo"] = "not base64!"
    answer = dispatch(p, env)
    _refused(answer, "E2207-003")
    assert "无法解密" in answer["err_msg"]
    # and without a cainfo at all, where an account pays
    _refused(call(p, "2102", pharmacy_input(p.fam.son, "10.00")), "E2207-007")


def test_no_password_work_when_no_account_pays(p, monkeypatch):
    called: list[str] = []
    monkeypatch.setattr(identity, "password_from_cainfo", lambda *a, **k: called.append("rsa") or "123456")
    answer = call(p, "2102", pharmacy_input(p.fam.son, "10.00", acct_used="0"), password="123456")
    assert answer["infcode"] == 0, answer["err_msg"]
    assert called == []
