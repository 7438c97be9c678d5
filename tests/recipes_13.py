"""Conformance recipes of the transactions issue 13 added: what each needs the world to hold first.

``recipe(w, infno)`` returns ``(institution, password, known values)`` like the suite's own
``recipe``, or None when the transaction is not one of these.
"""

from __future__ import annotations

import base64
import itertools
from typing import Any

from support import ADMDVS, HOSPITAL
from yibao.nhsa.files import file_columns, zipped_text
from yibao.nhsa.samples import DAY
from yibao.services import reference

HOSP = HOSPITAL[2]
_seq = itertools.count(1)
PAGE = {"page_num": "1", "page_size": "10"}


def load_catalogue(w, infno: str, code: str, **extra: str) -> None:
    cols = file_columns(infno)
    row = {cols[0]: code, "名称": f"目录项{code}", **extra}
    if infno in reference.PRICED:
        row.setdefault("chrgitm_lv", "02")
    reference.import_catalogue(w.p, infno, [row])


def zipped(rows: list[list[Any]]) -> str:
    return base64.b64encode(zipped_text("detail.txt", rows)).decode("ascii")


def uploaded(w, institution: str = HOSP) -> dict:
    inp = {"fsUploadIn": {"in": zipped([["a", "b"]]), "filename": "detail.zip", "fixmedins_code": institution}}
    return w.ok("9101", inp, institution=institution)


def matched(w) -> dict[str, str]:
    known = {
        "fixmedins_hilist_id": f"HIS{next(_seq)}",
        "fixmedins_hilist_name": "阿莫西林胶囊（院内）",
        "list_type": "101",
        "med_list_codg": "XJ01CAA0001",
        "begndate": DAY,
        "enddate": "2099-12-31",
    }
    w.ok("3301", {"data": known}, institution=HOSP)
    return known


