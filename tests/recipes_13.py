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
    return None


ADDED = (
    "1201",
    "1901",
    "100001",
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
)
