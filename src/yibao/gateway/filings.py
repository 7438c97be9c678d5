"""【2001】人员待遇享受检查, 【2501】–【2507】备案与撤销, 【5301】慢特病备案查询, 【5302】人员定点查询,
【5304】转院信息查询."""

from __future__ import annotations

from yibao.gateway.common import check_person
from yibao.gateway.registry import Call, transaction
from yibao.nhsa.reader import check_same
from yibao.services import filings as svc
from yibao.services.filings import NewFiling
from yibao.services.platform import Platform


@transaction("2001", "人员待遇享受检查", writes=False)
def entitlement(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    check_same("data.fixmedins_code", "定点医药机构编号", d.fixmedins_code, call.institution)
    return {"trtinfo": svc.entitlement(p, tx, call.institution, d.psn_no, d.insutype, d.med_type, d.begntime)}


@transaction("2501", "转院备案")
def transfer(p: Platform, call: Call, tx) -> dict:
    d = call.read("refmedin")
    begin = d.begndate or d.refl_date
    filing = NewFiling(
        "transfer",
        d.psn_no,
        d.insutype,
        begin,
        d.enddate,
        d.record(),
        code=d.diag_code,
        name=d.diag_name,
        target_code=d.reflin_medins_no,
        target_name=d.reflin_medins_name,
    )
    return {"result": {"trt_dcla_detl_sn": svc.add_filing(p, tx, call.institution, filing)}}


@transaction("2503", "人员慢特病备案")
def chronic(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    filing = NewFiling(
        "chronic",
        d.psn_no,
        d.insutype,
        d.begndate,
        d.enddate,
        d.record(),
        code=d.opsp_dise_code,
        name=d.opsp_dise_name,
        target_code=d.ide_fixmedins_no,
        target_name=d.ide_fixmedins_name,
    )
    return {"result": {"trt_dcla_detl_sn": svc.add_filing(p, tx, call.institution, filing)}}


@transaction("2505", "人员定点备案")
def designated(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    filing = NewFiling(
        "designated",
        d.psn_no,
        None,
        d.begndate,
        d.enddate,
        d.record(),
        code=d.fix_srt_no,
        name=d.biz_appy_type,
        target_code=d.fixmedins_code,
        target_name=d.fixmedins_name,
    )
    return {"result": {"trt_dcla_detl_sn": svc.add_filing(p, tx, call.institution, filing)}}


@transaction(
    "2507", "人员意外伤害备案", filled=("data.psn_cert_type", "data.certno", "data.psn_name", "data.insu_admdvs")
)
def accident(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    check_person(p, call, tx, d)
    check_same("data.insu_admdvs", "参保所属医保区划", d.insu_admdvs, svc.person_or_refuse(tx, d.psn_no).admdvs)
    filing = NewFiling(
        "accident",
        d.psn_no,
        d.insutype,
        d.begndate,
        d.enddate,
        d.record(),
        code=d.chk_pay_flag,
        name=d.trum_rea,
        target_code=d.fixmedins_code,
        target_name=d.fixmedins_name,
    )
    return {"result": {"trt_dcla_detl_sn": svc.add_filing(p, tx, call.institution, filing)}}


def _cancel(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    svc.cancel_filing(p, tx, call.institution, svc.CANCELS[call.infno], d.trt_dcla_detl_sn, d.psn_no, d.get("memo"))
    return {}


transaction("2502", "转院备案撤销")(_cancel)
transaction("2504", "人员慢特病备案撤销", filled=("data.memo",))(_cancel)
transaction("2506", "人员定点备案撤销", filled=("data.memo",))(_cancel)


@transaction("5301", "人员慢特病备案查询", writes=False)
def chronic_filings(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    _, rows = svc.filings_of(tx, d.psn_no, "chronic")
    return {
        "feedetail": [
            {"opsp_dise_code": f.code, "opsp_dise_name": f.name, "begndate": f.begndate, "enddate": f.enddate}
            for f in rows
        ]
    }


@transaction("5302", "人员定点信息查询", writes=False)
def designated_filings(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    _, rows = svc.filings_of(tx, d.psn_no, "designated")
    return {
        "psnfixmedin": [
            {
                "psn_no": d.psn_no,
                "insutype": f.insutype,
                "fix_srt_no": f.code,
                "fixmedins_code": f.target_code,
                "fixmedins_name": f.target_name,
                "begndate": f.begndate,
                "enddate": f.enddate,
                "memo": f.info.get("memo"),
            }
            for f in rows
            if f.name == d.biz_appy_type
        ]
    }


@transaction("5304", "转院信息查询", writes=False)
def transfers(p: Platform, call: Call, tx) -> dict:
    """The person's transfers filed by this institution, or naming it as the destination."""
    d = call.read("data")
    person, rows = svc.filings_of(tx, d.psn_no, "transfer")
    since, until = d.begntime.date(), d.endtime.date() if d.endtime else None
    out = []
    for f in rows:
        if call.institution not in (f.institution_code, f.target_code):
            continue
        if f.begndate < since or (until is not None and f.begndate > until):
            continue
        info = f.info
        out.append(
            {
                **{k: info.get(k) for k in ("tel", "addr", "insu_optins", "dise_cond_dscr", "refl_rea")},
                "insutype": f.insutype,
                "dcla_souc": "1",
                "psn_no": person.psn_no,
                "psn_cert_type": person.psn_cert_type,
                "certno": person.certno,
                "psn_name": person.name,
                "gend": person.gender,
                "brdy": person.birth,
                "diag_code": f.code,
                "diag_name": f.name,
                "reflin_medins_no": f.target_code,
                "reflin_medins_name": f.target_name,
                "out_flag": "1" if info.get("mdtrtarea_admdvs") not in (None, person.admdvs) else "0",
                "refl_date": f.begndate,
                "begndate": f.begndate,
                "enddate": f.enddate,
                "hosp_agre_refl_flag": info.get("hosp_agre_refl_flag") or "1",
                "opter_name": "",
                "opt_time": f.created_at,
            }
        )
    return {"refmedin": out}
