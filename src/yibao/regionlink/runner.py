"""The link inside ``yibao serve --nats``: connect, answer peers, and run the two sweeps.

* The responder: this region's requests, each applied once through ``handlers``.
* The 参保地's deadline job: every pending reservation past its ``expires_at`` is voided — once
  every request already in the stream has been applied.
* The 就医地's sweep: settlements booked here whose post (or cancellation) the 参保地 has not
  confirmed are sent again (same message id: applied once) — at start, then periodically.
"""

from __future__ import annotations

import logging
import os
import threading

from yibao.regionlink.client import LinkClient
from yibao.regionlink.handlers import handler_for
from yibao.regionlink.link import RegionLink, Subjects
from yibao.services import crossregion
from yibao.services.platform import Platform

log = logging.getLogger("yibao.regionlink")


def start_link(p: Platform, servers: list[str], *, prefix: str = "yibao", sweep_s: float | None = None) -> LinkClient:
    """Connect (creating the streams if need be), answer peers, start the sweeps. The sweep's period
    and the consumer's ``ack_wait`` may be shortened through the environment (the fault tests do:
    ``YIBAO_LINK_SWEEP_S``, ``YIBAO_LINK_ACK_WAIT_S``)."""
    if p.region is None:
        raise ValueError("--nats 需要 --region：链路上的每个实例代表一个统筹区")
    sweep_s = sweep_s or float(os.environ.get("YIBAO_LINK_SWEEP_S", "5"))
    ack_wait_s = float(os.environ.get("YIBAO_LINK_ACK_WAIT_S", "30"))
    client = LinkClient(RegionLink(p.region, servers, Subjects(prefix), ack_wait_s=ack_wait_s))
    crossregion.attach(p, client)
    client.serve(handler_for(p))
    stop = threading.Event()

    def sweep() -> None:
        while not stop.wait(sweep_s):
            sweep_once(p)

    client.sweeper_stop = stop
    threading.Thread(target=sweep, name=f"regionlink-sweep-{p.region}", daemon=True).start()
    threading.Thread(target=lambda: sweep_once(p), name="regionlink-first-sweep", daemon=True).start()
    return client


def sweep_once(p: Platform) -> None:
    """One round of both sweeps. The deadline job runs only when every request already in this
    region's stream has been applied: a post the 就医地 sent before the deadline (while this
    instance was down, say) is applied before the deadline is judged, so it is never refused."""
    try:
        if backlog(p):
            crossregion.resolve_awaiting(p)
            return
        voided = crossregion.expire_reservations(p)
        if voided:
            log.warning("到期作废的跨统筹区预留：%d 笔", len(voided))
        crossregion.resolve_awaiting(p)
    except Exception:  # the next sweep tries again; the server keeps serving
        log.exception("跨统筹区清扫失败")


def backlog(p: Platform) -> int:
    """Requests for this region not yet applied (not delivered, or delivered and not acknowledged)."""
    try:
        h = p.link.health()
    except Exception:  # the broker is away: judge no deadline until it is back
        return 1
    if not h.connected:
        return 1
    return (h.pending or 0) + (h.unacknowledged or 0)
