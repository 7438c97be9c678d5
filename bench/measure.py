"""What the throughput bench measures around a run, and the timed loop every path shares.

- Workers: ``fork`` (one process each, as a deployment with several worker processes; the client is
  not held by one GIL) or ``thread`` (one process, as ``yibao serve`` runs; SQLite's writers are
  queued in-process). Each waits at a barrier, then loops for the run's seconds timing one
  operation at a time.
- Client CPU: the workers' own CPU (``getrusage``) over the timed window; for ``thread`` runs the
  process's; for HTTP runs the ``yibao serve`` process's (``/proc/<pid>/stat``).
- PostgreSQL backend CPU: ``/proc/<pid>/stat`` of the client backends connected to the run's
  database (``pg_stat_activity``), at the start and the end of the window, as the pgledger peer
  harness does (the server is on this machine).
- WAL: ``pg_waldump`` over the window's LSN range, counting only records that touch the run's
  database (and the commit records of its transactions); the shared server also carries other
  engineers' work, so the cluster-wide ``pg_current_wal_insert_lsn()`` difference is the fallback
  only, and is marked as such.
- Statements and round trips: a SQLAlchemy event listener on the engine (``pg_stat_statements`` is
  not loaded on this server), and the listener of ``storage.raw`` for what goes past SQLAlchemy
  (``storage.wire``: several statements in one round trip, BEGIN in the first and COMMIT in the
  last). A statement SQLAlchemy sends is a round trip of its own (psycopg's BEGIN before it another),
  as is a COMMIT/ROLLBACK that ``storage.raw`` did not send, and a pre-ping at checkout if the
  engine has one.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing as mp
import os
import re
import resource
import shutil
import statistics
import subprocess
import threading
import time
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import event

try:
    from yibao.storage.raw import STATEMENT_LISTENERS
except ImportError:  # a tree from before storage.raw (measured for a before/after comparison)
    STATEMENT_LISTENERS = []

HZ = os.sysconf("SC_CLK_TCK")


# Machine -------------------------------------------------------------------------------------------


def proc_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads), in seconds; None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def machine_jiffies() -> tuple[int, int]:
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    return sum(vals[:8]), vals[3] + vals[4]


def busy_fraction(a: tuple[int, int], b: tuple[int, int]) -> float:
    total = b[0] - a[0]
    return 1.0 - (b[1] - a[1]) / total if total else 0.0


# PostgreSQL ------------------------------------------------------------------------------------------


class PgWatch:
    """Backend CPU and WAL of one database, read from a monitoring connection."""

    def __init__(self, dsn: str, dbname: str):
        import psycopg

        self.conn = psycopg.connect(dsn, autocommit=True)
        self.dbname = dbname
        self.own_pid = self.conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        self.db_oid = self.conn.execute("SELECT oid FROM pg_database WHERE datname = %s", [dbname]).fetchone()[0]
        self.local = os.path.isdir(f"/proc/{self.own_pid}")
        self.wal_dir = None
        try:
            data = self.conn.execute("SHOW data_directory").fetchone()[0]
            wal = os.path.join(data, "pg_wal")
            if self.local and os.access(wal, os.R_OK) and self._waldump():
                # A temporary slot keeps the window's WAL on disk until it is read: a checkpoint in
                # the middle of a run (the shared server has many) would otherwise recycle it.
                slot = f"yibao_bench_{os.getpid()}_{self.own_pid}"
                self.conn.execute("SELECT pg_create_physical_replication_slot(%s, true, true)", [slot])
                self.wal_dir = wal
        except Exception:  # not a superuser, or the server is elsewhere: fall back to the LSN difference
            self.wal_dir = None

    @staticmethod
    def _waldump() -> str | None:
        found = shutil.which("pg_waldump")
        if found:
            return found
        for d in (
            sorted(os.listdir("/usr/lib/postgresql"), reverse=True) if os.path.isdir("/usr/lib/postgresql") else []
        ):
            path = f"/usr/lib/postgresql/{d}/bin/pg_waldump"
            if os.access(path, os.X_OK):
                return path
        return None

    def backends(self) -> dict[int, float]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend' AND pid <> %s",
            [self.dbname, self.own_pid],
        ).fetchall()
        out = {}
        for (pid,) in rows:
            cpu = proc_cpu_seconds(pid) if self.local else None
            if cpu is not None:
                out[pid] = cpu
        return out

    def lsn(self) -> str:
        return self.conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]

    def lsn_diff(self, a: str, b: str) -> int:
        return int(self.conn.execute("SELECT pg_wal_lsn_diff(%s, %s)", [b, a]).fetchone()[0])

    def wal_of_database(self, a: str, b: str) -> tuple[int, int | None, str]:
        """WAL between two LSNs that belongs to this database: (bytes, of which full-page images, how
        it was counted); the cluster's whole difference when pg_waldump cannot be used."""
        total = self.lsn_diff(a, b)
        if self.wal_dir is None or total <= 0:
            return total, None, "cluster"
        self.conn.execute("SELECT txid_current()")  # a commit: everything up to ``b`` is on disk for pg_waldump
        try:
            out = subprocess.run(
                [self._waldump(), "--path", self.wal_dir, "--start", a, "--end", b],
                capture_output=True,
                text=True,
                timeout=120,
            ).stdout
        except (OSError, subprocess.TimeoutExpired):
            return total, None, "cluster"
        ours, fpi = parse_waldump(out, self.db_oid)
        if not ours:  # pg_waldump could not read the range: say so rather than report nothing
            return total, None, "cluster"
        return ours, fpi, "database"

    def close(self) -> None:
        self.conn.close()


