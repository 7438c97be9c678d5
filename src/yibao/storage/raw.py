"""The settlement path's fixed statements sent past SQLAlchemy's execution layer, in few round trips.

A statement executed through SQLAlchemy costs about 0.15–0.3 ms of Python before and after the
driver (cache key, execution context, result metadata), and psycopg's cursors and pipelines as
much again. The hot repository methods build their statements once with SQLAlchemy Core (so the SQL
is still written, typed and quoted by it, and SQLite keeps its path); on PostgreSQL this module
compiles each once per process and hands it to ``storage.wire``, which sends it on the
transaction's own connection through libpq's pipeline (prepared once per connection) and returns
plain tuples. The statement's bind and result type processors are applied when it has any, so the
values are those SQLAlchemy would hand back. On SQLite (in-process, no driver overhead worth
avoiding) it is ``conn.execute``.

Writes whose answer nobody reads (``later``: the accumulator, the fee lines, the message's answer)
wait and go out in one round trip with the next statement, or with the COMMIT (``flush``).

Every statement sent here is reported to ``STATEMENT_LISTENERS`` (``bench/measure.py`` counts
them): ``f(sql, params, rowcount, new_round_trip)``; a COMMIT sent with the writes as ``"COMMIT"``.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from sqlalchemy import bindparam, event

from yibao.errors import StoreUnavailable, StoreValueRefused
from yibao.storage import wire

# Who sees what this module sends: f(sql, params, rowcount, new round trip). Empty outside the bench.
STATEMENT_LISTENERS: list[Callable[[str, dict, int, bool], None]] = []


class _Compiled:
    __slots__ = ("binds", "defaults", "query", "results", "sql", "stmt")

    def __init__(self, stmt, dialect):
        c = stmt.compile(dialect=dialect)
        if c.literal_execute_params or c.post_compile_params or getattr(c, "escaped_bind_names", None):
            raise ValueError("raw: only statements with plain named parameters (no expanding IN, no escaped names)")
        self.stmt = stmt  # held, so that the id used as the cache key is never reused
        self.sql = c.string
        self.query = wire.Query(c.string)
        self.defaults = {k: v for k, v in c.params.items() if v is not None}
        self.binds = dict(c._bind_processors) or None
        processors = [
            entry.type._cached_result_processor(dialect, None) for entry in getattr(c, "_result_columns", ()) or ()
        ]
        self.results = processors if any(p is not None for p in processors) else None

    def params(self, given: dict) -> dict:
        params = {**self.defaults, **given} if self.defaults else given
        if self.binds:
            params = {k: (self.binds[k](v) if k in self.binds and v is not None else v) for k, v in params.items()}
        return params

    def rows(self, rows: list[tuple]) -> list[tuple]:
        if self.results is None:
            return rows
        procs = self.results
        return [tuple(v if p is None else p(v) for p, v in zip(procs, r, strict=True)) for r in rows]


_COMPILED: dict[int, _Compiled] = {}


_MAX_COMPILED = 2000  # statements are built once (module constants, caches); a bound all the same


def _compiled(tx, stmt) -> _Compiled:
    c = _COMPILED.get(id(stmt))
    if c is None or c.stmt is not stmt:
        if len(_COMPILED) >= _MAX_COMPILED:  # a caller building statements per call: never grow unbounded
            _COMPILED.clear()
        c = _COMPILED[id(stmt)] = _Compiled(stmt, tx.conn.dialect)
    return c


def _store_error(exc: psycopg.OperationalError | psycopg.DataError) -> Exception:
    """psycopg's own errors, past SQLAlchemy: as ``uow.translated_errors`` does SQLAlchemy's."""
    return StoreUnavailable(str(exc)) if isinstance(exc, psycopg.OperationalError) else StoreValueRefused(str(exc))


def _report(sent: list[tuple[str, dict, int]]) -> None:
    for i, (sql, params, rowcount) in enumerate(sent):
        for listener in STATEMENT_LISTENERS:
            listener(sql, params, rowcount, i == 0)  # a pipeline is one round trip


def _pipeline(driver, batch: list[tuple], *, commit: bool = False) -> list[tuple[list[tuple] | None, int]]:
    """The statements in one round trip (``wire.exchange``): each one's ``(rows, rowcount)``. An
    entry ``(compiled, params)``, or ``(compiled, params, ahead)`` for a read sent ``ahead`` (its rows
    are handed to it here). ``commit``: the transaction's COMMIT goes in the same round trip."""
    try:
        out = wire.of(driver).exchange([(item[0].query, item[1]) for item in batch], commit=commit)
    except (psycopg.OperationalError, psycopg.DataError) as exc:
        raise _store_error(exc) from exc
    for item, (found, _) in zip(batch, out, strict=True):
        if len(item) > 2:
            item[2].arrived(found)
    if STATEMENT_LISTENERS:
        _report([(item[0].sql, item[1], count) for item, (_, count) in zip(batch, out, strict=True)])
        if commit:
            for listener in STATEMENT_LISTENERS:
                listener("COMMIT", {}, 0, False)
    return out


def _send(tx, stmt, params: dict, fetch: bool):
    c = _compiled(tx, stmt)
    later = tx.later
    batch = [*later, (c, c.params(params))]
    later.clear()
    found, count = _pipeline(tx.conn.connection.driver_connection, batch)[-1]
    return c.rows(found or []) if fetch else count


