"""Statements to PostgreSQL in one round trip, on libpq's pipeline, past psycopg's Python layers.

A settlement sends about twenty fixed statements. Through psycopg's cursors and ``pipeline()`` each
one costs ~0.1–0.3 ms of Python (query conversion, the cursor's and pipeline's generators, result
bookkeeping): about half of a settlement's client CPU. The same work is a handful of calls into
libpq and psycopg's C ``Transformer`` (``psycopg.pq`` and ``psycopg.adapt``, both public): this
module makes them. Parameters are adapted exactly as psycopg adapts them (same dumpers, same type
oids, so the same server-side types); rows are loaded by psycopg's loaders; each statement is
prepared once per connection and type signature, as psycopg's ``prepare=True`` does; errors are
psycopg's own exception classes (``psycopg.errors.error_from_result``).

The transaction stays psycopg's: if none is open, the connection's own BEGIN goes first in the same
round trip (psycopg would send it in a round trip of its own); ``exchange(…, commit=True)`` ends it
with COMMIT in the same round trip, after which psycopg's ``commit()`` finds nothing to do.
"""

from __future__ import annotations

import contextlib
import re
import select

import psycopg
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer

_IDLE = pq.TransactionStatus.IDLE
_TUPLES_OK = pq.ExecStatus.TUPLES_OK
_COMMAND_OK = pq.ExecStatus.COMMAND_OK
_SYNC = pq.ExecStatus.PIPELINE_SYNC
_FAILED = (pq.ExecStatus.FATAL_ERROR, pq.ExecStatus.PIPELINE_ABORTED, pq.ExecStatus.BAD_RESPONSE)
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
MAX_PREPARED = 1000  # per connection (the settlement path uses ~40 statement × type signatures); past it, unprepared
WAIT_S = 600.0  # no answer for this long: the connection is treated as lost (statement_timeout is shorter)


class Query:
    """A psycopg ``%(name)s`` text as libpq wants it: ``$n`` placeholders and their names in order.

    ``cast``: the positions of the parameters the text casts (``%(x)s::INTEGER[]``, ``CAST(%(x)s AS
    …)``): a list sent there goes as an array literal, which the server reads by the cast — psycopg's
    array dumper is Python, ~8 µs a list, and an entry sends twelve."""

    __slots__ = ("cast", "formats", "names", "text")

    def __init__(self, sql: str):
        names: list[str] = []

        def number(m: re.Match) -> str:
            if m.group(0) == "%%":
                return "%"
            name = m.group(1)
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"

        self.text = _PLACEHOLDER.sub(number, sql).encode()
        self.names = tuple(names)
        self.formats = [PyFormat.AUTO] * len(names)
        self.cast = tuple(
            i
            for i, name in enumerate(names)
            if re.search(rf"%\({name}\)s::|CAST\(%\({name}\)s AS ", sql, re.IGNORECASE)
        )

    def values(self, params: dict) -> list:
        values = [params[n] for n in self.names]
        for i in self.cast:
            if type(values[i]) is list:
                literal = _array_literal(values[i])
                if literal is not None:
                    values[i] = literal
        return values


def _array_literal(items: list) -> str | None:
    """``{1,2,NULL}`` / ``{"a","b \\"c\\""}`` for a list of ints or of strings; None for anything else."""
    kinds = {type(v) for v in items if v is not None}
    if not kinds:
        return "{" + ",".join("NULL" for _ in items) + "}"
    if kinds == {int}:
        return "{" + ",".join("NULL" if v is None else str(v) for v in items) + "}"
    if kinds == {str}:
        quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' if v is not None else "NULL" for v in items)
        return "{" + ",".join(quoted) + "}"
    return None