_REC = re.compile(r"len \(rec/tot\):\s*(\d+)/\s*(\d+), tx:\s*(\d+),")
_REL = re.compile(r"rel \d+/(\d+)/\d+")


def parse_waldump(text: str, db_oid: int) -> tuple[int, int]:
    """(bytes, of which full-page images) of the records that touch ``db_oid``'s relations, plus the
    records (commits) of the transactions that did; other databases' and the cluster's are left out."""
    ours: set[int] = set()
    pending: list[tuple[int, int]] = []
    total = fpi = 0
    for line in text.splitlines():
        m = _REC.search(line)
        if m is None:
            continue
        rec, size, xid = int(m[1]), int(m[2]), int(m[3])
        dbs = {int(x) for x in _REL.findall(line)}
        if db_oid in dbs:
            total += size
            fpi += size - rec
            if xid:
                ours.add(xid)
        elif not dbs and xid:
            pending.append((xid, size))
    return total + sum(size for xid, size in pending if xid in ours), fpi


# Statements and round trips --------------------------------------------------------------------------


@dataclass
class StatementCounter:
    """Counts what one engine sends, between ``reset()`` and ``snapshot()``."""

    pg: bool
    statements: int = 0
    round_trips: int = 0
    rows_written: int = 0
    kinds: Counter = field(default_factory=Counter)
    captured: list = field(default_factory=list)
    capture: bool = False
    _begun: bool = False
    _raw_commit: bool = False

    def _hooks(self, engine) -> list:
        hooks = [
            (engine, "before_cursor_execute", self._before),
            (engine, "after_cursor_execute", self._after),
            (engine, "begin", self._begin),
            (engine, "commit", self._end),
            (engine, "rollback", self._end),
        ]
        if self.pg and engine.pool._pre_ping:
            hooks.append((engine.pool, "checkout", self._ping))
        return hooks

    def attach(self, engine) -> None:
        for target, name, fn in self._hooks(engine):
            event.listen(target, name, fn)
        STATEMENT_LISTENERS.append(self._raw)

    def detach(self, engine) -> None:
        for target, name, fn in self._hooks(engine):
            event.remove(target, name, fn)
        if self._raw in STATEMENT_LISTENERS:
            STATEMENT_LISTENERS.remove(self._raw)

    def _raw(self, statement: str, parameters: dict, rowcount: int, new_round_trip: bool) -> None:
        """A statement ``storage.raw`` sent through psycopg past SQLAlchemy: a round trip of its
        own, or a later one of a pipeline (writes that waited, sent with the next statement). The
        transaction's BEGIN rides with raw's first round trip, its COMMIT (reported as "COMMIT")
        with the last: neither is a statement or a round trip of its own."""
        self._begun = False
        if statement == "COMMIT":
            self._raw_commit = True
            return
        self.statements += 1
        self.round_trips += 1 if new_round_trip else 0
        self.kinds[short_sql(statement) + ("" if new_round_trip else " (pipelined)")] += 1
        if self.capture:
            self.captured.append((statement, parameters))
        head = statement.lstrip()[:6].upper()
        if head in ("INSERT", "UPDATE", "DELETE") and rowcount and rowcount > 0:
            self.rows_written += rowcount
        elif head == "WITH E" and "t_d" in parameters and rowcount == 1:
            self.rows_written += 1 + len(parameters["t_d"]) + len(parameters["s_id"]) + len(parameters["u_id"])

    def reset(self) -> None:
        self.statements = self.round_trips = self.rows_written = 0
        self.kinds = Counter()
        self.captured = []

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if self._begun:  # psycopg's own BEGIN, a round trip before this statement
            self.round_trips += 1
            self._begun = False
        n = len(parameters) if executemany and parameters else 1
        self.statements += n
        self.round_trips += 1
        self.kinds[short_sql(statement)] += n
        if self.capture:
            self.captured.append((statement, parameters[0] if executemany else parameters))

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        head = statement.lstrip()[:6].upper()
        if head in ("INSERT", "UPDATE", "DELETE") and cursor.rowcount and cursor.rowcount > 0:
            self.rows_written += cursor.rowcount
        elif head == "WITH E" and isinstance(parameters, dict) and "t_d" in parameters and cursor.rowcount == 1:
            # the ledger's one-statement entry (ledger_store._POST_PG): it returns the entry's id only;
            # it wrote the entry, its transfers, one shard row per sharded account, the buckets' rows
            self.rows_written += 1 + len(parameters["t_d"]) + len(parameters["s_id"]) + len(parameters["u_id"])

    def _begin(self, conn):
        self._begun = self.pg  # psycopg sends BEGIN with the first statement: see _before and _raw

    def _end(self, conn):
        if self.pg and not self._raw_commit:
            self.round_trips += 1
        self._raw_commit = False

    def _ping(self, dbapi_conn, record, proxy):
        self.round_trips += 1


