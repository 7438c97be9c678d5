"""【2601】冲正: undo a transaction the institution is not sure went through.

A timeout leaves an HIS not knowing whether a settlement was applied; it sends 2601 naming the
original ``msgid``. If it was applied it is reversed (a settlement cancelled, a cancellation
reinstated, an admission withdrawn); if it never arrived, the ``msgid`` is marked so that a late
arrival is refused rather than applied after its own reversal.
"""

from __future__ import annotations

from yibao.gateway.registry import Call, transaction
from yibao.services import messages
from yibao.services.platform import Platform


@transaction("2601", "冲正交易")
def reverse(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    result = messages.reverse(p, call.institution, call.msgid, d.omsgid, d.oinfno, d.psn_no, tx=tx)
    return {"data": {"omsgid": d.omsgid, "oinfno": d.oinfno, "rever_rslt": result}}
