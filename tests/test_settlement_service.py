"""Settlement through the gateway on both databases: pre-settle = settle and writes nothing; cancel undoes all.

Each hypothesis example empties the store and builds a family of its own: an in-service son, his
retired father and mother (both authorised mutual aid for him), and a resident grandchild for whom
the son and the grandfather authorised mutual aid. Pharmacy purchases go 2101 → 2102 → 2103;
outpatient visits 2201 → 2204 → 2206 → 2207 → 2208 (then 2207 again: the same figures).
"""

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import (
    GATEWAY_BOOKKEEPING,
    HOSPITAL,
    PHARMACY,
    TEST_REGION,
    call,
    db_snapshot,
    ledger_problems,
    person,
    reset_store,
    setup_region,
)
from yibao.ledger.model import person_bucket
from yibao.services import family, world
from yibao.services.identity import public_key_pem
from yibao.services.platform import FixedClock, Platform

START = datetime(2025, 6, 1, 10, 0, 0)
CODES = ["XJ01CAA0001", "XB02BAA0002", "ZZ0000000003", "XC03AAA0004"]
IGNORED = {"setl_id", "mdtrt_id", "setl_time", "medins_setl_id"}  # medins_setl_id echoes each call's msgid
MONEY = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "psn_cash_pay",
    "acct_mulaid_pay",
)
LINE_MONEY = ("det_item_fee_sumamt", "fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt")

SVC = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class World:
    p: Platform
    people: dict  # name -> world.Created
    passwords: dict


def build_world(store, balances: dict[str, tuple[int, int]], order: str) -> World:
    reset_store(store)
    p = Platform(store, FixedClock(START))
    public_key_pem(p)  # the platform key exists before anything is measured
    setup_region(p, {"mutual_aid.order": order} if order != "binding_order" else None)
    son = person(p, "张小明", current=balances["son"][0], historical=balances["son"][1])
    (fc, fh), (mc, mh) = balances["father"], balances["mother"]
    father = person(p, "张大山", psn_type="1201", birth=date(1962, 3, 4), password="654321", current=fc, historical=fh)
    mother = person(
        p, "李秀英", psn_type="1201", gender="2", birth=date(1964, 5, 6), password="111111", current=mc, historical=mh
    )
    child = person(p, "张小宝", insutype="390", psn_type="1403", birth=date(2015, 9, 1), password="333333")
    family.declare_relation(p, father.person.psn_no, son.person.psn_no, "parent")
    family.declare_relation(p, mother.person.psn_no, son.person.psn_no, "parent")
    family.declare_relation(p, son.person.psn_no, child.person.psn_no, "parent")
    family.declare_relation(p, father.person.psn_no, child.person.psn_no, "grandparent")
    family.authorize_mutual_aid(p, father.person.psn_no, son.person.psn_no)
    family.authorize_mutual_aid(p, mother.person.psn_no, son.person.psn_no)
    family.authorize_mutual_aid(p, son.person.psn_no, child.person.psn_no)
    family.authorize_mutual_aid(p, father.person.psn_no, child.person.psn_no)
    people = {"son": son, "father": father, "mother": mother, "child": child}
    passwords = {"son": "123456", "father": "654321", "mother": "111111", "child": "333333"}
    return World(p, people, passwords)


def business(store) -> dict:
    """Everything but the gateway's own bookkeeping (the msgid log may record a dry run's answer)."""
    return db_snapshot(store, skip=GATEWAY_BOOKKEEPING)


def insutype_of(who: str) -> str:
    return "390" if who == "child" else "310"


def comparable(answer: dict) -> dict:
    out = answer["output"]
    info = {k: v for k, v in out["setlinfo"].items() if k not in IGNORED}
    return {**out, "setlinfo": info}


def person_balances(w: World) -> dict[str, int]:
    codes = [person_bucket(c.person.psn_no, b) for c in w.people.values() for b in ("current", "historical")]
    with w.p.store.uow() as tx:
        return tx.ledger.balances(codes)


def assert_balances_restored(before: dict, after: dict) -> None:
    """Every account has the balance it had (accounts opened since then are back at 0)."""
    was = {k: c - d for k, (d, c, _f) in before["accounts"].items()}
    now = {k: c - d for k, (d, c, _f) in after["accounts"].items()}
    assert now == {k: was.get(k, 0) for k in now}
    assert set(was) <= set(now)