def short_sql(statement: str) -> str:
    """``SELECT people.id, … FROM people WHERE …`` → ``SELECT … FROM people WHERE people.psn_no = …``."""
    s = " ".join(statement.split())
    s = re.sub(r"%\(\w+\)s|\?|\$\d+", "?", s)
    s = re.sub(r"\(\?(, \?)+\)", "(…)", s)
    m = re.match(r"(SELECT) (.*?) (FROM .*)", s)
    if m:
        s = f"{m[1]} … {m[3]}"
    m = re.match(r"(INSERT INTO \w+) \(.*?\) (VALUES|SELECT)", s)
    if m:
        s = (
            f"{m[1]} …"
            + (" ON CONFLICT …" if "ON CONFLICT" in s else "")
            + (" RETURNING …" if "RETURNING" in s else "")
        )
    m = re.match(r"(UPDATE \w+ SET) .*? (WHERE .*)", s)
    if m:
        s = f"{m[1]} … {m[2]}"
    return s[:150]


# The timed loop ----------------------------------------------------------------------------------------


@dataclass
class WorkerResult:
    n: int
    cpu_s: float
    t_start: float
    t_end: float
    latencies: bytes
    errors: dict
    failure: str | None = None
    ops: int = 0


def timed_loop(op: Callable[[int], str | None], seconds: float, go, *, cpu: bool = True) -> WorkerResult:
    """Call ``op(k)`` for k = 0, 1, … until ``seconds`` have passed; an op returns None on success or
    a short error code. Timing starts when every party has reached the ``go`` barrier."""
    lat = array("d")
    errors: Counter = Counter()
    go.wait(timeout=600)
    ru0 = resource.getrusage(resource.RUSAGE_SELF) if cpu else None
    start = now = time.perf_counter()
    deadline = start + seconds
    k = 0
    while now < deadline:
        t0 = time.perf_counter()
        err = op(k)
        now = time.perf_counter()
        k += 1
        if err is None:
            lat.append(now - t0)
        else:
            errors[err] += 1
    cpu_s = 0.0
    if cpu:
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu_s = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return WorkerResult(len(lat), cpu_s, start, now, lat.tobytes(), dict(errors), ops=k)


