"""【5102】医执人员, 【5201】就诊, 【5202】诊断, 【5203】结算, 【5204】费用明细, 【5205】慢特病用药, 【5303】在院.

Scope: an institution sees its own visits, settlements, lines and diagnoses (5201–5204, an unknown
or another institution's id is "not found"); 5205 shows a chronic patient's medication at every
institution (its purpose: no duplicate prescriptions); 5303 answers whether a named person is in
hospital anywhere, or lists the asking hospital's own in-patients.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

from yibao.errors import refuse
from yibao.gateway.registry import Call, transaction
from yibao.nhsa.output import age, line_split, settlement_output
from yibao.services.care import institution_or_refuse, mdtrt_id_of, person_or_refuse, visit_or_refuse
from yibao.services.lists import own_settlement
from yibao.services.platform import Platform
from yibao.services.reference import list_type_of
from yibao.services.settle import view_of


def _day_range(begin, end) -> tuple[datetime, datetime]:
    start = begin if isinstance(begin, datetime) else datetime.combine(begin, time.min)
    stop = end if isinstance(end, datetime) else datetime.combine(end, time.max)
    if stop < start:
        raise refuse("E5201-001", detail=f"结束时间{end}早于开始时间{begin}")
    return start, stop


@transaction("5102", "医执人员信息查询", writes=False)
def staff(p: Platform, call: Call, tx) -> dict:
    """The doctors the institution's own fee lines and diagnoses name (yibao keeps no staff register)."""
    d = call.read("data")
    institution_or_refuse(tx, call.institution)
    if d.prac_psn_type != "1":
        return {"feedetail": []}
    rows = []
    for code, name, first in tx.records.practitioners(call.institution):
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
    institution_or_refuse(tx, call.institution)
    person = person_or_refuse(tx, d.psn_no)
    start, stop = _day_range(d.begntime, d.endtime)
    rows = []
    for v in tx.records.visits_of(person.id, institution=call.institution, since=start, until=stop):
        mdtrt_id = mdtrt_id_of(v, person)
        med_type = v.med_type or next((s.med_type for s in tx.care.settlements_of_visit(v.id)), None)
        if (d.mdtrt_id and mdtrt_id != d.mdtrt_id) or (d.med_type and med_type != d.med_type):
            continue
        insurance = next((i for i in tx.people.insurances(person.id) if i.insutype == v.insutype), None)
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
    inst = institution_or_refuse(tx, call.institution)
    person = person_or_refuse(tx, d.psn_no)
    visit = visit_or_refuse(tx, d.mdtrt_id, inst, person)
    rows = []
    for r in tx.care.diagnoses_of(visit.id):
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
    owned = own_settlement(tx, call.institution, d.psn_no, d.setl_id, d.mdtrt_id)
    view = view_of(tx, owned.row)
    out = settlement_output(view)
    info = out["setlinfo"]
    visit = tx.care.visit(owned.row.visit_id)
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
    owned = own_settlement(tx, call.institution, d.psn_no, d.setl_id, d.mdtrt_id)
    view = view_of(tx, owned.row)
    stored = {x.feedetl_sn: x for x in tx.care.lines(owned.row.visit_id) if x.settlement_id == owned.row.id}
    audit = {a["feedetl_sn"]: a for a in tx.care.line_audit(owned.row.visit_id)}
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
    institution_or_refuse(tx, call.institution)
    person = person_or_refuse(tx, d.psn_no)
    start = datetime.combine(d.begntime, time.min)
    stop = datetime.combine(d.endtime + timedelta(days=1), time.min) if d.endtime else None
    rows = []
    for r in tx.records.chronic_lines(person.id, start, stop):
        inst = tx.care.institution(r["institution_code"])
        item = tx.care.catalog([r["med_list_codg"]]).get(r["med_list_codg"])
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
    institution_or_refuse(tx, call.institution)
    start, stop = _day_range(d.begntime, d.endtime)
    person = person_or_refuse(tx, d.psn_no) if d.psn_no else None
    stays = tx.records.in_hospital(
        institution=None if person else call.institution,
        person_id=person.id if person else None,
        since=start,
        until=stop,
    )
    rows = []
    for v in stays:
        who = person or tx.people.by_id(v.person_id)
        inst = tx.care.institution(v.institution_code)
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
