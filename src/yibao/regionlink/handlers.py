"""What this instance does with a request from a peer: each kind goes to a service, exactly once.

Phase 1 answers ``link.ping``; phase 2 adds the person query, reserve/post/void, cancel and the
clearing statement here, each as a service call inside ``apply_once``.
"""

from __future__ import annotations

from yibao import faults
from yibao.errors import refuse
from yibao.regionlink.messages import Envelope
from yibao.services import clearing, crossregion
from yibao.services import regionlink as service
from yibao.services.platform import Platform


def handler_for(p: Platform):
    """The link's handler bound to this platform (called in a worker thread: the store is sync)."""

    def handle(env: Envelope) -> dict:
        if p.region is not None and env.to_region != p.region:
            raise refuse("E7601-002", detail=f"报文发往 {env.to_region}，本实例是 {p.region}")
        work = KINDS.get(env.kind)
        if work is None:
            raise refuse("E8001-003", detail=f"跨统筹区报文 {env.kind}")
        outcome = service.apply_once(
            p, msg_id=env.msg_id, from_region=env.from_region, kind=env.kind, handler=lambda tx: work(p, tx, env)
        )
        return outcome.answer

    return handle


def _ping(p: Platform, tx, env: Envelope) -> dict:
    return {"region": p.region, "at": p.now().isoformat()}


def _person(p: Platform, tx, env: Envelope) -> dict:
    return crossregion.person_entitlement(p, tx, env.body, env.from_region)


def _quote(p: Platform, tx, env: Envelope) -> dict:
    return crossregion.quote(p, tx, env.body, env.from_region)


def _reserve(p: Platform, tx, env: Envelope) -> dict:
    return crossregion.reserve(p, tx, env.body, env.from_region)


def _post(p: Platform, tx, env: Envelope) -> dict:
    faults.point("insured.before_post")
    return crossregion.post(p, tx, env.body["reservation_id"], env.from_region, env.body.get("setl_ref"))


def _void(p: Platform, tx, env: Envelope) -> dict:
    return crossregion.void(p, tx, env.body["reservation_id"], env.from_region, env.body["reason"])


def _cancel(p: Platform, tx, env: Envelope) -> dict:
    return crossregion.cancel(p, tx, env.body["reservation_id"], env.from_region, int(env.body.get("revision", 0)))


def _reinstate(p: Platform, tx, env: Envelope) -> dict:
    return crossregion.reinstate(p, tx, env.body["reservation_id"], env.from_region, int(env.body.get("revision", 0)))


def _clearing(p: Platform, tx, env: Envelope) -> dict:
    return clearing.receive_statement(p, tx, env.body, env.from_region)


KINDS = {
    "clearing.statement": _clearing,
    "link.ping": _ping,
    "person.query": _person,
    "quote": _quote,
    "reserve": _reserve,
    "post": _post,
    "void": _void,
    "cancel": _cancel,
    "reinstate": _reinstate,
}
