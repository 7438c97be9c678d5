"""Conformance with the spec's field tables, for every transaction yibao implements.

For each one, three requests built from its table (``nhsa.samples``): every required field and no
optional one; every field; every required field with the optional ones sent as "" and "null" —
each must be accepted, and every output field of the spec must be present with its type, length and
precision (checked on the JSON as it goes over the wire). The package copy of the tables must equal
the reference when ``../shared`` is present.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

import recipes_13
from conftest import START
from support import ADMDVS, HOSPITAL, PHARMACY, family_world
from yibao.gateway.dispatcher import dispatch
from yibao.gateway.registry import TRANSACTIONS, load_handlers
from yibao.nhsa.envelope import dumps, new_msgid, parse_body, request_envelope
from yibao.nhsa.samples import DAY, FORMS, MOMENT, check_output, fields_sent, sample_input
from yibao.nhsa.spec import interface
from yibao.services.credentials import voucher_qr
from yibao.services.identity import encrypt_password, public_key_pem
from yibao.services.platform import FixedClock, Platform
from yibao.storage.uow import Store

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "nhsa-interface"
PACKAGE = Path(__file__).resolve().parents[1] / "src" / "yibao" / "nhsa" / "data"
HOSP = HOSPITAL[2]
_seq = itertools.count(1)


class World:
    def __init__(self) -> None:
        self.store = Store.open("sqlite://", create=True)
        self.p = Platform(self.store, FixedClock(START))
        self.fam = family_world(self.p)
        self.son = self.fam.son.person

    def call(self, infno: str, inp: dict, *, institution: str = HOSP, password: str | None = None, msgid=None):
        env = request_envelope(
            infno,
            inp,
            institution=institution,
            admdvs=ADMDVS,
            now=self.p.now(),
            msgid=msgid or new_msgid(institution, self.p.now(), next(_seq)),
        )
        if password:
            env["cainfo"] = encrypt_password(public_key_pem(self.p), password)
        return parse_body(dumps(dispatch(self.p, env)))  # as it goes over the wire

    def ok(self, infno: str, inp: dict, **kw) -> dict:
        answer = self.call(infno, inp, **kw)
        assert answer["infcode"] == 0, (infno, answer["err_msg"])
        return answer["output"]

    # What later transactions need ------------------------------------------------------------------

    def person(self) -> dict[str, Any]:
        s = self.son
        return {
            "psn_no": s.psn_no,
            "psn_cert_type": s.psn_cert_type,
            "cert_type": s.psn_cert_type,
            "certno": s.certno,
            "psn_name": s.name,
            "psn_type": "1101",
            "insutype": "310",
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": s.certno,
            "insuplc_admdvs": ADMDVS,
            "mdtrtarea_admvs": ADMDVS,
        }

    def register(self) -> str:
        self.ipt_otp_no = f"MZ{next(_seq)}"
        data = {**self.person(), "begntime": MOMENT, "ipt_otp_no": self.ipt_otp_no}
        return self.ok("2201", {"data": data})["data"]["mdtrt_id"]

    def line(self, **extra) -> dict:
        return {
            "feedetl_sn": "1",
            "med_list_codg": "XJ01CAA0001",
            "medins_list_codg": "YP1",
            "det_item_fee_sumamt": "10.00",
            "cnt": "1",
            "pric": "10",
            "fee_ocur_time": MOMENT,
            **extra,
        }

    def outpatient_fees(self) -> str:
        mdtrt_id = self.register()
        self.ok("2204", {"feedetail": [self.line(mdtrt_id=mdtrt_id, psn_no=self.son.psn_no, chrg_bchno="B1")]})
        return mdtrt_id

    def settle_known(self) -> dict[str, Any]:
        return {
            **self.person(),
            "medfee_sumamt": "10.00",
            "psn_setlway": "01",
            "acct_used_flag": "1",
            "fulamt_ownpay_amt": "0.00",
            "overlmt_selfpay": "0.00",
            "preselfpay_amt": "0.00",
            "inscp_scp_amt": "10.00",
        }

    def outpatient_settled(self) -> dict:
        mdtrt_id = self.outpatient_fees()
        data = {**self.settle_known(), "med_type": "11", "mdtrt_id": mdtrt_id, "chrg_bchno": "B1"}
        return self.ok("2207", {"data": data}, password="123456")["setlinfo"]

    def drug_known(self) -> dict[str, Any]:
        info = {**self.person(), "begntime": MOMENT, "medfee_sumamt": "10.00", "med_type": "41", "acct_used_flag": "1"}
        return {**{f"druginfo.{k}": v for k, v in info.items()}, "drugdetail": [self.line()]}

    def bought(self, msgid: str | None = None) -> dict:
        inp = sample_input(interface("2102"), "required", self.drug_known())
        return self.ok("2102", inp, institution=PHARMACY, password="123456", msgid=msgid)["setlinfo"]

    def admitted(self) -> str:
        info = {**self.person(), "begntime": MOMENT, "med_type": "21", "ipt_no": f"ZY{next(_seq)}"}
        return self.ok("2401", {"mdtrtinfo": info, "diseinfo": [{"diag_code": "J18.9"}]})["result"]["mdtrt_id"]

    def inpatient_fees(self) -> str:
        mdtrt_id = self.admitted()
        line = self.line(mdtrt_id=mdtrt_id, psn_no=self.son.psn_no, med_type="21")
        self.ok("2301", {"feedetail": [line]})
        return mdtrt_id

    def discharged(self) -> str:
        mdtrt_id = self.inpatient_fees()
        self.ok(
            "2402",
            {"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": self.son.psn_no, "insutype": "310", "endtime": MOMENT}},
        )
        return mdtrt_id


# Per transaction: (institution, password, known values) made fresh for each request ------------------


def recipe(w: World, infno: str) -> tuple[str, str | None, dict[str, Any]]:
    psn = w.son.psn_no
    if infno == "1101":
        return HOSP, None, {**w.person(), "begntime": MOMENT}
    if infno == "1162":
        return HOSP, None, {"ecQrCode": voucher_qr(w.p, psn)}
    if infno == "9001":
        return HOSP, None, {"opter_no": "001", "mac": "00:11:22:33:44:55", "ip": "127.0.0.1"}
    if infno == "9002":
        sign_no = w.ok("9001", {"signIn": {"opter_no": "001", "mac": "m", "ip": "i"}})["signinoutb"]["sign_no"]
        return HOSP, None, {"sign_no": sign_no, "opter_no": "001"}
    if infno == "2201":
        return HOSP, None, {**w.person(), "begntime": MOMENT, "ipt_otp_no": f"MZ{next(_seq)}"}
    if infno == "2202":
        return HOSP, None, {"psn_no": psn, "mdtrt_id": w.register(), "ipt_otp_no": w.ipt_otp_no}
    if infno == "2203":
        known = {"mdtrt_id": w.register(), "psn_no": psn, "med_type": "11", "begntime": MOMENT}
        return HOSP, None, {**known, "diseinfo": [{"diag_code": "J00", "diag_srt_no": "1"}]}
    if infno == "2204":
        mdtrt_id = w.register()
        return HOSP, None, {"feedetail": [w.line(mdtrt_id=mdtrt_id, psn_no=psn, chrg_bchno="B1")]}
    if infno == "2205":
        return HOSP, None, {"mdtrt_id": w.outpatient_fees(), "psn_no": psn, "chrg_bchno": "B1"}
    if infno in ("2206", "2207"):
        known = {**w.settle_known(), "med_type": "11", "mdtrt_id": w.outpatient_fees(), "chrg_bchno": "B1"}
        return HOSP, "123456" if infno == "2207" else None, known
    if infno == "2208":
        s = w.outpatient_settled()
        return HOSP, None, {"setl_id": s["setl_id"], "mdtrt_id": s["mdtrt_id"], "psn_no": psn}
    if infno in ("2101", "2102"):
        return PHARMACY, "123456" if infno == "2102" else None, w.drug_known()
    if infno == "2103":
        s = w.bought()
        return PHARMACY, None, {"setl_id": s["setl_id"], "mdtrt_id": s["mdtrt_id"], "psn_no": psn}
    if infno == "2401":
        known = {**w.person(), "begntime": MOMENT, "med_type": "21", "ipt_no": f"ZY{next(_seq)}"}
        diseinfo = [{"diag_code": "J18.9", "psn_no": psn}]
        return HOSP, None, {**{f"mdtrtinfo.{k}": v for k, v in known.items()}, "diseinfo": diseinfo}
    if infno == "2402":
        mdtrt_id = w.inpatient_fees()
        known = {"mdtrt_id": mdtrt_id, "psn_no": psn, "insutype": "310", "endtime": MOMENT}
        return HOSP, None, {**known, "diseinfo": [{"diag_code": "J18.9", "mdtrt_id": mdtrt_id, "psn_no": psn}]}
    if infno == "2301":
        mdtrt_id = w.admitted()
        return HOSP, None, {"feedetail": [w.line(mdtrt_id=mdtrt_id, psn_no=psn, med_type="21")]}
    if infno == "2302":
        return HOSP, None, {"data": [{"feedetl_sn": "1", "mdtrt_id": w.inpatient_fees(), "psn_no": psn}]}
    if infno in ("2303", "2304"):
        known = {**w.settle_known(), "mdtrt_id": w.discharged(), "mid_setl_flag": "0"}
        return HOSP, "123456" if infno == "2304" else None, known
    if infno == "2305":
        mdtrt_id = w.discharged()
        data = {**w.settle_known(), "mdtrt_id": mdtrt_id, "mid_setl_flag": "0"}
        s = w.ok("2304", {"data": data}, password="123456")["setlinfo"]
        return HOSP, None, {"mdtrt_id": mdtrt_id, "setl_id": s["setl_id"], "psn_no": psn}
    if infno == "2601":
        msgid = f"R{next(_seq):08d}"
        w.bought(msgid=msgid)
        return PHARMACY, None, {"psn_no": psn, "omsgid": msgid, "oinfno": "2102"}
    if infno == "3201":
        w.bought()
        known = {"insutype": "310", "clr_type": "41", "setl_optins": ADMDVS, "stmt_begndate": DAY, "stmt_enddate": DAY}
        return PHARMACY, None, {**known, "medfee_sumamt": "10.00", "fixmedins_setl_cnt": "1"}
    if infno == "5206":
        w.bought()
        return PHARMACY, None, {"psn_no": psn, "cum_ym": "202506"}
    found = recipes_13.recipe(w, infno)
    if found is not None:
        return found
    raise AssertionError(f"no recipe for {infno}: add one with the transaction")


load_handlers()
IMPLEMENTED = sorted(TRANSACTIONS)
COUNTS: dict[str, tuple[int, int]] = {}


def test_every_implemented_transaction_has_a_table_and_a_recipe():
    assert len(IMPLEMENTED) == 25 + len(recipes_13.ADDED)
    assert all(interface(infno) is not None for infno in IMPLEMENTED)


@pytest.mark.parametrize("infno", IMPLEMENTED)
def test_conformance(infno):
    w = World()
    spec = interface(infno)
    sent = checked = 0
    for form in FORMS:
        institution, password, known = recipe(w, infno)
        known = {k: v for k, v in known.items() if v is not None}
        inp = sample_input(spec, form, known)
        answer = w.call(infno, inp, institution=institution, password=password)
        assert answer["infcode"] == 0, f"{infno} {form}: {answer['err_msg']}\n{json.dumps(inp, ensure_ascii=False)}"
        problems, n = check_output(spec, answer["output"])
        assert problems == [], f"{infno} {form}: {problems}"
        sent += fields_sent(inp)
        checked += n
    COUNTS[infno] = (sent, checked)
    w.store.dispose()


def test_conformance_counts(capsys):
    """How much the suite covers (printed with -s; the report quotes it)."""
    spec_in = sum(len(n.fields) for i in IMPLEMENTED for n in interface(i).inputs)
    spec_out = sum(len(n.fields) for i in IMPLEMENTED for n in interface(i).outputs)
    with capsys.disabled():
        print(
            f"\nconformance: {len(IMPLEMENTED)} transactions, "
            f"{spec_in} input and {spec_out} output fields in their tables"
        )
        if COUNTS:  # when the suite ran in this process
            sent, checked = (sum(c[i] for c in COUNTS.values()) for i in (0, 1))
            print(f"conformance: {len(COUNTS)} transactions × 3 requests, {sent} field values sent, {checked} checked")
    assert spec_in > 350 and spec_out > 500


@pytest.mark.skipif(not REFERENCE.exists(), reason="../shared/reference is not here")
@pytest.mark.parametrize("name", ["interfaces.json", "dictionaries.json"])
def test_package_tables_equal_the_reference(name):
    ours = json.loads((PACKAGE / name).read_text(encoding="utf-8"))
    theirs = json.loads((REFERENCE / name).read_text(encoding="utf-8"))
    assert ours == theirs, f"src/yibao/nhsa/data/{name} differs from the reference: copy it again"


def test_docs_list_every_field_the_platform_fills_or_does_not_need():
    """docs/gateway.md names each spec-required field yibao fills from its records, per transaction,
    and each it accepts absent because nothing depends on it."""
    from yibao.nhsa.reader import NOT_NEEDED

    docs = (Path(__file__).resolve().parents[1] / "docs" / "gateway.md").read_text(encoding="utf-8")
    lines = [x.strip() for x in docs.splitlines()]
    table = [(x.split("|")[1], x) for x in lines if x.startswith("| ") and "`" in x]
    missing = []
    for infno in IMPLEMENTED:
        spec = interface(infno)
        for path in sorted(TRANSACTIONS[infno].rules.filled):
            node, _, code = path.partition(".")
            f = spec.input(node).field(code) if spec.input(node) else None
            if f is None or not f.required:
                continue
            rows = [line for key, line in table if infno in key]
            if not any(f"`{path}`" in line for line in rows):
                missing.append(f"{infno} {path}")
    missing += [code for code in sorted(NOT_NEEDED) if f"`{code}`" not in docs]
    assert missing == []
