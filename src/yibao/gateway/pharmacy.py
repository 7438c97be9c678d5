"""【2101】–【2103】药店: pre-settlement and settlement with inline details, and cancellation."""

from __future__ import annotations

from yibao.errors import refuse
from yibao.gateway.common import cancel_answer, settle_request
from yibao.gateway.dispatcher import Call, transaction
from yibao.gateway.inputs import CancelIn, DrugInfoIn, DrugLineIn, read, read_list
from yibao.gateway.output import settlement_output
from yibao.services.care import FeeInput
from yibao.services.platform import Platform
from yibao.services.settle import SettleRequest, settle_claim


def _request(call: Call, *, check_password: bool) -> SettleRequest:
    info = read(DrugInfoIn, call.node("druginfo"), "druginfo")
    lines = read_list(DrugLineIn, call.node("drugdetail"), "drugdetail")
    sns = [x.feedetl_sn for x in lines]
    if len(set(sns)) != len(sns):
        raise refuse("E2204-002", feedetl_sn=next(s for s in sns if sns.count(s) > 1))
    inline = tuple(
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
    )
    return settle_request(
        call, info, check_password=check_password, med_type=info.med_type, begntime=info.begntime, lines=inline
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
    return cancel_answer(p, call, tx, read(CancelIn, call.node("data"), "data"), with_lines=True)
