"""【4101】–【4105】医疗保障基金结算清单, 【3401】–【3403】科室, 【5101】科室信息查询.

4103's output nodes are single rows in the edition's table; a list with several diagnoses,
operations or fund rows answers the first under the spec's node and every row under
``<node>_list``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from yibao.errors import refuse
from yibao.gateway.registry import Call, transaction
from yibao.nhsa.answer import shape_row
from yibao.nhsa.output import age, money
from yibao.nhsa.reader import Row, check_same
from yibao.services import lists as svc
from yibao.services import records
from yibao.services.platform import Platform

LIST_NODES = ("opspdiseinfo", "diseinfo", "oprninfo", "icuinfo", "payinfo", "bldinfo")


def values(row: Row) -> dict[str, Any]:
    return {k: row.get(k) for k in row}


@transaction("4101", "医疗保障基金结算清单信息上传")
def upload(p: Platform, call: Call, tx) -> dict:
    info = values(call.read("setlinfo"))
    nodes: dict[str, Any] = {"setlinfo": info}
    for name in LIST_NODES:
        nodes[name] = [values(r) for r in call.rows(name)]
    for r in nodes["bldinfo"]:
        check_same("bldinfo.setl_id", "结算ID", r.get("setl_id"), info["setl_id"])
    pk = svc.upload_list(p, tx, call.institution, nodes, info.get("stas_type"))
    return {"data": {"setl_list_id": f"SL{pk:012d}"}}


@transaction("4102", "医疗保障基金结算清单信息状态修改")
def status(p: Platform, call: Call, tx) -> dict:
    data = call.input.get("data")
    nested = data.get("stastinfo") if isinstance(data, dict) else None  # {"data": {"stastinfo": [...]}}
    if nested is not None:
        call = replace(call, input={"data.stastinfo": nested})
    rows = call.rows("data.stastinfo", min_rows=1)
    svc.change_status(p, tx, call.institution, [(r.psn_no, r.setl_id, r.stas_type) for r in rows])
    return {}


@transaction("4103", "医疗保障基金结算清单信息查询", writes=False)
def query(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    found = records.settlement_list(tx, call.institution, d.psn_no, d.setl_id)
    owned, lst, inst, visit = found.owned, found.list, found.institution, found.visit
    rec, person, row = lst.record, owned.person, owned.row
    info = rec.get("setlinfo", {})
    ids = {"setl_id": d.setl_id, "psn_no": d.psn_no, "mdtrt_id": owned.mdtrt_id}
    out: dict[str, Any] = {
        "setlinfo": {
            **info,
            **ids,
            "setl_list_sn": f"SL{lst.id:012d}",
            "fixmedins_name": inst.name,
            "fixmedins_code": inst.code,
            "hi_setl_lv": str(min(max(inst.level, 1), 3)),
            "medcasno": info.get("medcasno") or "",
            "psn_name": person.name,
            "gend": person.gender,
            "brdy": person.birth,
            "age": age(person.birth, row.setl_time.date()),
            "naty": person.naty,
            "patn_cert_type": person.psn_cert_type,
            "certno": person.certno,
            "insutype": row.insutype,
            "insu_admdvs": person.admdvs,
            "ipt_med_type": "1",
            "adm_time": visit.begntime if visit else info.get("adm_time"),
            "dscg_time": visit.endtime if visit and visit.endtime else info.get("dscg_time"),
            "adm_caty": info.get("adm_caty") or info.get("dscg_caty"),
            "stas_type": lst.status,
            "medfee_sumamt": money(row.medfee),
            "setl_begn_date": info.get("setl_begn_date"),
            "setl_end_date": info.get("setl_end_date"),
        }
    }
    for name in (*LIST_NODES, "iteminfo", "drgAppyinfo"):
        rows = [{**r, **ids} for r in rec.get(name, [])]
        if name == "payinfo":
            rows = [{**r, "fund_payamt": money(int(r.get("fund_payamt") or 0))} for r in rows]
        node = call.spec.outputs[[n.name for n in call.spec.outputs].index(name)]
        out[name] = rows[0] if rows else {}
        out[f"{name}_list"] = [shape_row(node, r) for r in rows]
    return out


def _qc_rows(call: Call, tx, ym: str, setl_id=None, psn_no=None, err_lv=None, retn_flag=None) -> list[dict]:
    inst, found = records.quality_findings(tx, call.institution, ym)
    out = []
    for lst, person in found:
        sid = lst.record.get("setlinfo", {}).get("setl_id")
        worst = min((f["err_lv"] for f in lst.qc), default="")
        retn = "1" if any(f["retn_flag"] == "1" for f in lst.qc) else "0"
        if (setl_id and sid != setl_id) or (psn_no and person.psn_no != psn_no):
            continue
        if (err_lv and worst != err_lv) or (retn_flag and retn != retn_flag):
            continue
        details = [
            {k: f[k] for k in ("exam_data_fld", "qltctrl_chk_rslt", "err_lv", "retn_flag", "init_val")} for f in lst.qc
        ]
        out.append(
            {
                "fixmedins_code": inst.code,
                "fixmedins_name": inst.name,
                "setl_ym": ym,
                "setl_id": sid,
                "psn_no": person.psn_no,
                "psn_name": person.name,
                "qltctrl_rslt": "通过" if not lst.qc else f"{len(lst.qc)}个问题",
                "err_lv": worst,
                "retn_flag": retn,
                "qltctrl_ver": lst.qc_version,
                "psn_cert_type": person.psn_cert_type,
                "cert_no": person.certno,
                "detailinfo": details,
                "detl_list": details,
                "qltctrl_time": lst.updated_at,
                "grp_stas": "",
            }
        )
    return out


def _page(d: Row) -> tuple[int, int]:
    if d.page_num < 1 or not 1 <= d.page_size <= 1000:
        raise refuse("E1312-001", detail=f"page_num={d.page_num}，page_size={d.page_size}")
    return (d.page_num - 1) * d.page_size, d.page_num * d.page_size


@transaction("4104", "医疗保障基金结算清单质控结果查询", writes=False)
def quality(p: Platform, call: Call, tx) -> list:
    d = call.read("data")
    check_same("data.fixmedins_code", "定点医药机构编号", d.fixmedins_code, call.institution)
    start, stop = _page(d)
    rows = _qc_rows(call, tx, d.setl_ym, d.setl_id, d.psn_no, d.err_lv, d.retn_flag)
    return [{k: v for k, v in r.items() if k != "detl_list"} for r in rows[start:stop]]


@transaction("3607", "结算清单质控结果查询", writes=False)
def quality_3607(p: Platform, call: Call, tx) -> dict:
    """The same findings as 4104, in 3607's shape: ``data[]`` and every finding in ``detl_list[]``."""
    d = call.read("data")
    start, stop = _page(d)
    rows = _qc_rows(call, tx, d.setl_ym, d.setl_id)[start:stop]
    return {
        "data": [{k: v for k, v in r.items() if k != "detailinfo"} for r in rows],
        "detl_list": [x for r in rows for x in r["detl_list"]],
    }


