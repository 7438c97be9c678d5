"""One entry point for every transaction: envelope in, envelope out, keyed by ``infno``.

Each transaction module registers its handlers with ``@transaction``. A handler reads its input
nodes and calls one service function inside the transaction the dispatcher opened; the same
transaction records the message (institution, ``msgid``, digest of the input, the answer), so a
settlement and the record that it was answered commit together or not at all. Resending a
``msgid`` with the same input returns the recorded answer and changes nothing; with a different
input it is refused. Every refusal is ``infcode -1`` with ``[code] 中文原因`` and writes nothing
(a wrong password's failure count is the one exception, kept on purpose).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import simplejson
from sqlalchemy.exc import DataError, OperationalError

from yibao.errors import DomainError, refuse
from yibao.gateway.envelope import check_envelope, respond
from yibao.services.platform import Platform
from yibao.storage.gateway_repo import TOMBSTONE, Message

log = logging.getLogger("yibao.gateway")
NO_SIGN_IN = {"9001", "1162"}


@dataclass(frozen=True)
class Call:
    infno: str
    msgid: str
    institution: str
    input: dict[str, Any]
    cainfo: str | None
    sign_no: str | None
    envelope: dict[str, Any]

    def node(self, name: str) -> Any:
        if name not in self.input:
            raise refuse("E0000-008", detail=f"input 缺少节点 {name}")
        return self.input[name]


Handler = Callable[[Platform, Call, Any], Any]


@dataclass(frozen=True)
class Transaction:
    infno: str
    name: str
    handler: Handler
    writes: bool  # False: a query or a pre-settlement; it records nothing, not even its msgid


TRANSACTIONS: dict[str, Transaction] = {}


def transaction(infno: str, name: str, *, writes: bool = True) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        TRANSACTIONS[infno] = Transaction(infno, name, fn, writes)
        return fn

    return register


def load_handlers() -> dict[str, Transaction]:
    from yibao.gateway import (  # noqa: F401 - they register themselves
        inpatient,
        outpatient,
        persons,
        pharmacy,
        queries,
        reversal,
        signin,
    )

    return TRANSACTIONS


def digest(infno: str, inp: Any) -> str:
    """What a resend must repeat: the transaction and its input (not times, not the cainfo)."""
    text = simplejson.dumps(inp, sort_keys=True, use_decimal=True, ensure_ascii=False)
    return hashlib.sha256(f"{infno}\n{text}".encode()).hexdigest()


def dispatch(p: Platform, doc: Any, *, received: datetime | None = None, authenticated: str | None = None) -> dict:
    """Answer one request envelope (already parsed JSON). Never raises."""
    load_handlers()
    received = received or p.now()
    admdvs, call = "000000", None
    try:
        env = check_envelope(doc)
        admdvs = env.get("mdtrtarea_admvs") or admdvs
        spec = TRANSACTIONS.get(env["infno"])
        if spec is None:
            raise refuse("E0000-003", infno=env["infno"])
        if authenticated is not None and env["fixmedins_code"] != authenticated:
            raise refuse("E0000-006", detail="报文中的定点医药机构编号与认证身份不一致")
        call = Call(
            env["infno"], env["msgid"], env["fixmedins_code"], env["input"], env.get("cainfo"), env.get("sign_no"), env
        )
        answer = _apply(p, spec, call, admdvs, received)
        _log(call, "ok" if answer["infcode"] == 0 else "replayed")
        return answer
    except DomainError as exc:
        _log(call, exc.code)
        return respond(admdvs, received, error=exc, now=p.now())
    except DataError:  # a value past a column's range that no bound caught: refused, and logged to be bounded
        log.warning("value refused by the database in %s", call.infno if call else "?", exc_info=True)
        return respond(admdvs, received, error=refuse("E0000-009", detail="取值超出数据库允许的范围"), now=p.now())
    except OperationalError:  # a lock wait gave up or the database went away: the caller may retry
        log.exception("database unavailable in %s", call.infno if call else "?")
        return respond(admdvs, received, error=refuse("E0000-098"), now=p.now())
    except Exception:  # never a stack trace to the caller; the log keeps it
        log.exception("internal error in %s", call.infno if call else "?")
        return respond(admdvs, received, error=refuse("E0000-099"), now=p.now())


def _apply(p: Platform, spec: Transaction, call: Call, admdvs: str, received: datetime) -> dict:
    """Claim the msgid, apply the call, record its answer — one transaction.

    The claim comes first: a resend arriving while the original is still running waits on the
    claimed row and then answers with the original's recorded answer, instead of being applied or
    refused a second time. A refused call rolls its claim back, so the msgid may be used again.
    """
    if not spec.writes:
        with p.store.uow(read_only=True) as tx:
            _check_caller(p, tx, call)
            return respond(admdvs, received, spec.handler(p, call, tx), now=p.now())
    wanted = digest(call.infno, call.input)
    with p.store.uow() as tx:
        claim = Message(call.institution, call.msgid, call.infno, wanted, "", None, _psn_no(call), received, None)
        if not tx.gateway.claim(claim):
            return _replay(tx.gateway.message(call.institution, call.msgid), wanted)
        _check_caller(p, tx, call)
        try:
            output = spec.handler(p, call, tx)
        except DomainError as exc:
            if exc.keep_writes:  # the refusal's own writes stand; the msgid stays free for a retry
                tx.gateway.unclaim(call.institution, call.msgid)
            raise
        answer = respond(admdvs, received, output, now=p.now())
        tx.gateway.answer(
            call.institution, call.msgid, simplejson.dumps(answer, use_decimal=True, ensure_ascii=False), _ref(output)
        )
        return answer


def _replay(seen: Message, wanted: str) -> dict:
    if seen.digest == TOMBSTONE:
        raise refuse("E2601-003", msgid=seen.msgid)
    if seen.digest != wanted:
        raise refuse("E0000-005", msgid=seen.msgid)
    return simplejson.loads(seen.answer, use_decimal=True)


def _check_caller(p: Platform, tx, call: Call) -> None:
    inst = tx.care.institution(call.institution)
    if inst is None or not inst.active:
        raise refuse("E0000-004", code=call.institution)
    if p.require_sign_in and call.infno not in NO_SIGN_IN:
        _check_sign_in(tx, call)


def _check_sign_in(tx, call: Call) -> None:
    sign = tx.gateway.sign_in(call.sign_no) if call.sign_no else None
    if sign is None or sign.institution_code != call.institution or sign.signed_out_at is not None:
        raise refuse("E0000-007", sign_no=call.sign_no or "（空）")


def _ref(output: Any) -> str | None:
    """The id a later 2601 needs: the settlement's, else the visit's."""
    if not isinstance(output, dict):
        return None
    for node in ("setlinfo", "data", "result"):
        value = output.get(node)
        if isinstance(value, dict):
            for key in ("setl_id", "mdtrt_id"):
                if value.get(key):
                    return str(value[key])
    return None


def _psn_no(call: Call) -> str | None:
    """The patient named in the (not yet validated) input, when it is a plausible psn_no."""
    for node in call.input.values():
        if isinstance(node, list) and node:
            node = node[0]
        value = node.get("psn_no") if isinstance(node, dict) else None
        if isinstance(value, str) and 0 < len(value) <= 30:
            return value
    return None


def _log(call: Call | None, outcome: str) -> None:
    """One structured line per call; never a name, an ID number or an amount."""
    if call is not None:
        log.debug(
            "call",
            extra={
                "event": "call",
                "infno": call.infno,
                "msgid": call.msgid,
                "institution": call.institution,
                "outcome": outcome,
            },
        )
