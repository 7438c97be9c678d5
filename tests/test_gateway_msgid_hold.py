"""A written call holds its msgid from the round trip that reads the institution's credential and
records its message once, with its answer, at the commit (issue 11: one row written once, not a
claim then an answer). An institution on the SM variant — whose input is sealed — records the digest
of the opened input, and its resend replays. A resend arriving while the original runs waits for the
hold and replays; a refused call records nothing."""

from __future__ import annotations

import copy
import threading

import pytest
import simplejson

from conftest import START
from recipes_13 import ITEM
from support import ADMDVS, PHARMACY, family_world
from yibao.care.messages import Message
from yibao.gateway.dispatcher import digest, dispatch
from yibao.nhsa import dialects
from yibao.nhsa.envelope import new_msgid, request_envelope
from yibao.services import messages
from yibao.services.gateway_access import issue_credentials
from yibao.services.platform import FixedClock, Platform
from yibao.storage import raw


def _purchase(lot: str) -> dict:
    p = {**ITEM, "fixmedins_bchno": lot, "spler_name": "某医药公司", "manu_lotnum": "L1", "prodentp_name": "厂"}
    p.update(aprvno="国药准字H1", manu_date="2025-01-01", expy_end="2027-01-01", purc_retn_cnt="5")
    p.update(rx_flag="1", purc_retn_stoin_time="2025-06-01", purc_retn_opter_name="王五")
    return {"purcinfo": p}


def _envelope(p: Platform, inp: dict, n: int) -> dict:
    return request_envelope(
        "3503", inp, institution=PHARMACY, admdvs=ADMDVS, now=p.now(), msgid=new_msgid(PHARMACY, START, n)
    )


@pytest.fixture
def p(store):
    platform = Platform(store, FixedClock(START))
    family_world(platform)
    return platform


def test_the_msgid_is_held_with_the_credential_read_and_its_message_written_once(p, store):
    issue_credentials(p, PHARMACY, sign_in="optional")
    sent: list[tuple[str, bool]] = []
    raw.STATEMENT_LISTENERS.append(lambda sql, params, count, new_trip: sent.append((sql, new_trip)))
    try:
        env = _envelope(p, _purchase("B1"), 1)
        answer = dispatch(p, env)
    finally:
        raw.STATEMENT_LISTENERS.clear()
    assert answer["infcode"] == 0, answer["err_msg"]
    with p.unit(read_only=True) as tx:
        kept = tx.gateway.message(PHARMACY, env["msgid"])
    assert simplejson.loads(kept.answer) == simplejson.loads(simplejson.dumps(answer))
    if store.sqlite:
        return  # in-process: no round trip to save (and storage.raw reports nothing)
    writes = [sql for sql, _ in sent if sql.startswith(("INSERT INTO messages", "UPDATE messages"))]
    assert len(writes) == 1 and writes[0].startswith("INSERT INTO messages")  # once, with its answer
    trips: list[list[str]] = []
    for sql, new_trip in sent:
        if new_trip:
            trips.append([])
        trips[-1].append(sql)
    first = trips[0]
    assert "institution_credentials" in first[0]
    assert any("pg_advisory_xact_lock" in sql for sql in first)
    assert any(sql.startswith("SELECT") and "FROM messages" in sql for sql in first)
    assert writes[0] in trips[-1] and trips[-1][-1] == "COMMIT"  # written with the commit


def test_a_resend_waits_for_the_original_and_replays_it(p, store):
    if store.sqlite:
        pytest.skip("SQLite: the one write lock already serialises the two")
    issue_credentials(p, PHARMACY, sign_in="optional")
    env = _envelope(p, _purchase("B4"), 4)
    arrived, done = threading.Event(), []
    with p.unit() as tx:  # the original, holding the msgid as the dispatcher does
        messages.hold(tx, PHARMACY, env["msgid"])
        tx.gateway.credential(PHARMACY)
        assert messages.held(tx, PHARMACY, env["msgid"]) is None

        def resend() -> None:
            arrived.set()
            done.append(dispatch(p, copy.deepcopy(env)))

        t = threading.Thread(target=resend, daemon=True)
        t.start()
        assert arrived.wait(10)
        t.join(0.5)
        assert not done  # waiting for the hold, not applied beside the original
        first = dispatch_inside(p, tx, env)
    t.join(20)
    assert not t.is_alive()
    assert done[0] == first  # the recorded answer, not a second application


def dispatch_inside(p: Platform, tx, env: dict) -> dict:
    """What the original's unit records: a made-up answer, to tell the replay from a new one."""
    answer = {"infcode": 0, "output": {"marker": env["msgid"]}}
    messages.record(
        tx,
        Message(PHARMACY, env["msgid"], "3503", digest("3503", env["input"]), simplejson.dumps(answer), None, None,
                START, None),
    )  # fmt: skip
    return answer


def test_a_refused_call_records_nothing_and_its_msgid_may_be_used_again(p, store):
    issue_credentials(p, PHARMACY, sign_in="optional")
    bad = _purchase("B5")
    bad["purcinfo"]["purc_retn_cnt"] = "-1"
    env = _envelope(p, bad, 5)
    assert dispatch(p, env)["infcode"] != 0
    with p.unit(read_only=True) as tx:
        assert tx.gateway.message(PHARMACY, env["msgid"]) is None
    good = {**env, "input": _purchase("B5")}
    assert dispatch(p, good)["infcode"] == 0, "the msgid of a refused call is free again"


def test_a_sealed_institution_claims_the_opened_input_once_and_its_resend_replays(p, store):
    c = issue_credentials(p, PHARMACY, variant="sm", sign_in="optional")
    inp = _purchase("B2")
    env = _envelope(p, inp, 2)
    sealed = dialects.seal(env, "input", c["sm4_key"], c["sm2_private_key"], c["sm2_public_key"])

    def opened(answer: dict) -> dict:
        assert answer["infcode"] == 0, answer.get("err_msg")
        return dialects.unseal(answer, "output", c["sm4_key"], c["platform_sm2_public_key"])

    first = opened(dispatch(p, simplejson.loads(simplejson.dumps(sealed))))
    again = opened(dispatch(p, simplejson.loads(simplejson.dumps(sealed))))  # a resend: replayed
    assert again == first
    with p.unit(read_only=True) as tx:
        kept = tx.gateway.message(PHARMACY, env["msgid"])
    assert kept.digest == digest("3503", inp)  # of the opened input, not of the ciphertext

    # the same msgid with another input is refused, not applied
    other = dialects.seal(_envelope(p, _purchase("B3"), 2), "input", c["sm4_key"], c["sm2_private_key"],
                          c["sm2_public_key"])  # fmt: skip
    assert dispatch(p, other)["infcode"] != 0
