"""A written call's msgid is claimed in the round trip that reads the institution's credential
(issue 11), and an institution on the SM variant — whose input is sealed, so its claim must be made
of the opened input — still gets exactly one claim, of the right digest, and its resend replays."""

from __future__ import annotations

import pytest
import simplejson

from conftest import START
from recipes_13 import ITEM
from support import ADMDVS, PHARMACY, family_world
from yibao.gateway import dispatcher
from yibao.gateway.dispatcher import digest, dispatch
from yibao.nhsa import dialects
from yibao.nhsa.envelope import new_msgid, request_envelope
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
def p(store, monkeypatch):
    monkeypatch.setattr(dispatcher, "_SEALED", set())  # what this process learnt before: nothing
    platform = Platform(store, FixedClock(START))
    family_world(platform)
    return platform


def test_the_claim_goes_with_the_credential_read(p, store):
    issue_credentials(p, PHARMACY, sign_in="optional")
    sent: list[tuple[str, bool]] = []
    raw.STATEMENT_LISTENERS.append(lambda sql, params, count, new_trip: sent.append((sql, new_trip)))
    try:
        answer = dispatch(p, _envelope(p, _purchase("B1"), 1))
    finally:
        raw.STATEMENT_LISTENERS.clear()
    assert answer["infcode"] == 0, answer["err_msg"]
    if store.sqlite:
        return  # in-process: no round trip to save, the claim is made in its place
    claims = [new_trip for sql, new_trip in sent if sql.startswith("INSERT INTO messages")]
    assert claims == [False]  # sent, and not the first statement of its round trip
    first = next(sql for sql, new_trip in sent if new_trip)
    assert "institution_credentials" in first


def test_a_sealed_institution_claims_the_opened_input_once_and_its_resend_replays(p, store):
    c = issue_credentials(p, PHARMACY, variant="sm", sign_in="optional")
    inp = _purchase("B2")
    env = _envelope(p, inp, 2)
    sealed = dialects.seal(env, "input", c["sm4_key"], c["sm2_private_key"], c["sm2_public_key"])

    def opened(answer: dict) -> dict:
        assert answer["infcode"] == 0, answer.get("err_msg")
        return dialects.unseal(answer, "output", c["sm4_key"], c["platform_sm2_public_key"])

    first = opened(dispatch(p, simplejson.loads(simplejson.dumps(sealed))))
    assert PHARMACY in dispatcher._SEALED  # learnt: its next calls claim after opening
    again = opened(dispatch(p, simplejson.loads(simplejson.dumps(sealed))))  # a resend: replayed
    assert again == first
    with p.unit(read_only=True) as tx:
        kept = tx.gateway.message(PHARMACY, env["msgid"])
    assert kept.digest == digest("3503", inp)  # of the opened input, not of the ciphertext

    # the same msgid with another input is refused, not applied
    other = dialects.seal(_envelope(p, _purchase("B3"), 2), "input", c["sm4_key"], c["sm2_private_key"],
                          c["sm2_public_key"])  # fmt: skip
    assert dispatch(p, other)["infcode"] != 0
