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

Every statement sent here is reported to ``STATEMENT_LISTENERS`` (``bench/measure.py`` counts
them): ``f(sql, params, rowcount)``.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from yibao.errors import StoreUnavailable, StoreValueRefused

# Who sees what this module sends: f(sql, params, rowcount). Empty outside the bench.
STATEMENT_LISTENERS: list[Callable[[str, dict, int], None]] = []


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


def _compiled(tx, stmt) -> _Compiled:
    c = _COMPILED.get(id(stmt))
    if c is None or c.stmt is not stmt:
        c = _COMPILED[id(stmt)] = _Compiled(stmt, tx.conn.dialect)
    return c


def _cursor(tx):
    """One psycopg cursor per unit of work, on the connection SQLAlchemy's transaction uses."""
    cur = tx.__dict__.get("_raw_cursor")
    if cur is None:
        cur = tx.__dict__["_raw_cursor"] = tx.conn.connection.driver_connection.cursor()
    return cur


def _send(tx, stmt, params: dict, fetch: bool):
    c = _compiled(tx, stmt)
    cur = _cursor(tx)
    sent = c.params(params)
    try:
        cur.execute(c.sql, sent, prepare=True)
        out = c.rows(cur.fetchall()) if fetch else cur.rowcount
    except psycopg.OperationalError as exc:  # as uow.translated_errors does SQLAlchemy's
        raise StoreUnavailable(str(exc)) from exc
    except psycopg.DataError as exc:
        raise StoreValueRefused(str(exc)) from exc
    if STATEMENT_LISTENERS:
        for listener in STATEMENT_LISTENERS:
            listener(c.sql, sent, cur.rowcount)
    return out


def rows(tx, stmt, params: dict) -> list[tuple]:
    """Every row the statement returns, as tuples (positional, in the statement's column order)."""
    if tx.sqlite:
        return [tuple(r) for r in tx.conn.execute(stmt, params)]
    return _send(tx, stmt, params, True)


def first(tx, stmt, params: dict) -> tuple | None:
    found = rows(tx, stmt, params)
    return found[0] if found else None


def run(tx, stmt, params: dict) -> int:
    """A statement that returns no rows; the number of rows it changed."""
    if tx.sqlite:
        return tx.conn.execute(stmt, params).rowcount
    return _send(tx, stmt, params, False)