def accumulators_restored(before: dict, after: dict) -> bool:
    keys = set(before) | set(after)
    return all(before.get(k, (0, 0)) == after.get(k, (0, 0)) for k in keys)


def assert_negated(cancel: dict, settle: dict, *, lines: bool) -> None:
    c, s = cancel["output"], settle["output"]
    for k in MONEY:
        assert c["setlinfo"][k] == -s["setlinfo"][k], k
    assert c["setlinfo"]["setl_id"] == s["setlinfo"]["setl_id"]
    assert c["setlinfo"]["psn_no"] == s["setlinfo"]["psn_no"]
    assert c["setlinfo"]["pool_prop_selfpay"] == s["setlinfo"]["pool_prop_selfpay"]
    assert [r["fund_payamt"] for r in c["setldetail"]] == [-r["fund_payamt"] for r in s["setldetail"]]
    assert [r["fund_pay_type"] for r in c["setldetail"]] == [r["fund_pay_type"] for r in s["setldetail"]]
    if lines:
        for cl, sl in zip(c["detlcutinfo"], s["detlcutinfo"], strict=True):
            for k in LINE_MONEY:
                assert cl[k] == -sl[k], k


def assert_answer_consistent(answer: dict) -> None:
    info = answer["output"]["setlinfo"]
    assert info["medfee_sumamt"] == info["fund_pay_sumamt"] + info["psn_part_amt"] + info["hosp_part_amt"]
    assert info["psn_part_amt"] == info["acct_pay"] + info["acct_mulaid_pay"] + info["psn_cash_pay"]
    assert info["psn_cash_pay"] >= 0
    paid = {r["fund_pay_type"]: Decimal(0) for r in answer["output"]["setldetail"]}
    for r in answer["output"]["setldetail"]:
        paid[r["fund_pay_type"]] += r["fund_payamt"]
    assert paid.get("310200", Decimal(0)) == info["acct_pay"] + info["acct_mulaid_pay"]
    assert sum(v for k, v in paid.items() if k != "310200") == info["hifp_pay"]
    for k in MONEY:
        assert info[k] == info[k].quantize(Decimal("0.01")), k


# Strategies ----------------------------------------------------------------------------------------

money = st.integers(0, 60_000)
family_balances = st.fixed_dictionaries(
    {"son": st.tuples(money, money), "father": st.tuples(money, money), "mother": st.tuples(money, money)}
)


@st.composite
def purchase_lines(draw) -> list[tuple[str, Decimal, int]]:
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        code = draw(st.sampled_from(CODES))
        price = Decimal(draw(st.integers(1, 30_000))).scaleb(-2)
        lines.append((code, price, draw(st.integers(1, 5))))
    return lines


def drug_input(w: World, who: str, lines, acct_used: str) -> dict:
    c = w.people[who].person
    details = [
        {
            "feedetl_sn": str(i + 1),
            "med_list_codg": code,
            "det_item_fee_sumamt": str(price * n),
            "cnt": str(n),
            "pric": str(price),
        }
        for i, (code, price, n) in enumerate(lines)
    ]
    total = sum(price * n for _, price, n in lines)
    return {
        "druginfo": {
            "psn_no": c.psn_no,
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": c.certno,
            "begntime": f"{START:%Y-%m-%d %H:%M:%S}",
            "medfee_sumamt": str(total),
            "insutype": insutype_of(who),
            "med_type": "41",
            "acct_used_flag": acct_used,
        },
        "drugdetail": details,
    }


# Pharmacy: 2101 → 2102 → 2103 ---------------------------------------------------------------------


