"""【2601】冲正: undo a transaction the institution is not sure went through.

A timeout leaves an HIS not knowing whether a settlement was applied; it sends 2601 naming the
original ``msgid``. If it was applied it is reversed (a settlement cancelled, a cancellation
reinstated, an admission withdrawn); if it never arrived, the ``msgid`` is marked so that a late
arrival is refused rather than applied after its own reversal.
"""

from __future__ import annotations

import simplejson

from yibao.care.messages import TOMBSTONE, Message
from yibao.errors import refuse
from yibao.gateway.registry import Call, transaction
from yibao.nhsa.infno import CANCELLATION_INFNOS, SETTLEMENT_INFNOS
from yibao.services import care
from yibao.services.platform import Platform
from yibao.services.settle import cancel_settlement, reinstate_settlement

REVERSIBLE = SETTLEMENT_INFNOS | CANCELLATION_INFNOS | {"2401"}


@transaction("2601", "冲正交易")
def reverse(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    if d.oinfno not in REVERSIBLE:
        raise refuse("E2601-004", oinfno=d.oinfno)
    original = tx.gateway.message(call.institution, d.omsgid, lock=True)
    if original is None:
        tombstone = Message(
            call.institution,
            d.omsgid,
            d.oinfno,
            TOMBSTONE,
            simplejson.dumps({"reversed_by": call.msgid}),
            None,
            d.psn_no,
            p.now(),
            call.msgid,
        )
        if tx.gateway.claim(tombstone):
            return {"data": {"omsgid": d.omsgid, "oinfno": d.oinfno, "rever_rslt": "原交易未办理，已登记冲正"}}
        # The original was in flight and has just committed: reverse it like any other.
        original = tx.gateway.message(call.institution, d.omsgid, lock=True)
    if original.infno != d.oinfno:
        raise refuse("E2601-001", detail=f"原交易编号为{original.infno}")
    if original.psn_no and original.psn_no != d.psn_no:
        raise refuse("E2601-001", detail="人员编号与原交易不符")
    if original.reversed_by:
        raise refuse("E2601-002", msgid=d.omsgid)
    if original.digest == TOMBSTONE:
        raise refuse("E2601-002", msgid=d.omsgid)
    if d.oinfno in SETTLEMENT_INFNOS:
        cancel_settlement(
            p, institution=call.institution, setl_id=original.ref, mdtrt_id=None, psn_no=d.psn_no, infno="2601", tx=tx
        )
    elif d.oinfno in CANCELLATION_INFNOS:
        reinstate_settlement(p, institution=call.institution, setl_id=original.ref, psn_no=d.psn_no, tx=tx)
    else:
        care.withdraw_admission(p, call.institution, original.ref, d.psn_no, tx=tx)
    tx.gateway.mark_reversed(call.institution, d.omsgid, call.msgid)
    return {"data": {"omsgid": d.omsgid, "oinfno": d.oinfno, "rever_rslt": "冲正成功"}}
