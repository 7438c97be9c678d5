"""【2101】–【2103】药店: pre-settlement and settlement with inline details, and cancellation."""

from __future__ import annotations

from yibao.errors import refuse
from yibao.gateway.common import (
    cancel_answer,
    check_person,
    fee_input,
    password_ahead,
    person_fields,
    settle_request,
)
from yibao.gateway.registry import Call, transaction
from yibao.nhsa.output import settlement_output
from yibao.services.platform import Platform
from yibao.services.settle import SettleRequest, settle_claim

FILLED = (*person_fields("druginfo"), "drugdetail.fee_ocur_time")


def _request(p: Platform, call: Call, tx, *, check_password: bool) -> SettleRequest:
    info = call.read("druginfo")
    lines = call.rows("drugdetail", min_rows=1)
    check_person(p, call, tx, info, day=info.begntime.date())
    sns = [x.feedetl_sn for x in lines]
    if len(set(sns)) != len(sns):
        raise refuse("E2204-002", feedetl_sn=next(s for s in sns if sns.count(s) > 1))
    inline = tuple(fee_input(x, chrg_bchno=None, init_sn=None) for x in lines)
    return settle_request(
        call, info, check_password=check_password, med_type=info.med_type, begntime=info.begntime, lines=inline
    )


@transaction("2101", "药店预结算", writes=False, filled=FILLED)
def pre_settle(p: Platform, call: Call, tx) -> dict:
    view = settle_claim(p, _request(p, call, tx, check_password=False), dry_run=True, tx=tx)
    return settlement_output(view, with_lines=True)


@transaction("2102", "药店结算", filled=FILLED, ahead=password_ahead)
def settle(p: Platform, call: Call, tx) -> dict:
    return settlement_output(settle_claim(p, _request(p, call, tx, check_password=True), tx=tx), with_lines=True)


@transaction("2103", "药店结算撤销", filled=("data.mdtrt_id",))
def cancel(p: Platform, call: Call, tx) -> dict:
    return cancel_answer(p, call, tx, call.read("data"), with_lines=True)
