"""The region link's jobs on this instance's store: peers, and applying a message exactly once.

JetStream removes a duplicate published inside its window (``Nats-Msg-Id``); past the window, or
when a consumer redelivers a message it never saw acknowledged, the same message arrives again.
``apply_once`` makes that harmless: the message's record is claimed in the same unit of work as
its effect, so the effect and the record commit together or not at all, and a message that
arrives again gets the answer it got the first time without touching anything else.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from yibao.errors import DomainError, refuse
from yibao.policy.model import Peer
from yibao.services.platform import Platform

Handler = Callable[[Any], dict]  # the unit of work's Tx → a JSON-able answer


@dataclass(frozen=True)
class Outcome:
    answer: dict
    fresh: bool  # False: the message had been applied before; ``answer`` is the stored one


def add_peer(platform: Platform, admdvs: str, name: str) -> bool:
    """Register (or reactivate) a peer region; True when it is new."""
    if not (isinstance(admdvs, str) and len(admdvs) == 6 and admdvs.isdigit()):
        raise refuse("E7601-002", detail=f"医保区划应为6位数字：{admdvs!r}")
    if admdvs == platform.region:
        raise refuse("E7601-002", detail="对端统筹区不能是本实例自己的统筹区")
    if not name or len(name) > 200:
        raise refuse("E7601-002", detail="对端统筹区须有名称（至多200字）")
    with platform.store.uow() as tx:
        new = tx.regionlink.put_peer(admdvs, name, platform.now())
    _reference_policy(platform, admdvs)
    return new


def _reference_policy(platform: Platform, admdvs: str) -> None:
    """A shipped peer's policy is kept here as a reference copy: the peer's insured are people of
    that region in this store (their visits, their settlements as the 就医地 booked them). The
    calculation is never made with it here — the 参保地 makes it (services.crossregion)."""
    from yibao.services.regions import install_region, resolve_region

    try:
        resolve_region(admdvs)
    except DomainError:
        return
    install_region(platform, admdvs)


def peers(platform: Platform) -> list[Peer]:
    with platform.store.uow(read_only=True) as tx:
        return tx.regionlink.peers()


def apply_once(platform: Platform, *, msg_id: str, from_region: str, kind: str, handler: Handler) -> Outcome:
    """Run ``handler`` for this message unless it ran before; a refusal is an answer too (recorded,
    with the handler's writes rolled back), so a resend is refused the same way."""
    if not msg_id or len(msg_id) > 80:
        raise refuse("E7601-002", detail=f"报文ID无效：{msg_id!r}")
    now = platform.now()
    with platform.store.uow() as tx:
        peer = tx.regionlink.peer(from_region)
        if peer is None or not peer.active:
            raise refuse("E7601-001", admdvs=from_region)
        if not tx.regionlink.claim(msg_id, from_region, kind, now):
            row = tx.regionlink.applied(msg_id, lock=True)
            tx.regionlink.redelivered(msg_id)
            return Outcome(json.loads(row.answer), False)
        try:
            with tx.savepoint():
                answer = {"ok": True, **handler(tx)}
        except DomainError as exc:
            answer = {"ok": False, "code": exc.code, "message": exc.message}
        tx.regionlink.answer(msg_id, json.dumps(answer, ensure_ascii=False, sort_keys=True))
        tx.regionlink.seen(from_region, now)
        return Outcome(answer, True)


def applied_count(platform: Platform) -> int:
    """How many distinct cross-region messages this instance has applied (for health)."""
    with platform.store.uow(read_only=True) as tx:
        return tx.regionlink.applied_count()