@SVC
@given(
    balances=family_balances,
    order=st.sampled_from(["binding_order", "balance_desc"]),
    who=st.sampled_from(["son", "son", "child", "father"]),
    lines=purchase_lines(),
    acct_used=st.sampled_from(["1", "1", "0"]),
)
def test_pharmacy_presettle_settle_cancel(store, balances, order, who, lines, acct_used):
    w = build_world(store, balances, order)
    p, psn = w.p, w.people[who].person.psn_no
    inp = drug_input(w, who, lines, acct_used)
    before = db_snapshot(store)
    business_before = business(store)
    before_people = person_balances(w)

    pre = call(p, "2101", inp)
    assert pre["infcode"] == 0, pre["err_msg"]
    assert business(store) == business_before  # a dry run writes nothing
    assert comparable(call(p, "2101", inp)) == comparable(pre)
    assert_answer_consistent(pre)

    done = call(p, "2102", inp, password=w.passwords[who])
    assert done["infcode"] == 0, done["err_msg"]
    assert comparable(done) == comparable(pre)
    assert done["output"]["setlinfo"]["setl_id"] and pre["output"]["setlinfo"]["setl_id"] is None
    assert ledger_problems(p) == []
    info = done["output"]["setlinfo"]
    after_people = person_balances(w)
    own = [person_bucket(psn, b) for b in ("current", "historical")]
    own_spent = sum(before_people[c] - after_people[c] for c in own)
    others_spent = sum(before_people[c] - after_people[c] for c in before_people if c not in own)
    assert Decimal(own_spent).scaleb(-2) == info["acct_pay"]
    assert Decimal(others_spent).scaleb(-2) == info["acct_mulaid_pay"]
    assert all(v >= 0 for v in after_people.values())
    if acct_used == "0":
        assert info["acct_pay"] == info["acct_mulaid_pay"] == 0
    settled = db_snapshot(store)
    assert settled["counts"]["settlements"] == before["counts"]["settlements"] + 1

    undo = call(p, "2103", {"data": {"setl_id": info["setl_id"], "psn_no": psn}})
    assert undo["infcode"] == 0, undo["err_msg"]
    assert_negated(undo, done, lines=True)
    assert json.loads(undo["output"]["setlinfo"]["exp_content"])["setl_status"] == "cancelled"
    after = db_snapshot(store)
    assert_balances_restored(before, after)
    assert accumulators_restored(before["accumulators"], after["accumulators"])
    assert person_balances(w) == before_people
    assert ledger_problems(p) == []

    again = call(p, "2103", {"data": {"setl_id": info["setl_id"], "psn_no": psn}})
    assert again["infcode"] == -1
    assert again["err_msg"].startswith("[E2208-002]")
    assert db_snapshot(store) == after
    assert ledger_problems(p) == []


# Outpatient: 2201 → 2204 → 2206 → 2207 → 2208 → 2207 -----------------------------------------------


def register(w: World, who: str, level: int) -> str:
    c = w.people[who].person
    answer = call(
        w.p,
        "2201",
        {
            "data": {
                "psn_no": c.psn_no,
                "insutype": insutype_of(who),
                "begntime": f"{START:%Y-%m-%d %H:%M:%S}",
                "mdtrt_cert_type": "02",
                "mdtrt_cert_no": c.certno,
                "ipt_otp_no": f"MZ{c.psn_no[-8:]}",
            }
        },
        institution=HOSPITAL[level],
    )
    assert answer["infcode"] == 0, answer["err_msg"]
    return answer["output"]["data"]["mdtrt_id"]


def upload(w: World, who: str, level: int, mdtrt_id: str, lines) -> dict:
    psn = w.people[who].person.psn_no
    feedetail = [
        {
            "feedetl_sn": str(i + 1),
            "mdtrt_id": mdtrt_id,
            "psn_no": psn,
            "chrg_bchno": "B001",
            "med_list_codg": code,
            "det_item_fee_sumamt": str(price * n),
            "cnt": str(n),
            "pric": str(price),
        }
        for i, (code, price, n) in enumerate(lines)
    ]
    answer = call(w.p, "2204", {"feedetail": feedetail}, institution=HOSPITAL[level])
    assert answer["infcode"] == 0, answer["err_msg"]
    return answer


def settle_input(w: World, who: str, mdtrt_id: str, total: Decimal, acct_used: str) -> dict:
    c = w.people[who].person
    return {
        "data": {
            "psn_no": c.psn_no,
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": c.certno,
            "med_type": "11",
            "medfee_sumamt": str(total),
            "psn_setlway": "01",
            "mdtrt_id": mdtrt_id,
            "chrg_bchno": "B001",
            "insutype": insutype_of(who),
            "acct_used_flag": acct_used,
        }
    }


