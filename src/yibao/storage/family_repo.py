"""Relations, mutual-aid grants (with their event history) and proxy bindings."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import bindparam, or_, select, update

from yibao.family.model import Grant, ProxyBinding, ProxyVerification, Relation
from yibao.storage.tables import grant_events, mutual_aid_grants, proxy_bindings, proxy_verifications, relations

_GRANT_COLS = (
    mutual_aid_grants.c.id,
    mutual_aid_grants.c.payer_id,
    mutual_aid_grants.c.beneficiary_id,
    mutual_aid_grants.c.position,
    mutual_aid_grants.c.granted_at,
    mutual_aid_grants.c.ended_at,
)


_GRANTS_FOR = (
    select(*_GRANT_COLS)
    .where(mutual_aid_grants.c.beneficiary_id == bindparam("v"))
    .order_by(mutual_aid_grants.c.position)
)
_RELATIONS_OF = select(relations.c.of_person_id, relations.c.to_person_id, relations.c.relation).where(
    or_(
        relations.c.of_person_id.in_(bindparam("ids", expanding=True)),
        relations.c.to_person_id.in_(bindparam("ids2", expanding=True)),
    )
)


class FamilyRepo:
    def __init__(self, tx):
        self.tx = tx
        self.conn = tx.conn

    # Relations ---------------------------------------------------------------------------------

    def add_relation(self, of_id: int, to_id: int, relation: str, declared_by: str, now: datetime) -> None:
        self.conn.execute(
            relations.insert().values(
                of_person_id=of_id,
                to_person_id=to_id,
                relation=relation,
                declared_by=declared_by,
                declared_at=now,
            )
        )

    def relations_of(self, person_ids: list[int]) -> list[Relation]:
        if not person_ids:
            return []
        rows = self.conn.execute(_RELATIONS_OF, {"ids": list(person_ids), "ids2": list(person_ids)})
        return [Relation(*r) for r in rows]

    # Grants ------------------------------------------------------------------------------------

    def grants_for(self, beneficiary_id: int, *, active_at: datetime | None = None) -> list[Grant]:
        grants = [Grant(*r) for r in self.conn.execute(_GRANTS_FOR, {"v": beneficiary_id})]
        return [g for g in grants if active_at is None or g.active_at(active_at)]

    def grants_by(self, payer_id: int, *, active_at: datetime | None = None) -> list[Grant]:
        stmt = select(*_GRANT_COLS).where(mutual_aid_grants.c.payer_id == payer_id)
        grants = [Grant(*r) for r in self.conn.execute(stmt.order_by(mutual_aid_grants.c.granted_at))]
        return [g for g in grants if active_at is None or g.active_at(active_at)]

    def add_grant(self, payer_id: int, beneficiary_id: int, position: int, now: datetime) -> Grant:
        pk = self.conn.execute(
            mutual_aid_grants.insert().values(
                payer_id=payer_id, beneficiary_id=beneficiary_id, position=position, granted_at=now
            )
        ).inserted_primary_key[0]
        self.event(beneficiary_id, "granted", now, grant_id=pk, payer_id=payer_id, detail={"position": position})
        return Grant(pk, payer_id, beneficiary_id, position, now)

    def end_grant(self, grant: Grant, now: datetime, reason: str) -> None:
        self.conn.execute(
            update(mutual_aid_grants).where(mutual_aid_grants.c.id == grant.id).values(ended_at=now, end_reason=reason)
        )
        self.event(
            grant.beneficiary_id,
            "revoked" if reason == "revoked" else "ended",
            now,
            grant_id=grant.id,
            payer_id=grant.payer_id,
            detail={"reason": reason},
        )

    def set_position(self, grant_id: int, position: int) -> None:
        self.conn.execute(update(mutual_aid_grants).where(mutual_aid_grants.c.id == grant_id).values(position=position))

    def event(self, beneficiary_id: int, event: str, now: datetime, *, grant_id=None, payer_id=None, detail=None):
        self.conn.execute(
            grant_events.insert().values(
                grant_id=grant_id,
                payer_id=payer_id,
                beneficiary_id=beneficiary_id,
                event=event,
                detail=json.dumps(detail, ensure_ascii=False) if detail else None,
                at=now,
            )
        )

    def events_for(self, person_id: int) -> list[dict]:
        rows = self.conn.execute(
            select(grant_events)
            .where(or_(grant_events.c.beneficiary_id == person_id, grant_events.c.payer_id == person_id))
            .order_by(grant_events.c.id)
        )
        return [dict(r._mapping) for r in rows]

    # Proxy bindings ----------------------------------------------------------------------------

    def proxies_of(self, holder_id: int, *, active: bool = True) -> list[ProxyBinding]:
        stmt = select(proxy_bindings).where(proxy_bindings.c.holder_id == holder_id)
        if active:
            stmt = stmt.where(proxy_bindings.c.unbound_at.is_(None))
        return [ProxyBinding(*r) for r in self.conn.execute(stmt.order_by(proxy_bindings.c.id))]

    def proxy_holders_of(self, member_id: int) -> list[ProxyBinding]:
        stmt = select(proxy_bindings).where(
            proxy_bindings.c.member_id == member_id, proxy_bindings.c.unbound_at.is_(None)
        )
        return [ProxyBinding(*r) for r in self.conn.execute(stmt)]

    def add_proxy(self, holder_id: int, member_id: int, relation: str, verified_by: str, now: datetime) -> None:
        self.conn.execute(
            proxy_bindings.insert().values(
                holder_id=holder_id,
                member_id=member_id,
                relation=relation,
                verified_by=verified_by,
                bound_at=now,
            )
        )

    def end_proxy(self, binding_id: int, now: datetime) -> None:
        self.conn.execute(update(proxy_bindings).where(proxy_bindings.c.id == binding_id).values(unbound_at=now))

    # 亲情账户 verifications ----------------------------------------------------------------------

    def add_verification(self, holder_id: int, member_id: int, relation: str, now: datetime) -> int:
        return self.conn.execute(
            proxy_verifications.insert().values(
                holder_id=holder_id, member_id=member_id, relation=relation, status="pending", requested_at=now
            )
        ).inserted_primary_key[0]

    def verification(self, pk: int, *, lock: bool = False) -> ProxyVerification | None:
        stmt = select(proxy_verifications).where(proxy_verifications.c.id == pk)
        row = self.conn.execute(self.tx.for_update(stmt) if lock else stmt).first()
        return ProxyVerification(*row) if row else None

    def verifications(
        self, *, status: str | None = None, person_id: int | None = None, limit: int = 200
    ) -> list[ProxyVerification]:
        """Newest first; ``person_id``: those where the person is the holder or the member."""
        v = proxy_verifications.c
        stmt = select(proxy_verifications)
        if status is not None:
            stmt = stmt.where(v.status == status)
        if person_id is not None:
            stmt = stmt.where(or_(v.holder_id == person_id, v.member_id == person_id))
        rows = self.conn.execute(stmt.order_by(v.requested_at.desc(), v.id.desc()).limit(limit))
        return [ProxyVerification(*r) for r in rows]

    def decide_verification(
        self, pk: int, status: str, now: datetime, *, via: str, by: str, note: str | None = None
    ) -> None:
        self.conn.execute(
            update(proxy_verifications)
            .where(proxy_verifications.c.id == pk)
            .values(status=status, decided_at=now, decided_via=via, decided_by=by, note=note)
        )
