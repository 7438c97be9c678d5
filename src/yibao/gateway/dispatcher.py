"""One entry point for every transaction: envelope in, envelope out, keyed by ``infno``.

Each transaction module registers its handlers with ``@transaction``. A handler reads its input
nodes, calls one service function and formats the output; every refusal becomes ``infcode -1``
with ``[code] 中文原因`` and, because each service is one unit of work, nothing written. Every
service checks the calling institution (``E0000-004``) inside its own transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from yibao.errors import DomainError, refuse
from yibao.gateway.envelope import check_envelope, respond
from yibao.services.platform import Platform

log = logging.getLogger("yibao.gateway")


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


Handler = Callable[[Platform, Call], Any]


@dataclass(frozen=True)
class Transaction:
    infno: str
    name: str
    handler: Handler
    writes: bool


TRANSACTIONS: dict[str, Transaction] = {}


def transaction(infno: str, name: str, *, writes: bool = True) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        TRANSACTIONS[infno] = Transaction(infno, name, fn, writes)
        return fn

    return register


def _load_handlers() -> None:
    from yibao.gateway import outpatient, persons, pharmacy  # noqa: F401 - they register themselves


def dispatch(p: Platform, doc: Any, *, received: datetime | None = None, authenticated: str | None = None) -> dict:
    """Answer one request envelope (already parsed JSON). Never raises."""
    if not TRANSACTIONS:
        _load_handlers()
    received = received or p.now()
    admdvs = "000000"
    call: Call | None = None
    try:
        env = check_envelope(doc)
        admdvs = env.get("mdtrtarea_admvs") or admdvs
        tx = TRANSACTIONS.get(env["infno"])
        if tx is None:
            raise refuse("E0000-003", infno=env["infno"])
        if authenticated is not None and env["fixmedins_code"] != authenticated:
            raise refuse("E0000-006", detail="报文中的定点医药机构编号与认证身份不一致")
        call = Call(
            env["infno"], env["msgid"], env["fixmedins_code"], env["input"], env.get("cainfo"), env.get("sign_no"), env
        )
        output = tx.handler(p, call)
        answer = respond(admdvs, received, output, now=p.now())
        _log(call, "ok")
        return answer
    except DomainError as exc:
        _log(call, exc.code)
        return respond(admdvs, received, error=exc, now=p.now())
    except Exception:  # never a stack trace to the caller; the log keeps it
        log.exception("internal error in %s", call.infno if call else "?")
        return respond(
            admdvs, received, error=DomainError("E0000-099", "系统内部错误，请稍后重试或联系经办机构"), now=p.now()
        )


def _log(call: Call | None, outcome: str) -> None:
    if call is not None:
        log.info("infno=%s msgid=%s fixmedins=%s outcome=%s", call.infno, call.msgid, call.institution, outcome)