@SVC
@given(
    balances=family_balances,
    order=st.sampled_from(["binding_order", "balance_desc"]),
    who=st.sampled_from(["son", "son", "child", "father"]),
    level=st.sampled_from([1, 2, 3]),
    lines=purchase_lines(),
    acct_used=st.sampled_from(["1", "1", "0"]),
    seeded=st.tuples(st.sampled_from([0, 10_000, 30_000]), st.sampled_from([0, 35_000, 195_000, 290_000])),
)
def test_outpatient_presettle_settle_cancel(store, balances, order, who, level, lines, acct_used, seeded):
    w = build_world(store, balances, order)
    p, psn = w.p, w.people[who].person.psn_no
    world.seed_accumulator(p, psn, 2025, "outpatient", *seeded)
    mdtrt_id = register(w, who, level)
    uploaded = upload(w, who, level, mdtrt_id, lines)
    total = sum(price * n for _, price, n in lines)
    for row in uploaded["output"]["result"]:
        parts = row["fulamt_ownpay_amt"] + row["overlmt_amt"] + row["preselfpay_amt"] + row["inscp_scp_amt"]
        assert parts == row["det_item_fee_sumamt"]
    inp = settle_input(w, who, mdtrt_id, total, acct_used)
    hospital = HOSPITAL[level]
    before = db_snapshot(store)
    business_before = business(store)

    pre = call(p, "2206", inp, institution=hospital)
    assert pre["infcode"] == 0, pre["err_msg"]
    assert business(store) == business_before  # a dry run writes nothing
    assert_answer_consistent(pre)
    assert pre["output"]["setlinfo"]["mdtrt_id"] == mdtrt_id

    done = call(p, "2207", inp, institution=hospital, password=w.passwords[who])
    assert done["infcode"] == 0, done["err_msg"]
    assert comparable(done) == comparable(pre)
    assert ledger_problems(p) == []
    info = done["output"]["setlinfo"]
    settled = db_snapshot(store)
    person_id = w.people[who].person.id
    d0, f0 = before["accumulators"].get((person_id, 2025, "outpatient"), (0, 0))
    d1, f1 = settled["accumulators"][(person_id, 2025, "outpatient")]
    assert Decimal(d1 - d0).scaleb(-2) == info["act_pay_dedc"]
    assert Decimal(f1 - f0).scaleb(-2) == info["hifp_pay"]
    assert f1 <= {"son": 200_000, "father": 300_000, "child": 40_000}[who] or f1 == f0  # the annual cap
    # Nothing left to settle on the visit: a second 2207 is refused and changes nothing.
    twice = call(p, "2207", inp, institution=hospital, password=w.passwords[who])
    assert twice["infcode"] == -1 and twice["err_msg"].startswith("[E2207-")
    assert db_snapshot(store) == settled

    cancel_inp = {"data": {"setl_id": info["setl_id"], "mdtrt_id": mdtrt_id, "psn_no": psn}}
    undo = call(p, "2208", cancel_inp, institution=hospital)
    assert undo["infcode"] == 0, undo["err_msg"]
    assert_negated(undo, done, lines=False)
    after = db_snapshot(store)
    assert accumulators_restored(before["accumulators"], after["accumulators"])
    assert_balances_restored(before, after)
    assert after["fee_lines"] == before["fee_lines"]  # lines released for a new settlement
    assert ledger_problems(p) == []

    again = call(p, "2208", cancel_inp, institution=hospital)
    assert again["infcode"] == -1 and again["err_msg"].startswith("[E2208-002]")
    assert db_snapshot(store) == after

    # Restored exactly: settling the same visit again gives the same figures.
    redo = call(p, "2207", inp, institution=hospital, password=w.passwords[who])
    assert redo["infcode"] == 0, redo["err_msg"]
    assert comparable(redo) == comparable(done)
    assert redo["output"]["setlinfo"]["setl_id"] != info["setl_id"]
    assert ledger_problems(p) == []


# A few fixed flows ---------------------------------------------------------------------------------


