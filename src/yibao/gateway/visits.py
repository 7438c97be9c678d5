"""【2306】费用明细修改备注, 【2403】住院信息变更, 【2404】入院撤销, 【2405】出院撤销, 【2406】【2407】就医特殊属性."""

from __future__ import annotations

from yibao.errors import refuse
from yibao.gateway.common import diagnosis_rows
from yibao.gateway.outpatient import visit_info
from yibao.gateway.registry import Call, transaction
from yibao.nhsa.answer import shape_row
from yibao.services import records
from yibao.services import visits as svc
from yibao.services.care import mdtrt_id_of, person_or_refuse
from yibao.services.platform import Platform


@transaction("2306", "费用明细修改备注")
def memo(p: Platform, call: Call, tx) -> dict:
    rows = call.rows("data", min_rows=1)
    svc.note_lines(p, tx, call.institution, [(r.mdtrt_id, r.psn_no, r.bkkp_sn, r.med_list_codg, r.memo) for r in rows])
    return {}


@transaction("2403", "住院信息变更")
def change(p: Platform, call: Call, tx) -> dict:
    info = call.read("adminfo")
    values = {k: info.get(k) for k in info}
    diagnoses = diagnosis_rows(call.rows("diseinfo"))
    svc.change_admission(p, tx, call.institution, values, diagnoses)
    return {}


@transaction("2404", "入院撤销")
def cancel_admission(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    svc.cancel_admission(p, tx, call.institution, d.mdtrt_id, d.psn_no)
    return {}


@transaction("2405", "出院撤销")
def cancel_discharge(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    svc.cancel_discharge(p, tx, call.institution, d.mdtrt_id, d.psn_no)
    return {}


PERSON = ("data.psn_cert_type", "data.certno", "data.psn_name", "data.ipt_otp_no")


@transaction("2406", "就医特殊属性上传", filled=PERSON)
def flag(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    person = person_or_refuse(tx, d.psn_no)
    for field, ours in (("certno", person.certno), ("psn_name", person.name), ("psn_cert_type", person.psn_cert_type)):
        if d.get(field) is not None and d.get(field) != ours:
            raise refuse("E1101-008", detail=f"data.{field}")
    pk = svc.add_flag(p, tx, call.institution, d.mdtrt_id, d.psn_no, d.ipt_psn_sp_flag_type, d.ipt_psn_sp_flag, d.memo)
    return {"IptPsnSpFlagRegOut": {"ipt_psn_sp_flag_detl_id": f"SP{pk:010d}"}}


@transaction("2407", "就医特殊属性查询", writes=False)
def flags(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    if d.page_num < 1 or not 1 <= d.page_size <= 1000:
        raise refuse("E1312-001", detail=f"page_num={d.page_num}，page_size={d.page_size}")
    if d.mdtrt_id and not d.psn_no:
        raise refuse("E0000-008", detail="按就诊ID查询须同时传 psn_no")
    inst, found = records.flags(tx, call.institution, d.mdtrt_id, d.psn_no, d.ipt_psn_sp_flag_type)
    rows = []
    for f, visit, person in found:
        if d.psn_no and person.psn_no != d.psn_no:
            continue
        rows.append(
            {
                "ipt_psn_sp_flag_detl_id": f"SP{f['id']:010d}",
                "mdtrt_id": mdtrt_id_of(visit, person),
                "psn_no": person.psn_no,
                "psn_cert_type": person.psn_cert_type,
                "certno": person.certno,
                "psn_name": person.name,
                "fixmedins_code": inst.code,
                "fixmedins_name": inst.name,
                "ipt_otp_no": visit.ipt_otp_no or "",
                "ipt_psn_sp_flag_type": f["flag_type"],
                "ipt_psn_sp_flag": f["flag"],
                "admdvs": inst.admdvs,
            }
        )
    page = rows[(d.page_num - 1) * d.page_size : d.page_num * d.page_size]
    node = call.spec.outputs[0]
    return {"IptPsnSpFlagReg": page[0] if page else {}, "list": [shape_row(node, r) for r in page], "total": len(rows)}


# 2203A (V1.1.23): the same upload for a retail pharmacy's outpatient visit, read with its own table.
transaction("2203A", "定点零售药店门诊就诊信息上传", filled=("mdtrtinfo.begntime",))(visit_info)