@transaction("4105", "医疗保障基金结算清单数量统计查询", writes=False, filled=("data.medtype_list",))
def list_counts(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    check_same("data.fixmedins_code", "定点医药机构编号", d.fixmedins_code, call.institution)
    need, done = svc.counts(tx, call.institution, d.stt_begntime, d.stt_endtime, d.get("refdset_flag") == "1")
    return {"needUploadCnt": need, "uploadedCnt": done}


@transaction("3401", "科室信息上传")
def department_add(p: Platform, call: Call, tx) -> dict:
    svc.add_department(p, tx, call.institution, values(call.read("deptinfo")))
    return {}


@transaction("3401A", "批量科室信息上传")
def department_add_batch(p: Platform, call: Call, tx) -> dict:
    """The provincial batch variant of 3401: every row as 3401 would, all or nothing."""
    for row in call.rows("deptinfo", min_rows=1):
        svc.add_department(p, tx, call.institution, values(row))
    return {}


@transaction("3402", "科室信息变更")
def department_change(p: Platform, call: Call, tx) -> dict:
    svc.change_department(p, tx, call.institution, values(call.read("deptinfo")))
    return {}


@transaction("3403", "科室信息撤销")
def department_cancel(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    svc.cancel_department(p, tx, call.institution, d.hosp_dept_codg, d.hosp_dept_name, d.begntime)
    return {}


ENVELOPE_FIELDS = tuple(
    f"data.{k}"
    for k in (
        "infno",
        "msgid",
        "mdtrtarea_admvs",
        "insuplc_admdvs",
        "recer_sys_code",
        "infver",
        "opter_type",
        "opter",
        "opter_name",
        "inf_time",
        "fixmedins_code",
    )
)


@transaction("5101", "科室信息查询", writes=False, filled=ENVELOPE_FIELDS)
def department_query(p: Platform, call: Call, tx) -> dict:
    """The asking institution's departments (the edition repeats the envelope inside ``data``)."""
    d = call.read("data")
    check_same("data.fixmedins_code", "定点医药机构编号", d.fixmedins_code, call.institution)
    return {"feedetail": [{**dept.info, "caty": dept.caty} for dept in svc.departments(tx, call.institution)]}