def rows(tx, stmt, params: dict) -> list[tuple]:
    """Every row the statement returns, as tuples (positional, in the statement's column order)."""
    if tx.sqlite:
        return [tuple(r) for r in tx.conn.execute(stmt, params)]
    return _send(tx, stmt, params, True)


def together(tx, statements: list[tuple[object, dict]]) -> list[list[tuple]]:
    """Each statement's rows, the statements sent in one pipeline (one round trip) on PostgreSQL,
    in order (a lock taken by one holds for those after it); one after another on SQLite."""
    if tx.sqlite:
        return [[tuple(r) for r in tx.conn.execute(stmt, params)] for stmt, params in statements]
    compiled = [(_compiled(tx, stmt), params) for stmt, params in statements]
    batch = [*tx.later, *((c, c.params(params)) for c, params in compiled)]
    waiting = len(tx.later)
    tx.later.clear()
    out = _pipeline(tx.conn.connection.driver_connection, batch)[waiting:]
    return [c.rows(found or []) for (c, _), (found, _) in zip(compiled, out, strict=True)]


def first(tx, stmt, params: dict) -> tuple | None:
    found = rows(tx, stmt, params)
    return found[0] if found else None


def run(tx, stmt, params: dict) -> int:
    """A statement that returns no rows; the number of rows it changed."""
    if tx.sqlite:
        return tx.conn.execute(stmt, params).rowcount
    return _send(tx, stmt, params, False)


# Writes whose answer nobody reads --------------------------------------------------------------


def later(tx, stmt, params: dict) -> None:
    """A write whose answer (rows, row count) nobody reads: on PostgreSQL it waits, and goes out in
    one pipeline with the next statement of the unit of work — whoever sends it, SQLAlchemy included
    (``install``) — or just before the commit (``Store``); so it is applied in order, within the same
    transaction, before anything could read it. Its failure surfaces there, and rolls the whole unit
    of work back as any failure does. On SQLite: now."""
    if tx.sqlite:
        tx.conn.execute(stmt, params)
        return
    c = _compiled(tx, stmt)
    tx.later.append((c, c.params(params)))


class Ahead:
    """The rows of a read sent ``ahead``, once they have arrived."""

    __slots__ = ("_compiled", "_rows", "_tx")

    def __init__(self, tx, compiled: _Compiled | None, rows: list[tuple] | None = None):
        self._tx, self._compiled, self._rows = tx, compiled, rows

    def arrived(self, rows: list[tuple]) -> None:
        self._rows = self._compiled.rows(rows)

    def rows(self) -> list[tuple]:
        """The rows; if the read has not gone out yet, it goes now (with the writes waiting)."""
        if self._rows is None:
            flush(self._tx)
        return self._rows


def ahead(tx, stmt, params: dict) -> Ahead:
    """A read whose rows are needed only later: on PostgreSQL it waits with the writes (``later``)
    and goes out in the same pipeline as the next statement of the unit of work, its rows kept for
    ``Ahead.rows()``; on SQLite, now. For reads that nothing before them in the unit of work could
    change (a sequence's next values)."""
    if tx.sqlite:
        return Ahead(tx, None, [tuple(r) for r in tx.conn.execute(stmt, params)])
    c = _compiled(tx, stmt)
    out = Ahead(tx, c)
    tx.later.append((c, c.params(params), out))
    return out


def flush(tx, *, commit: bool = False) -> None:
    """Send the writes waiting (``later``), if any: one round trip. ``commit``: and the
    transaction's COMMIT with them (PostgreSQL), so the commit costs no round trip of its own."""
    if tx.later or commit:
        batch = list(tx.later)
        tx.later.clear()
        _pipeline(tx.conn.connection.driver_connection, batch, commit=commit)


LATER_KEY = "yibao_later"  # in the pooled connection's info while a unit of work is open on it


def install(engine) -> None:
    """Before SQLAlchemy sends anything on a connection whose unit of work has writes waiting, send
    them (PostgreSQL engines, once each; ``uow.Store``)."""
    if not event.contains(engine, "before_cursor_execute", _flush_first):
        event.listen(engine, "before_cursor_execute", _flush_first)


def _flush_first(conn, _cursor, _statement, _parameters, _context, _executemany) -> None:
    later = conn.info.get(LATER_KEY)
    if later:
        batch = list(later)
        later.clear()
        _pipeline(conn.connection.driver_connection, batch)


_INSERTS: dict[tuple, object] = {}


def insert_later(tx, table, rows: list[dict]) -> None:
    """Rows of ``table`` written ``later`` (one statement each, all in the same pipeline); on
    SQLite, now, in one executemany."""
    if not rows:
        return
    if tx.sqlite:
        tx.conn.execute(table.insert(), rows)
        return
    for row in rows:
        key = (table.name, tuple(row))
        stmt = _INSERTS.get(key)
        if stmt is None:
            values = {k: bindparam(k, type_=table.c[k].type) for k in row}
            stmt = _INSERTS[key] = table.insert().values(values).inline()  # inline: no RETURNING of the id
        later(tx, stmt, row)
