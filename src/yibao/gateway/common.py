"""What the settlement transactions (21xx, 22xx, 23xx) share: the request every settlement input
carries under the same national names, and the negated answer a cancellation gives."""

from __future__ import annotations

from typing import Any

from yibao.gateway.dispatcher import Call
from yibao.gateway.output import settlement_output
from yibao.services.platform import Platform
from yibao.services.settle import SettleRequest, cancel_settlement


def settle_request(call: Call, node: Any, *, check_password: bool, **specific: Any) -> SettleRequest:
    """``psn_no``, ``insutype``, ``medfee_sumamt``, ``acct_used_flag`` and the 就诊凭证, plus what the
    transaction adds (``med_type``, ``mdtrt_id``, ``chrg_bchno``, inline lines, ``mid_setl_flag``)."""
    return SettleRequest(
        institution=call.institution,
        psn_no=node.psn_no,
        insutype=node.insutype,
        medfee_sumamt=node.medfee_sumamt,
        acct_used=node.acct_used_flag == "1",
        cert_type=node.mdtrt_cert_type,
        cert_no=node.mdtrt_cert_no,
        infno=call.infno,
        msgid=call.msgid,
        cainfo=call.cainfo,
        check_password=check_password,
        **specific,
    )


def cancel_answer(p: Platform, call: Call, tx, d: Any, *, with_lines: bool = False) -> dict:
    view = cancel_settlement(
        p,
        institution=call.institution,
        setl_id=d.setl_id,
        mdtrt_id=d.mdtrt_id,
        psn_no=d.psn_no,
        infno=call.infno,
        tx=tx,
    )
    return settlement_output(view, with_lines=with_lines)
