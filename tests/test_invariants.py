"""Assertions on money: a broken invariant is an internal error (E0000-099, logged), never a refusal,
and nothing is written; the steps and the ledger check their postconditions on every call."""

from __future__ import annotations

import logging

import pytest

from support import balances, call, family_world, pharmacy_input
from yibao.errors import InternalError, invariant
from yibao.ledger.model import ACCT_PAY, Entry, Transfer, validate
from yibao.settlement import calculate
from yibao.settlement.model import Buckets
from yibao.settlement.mutual_aid import draw


def test_invariant_raises_an_internal_error_not_a_refusal():
    invariant(True, "fine")
    with pytest.raises(InternalError, match="parts"):
        invariant(False, "parts add up")
    assert not issubclass(InternalError, ValueError)


def test_a_broken_invariant_answers_e0000_099_with_a_log_line_and_writes_nothing(platform, monkeypatch, caplog):
    fam = family_world(platform)
    before = balances(platform, fam.son)

    def broken(*args, **kwargs):
        invariant(False, "fund + own account + mutual aid + cash = total")

    monkeypatch.setattr("yibao.services.settle.settle", broken)
    with caplog.at_level(logging.ERROR, logger="yibao.gateway"):
        answer = call(platform, "2102", pharmacy_input(fam.son, "50.00"))
    assert answer["infcode"] == -1
    assert answer["err_msg"].startswith("[E0000-099]")
    assert any("invariant broken" in r.getMessage() and r.exc_info for r in caplog.records)
    assert balances(platform, fam.son) == before


def test_a_negative_total_is_still_a_refusal(platform):
    fam = family_world(platform)
    inp = pharmacy_input(fam.son, "-5.00")
    answer = call(platform, "2102", inp)
    assert answer["infcode"] == -1
    assert not answer["err_msg"].startswith("[E0000-099]")


def test_drawing_never_takes_a_bucket_below_zero():
    draws, paid = draw(Buckets(300, -50), ("current", "historical"), 1000)
    assert paid == 300 and [(d.bucket, d.amount) for d in draws] == [("current", 300)]
    assert draw(Buckets(300, 200), ("historical", "current"), 0) == ((), 0)


def test_the_ledger_checks_every_entry():
    ok = Entry("k1", "settlement", (Transfer("P:1:current", "I:H1", 100, ACCT_PAY),))
    validate(ok)
    with pytest.raises(InternalError):
        validate(Entry("k2", "settlement", (Transfer("Z:1", "I:H1", 100, ACCT_PAY),)))
    with pytest.raises(InternalError):
        validate(Entry("k3", "clawback", ok.transfers, lower_floors=frozenset({"I:H1"})))


def test_every_step_is_short():
    import inspect

    for name, fn in inspect.getmembers(calculate, inspect.isfunction):
        if fn.__module__ == calculate.__name__:
            assert len(inspect.getsource(fn).splitlines()) <= 65, name