@dataclass
class Outcome:
    """A run's workers, put together."""

    n: int
    wall_s: float
    per_second: float
    p50_ms: float
    p99_ms: float
    errors: dict
    worker_cpu_s: float
    max_ops: int  # the most operations one worker made (successes and errors)


def combine(results: list[WorkerResult]) -> Outcome:
    failed = [r.failure for r in results if r.failure]
    if failed:
        raise RuntimeError("worker failed: " + failed[0])
    lats = array("d")
    for r in results:
        part = array("d")
        part.frombytes(r.latencies)
        lats.extend(part)
    s = sorted(lats)
    wall = max(r.t_end for r in results) - min(r.t_start for r in results)
    n = sum(r.n for r in results)
    errors: Counter = Counter()
    for r in results:
        errors.update(r.errors)
    return Outcome(
        n=n,
        wall_s=wall,
        per_second=n / wall if wall > 0 else 0.0,
        p50_ms=pct(s, 50) * 1e3,
        p99_ms=pct(s, 99) * 1e3,
        errors=dict(errors),
        worker_cpu_s=sum(r.cpu_s for r in results),
        max_ops=max(r.ops for r in results),
    )


def pct(sorted_vals, p: float) -> float:
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, round(p / 100.0 * len(sorted_vals) + 0.5) - 1))
    return sorted_vals[k]


Op = Callable[[int], str | None]


def run_forked(make_op: Callable[[int], Op], workers: int, seconds: float, on_start=None, on_end=None):
    """``workers`` processes (fork): each makes its op (connects), all wait until every one is ready,
    ``on_start()`` runs in the parent, the timed loops run together, the results come back, and
    ``on_end()`` runs while the workers still hold their connections (so their backends' CPU can be
    read). Returns (Outcome, on_start's value, on_end's value)."""
    ctx = mp.get_context("fork")
    ready, go, finish = ctx.Barrier(workers + 1), ctx.Barrier(workers + 1), ctx.Event()
    q = ctx.Queue()

    def child(w: int) -> None:
        gc.freeze()  # the parent's heap, inherited: a full collection walking it would pause this worker's timing
        try:
            op = make_op(w)
            ready.wait(timeout=600)
            res = timed_loop(op, seconds, go)
        except BaseException as exc:  # report, never hang the parent
            for b in (ready, go):
                with contextlib.suppress(Exception):
                    b.abort()
            res = WorkerResult(0, 0.0, 0.0, 0.0, b"", {}, failure=f"{type(exc).__name__}: {exc}")
        q.put(res)
        finish.wait(timeout=seconds + 600)

    procs = [ctx.Process(target=child, args=(w,), daemon=True) for w in range(workers)]
    for pr in procs:
        pr.start()
    try:
        ready.wait(timeout=600)
        started = on_start() if on_start else None
        go.wait(timeout=600)
        results = [q.get(timeout=seconds + 600) for _ in procs]
        ended = on_end() if on_end else None
    finally:
        finish.set()
        for pr in procs:
            pr.join(timeout=30)
            if pr.is_alive():
                pr.kill()
                pr.join(timeout=10)
    return combine(results), started, ended


def run_threaded(make_op: Callable[[int], Op], workers: int, seconds: float, on_start=None, on_end=None):
    """The same with threads in this process; CPU is the whole process's over the window."""
    ready, go = threading.Barrier(workers + 1), threading.Barrier(workers + 1)
    results: list[WorkerResult] = []
    lock = threading.Lock()

    def child(w: int) -> None:
        try:
            op = make_op(w)
            ready.wait(timeout=600)
            res = timed_loop(op, seconds, go, cpu=False)
        except BaseException as exc:
            ready.abort()
            go.abort()
            res = WorkerResult(0, 0.0, 0.0, 0.0, b"", {}, failure=f"{type(exc).__name__}: {exc}")
        with lock:
            results.append(res)

    threads = [threading.Thread(target=child, args=(w,), daemon=True) for w in range(workers)]
    for th in threads:
        th.start()
    ready.wait(timeout=600)
    started = on_start() if on_start else None
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    go.wait(timeout=600)
    for th in threads:
        th.join(timeout=seconds + 600)
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    ended = on_end() if on_end else None
    out = combine(results)
    out.worker_cpu_s = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return out, started, ended


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
