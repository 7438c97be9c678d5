"""【2101】–【2103】药店: pre-settlement and settlement with inline details, and cancellation."""

from __future__ import annotations

from yibao.errors import refuse
from yibao.gateway.dispatcher import Call, transaction
from yibao.gateway.inputs import CancelIn, DrugInfoIn, DrugLineIn, read, read_list
from yibao.gateway.output import settlement_output
from yibao.services.care import FeeInput
from yibao.services.platform import Platform
from yibao.services.settle import SettleRequest, cancel_settlement, settle_claim


def _request(call: Call, *, check_password: bool) -> SettleRequest:
    info = read(DrugInfoIn, call.node("druginfo"), "druginfo")
    lines = read_list(DrugLineIn, call.node("drugdetail"), "drugdetail")
    sns = [x.feedetl_sn for x in lines]
    if len(set(sns)) != len(sns):
        raise refuse("E2204-002", feedetl_sn=next(s for s in sns if sns.count(s) > 1))
    return SettleRequest(
        institution=call.institution,
        psn_no=info.psn_no,
        insutype=info.insutype,
        med_type=info.med_type,
        medfee_sumamt=info.medfee_sumamt,
        acct_used=info.acct_used_flag == "1",
        cert_type=info.mdtrt_cert_type,
        cert_no=info.mdtrt_cert_no,
        begntime=info.begntime,
        infno=call.infno,
        msgid=call.msgid,
        cainfo=call.cainfo,
        check_password=check_password,
        lines=tuple(
            FeeInput(
                x.feedetl_sn,
                x.med_list_codg,
                x.det_item_fee_sumamt,
                x.pric,
                x.cnt,
                x.medins_list_codg,
                None,
                x.fee_ocur_time,
            )
            for x in lines
        ),
    )


@transaction("2101", "药店预结算", writes=False)
def pre_settle(p: Platform, call: Call, tx) -> dict:
    return settlement_output(
        settle_claim(p, _request(call, check_password=False), dry_run=True, tx=tx), with_lines=True
    )


@transaction("2102", "药店结算")
def settle(p: Platform, call: Call, tx) -> dict:
    return settlement_output(settle_claim(p, _request(call, check_password=True), tx=tx), with_lines=True)


@transaction("2103", "药店结算撤销")
def cancel(p: Platform, call: Call, tx) -> dict:
    d = read(CancelIn, call.node("data"), "data")
    view = cancel_settlement(
        p,
        institution=call.institution,
        setl_id=d.setl_id,
        mdtrt_id=d.mdtrt_id,
        psn_no=d.psn_no,
        infno=call.infno,
        tx=tx,
    )
    return settlement_output(view, with_lines=True)