class Wire:
    """One psycopg connection's libpq handle, its adapters and the statements prepared on it."""

    __slots__ = ("driver", "pg", "prepared", "transformer")

    def __init__(self, driver: psycopg.Connection):
        self.driver = driver
        self.pg = driver.pgconn
        self.transformer = Transformer(driver)
        self.prepared: dict[tuple, bytes] = {}

    def exchange(self, batch: list[tuple[Query, dict]], *, commit: bool = False) -> list[tuple[list | None, int]]:
        """Send the statements (and the transaction's BEGIN if none is open, ``commit``: its COMMIT)
        in one round trip; each statement's ``(rows or None, rowcount)``. The first error raises
        (psycopg's class for its SQLSTATE) once the round trip is over; the transaction is then
        aborted, as with any failed statement."""
        pg, t, prepared = self.pg, self.transformer, self.prepared
        if self.driver.closed:
            raise psycopg.OperationalError("the connection is closed")
        if not batch and (not commit or pg.transaction_status == _IDLE):
            return []  # nothing to send (a commit with no transaction open has nothing to end)
        # every value adapted before anything is sent: a value psycopg cannot adapt raises here,
        # with nothing half sent
        dumped = []
        for query, params in batch:
            values = t.dump_sequence(query.values(params), query.formats)
            dumped.append((query.text, values, tuple(t.types), list(t.formats)))
        sent: list = []  # per command sent: None (BEGIN, COMMIT), (key, name) a prepare, or an int (batch index)
        pg.enter_pipeline_mode()
        try:
            if not self.driver.autocommit and pg.transaction_status == _IDLE:
                pg.send_query_params(self.driver._get_tx_start_command(), None)
                sent.append(None)
                # Our prepared statements keep their generic plan: PostgreSQL would otherwise plan
                # some of them again on every execution (a custom plan costs it more than the
                # statement; tests/test_bench.py checks every generic plan uses its indexes).
                pg.send_query_params(_GENERIC_PLANS, None)
                sent.append(None)
            preparing: dict[tuple, bytes] = {}
            for i, (text, values, types, formats) in enumerate(dumped):
                key = (text, types)
                name = prepared.get(key) or preparing.get(key)
                if name is None and len(prepared) + len(preparing) < MAX_PREPARED:
                    name = preparing[key] = b"_yb%d" % (len(prepared) + len(preparing))
                    pg.send_prepare(name, text, types)
                    sent.append((key, name))
                if name is None:  # past the bound: parsed and planned each time, as an unprepared statement
                    pg.send_query_params(text, values, types, formats)
                else:
                    pg.send_query_prepared(name, values, formats)
                sent.append(i)
            if commit:
                pg.send_query_params(b"COMMIT", None)
                sent.append(None)
            pg.pipeline_sync()
            self._flush()
            results = self._receive(len(sent))
        finally:
            if pg.pipeline_status != pq.PipelineStatus.OFF:
                with contextlib.suppress(psycopg.Error):  # broken mid-way: the error that broke it is raised
                    pg.exit_pipeline_mode()
        out: list[tuple[list | None, int]] = [(None, 0)] * len(batch)
        error = None
        for what, result in zip(sent, results, strict=True):
            if result is None or result.status in _FAILED:
                if error is None and result is not None and result.status != pq.ExecStatus.PIPELINE_ABORTED:
                    error = psycopg.errors.error_from_result(result, encoding=self.driver.info.encoding)
                continue
            if isinstance(what, int):
                if result.status == _TUPLES_OK:
                    t.set_pgresult(result)
                    out[what] = (t.load_rows(0, result.ntuples, tuple), result.ntuples)
                else:
                    out[what] = (None, result.command_tuples or 0)
            elif what is not None and result.status == _COMMAND_OK:
                prepared[what[0]] = what[1]  # prepared only once the server said so
        if error is not None:
            if isinstance(error, psycopg.errors.InvalidSqlStatementName):
                prepared.clear()  # someone sent DEALLOCATE ALL: prepare again from the next round trip
            raise error
        return out

    def _flush(self) -> None:
        pg = self.pg
        while pg.flush():
            _wait(pg.socket, write=True)

    def _receive(self, commands: int) -> list:
        """Each command's (last) result, then the pipeline's sync."""
        pg = self.pg
        results: list = []
        current = None
        while True:
            while pg.is_busy():
                _wait(pg.socket)
                pg.consume_input()
            r = pg.get_result()
            if r is None:  # the end of one command's results
                results.append(current)
                current = None
                continue
            if r.status == _SYNC:
                break
            if current is None or current.status not in _FAILED:
                current = r
        if len(results) != commands:
            raise psycopg.OperationalError(f"pipeline: {len(results)} answers to {commands} commands")
        return results


_GENERIC_PLANS = b"SET LOCAL plan_cache_mode = force_generic_plan"


def _wait(fd: int, *, write: bool = False) -> None:
    poller = select.poll()
    poller.register(fd, select.POLLOUT if write else select.POLLIN)
    if not poller.poll(WAIT_S * 1000):
        raise psycopg.OperationalError("no answer from the database")


def of(driver: psycopg.Connection) -> Wire:
    """The connection's wire, made on first use and kept on it (a new connection: a new wire)."""
    w = driver.__dict__.get("_yibao_wire")
    if w is None or w.pg is not driver.pgconn:
        w = driver.__dict__["_yibao_wire"] = Wire(driver)
    return w
