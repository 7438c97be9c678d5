"""An institution's sessions and messages: 签到/签退 (9001/9002) and 冲正 (2601) of a recorded message."""

from __future__ import annotations

import secrets
from datetime import datetime

import simplejson

from yibao.care.messages import TOMBSTONE, Message, SignIn
from yibao.errors import refuse
from yibao.nhsa.infno import CANCELLATION_INFNOS, SETTLEMENT_INFNOS
from yibao.services import care
from yibao.services.platform import Platform
from yibao.services.settle import cancel_settlement, reinstate_settlement
from yibao.storage.uow import Tx

REVERSIBLE = SETTLEMENT_INFNOS | CANCELLATION_INFNOS | {"2401"}


def sign_in(
    platform: Platform, institution: str, opter_no: str | None, mac: str | None, ip: str | None, *, tx: Tx
) -> SignIn:
    now = platform.now()
    sign_no = f"{now:%Y%m%d%H%M%S}{secrets.randbelow(10**16):016d}"
    signed = SignIn(sign_no, institution, opter_no, mac, ip, now, None)
    tx.gateway.add_sign_in(signed)
    return signed


def sign_out(platform: Platform, institution: str, sign_no: str, *, tx: Tx) -> datetime:
    found = tx.gateway.sign_in(sign_no)
    if found is None or found.institution_code != institution:
        raise refuse("E9001-001", sign_no=sign_no)
    now = platform.now()
    if found.signed_out_at is None:
        tx.gateway.sign_out(sign_no, now)
    return now


def reverse(platform: Platform, institution: str, msgid: str, omsgid: str, oinfno: str, psn_no: str, *, tx: Tx) -> str:
    """Undo the message ``omsgid`` (a settlement, a cancellation, an admission); one not yet arrived
    is recorded as reversed so that it is refused when it comes. Returns the result in words."""
    if oinfno not in REVERSIBLE:
        raise refuse("E2601-004", oinfno=oinfno)
    original = tx.gateway.message(institution, omsgid, lock=True)
    if original is None:
        body = simplejson.dumps({"reversed_by": msgid})
        if tx.gateway.claim(Message(institution, omsgid, oinfno, TOMBSTONE, body, None, psn_no, platform.now(), msgid)):
            return "原交易未办理，已登记冲正"
        # The original was in flight and has just committed: reverse it like any other.
        original = tx.gateway.message(institution, omsgid, lock=True)
    if original.infno != oinfno:
        raise refuse("E2601-001", detail=f"原交易编号为{original.infno}")
    if original.psn_no and original.psn_no != psn_no:
        raise refuse("E2601-001", detail="人员编号与原交易不符")
    if original.reversed_by or original.digest == TOMBSTONE:
        raise refuse("E2601-002", msgid=omsgid)
    if oinfno in SETTLEMENT_INFNOS:
        cancel_settlement(
            platform, institution=institution, setl_id=original.ref, mdtrt_id=None, psn_no=psn_no, infno="2601", tx=tx
        )
    elif oinfno in CANCELLATION_INFNOS:
        reinstate_settlement(platform, institution=institution, setl_id=original.ref, psn_no=psn_no, tx=tx)
    else:
        care.withdraw_admission(platform, institution, original.ref, psn_no, tx=tx)
    tx.gateway.mark_reversed(institution, omsgid, msgid)
    return "冲正成功"


# The gateway's message record: every written call holds its msgid from its first round trip to its
# commit, and records the message with its answer in the same transaction as its work
# (``gateway.dispatcher._apply_written``).


def hold(tx: Tx, institution: str, msgid: str, *, sign_no: str | None = None) -> None:
    """Hold ``msgid`` for the call being applied, until its unit of work ends: a resend arriving
    meanwhile waits, then finds the answer recorded. Sent with the institution's credential read;
    ``held`` gives what was recorded before. ``sign_no``: the session ``check_sign_in`` will look
    at, read in the same round trip."""
    tx.gateway.hold(institution, msgid, sign_no=sign_no)


def held(tx: Tx, institution: str, msgid: str) -> Message | None:
    """The message recorded under the held msgid before this call (a resend), or None."""
    return tx.gateway.held(institution, msgid)


def record(tx: Tx, message: Message) -> None:
    """Keep the answered message (a resend is answered with it; ``ref`` is the id a 2601 needs);
    written with the commit."""
    tx.gateway.record(message)


def check_sign_in(tx: Tx, institution: str, sign_no: str | None) -> None:
    """A call needing a session must name one of this institution's, not yet signed out (9001/9002)."""
    sign = tx.gateway.sign_in(sign_no) if sign_no else None
    if sign is None or sign.institution_code != institution or sign.signed_out_at is not None:
        raise refuse("E0000-007", sign_no=sign_no or "（空）")
