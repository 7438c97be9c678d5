"""Peer regions and the applied-message record of the region link."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from yibao.policy.model import Applied, Peer
from yibao.storage.tables import region_messages, region_peers


class RegionLinkRepo:
    def __init__(self, tx):
        self.tx = tx
        self.conn = tx.conn

    def put_peer(self, admdvs: str, name: str, now: datetime) -> bool:
        """Add the peer or rename and reactivate it; True when it is new."""
        if self.peer(admdvs) is None:
            self.conn.execute(region_peers.insert().values(admdvs=admdvs, name=name, added_at=now, active=True))
            return True
        self.conn.execute(region_peers.update().where(region_peers.c.admdvs == admdvs).values(name=name, active=True))
        return False

    def peer(self, admdvs: str) -> Peer | None:
        r = self.conn.execute(select(region_peers).where(region_peers.c.admdvs == admdvs)).first()
        return Peer(*r) if r else None

    def peers(self) -> list[Peer]:
        return [Peer(*r) for r in self.conn.execute(select(region_peers).order_by(region_peers.c.admdvs))]

    def seen(self, admdvs: str, at: datetime) -> None:
        self.conn.execute(region_peers.update().where(region_peers.c.admdvs == admdvs).values(last_seen_at=at))

    def applied(self, msg_id: str, *, lock: bool = False) -> Applied | None:
        stmt = select(region_messages).where(region_messages.c.msg_id == msg_id)
        r = self.conn.execute(self.tx.for_update(stmt) if lock else stmt).first()
        return Applied(*r) if r else None

    def claim(self, msg_id: str, from_region: str, kind: str, now: datetime) -> bool:
        """Insert the message's record (answer still empty); False when it is already there. Inside
        a savepoint, so that a concurrent twin's unique violation leaves the transaction usable."""
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    region_messages.insert().values(
                        msg_id=msg_id, from_region=from_region, kind=kind, received_at=now, answer="", deliveries=1
                    )
                )
        except IntegrityError:
            return False
        return True

    def answer(self, msg_id: str, answer: str) -> None:
        self.conn.execute(region_messages.update().where(region_messages.c.msg_id == msg_id).values(answer=answer))

    def redelivered(self, msg_id: str) -> None:
        self.conn.execute(
            region_messages.update()
            .where(region_messages.c.msg_id == msg_id)
            .values(deliveries=region_messages.c.deliveries + 1)
        )

    def applied_count(self) -> int:
        return self.conn.execute(select(func.count()).select_from(region_messages)).scalar_one()
