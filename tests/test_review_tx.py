"""Review before and during care (issue 13, step 4): each rule of ``rules/review.yaml`` found on an
order, 3103 feedback with its refusals (nothing written), and the same rules at settlement: a line
outside its restricted use is settled as 自费 and the explanation says why."""

from __future__ import annotations

import json

import pytest

import recipes_13
from support import HOSPITAL
from test_conformance import World
from test_reference_tx import refused
from yibao.nhsa.samples import MOMENT
from yibao.rules.review import ruleset


@pytest.fixture
def w():
    world = World()
    yield world
    world.store.dispose()


def findings(w, patient: dict, **data) -> list[dict]:
    return w.ok("3101", {"data": {"patient_dtos": [patient], "trig_scen": "1", **data}})["result_list"]


def test_rules_are_dated_and_sourced():
    version, rules, restrictions = ruleset()
    assert version and {r.kind for r in rules} == {
        "not_in_catalogue",
        "price_above_ceiling",
        "duplicate_charge",
        "quantity_limit",
        "restricted_use",
    }
    assert all(r.since and r.source for r in (*rules, *restrictions))


def test_each_rule_finds_its_case(w):
    adult = recipes_13.review_patient(w)
    assert [f["rule_id"] for f in findings(w, adult)] == ["R005"]
    child = recipes_13.review_patient(w)
    child.update(patn_id=w.fam.child.person.psn_no, gend="1", brdy="2015-09-01")
    assert findings(w, child) == []  # within the restriction (age under 18)
    assert [f["rule_id"] for f in findings(w, recipes_13.review_patient(w, code="NOPE01"))] == ["R001"]
    over = recipes_13.review_patient(w, code="XC03AAA0004")
    order = over["fsi_encounter_dtos"][0]["fsi_order_dtos"][0]
    order.update(pric="15", hilist_pric="15", cnt="2", sumamt="30.00")
    got = findings(w, over)
    assert [(f["rule_id"], str(f["vola_amt"])) for f in got] == [("R002", "6.00")]
    twice = recipes_13.review_patient(w, code="XJ01CAA0001")
    orders = twice["fsi_encounter_dtos"][0]["fsi_order_dtos"]
    orders.append({**orders[0], "rx_id": "RX2"})
    assert [f["rule_id"] for f in findings(w, twice)] == ["R003"]
    many = recipes_13.review_patient(w, code="XJ01CAA0001", count="2000")
    assert [f["rule_id"] for f in findings(w, many)] == ["R004"]
    assert findings(w, recipes_13.review_patient(w), rule_ids=["R001"]) == []


def test_feedback_rules(w):
    jr_id = recipes_13.reviewed(w)["result"]["jr_id"]
    warn = {"warn_rslt_id": jr_id, "dspo_way": "1", "dspo_way_rea": "患儿家属要求"}
    refused(w, "3103", {"data": {"warn_type": "1", "warns": [{**warn, "warn_rslt_id": "JRnone"}]}}, "E3103-001")
    refused(w, "3103", {"data": {"warn_type": "1", "warns": [warn]}}, "E3103-001", institution=HOSPITAL[3])
    refused(w, "3103", {"data": {"warn_type": "1", "warns": [{**warn, "dspo_way_rea": ""}]}}, "E3103-002")
    w.ok("3103", {"data": {"warn_type": "1", "warns": [warn]}})
    refused(w, "3103", {"data": {"warn_type": "1", "warns": [warn]}}, "E3103-003")


def settle_restricted(w, who) -> dict:
    recipes_13.restricted_item(w)
    person = {
        **w.person(),
        "psn_no": who.psn_no,
        "certno": who.certno,
        "psn_name": who.name,
        "mdtrt_cert_no": who.certno,
    }
    insutype = "390" if who.psn_no == w.fam.child.person.psn_no else "310"
    person.update(insutype=insutype, psn_type=None)
    person = {k: v for k, v in person.items() if v is not None}
    mdtrt_id = w.ok("2201", {"data": {**person, "begntime": MOMENT, "ipt_otp_no": "MZ9"}})["data"]["mdtrt_id"]
    line = w.line(mdtrt_id=mdtrt_id, psn_no=who.psn_no, chrg_bchno="B1", med_list_codg=recipes_13.RESTRICTED)
    w.ok("2204", {"feedetail": [line]})
    data = {**person, "medfee_sumamt": "10.00", "psn_setlway": "01", "acct_used_flag": "0", "med_type": "11"}
    return w.ok("2207", {"data": {**data, "mdtrt_id": mdtrt_id, "chrg_bchno": "B1"}})["setlinfo"]


def test_settlement_applies_the_restriction_and_explains_it(w):
    adult = settle_restricted(w, w.son)
    assert str(adult["fulamt_ownpay_amt"]) == "10.00"
    steps = json.loads(adult["exp_content"])["setl_proc_info"]
    assert "审核规则R005" in steps and "按自费结算" in steps
    child = settle_restricted(w, w.fam.child.person)
    assert str(child["fulamt_ownpay_amt"]) == "0.00"
    assert "审核规则" not in json.loads(child["exp_content"])["setl_proc_info"]
