"""【5102】医执人员, 【5201】就诊, 【5202】诊断, 【5203】结算, 【5204】费用明细, 【5205】慢特病用药, 【5303】在院.

Scope: an institution sees its own visits, settlements, lines and diagnoses (5201–5204, an unknown
or another institution's id is "not found"); 5205 shows a chronic patient's medication at every
institution (its purpose: no duplicate prescriptions); 5303 answers whether a named person is in
hospital anywhere, or lists the asking hospital's own in-patients.
"""

from __future__ import annotations

import json

from yibao.gateway.registry import Call, transaction
from yibao.nhsa.output import age, line_split, settlement_output
from yibao.services import records as svc
from yibao.services.care import mdtrt_id_of
from yibao.services.platform import Platform
from yibao.services.reference import list_type_of


@transaction("5102", "医执人员信息查询", writes=False)
def staff(p: Platform, call: Call, tx) -> dict:
    """The doctors the institution's own fee lines and diagnoses name (yibao keeps no staff register)."""
    d = call.read("data")
    found = svc.practitioners(tx, call.institution)
    if d.prac_psn_type != "1":
        return {"feedetail": []}
    rows = []
    for code, name, first in found:
        if (d.prac_psn_code and code != d.prac_psn_code) or (d.prac_psn_name and name != d.prac_psn_name):
            continue
        rows.append(
            {
                "psn_cert_type": "",
                "certno": "",
                "prac_psn_code": code,
                "prac_psn_name": name,
                "prac_psn_type": "1",
                "hi_dr_flag": "1",
                "begntime": first,
            }
        )
    return {"feedetail": rows}