def recipe(w, infno: str) -> tuple[str, str | None, dict[str, Any]] | None:
    if infno == "1201":
        return HOSP, None, {"fixmedins_type": "1", "fixmedins_code": HOSP, "fixmedins_name": None}
    if infno == "1901":
        return HOSP, None, {"type": "insutype", "parent_value": "0", "admdvs": ADMDVS, "Vali_Flag": "1"}
    if infno == "100001":
        s = w.outpatient_settled()
        return HOSP, None, {"psn_No": w.son.psn_no, "setl_Id": s["setl_id"], "mdtrt_Id": s["mdtrt_id"]}
    if infno in reference.downloads():
        load_catalogue(w, infno, f"K{infno}{next(_seq)}")
        return HOSP, None, {"ver": "0"}
    if infno == "1304":
        code = f"M04{next(_seq):06d}"
        reference.import_catalogue(
            w.p, "1304", [{"医疗目录编码": code, "药品商品名": "藏药丸", "药品通用名": "藏药丸"}]
        )
        return (
            HOSP,
            None,
            {**PAGE, "med_list_codg": code, "drug_genname": "藏药", "drug_prodname": "藏药", "vali_flag": "1"},
        )
    if infno == "1312":
        return HOSP, None, {**PAGE, "hilist_code": "XJ01CAA0001", "hilist_name": "阿莫西林", "chrgitm_lv": "01"}
    if infno == "1316":
        return HOSP, None, {**PAGE, "hilist_code": "XJ01CAA0001", "med_list_codg": "XJ01CAA0001"}
    if infno == "1317":
        m = matched(w)
        known = {"fixmedins_code": HOSP, "medins_list_codg": m["fixmedins_hilist_id"], "med_list_codg": "XJ01CAA0001"}
        return HOSP, None, {**PAGE, **known, "medins_list_name": None}
    if infno == "1318":
        code = f"XL{next(_seq):09d}"
        load_catalogue(w, "1301", code, price_ceiling="12.5")
        return HOSP, None, {**PAGE, "hilist_code": code, "hilist_lmtpric_type": "3"}
    if infno == "1319":
        return HOSP, None, {**PAGE, "hilist_code": "XB02BAA0002", "selfpay_prop_psn_type": "310"}
    if infno == "3301":
        known = {"fixmedins_hilist_id": f"HIS{next(_seq)}", "list_type": "101", "med_list_codg": "XJ01CAA0001"}
        return HOSP, None, {**known, "begndate": DAY, "enddate": "2099-12-31"}
    if infno == "3302":
        m = matched(w)
        return (
            HOSP,
            None,
            {"fixmedins_code": HOSP, **{k: m[k] for k in ("fixmedins_hilist_id", "list_type")}}
            | {"med_list_codg": m["med_list_codg"]},
        )
    if infno == "9101":
        return HOSP, None, {"in": zipped([["1", "2"]]), "filename": "d.zip", "fixmedins_code": HOSP}
    if infno == "9102":
        up = uploaded(w)
        return HOSP, None, {"file_qury_no": up["file_qury_no"], "filename": up["filename"], "fixmedins_code": HOSP}
    if infno == "3607":
        s = list_uploaded(w)
        return HOSP, None, {"setl_ym": "202506", "page_num": "1", "page_size": "10", "setl_id": s["setl_id"]}
    if infno == "2203A":
        known = {"mdtrt_id": w.register(), "psn_no": w.son.psn_no, "med_type": "11", "begntime": MOMENT_13}
        return HOSP, None, {**known, "diseinfo": [{"diag_code": "J00", "diag_srt_no": "1"}]}
    if infno == "2001":
        return HOSP, None, {"psn_no": w.son.psn_no, "insutype": "310", "fixmedins_code": HOSP, "med_type": "14"}
    if infno in FILE_KNOWN:
        return HOSP, None, FILE_KNOWN[infno](w)
    if infno in CANCEL_OF:
        sn = filed(w, CANCEL_OF[infno])
        return HOSP, None, {"trt_dcla_detl_sn": sn, "psn_no": w.son.psn_no}
    if infno == "5301":
        filed(w, "2503")
        return HOSP, None, {"psn_no": w.son.psn_no}
    if infno == "5302":
        filed(w, "2505")
        return HOSP, None, {"psn_no": w.son.psn_no, "biz_appy_type": "01"}
    if infno == "5304":
        filed(w, "2501")
        return HOSP, None, {"psn_no": w.son.psn_no, "begntime": "2025-01-01 00:00:00"}
    return step3(w, infno)


YEAR = {"begntime": "2025-01-01", "endtime": "2025-12-31"}


def inpatient_settled(w) -> dict:
    mdtrt_id = w.discharged()
    data = {**w.settle_known(), "mdtrt_id": mdtrt_id, "mid_setl_flag": "0"}
    return w.ok("2304", {"data": data}, password="123456")["setlinfo"]


def list_known(w, s: dict) -> dict:
    ids = {"psn_no": w.son.psn_no, "mdtrt_id": s["mdtrt_id"], "setl_id": s["setl_id"]}
    pay = [{"fund_pay_type": "310100", "fund_payamt": str(s["hifp_pay"])}]
    return {
        **{f"setlinfo.{k}": v for k, v in ids.items()},
        "setlinfo.stas_type": "0",
        "payinfo": pay,
        "bldinfo": [ids],
        "diseinfo": [{"diag_type": "1", "maindiag_flag": "1", "diag_code": "J18.9"}],
    }


def list_uploaded(w) -> dict:
    s = inpatient_settled(w)
    known = list_known(w, s)
    from yibao.nhsa.samples import sample_input
    from yibao.nhsa.spec import interface

    w.ok("4101", sample_input(interface("4101"), "required", known), institution=HOSP)
    return s


def department(w, **extra) -> dict:
    known = {"hosp_dept_codg": f"K{next(_seq):04d}", "hosp_dept_name": "呼吸内科", "caty": "A03.01", "begntime": DAY}
    known.update(extra)
    from yibao.nhsa.samples import sample_input
    from yibao.nhsa.spec import interface

    w.ok("3401", sample_input(interface("3401"), "required", known), institution=HOSP)
    return known