def test_pharmacy_flow_with_mutual_aid_figures(store):
    w = build_world(store, {"son": (10_000, 0), "father": (30_000, 50_000), "mother": (0, 0)}, "binding_order")
    inp = drug_input(w, "son", [("XJ01CAA0001", Decimal("100.00"), 3)], "1")
    pre = call(w.p, "2101", inp)
    done = call(w.p, "2102", inp, password="123456")
    assert comparable(pre) == comparable(done)
    info = done["output"]["setlinfo"]
    assert (info["acct_pay"], info["acct_mulaid_pay"], info["psn_cash_pay"]) == (
        Decimal("100.00"),
        Decimal("200.00"),
        Decimal("0.00"),
    )
    assert info["balc"] == Decimal("0.00")
    rows = done["output"]["setldetail"]
    assert [(r["fund_pay_type"], r["fund_payamt"]) for r in rows] == [
        ("310200", Decimal("100.00")),
        ("310200", Decimal("200.00")),
    ]
    assert "张*山" in rows[1]["setl_proc_info"] and "张大山" not in rows[1]["setl_proc_info"]
    assert "200.00" in json.loads(info["exp_content"])["setl_proc_info"]
    assert person_balances(w)[person_bucket(w.people["father"].person.psn_no, "current")] == 10_000
    undo = call(w.p, "2103", {"data": {"setl_id": info["setl_id"], "psn_no": w.people["son"].person.psn_no}})
    assert undo["infcode"] == 0
    assert person_balances(w)[person_bucket(w.people["father"].person.psn_no, "current")] == 30_000
    assert person_balances(w)[person_bucket(w.people["son"].person.psn_no, "current")] == 10_000


def test_cancel_by_the_wrong_transaction_or_institution_is_refused(store):
    w = build_world(store, {"son": (10_000, 0), "father": (0, 0), "mother": (0, 0)}, "binding_order")
    psn = w.people["son"].person.psn_no
    done = call(w.p, "2102", drug_input(w, "son", [("XJ01CAA0001", Decimal("10.00"), 1)], "1"), password="123456")
    setl_id = done["output"]["setlinfo"]["setl_id"]
    snap = db_snapshot(store)
    wrong_infno = call(w.p, "2208", {"data": {"setl_id": setl_id, "psn_no": psn}}, institution=PHARMACY)
    assert wrong_infno["infcode"] == -1 and wrong_infno["err_msg"].startswith("[E2208-004]")
    elsewhere = call(w.p, "2103", {"data": {"setl_id": setl_id, "psn_no": psn}}, institution=HOSPITAL[1])
    assert elsewhere["infcode"] == -1 and elsewhere["err_msg"].startswith("[E2208-003]")
    other_person = call(w.p, "2103", {"data": {"setl_id": setl_id, "psn_no": w.people["father"].person.psn_no}})
    assert other_person["infcode"] == -1 and other_person["err_msg"].startswith("[E2208-003]")
    assert db_snapshot(store) == snap


def test_zero_amount_purchase_is_refused_like_its_presettlement(store):
    """A 0.00 purchase settles nothing: 2101 and 2102 refuse it alike and nothing is written (issue 9
    item 4; it once crashed post() with an empty ledger entry, then was settled as a 0.00 settlement)."""
    w = build_world(store, {"son": (10_000, 0), "father": (0, 0), "mother": (0, 0)}, "binding_order")
    inp = drug_input(w, "son", [("XJ01CAA0001", Decimal("0.00"), 1)], "1")
    before = db_snapshot(store)
    pre = call(w.p, "2101", inp)
    done = call(w.p, "2102", inp, password="123456")
    assert pre["err_msg"].startswith("[E2207-009]") and done["err_msg"] == pre["err_msg"], done["err_msg"]
    assert db_snapshot(store) == before
    assert ledger_problems(w.p) == []


def test_a_replaced_policy_takes_effect_at_once(store):
    # Regression: the platform's policy cache was keyed on regions.updated_at (one-second resolution).
    w = build_world(store, {"son": (0, 0), "father": (50_000, 0), "mother": (0, 0)}, "binding_order")
    inp = drug_input(w, "son", [("XJ01CAA0001", Decimal("100.00"), 1)], "1")
    assert call(w.p, "2101", inp)["output"]["setlinfo"]["acct_mulaid_pay"] == Decimal("100.00")
    world.put_region(w.p, TEST_REGION.read_text(encoding="utf-8"), "test-region.yaml", {"mutual_aid.enabled": False})
    assert call(w.p, "2101", inp)["output"]["setlinfo"]["acct_mulaid_pay"] == Decimal("0.00")
