"""A pharmacy purchase's visit and its settlement, written in one statement (one round trip).

The settlement row needs the visit's generated id; on PostgreSQL a data-modifying CTE hands it over
inside one statement (built once per set of columns, so prepared once per connection). SQLite writes
the two rows one after the other: in-process there is no round trip to save.
"""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select

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
    visit, settlement = _with_defaults(visits, visit), _with_defaults(settlements, settlement, "visit_id")
    key = (tuple(visit), tuple(settlement))
    stmt = _BUILT.get(key)
    if stmt is None:
        stmt = _BUILT[key] = _statement(*key)
    params = {f"v_{k}": value for k, value in visit.items()} | {f"s_{k}": value for k, value in settlement.items()}
    setl_id, visit_id = raw.first(tx, stmt, params)
    return visit_id, setl_id