def chronic_settled(w) -> dict:
    filed(w, "2503")
    mdtrt_id = w.register()
    w.ok("2204", {"feedetail": [w.line(mdtrt_id=mdtrt_id, psn_no=w.son.psn_no, chrg_bchno="B1")]})
    data = {**w.settle_known(), "med_type": "14", "mdtrt_id": mdtrt_id, "chrg_bchno": "B1"}
    for k in ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt"):
        data.pop(k)
    return w.ok("2207", {"data": data}, password="123456")["setlinfo"]


def step3(w, infno: str):
    psn = w.son.psn_no
    if infno == "4101":
        return HOSP, None, list_known(w, inpatient_settled(w))
    if infno == "4102":
        s = list_uploaded(w)
        return HOSP, None, {"data.stastinfo": [{"psn_no": psn, "setl_id": s["setl_id"], "stas_type": "1"}]}
    if infno == "4103":
        s = list_uploaded(w)
        return HOSP, None, {"psn_no": psn, "setl_id": s["setl_id"]}
    if infno == "4104":
        s = list_uploaded(w)
        known = {"setl_ym": "202506", "page_num": "1", "page_size": "10", "fixmedins_code": HOSP}
        return HOSP, None, {**known, "setl_id": s["setl_id"], "psn_no": psn, "err_lv": None, "retn_flag": None}
    if infno == "4105":
        list_uploaded(w)
        return HOSP, None, {"fixmedins_code": HOSP, "stt_begntime": DAY, "stt_endtime": DAY, "refdset_flag": "0"}
    if infno in ("3401", "3402"):
        known = department(w) if infno == "3402" else {"hosp_dept_codg": f"K{next(_seq):04d}", "begntime": DAY}
        return HOSP, None, {**known, "caty": "A03.01", "endtime": None}
    if infno == "3403":
        known = department(w)
        return HOSP, None, {k: known[k] for k in ("hosp_dept_codg", "hosp_dept_name", "begntime")}
    if infno == "5101":
        department(w)
        return HOSP, None, {"fixmedins_code": HOSP}
    if infno == "5102":
        mdtrt_id = w.register()
        line = w.line(mdtrt_id=mdtrt_id, psn_no=psn, chrg_bchno="B1", bilg_dr_codg="D001", bilg_dr_name="王医生")
        w.ok("2204", {"feedetail": [line]})
        return HOSP, None, {"prac_psn_type": "1", "prac_psn_code": "D001", "prac_psn_name": "王医生"}
    if infno == "5201":
        return HOSP, None, {"psn_no": psn, **YEAR, "med_type": "11", "mdtrt_id": w.outpatient_settled()["mdtrt_id"]}
    if infno == "5202":
        return HOSP, None, {"psn_no": psn, "mdtrt_id": w.admitted()}
    if infno in ("5203", "5204"):
        s = w.outpatient_settled()
        return HOSP, None, {"psn_no": psn, "setl_id": s["setl_id"], "mdtrt_id": s["mdtrt_id"]}
    if infno == "5205":
        chronic_settled(w)
        return HOSP, None, {"psn_no": psn, **YEAR}
    if infno == "5303":
        w.admitted()
        return HOSP, None, {"psn_no": psn, **YEAR}
    if infno == "3202":
        w.bought()
        return PHARMACY_CODE, None, agreed(w, upload_only=True)
    if infno == "3203":
        w.bought()
        withdraw_clearings(w)
        return PHARMACY_CODE, None, clearing_known(w, agreed(w))
    if infno == "3204":
        w.bought()
        withdraw_clearings(w)
        evt = w.ok("3203", {"data": clearing_known(w, agreed(w))}, institution=PHARMACY_CODE)["result"]
        return PHARMACY_CODE, None, {"clr_appy_evt_id": evt["clr_appy_evt_id"]}
    if infno == "2306":
        row = {"mdtrt_id": w.inpatient_fees(), "bkkp_sn": "1", "psn_no": psn, "med_list_codg": "XJ01CAA0001"}
        return HOSP, None, {"data": [row]}
    if infno == "2403":
        mdtrt_id = w.admitted()
        known = {"mdtrt_id": mdtrt_id, "psn_no": psn, "begntime": MOMENT_13, "med_type": "21", "ipt_otp_no": "ZY1"}
        return (
            HOSP,
            None,
            {
                **{f"adminfo.{k}": v for k, v in known.items()},
                "diseinfo": [{"mdtrt_id": mdtrt_id, "psn_no": psn, "diag_code": "J18.9"}],
            },
        )
    if infno == "2404":
        return HOSP, None, {"mdtrt_id": w.admitted(), "psn_no": psn}
    if infno == "2405":
        return HOSP, None, {"mdtrt_id": w.discharged(), "psn_no": psn}
    if infno == "2406":
        known = {"mdtrt_id": w.admitted(), "psn_no": psn, "ipt_psn_sp_flag_type": "01"}
        who = {k: w.person()[k] for k in ("psn_cert_type", "certno", "psn_name")}
        return HOSP, None, {**known, "ipt_psn_sp_flag": f"F{next(_seq)}", **who}
    if infno == "2407":
        mdtrt_id = w.admitted()
        flag = {
            "mdtrt_id": mdtrt_id,
            "psn_no": psn,
            "ipt_psn_sp_flag_type": "01",
            "ipt_psn_sp_flag": "1",
            "ipt_otp_no": "ZY",
        }
        w.ok("2406", {"data": flag}, institution=HOSP)
        known = {"page_num": "1", "page_size": "10", "mdtrt_id": mdtrt_id, "psn_no": psn, "ipt_psn_sp_flag_type": "01"}
        who = {k: w.person()[k] for k in ("psn_cert_type", "certno", "psn_name")}
        return HOSP, None, {**known, **who, "fixmedins_code": HOSP}
    if infno.startswith("35"):
        return stock_recipe(w, infno.removesuffix("A"))  # a batch variant: the base's values in each row
    if infno == "3401A":
        return step3(w, "3401")
    if infno in ("3101", "3102"):
        return HOSP, None, {"data.patient_dtos": [review_patient(w, infno=infno)], "trig_scen": "1"}
    if infno == "3103":
        jr_id = reviewed(w)["result"]["jr_id"]
        return HOSP, None, {"warn_type": "1", "data.warns": [{"warn_rslt_id": jr_id, "dspo_way": "2"}]}
    return None


