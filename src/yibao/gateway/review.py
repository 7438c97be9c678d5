"""【3101】明细审核事前分析, 【3102】事中分析, 【3103】事前事中服务反馈.

The order lines (``fsi_order_dtos``) of each encounter are checked by the review rules
(``rules/review.yaml``) against the platform's catalogue; each finding answers with a result id
(``jr_id``) the HIS names in its 3103 feedback. The edition's ``result`` node is one row: the first
finding is there, every finding under ``result_list`` (with its ``judge_result_detail_dtos``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from yibao.errors import refuse
from yibao.gateway.registry import Call, transaction
from yibao.nhsa.answer import shape_row
from yibao.nhsa.output import money
from yibao.rules.review import Line
from yibao.services import review as svc
from yibao.services.platform import Platform

SETTINGS = {"1": "outpatient", "2": "inpatient", "3": "pharmacy"}  # med_mdtrt_type: 门诊, 住院, 购药


def _day(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def _review(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    rule_ids = tuple(d.rule_ids) if isinstance(d.get("rule_ids"), list) else ()
    if not isinstance(d.get("patient_dtos"), list | dict):
        raise refuse("E0000-008", detail="data.patient_dtos 应为对象数组")
    results = []
    for pi, pat in enumerate(call.nested("patient_dtos", d.patient_dtos, "data.patient_dtos")):
        person = svc.person_named(tx, pat.patn_id)
        at = f"data.patient_dtos[{pi}].fsi_encounter_dtos"
        for ei, enc in enumerate(call.nested("fsi_encounter_dtos", pat.get("fsi_encounter_dtos"), at)):
            where = f"{at}[{ei}]"
            diagnoses = [x.dise_codg for x in call.nested("fsi_diagnose_dtos", enc.get("fsi_diagnose_dtos"), where)]
            orders = call.nested("fsi_order_dtos", enc.get("fsi_order_dtos"), where)
            day = _day(enc.adm_date)
            patient = svc.patient_of(person, pat.gend, pat.brdy, day)
            lines = [
                Line(
                    o.rx_id,
                    o.hilist_code,
                    o.hilist_name,
                    Decimal(o.pric) / 100,  # 16,2 in this table: read as fen
                    Decimal(o.cnt),
                    o.sumamt,
                    _day(o.drord_begn_date) if o.drord_begn_date else day,
                )
                for o in orders
            ]
            setting = SETTINGS.get(enc.med_mdtrt_type, "outpatient")
            findings = svc.run_review(tx, lines, patient, setting, diagnoses, rule_ids)
            kept = svc.keep_results(p, tx, call.institution, call.infno, pat.patn_id, findings, enc.mdtrt_id)
            for jr_id, f in kept:
                detail = {
                    "jrd_id": f"{jr_id}-1",
                    "patn_id": pat.patn_id,
                    "mdtrt_id": enc.mdtrt_id,
                    "rx_id": f.line.ref,
                    "vola_item_type": "1",
                    "vola_amt": money(f.amount),
                }
                results.append(
                    {
                        "jr_id": jr_id,
                        "rule_id": f.rule.id,
                        "rule_name": f.rule.name,
                        "vola_cont": f.content,
                        "patn_id": pat.patn_id,
                        "mdtrt_id": enc.mdtrt_id,
                        "judge_result_detail_dtos": [detail],
                        "vola_amt": money(f.amount),
                        "vola_amt_stas": "1",
                        "sev_deg": f.rule.sev_deg,
                        "vola_evid": f.source,
                        "vola_bhvr_type": f.rule.vola_bhvr_type,
                    }
                )
    node = call.spec.outputs[0]
    detail_node = call.spec.outputs[1]
    details = [r for res in results for r in res["judge_result_detail_dtos"]]
    return {
        "result": results[0] if results else {},
        "judge_result_detail_dtos": details,
        "result_list": [
            {
                **shape_row(node, r),
                "judge_result_detail_dtos": [shape_row(detail_node, x) for x in r["judge_result_detail_dtos"]],
            }
            for r in results
        ],
    }


transaction("3101", "明细审核事前分析服务")(_review)
transaction("3102", "明细审核事中分析服务")(_review)


@transaction("3103", "事前事中服务反馈服务")
def feedback(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    warns = call.nested("warns", d.get("warns"), "data.warns")
    if not warns:
        raise refuse("E0000-008", detail="data.warns 至少需要1条")
    disposals = [svc.Disposal(w.warn_rslt_id, w.dspo_way, w.get("dspo_way_rea")) for w in warns]
    svc.feedback(p, tx, call.institution, d.warn_type, disposals)
    return {}
