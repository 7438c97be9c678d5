"""The settlement path's fixed statements sent by psycopg directly, past SQLAlchemy's execution layer.

A statement executed through SQLAlchemy costs about 0.15–0.3 ms of Python before and after the
driver (cache key, execution context, result metadata, psycopg's column descriptions), and a
settlement runs about fifteen of them. The hot repository methods build their statements once with
SQLAlchemy Core (so the SQL is still written, typed and quoted by it, and SQLite keeps its path);
on PostgreSQL this module compiles each once per process, then sends it on the transaction's own
psycopg connection (prepared server-side: ``prepare=True``) and returns plain tuples. The
statement's bind and result type processors are applied when it has any, so the values are those
SQLAlchemy would hand back. On SQLite (in-process, no driver overhead worth avoiding) it is
``conn.execute``.

Writes whose answer nobody reads (``later``: the accumulator, the fee lines, the message's answer)
wait and go out in one pipeline with the next statement or just before the commit.

Every statement sent here is reported to ``STATEMENT_LISTENERS`` (``bench/measure.py`` counts
them): ``f(sql, params, rowcount, new_round_trip)``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import psycopg
from sqlalchemy import bindparam, event

from yibao.errors import StoreUnavailable, StoreValueRefused

# Who sees what this module sends: f(sql, params, rowcount, new round trip). Empty outside the bench.
STATEMENT_LISTENERS: list[Callable[[str, dict, int, bool], None]] = []


class _Compiled:
    __slots__ = ("binds", "defaults", "results", "sql", "stmt")

    def __init__(self, stmt, dialect):
        c = stmt.compile(dialect=dialect)
        if c.literal_execute_params or c.post_compile_params or getattr(c, "escaped_bind_names", None):
            raise ValueError("raw: only statements with plain named parameters (no expanding IN, no escaped names)")
        self.stmt = stmt  # held, so that the id used as the cache key is never reused
        self.sql = c.string
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


def _cursor(tx):
    """One psycopg cursor per unit of work, on the connection SQLAlchemy's transaction uses."""
    cur = tx.__dict__.get("_raw_cursor")
    if cur is None:
        cur = tx.__dict__["_raw_cursor"] = tx.conn.connection.driver_connection.cursor()
    return cur


def _store_error(exc: psycopg.OperationalError | psycopg.DataError) -> Exception:
    """psycopg's own errors, past SQLAlchemy: as ``uow.translated_errors`` does SQLAlchemy's."""
    return StoreUnavailable(str(exc)) if isinstance(exc, psycopg.OperationalError) else StoreValueRefused(str(exc))


@contextmanager
def _translated():
    try:
        yield
    except (psycopg.OperationalError, psycopg.DataError) as exc:
        raise _store_error(exc) from exc


def _report(sent: list[tuple[str, dict, int]]) -> None:
    for i, (sql, params, rowcount) in enumerate(sent):
        for listener in STATEMENT_LISTENERS:
            listener(sql, params, rowcount, i == 0)  # a pipeline is one round trip


def cursors(driver, n: int) -> list:
    """``n`` cursors of the connection for one pipeline, kept on it and reused (making one costs
    more than a statement's own work); their rows must be fetched before the next pipeline."""
    kept = driver.__dict__.setdefault("_yibao_cursors", [])
    while len(kept) < n:
        kept.append(driver.cursor())
    return kept[:n]


def _pipeline(driver, batch: list[tuple[str, dict]], *, every: bool = False):
    """The statements in one psycopg pipeline (one round trip); the last one's cursor (``every``:
    all the cursors)."""
    cursors_ = cursors(driver, len(batch))
    with _translated(), driver.pipeline():
        for (sql, params), cur in zip(batch, cursors_, strict=True):
            cur.execute(sql, params, prepare=True)
    if STATEMENT_LISTENERS:
        _report([(sql, params, cur.rowcount) for (sql, params), cur in zip(batch, cursors_, strict=True)])
    return cursors_ if every else cursors_[-1]


def _send(tx, stmt, params: dict, fetch: bool):
    c = _compiled(tx, stmt)
    sent = c.params(params)
    later = tx.later
    if later:  # the writes waiting for a round trip go out with this statement
        batch = [*later, (c.sql, sent)]
        later.clear()
        cur = _pipeline(tx.conn.connection.driver_connection, batch)
        with _translated():
            return c.rows(cur.fetchall()) if fetch else cur.rowcount
    cur = _cursor(tx)
    try:  # (not ``with _translated()``: a context manager costs more than this path's own work)
        cur.execute(c.sql, sent, prepare=True)
        out = c.rows(cur.fetchall()) if fetch else cur.rowcount
    except (psycopg.OperationalError, psycopg.DataError) as exc:
        raise _store_error(exc) from exc
    if STATEMENT_LISTENERS:
        _report([(c.sql, sent, cur.rowcount)])
    return out


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
    batch = [*tx.later, *((c.sql, c.params(params)) for c, params in compiled)]
    waiting = len(tx.later)
    tx.later.clear()
    cursors = _pipeline(tx.conn.connection.driver_connection, batch, every=True)[waiting:]
    with _translated():
        return [c.rows(cur.fetchall()) for (c, _), cur in zip(compiled, cursors, strict=True)]


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
    tx.later.append((c.sql, c.params(params)))


def flush(tx) -> None:
    """Send the writes waiting (``later``), if any: one round trip."""
    if tx.later:
        batch = list(tx.later)
        tx.later.clear()
        _pipeline(tx.conn.connection.driver_connection, batch)


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