PHARMACY_CODE = "P36019900001"


def our_lines(w, institution: str = PHARMACY_CODE, clr_type: str = "41", day=None):
    from datetime import date

    from yibao.services.reconciliation import ours

    day = day or date(2025, 6, 1)
    with w.store.uow(read_only=True) as tx:
        return ours(tx, institution, clr_type, day, day)


def detail_file(lines: dict) -> str:
    rows = []
    for (setl_id, flag), (psn_no, mdtrt_id, _, a) in sorted(lines.items()):
        rows.append(
            [setl_id, mdtrt_id, psn_no, f"{a.medfee / 100:.2f}", f"{a.fund / 100:.2f}", f"{a.acct / 100:.2f}", flag]
        )
    return zipped(rows)


def agreed(w, *, upload_only: bool = False, institution: str = PHARMACY_CODE) -> dict:
    """Upload the platform's own lines as the institution's file and reconcile (all agree)."""
    lines = our_lines(w, institution)
    up = w.ok(
        "9101",
        {"fsUploadIn": {"in": detail_file(lines), "filename": "d.zip", "fixmedins_code": institution}},
        institution=institution,
    )
    medfee = sum(v[3].medfee for v in lines.values())
    fund = sum(v[3].fund for v in lines.values())
    acct = sum(v[3].acct for v in lines.values())
    count = sum(1 if k[1] == "0" else -1 for k in lines)
    known = {
        "setl_optins": ADMDVS,
        "file_qury_no": up["file_qury_no"],
        "stmt_begndate": DAY,
        "stmt_enddate": DAY,
        "medfee_sumamt": f"{medfee / 100:.2f}",
        "fund_pay_sumamt": f"{fund / 100:.2f}",
        "cash_payamt": f"{(medfee - fund - acct) / 100:.2f}",
        "fixmedins_setl_cnt": str(count),
        "clr_type": "41",
    }
    if upload_only:
        return known
    out = w.ok("3202", {"data": known}, institution=institution)
    assert out["mismatches"] == 0, out
    return {**known, "acct": acct}


