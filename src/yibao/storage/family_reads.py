"""What a settlement reads about the patient's family, in one round trip.

The granting relatives (active now), their people rows and insurances, the patient's relations and
the year's accumulator: five statements that used to be five round trips. On PostgreSQL they go out
together in one round trip (``storage.raw``), inside the caller's transaction; on SQLite (in-process,
no round trips) one after another.
The payers are found by subquery on the grants, so no statement waits for another's answer. Rows
have exactly the columns of ``family_repo`` / ``people_repo``, so the same domain types are built.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, or_, select

from yibao.care.model import Family
from yibao.family.model import Grant, Relation
from yibao.lifecycle.model import Insurance, Person
from yibao.storage import raw
from yibao.storage.family_repo import _GRANT_COLS
from yibao.storage.people_repo import _INS_COLS, _PERSON_COLS
from yibao.storage.tables import accumulators, insurances, mutual_aid_grants, people, relations

_g = mutual_aid_grants
_ACTIVE = and_(
    _g.c.beneficiary_id == bindparam("pid"),
    _g.c.granted_at <= bindparam("now"),
    or_(_g.c.ended_at.is_(None), _g.c.ended_at > bindparam("now")),
)
_PAYER_IDS = select(_g.c.payer_id).where(_ACTIVE, _g.c.payer_id != bindparam("pid"))
_STATEMENTS = (
    select(*_GRANT_COLS).where(_ACTIVE).order_by(_g.c.position),
    select(*_PERSON_COLS).where(people.c.id.in_(_PAYER_IDS)),
    select(*_INS_COLS).where(insurances.c.person_id.in_(_PAYER_IDS)).order_by(insurances.c.begin, insurances.c.id),
    select(relations.c.of_person_id, relations.c.to_person_id, relations.c.relation).where(
        or_(relations.c.of_person_id == bindparam("pid"), relations.c.to_person_id == bindparam("pid"))
    ),
    select(accumulators.c.deductible_used, accumulators.c.fund_paid).where(
        accumulators.c.person_id == bindparam("pid"),
        accumulators.c.year == bindparam("year"),
        accumulators.c.category == bindparam("category"),
    ),
)
_INS_PERSON = [c.name for c in _INS_COLS].index("person_id")


def family_of(tx, person_id: int, now: datetime, year: int, category: str) -> Family:
    params = {"pid": person_id, "now": now, "year": year, "category": category}
    in_turn = tx.sqlite  # in-process: nothing to gain from a pipeline
    results = [tx.conn.execute(s, params).all() for s in _STATEMENTS] if in_turn else _pipelined(tx, params)
    grants, payers, payer_ins, rels, acc = results
    out_ins: dict[int, list[Insurance]] = {}
    for r in payer_ins:
        out_ins.setdefault(r[_INS_PERSON], []).append(Insurance(*r))
    people_rows = {r[0]: Person(*r) for r in payers}
    return Family(
        [Grant(*r) for r in grants],
        people_rows,
        {pid: out_ins.get(pid, []) for pid in people_rows},
        [Relation(*r) for r in rels],
        (acc[0][0], acc[0][1]) if acc else (0, 0),
    )


def _pipelined(tx, params: dict) -> list[list[tuple]]:
    """The statements in one round trip (``raw.together``: with the writes waiting, if any)."""
    return raw.together(tx, [(s, params) for s in _STATEMENTS])
