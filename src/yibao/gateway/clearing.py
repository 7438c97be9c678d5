"""【3202】对明细账 (file via 9101, result via 9102), 【3203】清算申请, 【3204】清算申请撤销 (withdrawn from
this edition's interface list; answered as a variant for the HIS that still send them)."""

from __future__ import annotations

from yibao.care.model import NewClearing
from yibao.gateway.registry import Call, transaction
from yibao.services import reconciliation as svc
from yibao.services.platform import Platform


@transaction("3202", "医药机构费用结算对明细账", filled=("data.fixmedins_refd_setl_flag",))
def details(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    totals = (d.medfee_sumamt, d.fund_pay_sumamt, d.fixmedins_setl_cnt)
    out = svc.reconcile_details(
        p, tx, call.institution, d.clr_type, d.file_qury_no, d.stmt_begndate, d.stmt_enddate, totals
    )
    return {
        "fileinfo": {"file_qury_no": out.file_qury_no, "filename": out.filename, "dld_endtime": out.expires},
        "stmt_rslt": "0" if out.mismatches == 0 else "1",
        "lines": out.lines,
        "mismatches": out.mismatches,
    }


@transaction("3203", "清算申请")
def apply(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    applied = NewClearing(
        clr_type=d.clr_type,
        setlym=d.setlym,
        begin_date=d.begndate,
        end_date=d.enddate,
        count=d.psntime,
        medfee=d.medfee_sumamt,
        fund=d.fund_appy_sum,
        acct=d.acct_pay,
        cash=d.cash_payamt,
    )
    pk = svc.apply_clearing(p, tx, call.institution, applied)
    return {"result": {"clr_appy_evt_id": svc.clearing_id(pk)}}


@transaction("3204", "清算申请撤销")
def cancel(p: Platform, call: Call, tx) -> dict:
    svc.cancel_clearing(p, tx, call.institution, call.read("data").clr_appy_evt_id)
    return {}