def clearing_known(w, rec: dict) -> dict:
    return {
        "clr_type": "41",
        "setlym": "202506",
        "psntime": rec["fixmedins_setl_cnt"],
        "medfee_sumamt": rec["medfee_sumamt"],
        "med_sumfee": rec["medfee_sumamt"],
        "fund_appy_sum": rec["fund_pay_sumamt"],
        "cash_payamt": rec["cash_payamt"],
        "acct_pay": f"{rec['acct'] / 100:.2f}",
        "begndate": DAY,
        "enddate": DAY,
    }


def withdraw_clearings(w) -> None:
    from yibao.services.reconciliation import clearing_id

    with w.store.uow() as tx:
        active = tx.clearing.active_clearing(PHARMACY_CODE, "41", "202506")
    if active is not None:
        w.ok("3204", {"data": {"clr_appy_evt_id": clearing_id(active.id)}}, institution=PHARMACY_CODE)


ITEM = {"med_list_codg": "XJ01CAA0001", "fixmedins_hilist_id": "YP1", "fixmedins_hilist_name": "阿莫西林胶囊"}


def purchased(w, batch: str | None = None, cnt: str = "100") -> str:
    batch = batch or f"B{next(_seq):05d}"
    info = {
        **ITEM,
        "fixmedins_bchno": batch,
        "spler_name": "某医药公司",
        "manu_lotnum": "L1",
        "prodentp_name": "某药厂",
    }
    info.update(aprvno="国药准字H1", manu_date="2025-01-01", expy_end="2027-01-01", purc_retn_cnt=cnt, rx_flag="1")
    info.update(purc_retn_stoin_time=DAY, purc_retn_opter_name="王五")
    w.ok("3503", {"purcinfo": info}, institution=PHARMACY_CODE)
    return batch


def counted(w, batch: str, code: str, cnt: str = "100.00") -> None:
    info = {**ITEM, "fixmedins_bchno": batch, "rx_flag": "1", "invdate": DAY, "inv_cnt": cnt}
    info.update(manu_date="2025-01-01", expy_end="2027-01-01", drugtracinfo=[{"drug_trac_codg": code}])
    w.ok("3501", {"invinfo": info}, institution=PHARMACY_CODE)


def sale_info(w, batch: str, setl_id: str | None, cnt: str = "1", code: str = "TR001") -> dict:
    info = {
        **ITEM,
        "fixmedins_bchno": batch,
        "prsc_dr_name": "王医生",
        "phar_name": "李药师",
        "phar_prac_cert_no": "Z1",
    }
    info.update(mdtrt_sn="S1", manu_lotnum="L1", manu_date="2025-01-01", rx_flag="1", trdn_flag="0", rtal_docno="R1")
    info.update(
        sel_retn_cnt=cnt, sel_retn_time=DAY, sel_retn_opter_name="李药师", drugtracinfo=[{"drug_trac_codg": code}]
    )
    if setl_id:
        info.update(setl_id=setl_id, psn_no=w.son.psn_no)
    return info


def sold(w, batch: str, setl_id: str | None = None, cnt: str = "1") -> None:
    w.ok("3505", {"selinfo": sale_info(w, batch, setl_id, cnt)}, institution=PHARMACY_CODE)


