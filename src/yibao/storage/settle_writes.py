"""A settlement's row (and a pharmacy purchase's visit), written with as few round trips as can be.

The settlement row needs the visit's generated id; on PostgreSQL a data-modifying CTE hands it over
inside one statement (built once per set of columns, so prepared once per connection). SQLite writes
the two rows one after the other: in-process there is no round trip to save.

Better still, on PostgreSQL the ids can be reserved ahead (``reserve_ids``: the sequences' next
values, read in the same round trip as an earlier statement); the rows are then written ``later``,
with the ledger entry that names the settlement, in one round trip.
"""

from __future__ import annotations

from sqlalchemy import Sequence, bindparam, insert, select

from yibao.storage import raw
from yibao.storage.tables import settlements, visits

_BUILT: dict[tuple[tuple[str, ...], tuple[str, ...]], object] = {}


def _statement(visit_keys: tuple[str, ...], setl_keys: tuple[str, ...]):
    v = (
        insert(visits)
        .values({k: bindparam(f"v_{k}", type_=visits.c[k].type) for k in visit_keys})
        .returning(visits.c.id)
        .cte("v")
    )
    row = select(v.c.id, *[bindparam(f"s_{k}", type_=settlements.c[k].type) for k in setl_keys])
    return (
        insert(settlements)
        .from_select(["visit_id", *setl_keys], row)
        .returning(settlements.c.id, settlements.c.visit_id)
    )


def _with_defaults(table, values: dict, *skip: str) -> dict:
    """The columns' scalar defaults filled in (an INSERT … SELECT does not apply them)."""
    out = dict(values)
    for c in table.c:
        if c.name not in out and c.name not in skip and c.default is not None and c.default.is_scalar:
            out[c.name] = c.default.arg
    return out


def add_visit_and_settlement(tx, visit: dict, settlement: dict) -> tuple[int, int]:
    """(visit id, settlement id) of the rows just written; ``settlement`` without its ``visit_id``."""
    if tx.sqlite:
        visit_id = tx.care.add_visit(**visit)
        return visit_id, tx.care.add_settlement(visit_id=visit_id, **settlement)
    stmt, params = _both(visit, settlement)
    setl_id, visit_id = raw.first(tx, stmt, params)
    return visit_id, setl_id


def _both(visit: dict, settlement: dict):
    """The one statement writing both rows, and its parameters."""
    visit, settlement = _with_defaults(visits, visit), _with_defaults(settlements, settlement, "visit_id")
    key = (tuple(visit), tuple(settlement))
    stmt = _BUILT.get(key)
    if stmt is None:
        stmt = _BUILT[key] = _statement(*key)
    return stmt, {f"v_{k}": value for k, value in visit.items()} | {f"s_{k}": value for k, value in settlement.items()}


# Ids reserved ahead (PostgreSQL) --------------------------------------------------------------------

_NEXT_SETTLEMENT = select(Sequence("settlements_id_seq").next_value())  # the serial columns' sequences
_NEXT_BOTH = select(Sequence("settlements_id_seq").next_value(), Sequence("visits_id_seq").next_value())


def reserve_ids(tx, *, visit: bool) -> raw.Ahead | None:
    """The next settlement id (and visit id, ``visit``), read ahead: they arrive with the unit of
    work's next statement (``Ahead.rows()[0]``: ``(settlement id, visit id)`` or ``(settlement id,)``).
    None on SQLite, which keeps writing the rows as they come."""
    if tx.sqlite:
        return None
    return raw.ahead(tx, _NEXT_BOTH if visit else _NEXT_SETTLEMENT, {})


def add_reserved(tx, ids: raw.Ahead, settlement: dict, visit: dict | None = None, visit_id: int | None = None):
    """(visit id, settlement id): the rows written ``later`` under the ids reserved (``reserve_ids``)
    — with the next statement, in the same round trip. ``visit``: a purchase's own visit; else the
    settlement's visit is ``visit_id``."""
    reserved = ids.rows()[0]
    pk = reserved[0]
    if visit is not None:  # both rows in one statement, as ``add_visit_and_settlement``
        visit_id = reserved[1]
        raw.later(tx, *_both({"id": visit_id, **visit}, {"id": pk, **settlement}))
    else:
        raw.insert_later(tx, settlements, [_with_defaults(settlements, {"id": pk, "visit_id": visit_id, **settlement})])
    return visit_id, pk