@transaction("5201", "就诊信息查询", writes=False)
def visits(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    person, found = svc.visits(tx, call.institution, d.psn_no, d.begntime, d.endtime)
    rows = []
    for r in found:
        v, med_type, insurance = r.visit, r.med_type, r.insurance
        mdtrt_id = mdtrt_id_of(v, person)
        if (d.mdtrt_id and mdtrt_id != d.mdtrt_id) or (d.med_type and med_type != d.med_type):
            continue
        info = json.loads(v.info or "{}")
        rows.append(
            {
                **{k: val for k, val in info.items() if isinstance(val, str)},
                "mdtrt_id": mdtrt_id,
                "psn_no": person.psn_no,
                "psn_cert_type": person.psn_cert_type,
                "certno": person.certno,
                "psn_name": person.name,
                "gend": person.gender,
                "naty": person.naty,
                "brdy": person.birth,
                "age": age(person.birth, v.begntime.date()),
                "insutype": v.insutype,
                "psn_type": insurance.psn_type if insurance else "",
                "cvlserv_flag": "0",
                "begntime": v.begntime,
                "endtime": v.endtime,
                "mdtrt_cert_type": v.mdtrt_cert_type,
                "med_type": med_type,
                "ipt_otp_no": v.ipt_otp_no,
                "inhosp_stas": "1" if v.kind == "inpatient" and v.status == "open" else "0",
                "ipt_days": (v.endtime.date() - v.begntime.date()).days if v.endtime else 0,
                "memo": v.status,
            }
        )
    return {"mdtrtinfo": rows}


@transaction("5202", "诊断信息查询", writes=False)
def diagnoses(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    rows = []
    for r in svc.diagnoses(tx, call.institution, d.psn_no, d.mdtrt_id):
        rows.append(
            {
                **{k: r[k] for k in ("diag_code", "diag_name", "diag_dept", "dise_dor_no", "dise_dor_name")},
                "diag_info_id": f"DG{r['id']:010d}",
                "mdtrt_id": d.mdtrt_id,
                "psn_no": d.psn_no,
                "inout_diag_type": "2" if r["infno"] == "2402" else "1",
                "maindiag_flag": r["maindiag_flag"] or "0",
                "diag_srt_no": r["diag_srt_no"] or 0,
                "adm_cond": r["adm_cond"],
                "diag_time": r["diag_time"] or r["recorded_at"],
                "opt_time": r["recorded_at"],
                "diag_type": r["diag_type"] or "1",
            }
        )
    return {"diseinfo": rows}


@transaction("5203", "结算信息查询", writes=False)
def settlement(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    found = svc.settlement(tx, call.institution, d.psn_no, d.setl_id, d.mdtrt_id)
    owned, view, visit = found.owned, found.view, found.visit
    out = settlement_output(view)
    info = out["setlinfo"]
    info.update(
        {
            "pay_loc": "2",
            "fixmedins_code": view.institution.code,
            "fixmedins_name": view.institution.name,
            "fixmedins_poolarea": view.institution.admdvs,
            "begndate": visit.begntime.date() if visit else owned.row.setl_time.date(),
            "enddate": (visit.endtime or owned.row.setl_time).date() if visit else owned.row.setl_time.date(),
            "setl_time": owned.row.setl_time,
            "clr_type": owned.row.clr_type,
            "clr_way": "1",
            "cash_payamt": info.get("psn_cash_pay"),
            "refd_setl_flag": "1" if owned.row.status != "settled" else "0",
            "year": str(owned.row.year),
            "medins_setl_id": owned.row.msgid or "",
        }
    )
    return out


@transaction("5204", "费用明细查询", writes=False)
def fee_details(p: Platform, call: Call, tx) -> list:
    d = call.read("data")
    found = svc.fee_lines(tx, call.institution, d.psn_no, d.setl_id, d.mdtrt_id)
    owned, view, stored, audit = found.owned, found.view, found.stored, found.audit
    rows = []
    for s in view.result.lines:
        line, a = stored.get(s.sn), audit.get(s.sn, {})
        rows.append(
            {
                **line_split(s),
                **{k: a.get(k) for k in ("bilg_dept_codg", "bilg_dept_name", "bilg_dr_codg", "bilg_dr_name")},
                "mdtrt_id": owned.mdtrt_id,
                "setl_id": d.setl_id,
                "rx_drord_no": a.get("rxno"),
                "med_type": owned.row.med_type,
                "fee_ocur_time": line.fee_ocur_time if line else owned.row.setl_time,
                "hilist_code": s.item.code,
                "hilist_name": s.item.name,
                "list_type": list_type_of(s.item.code),
                "med_list_codg": s.item.code,
                "medins_list_codg": (line.medins_list_codg if line else None) or s.item.code,
                "medins_list_name": s.item.name,
                "dosform_name": "",
                "hosp_appr_flag": a.get("hosp_appr_flag"),
                "opt_time": owned.row.setl_time,
            }
        )
    return rows


@transaction("5205", "人员慢特病用药记录查询", writes=False)
def chronic_medication(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    person, found = svc.chronic_medication(tx, call.institution, d.psn_no, d.begntime, d.endtime)
    rows = []
    for r, inst, item in found:
        rows.append(
            {
                "feedetl_sn": r["feedetl_sn"],
                "rx_drord_no": r["rxno"],
                "fixmedins_code": inst.code,
                "fixmedins_name": inst.name,
                "psn_no": person.psn_no,
                "med_type": r["med_type"],
                "fee_ocur_time": r["fee_ocur_time"],
                "cnt": r["count"],
                "pric": r["price"],
                "chrgitm_lv": item.chrgitm_lv if item else "",
                "hilist_code": r["med_list_codg"],
                "hilist_name": item.name if item else "",
                "list_type": list_type_of(r["med_list_codg"]),
                "med_list_codg": r["med_list_codg"],
                "medins_list_codg": r["medins_list_codg"] or r["med_list_codg"],
                "medins_list_name": item.name if item else "",
                "med_chrgitm_type": "",
                "spec": "",
            }
        )
    return {"feedetail": rows}


@transaction("5303", "在院信息查询", writes=False)
def in_hospital(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    _, stays = svc.in_hospital(tx, call.institution, d.psn_no, d.begntime, d.endtime)
    rows = []
    for v, who, inst in stays:
        rows.append(
            {
                "mdtrt_id": mdtrt_id_of(v, who) if v.institution_code == call.institution else "",
                "psn_no": who.psn_no,
                "psn_cert_type": who.psn_cert_type,
                "certno": who.certno,
                "psn_name": who.name,
                "gend": who.gender,
                "brdy": who.birth,
                "age": age(who.birth, v.begntime.date()),
                "insutype": v.insutype,
                "begndate": v.begntime.date(),
                "med_type": v.med_type,
                "ipt_otp_no": v.ipt_otp_no if v.institution_code == call.institution else "",
                "out_flag": "1" if inst.admdvs != who.admdvs else "0",
            }
        )
    return {"data": rows}