def stock_recipe(w, infno: str):
    shop = PHARMACY_CODE
    if infno == "3501":
        return shop, None, {**ITEM, "fixmedins_bchno": f"B{next(_seq):05d}", "rx_flag": "1", "invdate": DAY,
                            "inv_cnt": "100.00", "manu_date": "2025-01-01", "expy_end": "2027-01-01"}  # fmt: skip
    if infno == "3502":
        batch = purchased(w)
        known = {**ITEM, "fixmedins_bchno": batch, "inv_chg_type": "104", "pric": "10", "cnt": "1", "rx_flag": "1"}
        return shop, None, {**known, "inv_chg_time": DAY}
    if infno == "3503":
        known = {**ITEM, "fixmedins_bchno": f"B{next(_seq):05d}", "manu_date": "2025-01-01", "expy_end": "2027-01-01"}
        return shop, None, {**known, "purc_retn_cnt": "10", "rx_flag": "1", "purc_retn_stoin_time": DAY}
    if infno == "3504":
        batch = purchased(w)
        known = {**ITEM, "fixmedins_bchno": batch, "manu_date": "2025-01-01", "expy_end": "2027-01-01"}
        return shop, None, {**known, "purc_retn_cnt": "1", "rx_flag": "1", "purc_retn_stoin_time": DAY}
    if infno == "3505":
        batch = purchased(w)
        return shop, None, {**sale_info(w, batch, w.bought()["setl_id"]), "drugtracinfo": None}
    if infno == "3506":
        batch = purchased(w)
        setl_id = w.bought()["setl_id"]
        sold(w, batch, setl_id)
        known = {
            **ITEM,
            "fixmedins_bchno": batch,
            "setl_id": setl_id,
            "psn_no": w.son.psn_no,
            "manu_date": "2025-01-01",
        }
        return shop, None, {**known, "rx_flag": "1", "trdn_flag": "0", "sel_retn_cnt": "1", "sel_retn_time": DAY}
    if infno == "3592B":
        return shop, None, {**ITEM, "fixmedins_bchno": purchased(w)}
    if infno == "3507":
        return shop, None, {"fixmedins_bchno": purchased(w), "inv_data_type": "3"}
    batch = purchased(w)
    setl_id = w.bought()["setl_id"]
    sold(w, batch, setl_id)
    counted(w, batch, "TR9")
    known = {"fixmedins_code": shop, "medins_list_codg": "YP1", "fixmedins_bchno": batch, "begndate": DAY}
    known.update(enddate=DAY, med_list_codg="XJ01CAA0001", psn_no=w.son.psn_no, setl_id=setl_id)
    if infno == "3509":
        w.ok("3502", {"invinfo": {**ITEM, "fixmedins_bchno": batch, "inv_chg_type": "104", "pric": "10", "cnt": "1",
                                  "rx_flag": "1", "inv_chg_time": DAY}}, institution=shop)  # fmt: skip
        known["inv_chg_type"] = "104"
    if infno == "3512":
        known["drug_trac_codg"] = "TR9"
    if infno == "3513":
        known["drug_trac_codg"] = "TR001"
    return shop, None, known


RESTRICTED = "XR05DAA0005"


def restricted_item(w) -> None:
    from yibao.services import world
    from yibao.settlement.model import CatalogItem

    with w.store.uow() as tx:
        if tx.care.catalog([RESTRICTED]):
            return
    world.add_catalog_item(w.p, CatalogItem(RESTRICTED, "小儿止咳糖浆（示例，限儿童）", "02", 1000))


def _filled(infno: str, node: str, known: dict) -> dict:
    from yibao.nhsa.samples import _row
    from yibao.nhsa.spec import interface

    spec = interface(infno)
    return _row(spec, spec.child(node), "required", known)


def review_patient(w, *, code: str = RESTRICTED, infno: str = "3101", count: str = "1", rx_id: str = "RX1") -> dict:
    restricted_item(w)
    order = _filled(
        infno,
        "fsi_order_dtos",
        {
            "rx_id": rx_id,
            "hilist_type": "101",
            "hilist_code": code,
            "hilist_name": "止咳糖浆",
            "hilist_pric": "10",
            "cnt": count,
            "pric": "10",
            "sumamt": str(10 * int(count)) + ".00",
            "drord_begn_date": MOMENT_13,
        },
    )
    diagnosis = _filled(infno, "fsi_diagnose_dtos", {"dise_codg": "J20.9", "maindise_flag": "1"})
    known = {"mdtrt_id": "E1", "adm_date": MOMENT_13, "dscg_date": MOMENT_13, "med_mdtrt_type": "1", "med_type": "11"}
    known.update(insutype="310", medfee_sumamt="10.00", medins_id=HOSP, medins_lv="5")
    encounter = _filled(infno, "fsi_encounter_dtos", known)
    encounter.update(fsi_order_dtos=[order], fsi_diagnose_dtos=[diagnosis])
    person = w.son
    patient = _filled(
        infno,
        "patient_dtos",
        {"patn_id": person.psn_no, "patn_name": person.name, "gend": person.gender, "brdy": str(person.birth)},
    )
    patient["fsi_encounter_dtos"] = [encounter]
    return patient


MOMENT_13 = "2025-06-01 10:00:00"


def reviewed(w) -> dict:
    return w.ok("3101", {"data": {"patient_dtos": [review_patient(w)], "trig_scen": "1"}}, institution=HOSP)


def _transfer(w) -> dict:
    psn = w.son.psn_no
    return {
        "psn_no": psn,
        "insutype": "310",
        "reflin_medins_no": f"H43{next(_seq):08d}",
        "refl_type": "1",
        "refl_date": DAY,
    }


def _chronic(w) -> dict:
    return {
        "psn_no": w.son.psn_no,
        "insutype": "310",
        "opsp_dise_code": f"M{next(_seq):05d}",
        "insu_optins": ADMDVS,
        "begndate": DAY,
        "enddate": None,
    }


def _designated(w) -> dict:
    return {
        "psn_no": w.son.psn_no,
        "biz_appy_type": "01",
        "begndate": DAY,
        "enddate": None,
        "fixmedins_code": HOSP,
        "fix_srt_no": str(next(_seq) % 900 + 1),
    }


def _accident(w) -> dict:
    return {
        **{k: w.person()[k] for k in ("psn_no", "psn_cert_type", "certno", "psn_name")},
        "insutype": "310",
        "insu_admdvs": ADMDVS,
        "begndate": DAY,
        "enddate": None,
        "fixmedins_code": HOSP,
    }


FILE_KNOWN = {"2501": _transfer, "2503": _chronic, "2505": _designated, "2507": _accident}
NODE = {"2501": "refmedin", "2503": "data", "2505": "data", "2507": "data"}
CANCEL_OF = {"2502": "2501", "2504": "2503", "2506": "2505"}


def filed(w, infno: str, **extra) -> str:
    inp = {NODE[infno]: {**FILE_KNOWN[infno](w), **extra}}
    if infno == "2501":
        inp["refmedin"].update(diag_code="I10", diag_name="高血压", reflin_medins_name="三级医院", refl_rea="病情需要")
        inp["refmedin"].update(refl_opnn="同意", mdtrtarea_admdvs=ADMDVS)
    if infno == "2503":
        inp["data"].update(opsp_dise_name="高血压", ide_fixmedins_no=HOSP, ide_fixmedins_name="医院", hosp_ide_date=DAY)
        inp["data"].update(diag_dr_codg="D1", diag_dr_name="王医生")
    if infno == "2505":
        inp["data"].update(fixmedins_name="医院")
    if infno == "2507":
        inp["data"].update(dcla_souc="1", chk_pay_flag="1")
    return w.ok(infno, inp, institution=HOSP)["result"]["trt_dcla_detl_sn"]


ADDED = (
    "1201",
    "1901",
    "100001",
    "1304",
    *reference.downloads(),
    "1312",
    "1316",
    "1317",
    "1318",
    "1319",
    "3301",
    "3302",
    "9101",
    "9102",
    "2001",
    "2501",
    "2502",
    "2503",
    "2504",
    "2505",
    "2506",
    "2507",
    "5301",
    "5302",
    "5304",
    "4101",
    "4102",
    "4103",
    "4104",
    "4105",
    "3401",
    "3402",
    "3403",
    "5101",
    "5102",
    "5201",
    "5202",
    "5203",
    "5204",
    "5205",
    "5303",
    "3101",
    "3102",
    "3103",
    "3202",
    "3203",
    "3204",
    "2306",
    "2403",
    "2404",
    "2405",
    "2406",
    "2407",
    *(f"35{n:02d}" for n in range(1, 14)),
    *(f"35{n:02d}A" for n in range(1, 8)),
    "3401A",
    "2203A",
    "3592B",
    "3607",
)
