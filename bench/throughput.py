"""Settlements per second: yibao in-process and over HTTP, an honest SQL floor, and the pgledger peer.

    python bench/throughput.py --pg postgresql://postgres@127.0.0.1:5432/test      # ~6 min
    python bench/throughput.py --pg … --quick                                        # ~1 min smoke run
    python bench/throughput.py --pg … --large-db postgresql://…/yibao_large --plans  # + a big database
                                   (each small in-process run followed by the same run on the big one)
    python bench/throughput.py --no-pg --quick                                       # SQLite only

One run, one PostgreSQL (scratch databases created next to the one named, dropped at the end), and
SQLite files in a temporary directory. What is measured, per database:

- yibao in-process: a 2102 pharmacy settlement through the gateway dispatcher exactly as the HTTP
  server calls it (production mode: 9001 sign-in required; the password RSA-OAEP-encrypted in
  ``cainfo``, decrypted and checked with argon2id; the msgid recorded in the same transaction).
  Each purchase is a son's 3.00 paid 1.00 from his own current bucket and 2.00 through mutual aid
  from his father's current and historical buckets (three transfers), and each settlement is a
  fresh family (families come from ``population.py``; none is used twice, so every worker works on
  different families). Variants: the social security card (``card``, 03) and the e-voucher
  (``voucher``, 01; sent without a password when the server accepts that, with it otherwise), at
  1, 8 and 32 workers (processes on PostgreSQL, threads on SQLite — one process, as ``yibao
  serve`` runs it); and 8 workers on ONE family, checked for correctness afterwards.
- yibao over HTTP: a real ``yibao serve`` (production mode: API key, sign-in) and 1, 8, 32 clients
  (processes with keep-alive connections), card variant (or the first of ``--variants`` without
  card); CPU is the server process's.
- the floor (``floor.py``): the same rows written by hand in one round trip per settlement.
- the peer: pgledger's ``pgledger_create_transfer`` (SQL from a fetched copy of pgr0ss/pgledger,
  loaded at run time by the peer harness in ../shared/bench/pgledger_peer; never copied here).

Per operation: client CPU (process CPU ÷ settlements), PostgreSQL backend CPU, WAL bytes,
transfers written, statements and round trips (see ``measure.py`` for how each is taken).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import floor as floor_mod  # noqa: E402
import measure  # noqa: E402
import population  # noqa: E402
from population import ADMDVS, DRUG, PASSWORD, PHARMACY, Population  # noqa: E402

from yibao.gateway.dispatcher import dispatch  # noqa: E402
from yibao.nhsa.envelope import dumps, request_envelope  # noqa: E402
from yibao.services.identity import encrypt_password, public_key_pem  # noqa: E402
from yibao.services.platform import Platform, SystemClock  # noqa: E402
from yibao.storage import tables as t  # noqa: E402
from yibao.storage.uow import Store  # noqa: E402

# ../shared next to the checkout (the project's shared references), as the developer guide has it
PEER_DIR = Path(os.environ.get("YIBAO_PGLEDGER_PEER", str(HERE.parent.parent / "shared/bench/pgledger_peer")))
PGLEDGER_COMMIT = "c18c7d267d46ab396641d5e44f1ce3166aeb9a6d"  # the peer harness's pinned snapshot
MIRRORS = ("/work/.mirror/pgr0ss+pgledger/repo",)
AMOUNT = "3.00"
ADMIN_TOKEN = "bench-admin-token"
CERT = {"card": "03", "voucher": "01", "id": "02"}


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# Results -------------------------------------------------------------------------------------------


@dataclass
class Row:
    db: str
    path: str
    variant: str
    workers: int
    n: int = 0
    per_second: float = 0.0
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    errors: dict = field(default_factory=dict)
    client_cpu_ms: float | None = None  # per settlement: in-process workers / the HTTP server / floor client
    backend_cpu_ms: float | None = None
    wal_bytes: float | None = None
    wal_fpi_bytes: float | None = None  # of which full-page images (after a checkpoint)
    wal_how: str = ""
    transfers: float | None = None
    statements: float | None = None
    round_trips: float | None = None
    loadgen_cpu_ms: float | None = None
    busy: float | None = None
    note: str = ""


@dataclass
class Snapshot:
    at: float
    jiffies: tuple[int, int]
    backends: dict = field(default_factory=dict)
    lsn: str | None = None
    server_cpu: float | None = None
    ids: tuple[int, int] = (0, 0)


# Databases -------------------------------------------------------------------------------------------


def driver_url(url: str) -> str:
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)


class Databases:
    """Scratch databases: PostgreSQL ones next to ``--pg`` (dropped at the end), SQLite files in a temp dir."""

    def __init__(self, pg: str | None, tmp: Path):
        self.pg, self.tmp, self.made = pg, tmp, []

    def new(self, kind: str, label: str) -> str:
        if kind == "sqlite":
            return str(self.tmp / f"{label}.sqlite")
        import psycopg

        name = f"yibao_bench_{label}_{os.getpid()}"
        with psycopg.connect(driver_url(self.pg), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        return driver_url(self.pg).rsplit("/", 1)[0] + f"/{name}"

    def drop_all(self) -> None:
        if not self.made:
            return
        import psycopg

        with psycopg.connect(driver_url(self.pg), autocommit=True) as conn:
            for name in self.made:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def dbname_of(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?")[0]


def counts_since(url: str, sqlite: bool, ids: tuple[int, int]) -> tuple[int, int]:
    """(settlements, transfers) with ids above the given ones."""
    if sqlite:
        import sqlite3

        with sqlite3.connect(url) as c:
            s = c.execute("SELECT count(*) FROM settlements WHERE id > ?", (ids[0],)).fetchone()[0]
            t = c.execute("SELECT count(*) FROM transfers WHERE id > ?", (ids[1],)).fetchone()[0]
        return s, t
    import psycopg

    with psycopg.connect(url, autocommit=True) as c:
        s = c.execute("SELECT count(*) FROM settlements WHERE id > %s", (ids[0],)).fetchone()[0]
        t = c.execute("SELECT count(*) FROM transfers WHERE id > %s", (ids[1],)).fetchone()[0]
    return s, t


def max_ids(url: str, sqlite: bool) -> tuple[int, int]:
    q = "SELECT coalesce(max(id), 0) FROM settlements", "SELECT coalesce(max(id), 0) FROM transfers"
    if sqlite:
        import sqlite3

        with sqlite3.connect(url) as c:
            return c.execute(q[0]).fetchone()[0], c.execute(q[1]).fetchone()[0]
    import psycopg

    with psycopg.connect(url, autocommit=True) as c:
        return c.execute(q[0]).fetchone()[0], c.execute(q[1]).fetchone()[0]


# The window around a run --------------------------------------------------------------------------------


class Window:
    """Snapshots at the start and end of a timed window: machine, backends, WAL, server process, ids."""

    def __init__(self, url: str, sqlite: bool, server_pid: int | None = None):
        self.url, self.sqlite, self.server_pid = url, sqlite, server_pid
        self.watch = None if sqlite else measure.PgWatch(url, dbname_of(url))

    def snap(self, with_ids: bool = True) -> Snapshot:
        s = Snapshot(time.perf_counter(), measure.machine_jiffies())
        if self.watch:
            s.backends = self.watch.backends()
            s.lsn = self.watch.lsn()
        if self.server_pid:
            s.server_cpu = server_cpu_seconds(self.server_pid)
        if with_ids:
            s.ids = max_ids(self.url, self.sqlite)
        return s

    def fill(self, row: Row, out: measure.Outcome, a: Snapshot, b: Snapshot, *, shape: bool = True) -> Row:
        n = max(out.n, 1)
        row.n, row.per_second, row.p50_ms, row.p99_ms, row.errors = (
            out.n,
            out.per_second,
            out.p50_ms,
            out.p99_ms,
            out.errors,
        )
        row.busy = measure.busy_fraction(a.jiffies, b.jiffies)
        if self.server_pid and a.server_cpu is not None and b.server_cpu is not None:
            row.client_cpu_ms = (b.server_cpu - a.server_cpu) / n * 1e3
            row.loadgen_cpu_ms = out.worker_cpu_s / n * 1e3
        else:
            row.client_cpu_ms = out.worker_cpu_s / n * 1e3
        if self.watch:
            cpu = sum(v - a.backends.get(pid, 0.0) for pid, v in b.backends.items())
            row.backend_cpu_ms = cpu / n * 1e3
            wal, fpi, row.wal_how = self.watch.wal_of_database(a.lsn, b.lsn)
            row.wal_bytes = wal / n
            row.wal_fpi_bytes = fpi / n if fpi is not None else None
        if shape:
            settled, transfers = counts_since(self.url, self.sqlite, a.ids)
            row.transfers = transfers / settled if settled else None
        return row

    def close(self) -> None:
        if self.watch:
            self.watch.close()


# yibao ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    psn_no: str
    certno: str
    card_no: str
    token: str


class Yibao:
    """A loaded yibao database, its platform in this process, and the families not used yet."""

    def __init__(self, url: str, *, label: str):
        self.url, self.label = url, label
        self.sqlite = "://" not in url
        self.p = Platform(Store.open(url, migrate=False), SystemClock(), require_sign_in=True)
        with self.p.store.engine.connect() as conn:
            self.pop: Population = population.read_meta(conn)
            raw = conn.execute(t.settings.select().where(t.settings.c.name == population.NEXT_FAMILY)).first()
        self.next_family = int(raw.value) if raw else 0
        self.families = self._families()
        self.cainfo = encrypt_password(public_key_pem(self.p), PASSWORD)
        signed = dispatch(self.p, self.envelope("9001", {"signIn": {"opter_no": "1"}}, "S", 0), authenticated=PHARMACY)
        assert signed["infcode"] == 0, signed["err_msg"]
        self.sign_no = signed["output"]["signinoutb"]["sign_no"]
        self.voucher_password = True
        self.run_no = 0
        self.wrapped = False

    def _families(self) -> list[Family]:
        from sqlalchemy import text

        sql = text(
            "SELECT p.psn_no, p.certno, c.card_no, t.token FROM people p "
            "JOIN cards c ON c.person_id = p.id JOIN ec_tokens t ON t.person_id = p.id "
            "WHERE p.id >= :lo AND p.id < :hi AND (p.id - :first) % 2 = 0 ORDER BY p.id"
        )
        first = self.pop.first_person_id
        with self.p.store.engine.connect() as conn:
            rows = conn.execute(sql, {"lo": first, "hi": first + 2 * self.pop.bench_families, "first": first}).all()
        return [Family(*r) for r in rows]

    def family(self, index: int) -> Family:
        if index >= len(self.families):
            self.wrapped = True
        return self.families[index % len(self.families)]

    def take(self, count: int) -> int:
        base = self.next_family
        self.next_family += count
        return base

    def save_next(self) -> None:
        with self.p.store.uow() as tx:
            tx.config.put(population.NEXT_FAMILY, str(self.next_family))

    def envelope(self, infno: str, inp: dict, tag: str, k: int, *, cainfo: str = "") -> dict:
        return request_envelope(
            infno,
            inp,
            institution=PHARMACY,
            admdvs=ADMDVS,
            now=self.p.now(),
            msgid=f"{tag}{k:010d}"[:30],
            sign_no=getattr(self, "sign_no", ""),
            cainfo=cainfo,
            opter="bench",
        )

    def purchase(self, fam: Family, variant: str) -> dict:
        cert_no = {"card": fam.card_no, "voucher": fam.token, "id": fam.certno}[variant]
        return {
            "druginfo": {
                "psn_no": fam.psn_no,
                "mdtrt_cert_type": CERT[variant],
                "mdtrt_cert_no": cert_no,
                "begntime": f"{self.p.now():%Y-%m-%d %H:%M:%S}",
                "medfee_sumamt": AMOUNT,
                "insutype": "310",
                "med_type": "41",
                "acct_used_flag": "1",
            },
            "drugdetail": [
                {"feedetl_sn": "1", "med_list_codg": DRUG, "det_item_fee_sumamt": AMOUNT, "cnt": "1", "pric": AMOUNT}
            ],
        }

    def settlement_envelope(self, fam: Family, variant: str, tag: str, k: int) -> dict:
        password = variant != "voucher" or self.voucher_password
        return self.envelope("2102", self.purchase(fam, variant), tag, k, cainfo=self.cainfo if password else "")

    def tag(self) -> str:
        self.run_no += 1
        return f"B{int(time.time()) % 10**8:08d}{self.run_no:03d}"

    def settle_once(self, variant: str) -> dict:
        fam = self.family(self.take(1))
        return dispatch(self.p, self.settlement_envelope(fam, variant, self.tag(), 0), authenticated=PHARMACY)

    def warm_up(self) -> None:
        """Caches, compiled statements, the policy — as a running server has them; and whether an
        e-voucher settles without a password on this code."""
        self.voucher_password = False
        answer = self.settle_once("voucher")
        if answer["infcode"] != 0:
            if "E2207-007" not in answer["err_msg"]:
                raise SystemExit(f"warm-up settlement refused: {answer['err_msg']}")
            self.voucher_password = True
        for variant in ("card", "voucher", "id"):
            answer = self.settle_once(variant)
            if answer["infcode"] != 0:
                raise SystemExit(f"warm-up settlement refused: {answer['err_msg']}")

    def probe(self, variant: str, k: int = 10) -> dict:
        """Statements, round trips and rows written per settlement, counted by an engine listener."""
        counter = measure.StatementCounter(pg=not self.sqlite)
        engine = self.p.store.engine
        counter.attach(engine)
        try:
            counter.reset()
            self.settle_once(variant)
            profile = dict(counter.kinds)
            counter.reset()
            for _ in range(k):
                self.settle_once(variant)
        finally:
            counter.detach(engine)
        return {
            "statements": counter.statements / k,
            "round_trips": counter.round_trips / k if not self.sqlite else None,
            "rows_written": counter.rows_written / k,
            "profile": profile,
        }

    def probe_http(self, api_key: str, variant: str = "card", k: int = 10) -> dict:
        """The same over the HTTP app (authentication included), in this process through ASGI."""
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from fastapi.testclient import TestClient

        from yibao.api.app import create_app

        counter = measure.StatementCounter(pg=not self.sqlite)
        engine = self.p.store.engine
        with TestClient(create_app(self.p, admin_token=ADMIN_TOKEN)) as client:
            counter.attach(engine)
            try:
                for i in range(k):
                    env = self.settlement_envelope(self.family(self.take(1)), variant, self.tag(), i)
                    r = client.post(
                        "/fsi/api/rsfComIfsService/callService",
                        content=dumps(env).encode(),
                        headers={"x-api-key": api_key, "content-type": "application/json"},
                    )
                    assert r.json()["infcode"] == 0, r.text
            finally:
                counter.detach(engine)
        return {
            "statements": counter.statements / k,
            "round_trips": counter.round_trips / k if not self.sqlite else None,
        }

    def texts(self) -> floor_mod.Texts:
        """A real settlement's stored record, explanation and answer, for the floor to write."""
        from sqlalchemy import select

        from yibao.care.ids import settlement_public_id, visit_public_id
        from yibao.storage import tables as t

        answer = self.settle_once("card")
        assert answer["infcode"] == 0, answer["err_msg"]
        setl_id = answer["output"]["setlinfo"]["setl_id"]
        with self.p.store.engine.connect() as conn:
            s = conn.execute(select(t.settlements).order_by(t.settlements.c.id.desc()).limit(1)).one()
            m = conn.execute(select(t.messages.c.answer).where(t.messages.c.ref == setl_id)).scalar_one()
            line = conn.execute(select(t.fee_lines).where(t.fee_lines.c.settlement_id == s.id)).one()
        assert settlement_public_id(ADMDVS, s.id) == setl_id
        mdtrt_id = visit_public_id(ADMDVS, s.visit_id)
        marked = m.replace(setl_id, floor_mod.SETL_MARK).replace(mdtrt_id, floor_mod.MDTRT_MARK)
        return floor_mod.Texts(s.output, s.explanation, marked, line.price, line.count)

    def invariants(self) -> list[str]:
        if self.pop.people > 50_000:
            return population.verify(self.p.store, full=False)
        with self.p.store.uow(read_only=True) as tx:
            return tx.ledger.check_invariants()

    def dispose(self) -> None:
        self.p.store.dispose()


def loaded_pg(dbs: Databases, stack: ExitStack, families: int, name: str) -> tuple[str, Yibao]:
    """A scratch PostgreSQL database with ``families`` loaded and a warmed-up ``Yibao`` on it
    (disposed with ``stack``): what the other bench scripts start from."""
    url = dbs.new("pg", name)
    population.load(url, people=2 * families, relations=families)
    y = Yibao(url, label="PostgreSQL")
    stack.callback(y.dispose)
    y.warm_up()
    return url, y


def run_inprocess(y: Yibao, variant: str, workers: int, seconds: float, *, one_family: bool = False) -> Row:
    """``workers`` callers of the dispatcher; each settlement a fresh family (or all on one)."""
    base = y.take(1) if one_family else y.next_family
    tag = y.tag()
    fork = not y.sqlite

    def make_op(w: int):
        if fork:
            y.p.store.engine.dispose(close=False)  # the parent's connections stay the parent's
        with y.p.store.uow(read_only=True) as tx:  # connect before the clock starts
            tx.config.get("bench")
        p, sq = y.p, f"{tag}{w:03d}"

        def op(k: int) -> str | None:
            fam = y.family(base if one_family else base + w + k * workers)
            answer = dispatch(p, y.settlement_envelope(fam, variant, sq, k), authenticated=PHARMACY)
            return None if answer["infcode"] == 0 else answer["err_msg"][:11]

        return op

    window = Window(y.url, y.sqlite)
    runner = measure.run_forked if fork else measure.run_threaded
    out, a, b = runner(make_op, workers, seconds, window.snap, lambda: window.snap(with_ids=False))
    if not one_family:
        y.next_family = base + out.max_ops * workers
        y.wrapped |= y.next_family > len(y.families)
    row = window.fill(Row(y.label, "in-process", variant + (" one family" if one_family else ""), workers), out, a, b)
    window.close()
    if one_family:
        row.note = one_family_check(y, base, out)
    return row


def one_family_check(y: Yibao, index: int, out: measure.Outcome) -> str:
    """After many workers on one family: no errors (no deadlock), the family's balances and settlement
    count exactly what the settlements say, and the ledger's invariants."""
    from sqlalchemy import func, select

    from yibao.ledger.model import person_bucket
    from yibao.storage import tables as t

    fam = y.family(index)
    father_psn = population.person_number(ADMDVS, y.pop.son(index) + 1)
    with y.p.store.uow(read_only=True) as tx:
        son = tx.people.by_psn_no(fam.psn_no)
        n = tx.conn.execute(select(func.count()).select_from(t.settlements).where(t.settlements.c.person_id == son.id))
        settled = n.scalar_one()
        codes = [person_bucket(fam.psn_no, "current"), person_bucket(father_psn, "current")]
        codes.append(person_bucket(father_psn, "historical"))
        bal = tx.ledger.balances(codes)
    drawn = 300 * out.n
    expected = [0, 0, population.FATHER_HISTORICAL - (drawn - population.SON_CURRENT - population.FATHER_CURRENT)]
    problems = []
    if out.errors:
        problems.append(f"errors {out.errors}")
    if settled != out.n:
        problems.append(f"{settled} settlements stored for {out.n} answered")
    if [bal[c] for c in codes] != expected:
        problems.append(f"balances {[bal[c] for c in codes]} ≠ {expected}")
    problems += y.invariants()[:3]
    return "correct, no deadlock" if not problems else "WRONG: " + "; ".join(problems)


# yibao over HTTP ----------------------------------------------------------------------------------------


@dataclass
class Served:
    proc: subprocess.Popen
    port: int


def server_cpu_seconds(pid: int) -> float | None:
    """CPU of a ``yibao serve`` process and of its live children (its ``--workers`` processes)."""
    own = measure.proc_cpu_seconds(pid)
    if own is None:
        return None
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if int(text[text.rindex(")") + 2 :].split()[1]) == pid:
            own += measure.proc_cpu_seconds(int(stat.parent.name)) or 0.0
    return own


@contextmanager
def yibao_server(url: str, log_dir: Path, workers: int = 1):
    """``yibao serve`` in production mode, in THIS session: with the kernel's autogroup scheduling on,
    a new session would get a CPU share of its own and flatter HTTP against in-process. ``workers``:
    its ``--workers`` (server processes); ready when every one has started."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "yibao", "serve", "--db", url, "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--admin-token", ADMIN_TOKEN, "--log-level", "info"]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    log_path = log_dir / f"serve-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60 * workers
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"yibao serve exited: {log_path.read_text()[-2000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200 and (
                    workers == 1
                    or log_path.read_text(errors="replace").count("Application startup complete") >= workers
                ):
                    break
                time.sleep(0.1)
            except OSError:
                time.sleep(0.1)
            if time.monotonic() > deadline:
                raise SystemExit(f"yibao serve did not start in {60 * workers} s") from None
        yield Served(proc, port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def issue_key(y: Yibao) -> str:
    from yibao.services.gateway_access import issue_credentials

    return issue_credentials(y.p, PHARMACY)["api_key"]


def http_sign_in(y: Yibao, srv, api_key: str, variant: str = "card", warm: int = 5) -> None:
    """9001 over HTTP (its sign_no is used from now on), then a few settlements to warm the server."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=120)
    headers = {"x-api-key": api_key, "content-type": "application/json"}

    def post(env: dict) -> dict:
        conn.request("POST", "/fsi/api/rsfComIfsService/callService", body=dumps(env).encode(), headers=headers)
        return json.loads(conn.getresponse().read())

    tag = y.tag()
    answer = post(y.envelope("9001", {"signIn": {"opter_no": "1"}}, tag, 0))
    assert answer["infcode"] == 0, answer["err_msg"]
    y.sign_no = answer["output"]["signinoutb"]["sign_no"]
    for k in range(1, warm + 1):
        answer = post(y.settlement_envelope(y.family(y.take(1)), variant, tag, k))
        assert answer["infcode"] == 0, answer["err_msg"]
    conn.close()


def http_variant(variants: list[str]) -> str:
    """HTTP runs the card variant, or the first in-process variant when card is not measured (so the
    HTTP ÷ in-process ratio compares like with like)."""
    return "card" if "card" in variants or not variants else variants[0]


def run_http(y: Yibao, srv, api_key: str, clients: int, seconds: float, variant: str = "card") -> Row:
    """``clients`` HIS processes, each one keep-alive connection, posting 2102s to ``yibao serve``."""
    base, tag = y.next_family, y.tag()
    host, port = "127.0.0.1", srv.port

    def make_op(w: int):
        conn = http.client.HTTPConnection(host, port, timeout=120)
        headers = {"x-api-key": api_key, "content-type": "application/json"}
        sq = f"{tag}{w:03d}"

        def op(k: int) -> str | None:
            env = y.settlement_envelope(y.family(base + w + k * clients), variant, sq, k)
            conn.request("POST", "/fsi/api/rsfComIfsService/callService", body=dumps(env).encode(), headers=headers)
            answer = json.loads(conn.getresponse().read())
            return None if answer["infcode"] == 0 else answer["err_msg"][:11]

        return op

    window = Window(y.url, y.sqlite, server_pid=srv.proc.pid)
    out, a, b = measure.run_forked(make_op, clients, seconds, window.snap, lambda: window.snap(with_ids=False))
    y.next_family = base + out.max_ops * clients
    y.wrapped |= y.next_family > len(y.families)
    row = window.fill(Row(y.label, "HTTP", variant, clients), out, a, b)
    row.note = f"HIS clients' CPU {row.loadgen_cpu_ms:.2f} ms"
    window.close()
    return row


# The floor -----------------------------------------------------------------------------------------------


def run_floor(fl: floor_mod.Floor, label: str, workers: int, seconds: float, state: dict) -> Row:
    base, tag = state["next"], f"F{int(time.time()) % 10**8:08d}{state.setdefault('run', 0):03d}"
    state["run"] += 1
    fork = not fl.sqlite
    span = max(fl.pop.bench_families, 1)

    def make_op(w: int):
        conn = fl.connect()
        sq = f"{tag}{w:03d}"
        clock = SystemClock()

        def op(k: int) -> str | None:
            try:
                fl.settle(conn, (base + w + k * workers) % span, f"{sq}{k:010d}", clock.now())
            except Exception as exc:
                return type(exc).__name__
            return None

        return op

    window = Window(fl.url, fl.sqlite)
    runner = measure.run_forked if fork else measure.run_threaded
    out, a, b = runner(make_op, workers, seconds, window.snap, lambda: window.snap(with_ids=False))
    state["next"] = base + out.max_ops * workers
    variant = "institution row in place" if fl.hot_row else "same rows"
    row = window.fill(Row(label, "floor (hand-written SQL)", variant, workers), out, a, b)
    row.statements = 1.0 if not fl.sqlite else 15.0  # SQLite: BEGIN IMMEDIATE, 14 row statements (as counted for yibao)
    row.round_trips = 1.0 if not fl.sqlite else None
    window.close()
    return row


# The peer ---------------------------------------------------------------------------------------------------


def pgledger_plugin(args):
    """pgledger's SQL from a fetched snapshot, through the peer harness; (plugin, None) or (None, why not)."""
    peer = Path(args.peer_dir)
    if not (peer / "bench_pgledger.py").exists():
        return None, f"the peer harness is not at {peer} (set --peer-dir or YIBAO_PGLEDGER_PEER)"
    mirror = args.pgledger_git or os.environ.get("PGLEDGER_GIT") or next((m for m in MIRRORS if os.path.isdir(m)), "")
    if not mirror or not os.path.isdir(mirror):
        return None, (
            "no fetched copy of pgr0ss/pgledger: pass --pgledger-git (or set PGLEDGER_GIT) to a bare clone or "
            "mirror of github.com/pgr0ss/pgledger, as the peer harness expects"
        )
    sys.path.insert(0, str(peer))
    try:
        import bench_pgledger

        return bench_pgledger.PgLedger(mirror, args.pgledger_commit), None
    except Exception as exc:  # a mirror without that commit, git missing, …
        return None, f"pgledger could not be read from {mirror} at {args.pgledger_commit}: {exc}"
    finally:
        sys.path.remove(str(peer))


def run_pgledger(plugin, url: str, label: str, workers: int, seconds: float, prefill: int, accounts: int) -> Row:
    ids = setup_pgledger(plugin, url, prefill, accounts)
    return run_pgledger_on(plugin, url, ids, label, workers, seconds, {"done": prefill})


def setup_pgledger(plugin, url: str, prefill: int, accounts: int) -> list:
    """pgledger's schema and accounts in a scratch database, with ``prefill`` transfers made."""
    import psycopg

    class A:
        pass

    a = A()
    a.accounts = accounts
    with psycopg.connect(url, autocommit=True) as c:
        ids = plugin.setup(c, a)
    with psycopg.connect(url, autocommit=True) as c:
        call, rng = plugin.make_worker(c), random.Random(1)
        for _ in range(prefill):
            x, y = rng.sample(range(len(ids)), 2)
            call(ids[x], ids[y], rng.randint(1, 1_000_000))
        c.execute("VACUUM ANALYZE")
        c.execute("CHECKPOINT")
    return ids


def run_pgledger_on(plugin, url: str, ids: list, label: str, workers: int, seconds: float, state: dict) -> Row:
    """One timed run of pgledger transfers; ``state["done"]``: transfers made in the database so far
    (kept up to date, for the harness's verification)."""
    import psycopg

    def make_op(w: int):
        conn = psycopg.connect(url, autocommit=True)
        call, r = plugin.make_worker(conn), random.Random(1000 + w)
        n = len(ids)

        def op(k: int) -> str | None:
            x = r.randrange(n)
            y = r.randrange(n - 1)
            y += y >= x
            try:
                call(ids[x], ids[y], r.randint(1, 1_000_000))
            except psycopg.Error as exc:
                return type(exc).__name__
            return None

        return op

    window = Window(url, False)
    out, a0, b0 = measure.run_forked(make_op, workers, seconds, lambda: window.snap(False), lambda: window.snap(False))
    row = window.fill(Row(label, "pgledger (peer)", "1 transfer", workers), out, a0, b0, shape=False)
    window.close()
    state["done"] += out.n
    with psycopg.connect(url, autocommit=True) as c:
        check = plugin.verify(c, state["done"])
    row.statements, row.round_trips, row.transfers = 1.0, 1.0, 1.0
    row.note = "verified" if check.get("ok") else f"VERIFY FAILED {check}"
    return row


# Plans ------------------------------------------------------------------------------------------------------


def _buffers_line(plan: list[str]) -> str:
    """The plan's first ``Buffers:`` line (its top node's, all nodes below included), or ""."""
    for line in plan:
        if line.strip().startswith("Buffers:"):
            return line.strip()
        if line.strip().startswith("Planning"):
            break
    return ""


def plan_pages(plan: list[str]) -> int:
    """Pages the plan's top node touched (its first ``Buffers:`` line; 0 when none is shown)."""
    for line in plan:
        if line.strip().startswith("Buffers:"):
            return sum(int(x) for x in re.findall(r"(?:hit|read)=(\d+)", line))
        if line.strip().startswith("Planning"):
            break
    return 0


def _explain_pg(cur, stmt: str, params) -> tuple[list[str], str]:
    """EXPLAIN (ANALYZE, BUFFERS) with the statement's real parameters, in a savepoint rolled back; a
    write that cannot be replayed (its row exists: the settlement was committed) is explained
    without ANALYZE. Returns (plan lines, how)."""
    cur.execute("SAVEPOINT plan")
    try:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + stmt, params)
        return [r[0] for r in cur.fetchall()], "analyze"
    except Exception as exc:
        cur.execute("ROLLBACK TO SAVEPOINT plan")
        why = f"{type(exc).__name__}"
        cur.execute("EXPLAIN " + stmt, params)
        return [r[0] for r in cur.fetchall()], f"no ANALYZE ({why} on replay)"
    finally:
        cur.execute("ROLLBACK TO SAVEPOINT plan")


_NAMED = re.compile(r"%\((\w+)\)s")


def _generic_pg(raw, stmt: str, params) -> list[str]:
    """The plan a prepared statement gets once PostgreSQL switches to its generic plan (psycopg
    prepares the settlement path's statements; after five executions the server may plan without
    the values): PREPARE … ; EXPLAIN EXECUTE under ``plan_cache_mode = force_generic_plan``."""
    from psycopg import ClientCursor

    names: list[str] = []

    def dollar(m: re.Match) -> str:
        if m[1] not in names:
            names.append(m[1])
        return f"${names.index(m[1]) + 1}"

    if isinstance(params, dict):
        sql = _NAMED.sub(dollar, stmt)
        values = [params[n] for n in names]
    else:  # positional %s
        values = list(params or ())
        k = iter(range(1, len(values) + 1))
        sql = re.sub(r"%s", lambda _m: f"${next(k)}", stmt)
    cur = ClientCursor(raw)
    cur.execute("SAVEPOINT generic")
    try:
        cur.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cur.execute("PREPARE yibao_generic AS " + sql.replace("%%", "%"))
        args = ", ".join(["%s"] * len(values))
        cur.execute("EXPLAIN EXECUTE yibao_generic" + (f"({args})" if values else ""), values)
        return [r[0] for r in cur.fetchall()]
    except Exception as exc:
        return [f"(generic plan not shown: {type(exc).__name__}: {str(exc).splitlines()[0][:100]})"]
    finally:
        cur.execute("ROLLBACK TO SAVEPOINT generic")
        cur.execute("RESET plan_cache_mode")
        try:
            cur.execute("DEALLOCATE yibao_generic")
        except Exception:
            cur.execute("ROLLBACK TO SAVEPOINT generic")


def _without_seqscan_pg(cur, stmt: str, params) -> list[str]:
    """The plan with sequential scans priced out (``enable_seqscan = off``): a table small enough to
    read whole is read whole, but a Seq Scan left here means no index serves the statement."""
    cur.execute("SAVEPOINT noseq")
    try:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("EXPLAIN " + stmt, params)
        return [r[0] for r in cur.fetchall()]
    finally:
        cur.execute("ROLLBACK TO SAVEPOINT noseq")


_INDEX_NODE = re.compile(r"(?:Index Scan|Index Only Scan)(?: Backward)? using (\w+) on|Bitmap Index Scan on (\w+)")


def _leading_columns(cur) -> dict[str, str]:
    """Each index's first column (expression indexes left out)."""
    cur.execute(
        "SELECT c.relname, a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
    )
    return dict(cur.fetchall())


def _unled_indexes(plan: list[str], leading: dict[str, str]) -> list[str]:
    """Indexes the plan scans without a condition on their first column: PostgreSQL then reads the
    whole index (a "Bitmap Index Scan on uq_relations_pair, Index Cond: (to_person_id = …)" costs
    as much as reading the table, and grows with it)."""
    out, current, cond = [], None, ""
    for line in [*plan, "->"]:
        m = _INDEX_NODE.search(line)
        if m or "->" in line:
            if current is not None:
                col = leading.get(current)
                led = col and re.search(r"\(\(?" + re.escape(col) + r"\)?(?:::[a-z ]+)? (?:=|<|>|<=|>=|<>|IS)", cond)
                if col and not led:
                    out.append(f"{current} (first column {col}) without a condition on {col}")
            current, cond = ((m[1] or m[2]) if m else None), ""
        elif current is not None and line.strip().startswith("Index Cond:"):
            cond = line.strip()
    return out


def _node_lines(plan: list[str]) -> list[str]:
    """A plan's node lines and index conditions (no timing detail)."""
    keep = ("->", "Index Cond", "Recheck Cond", "Filter", "Conflict Arbiter", "Hash Cond", "One-Time Filter")
    keep += ("SubPlan", "InitPlan", "CTE ")
    out = []
    for i, line in enumerate(plan):
        s = line.strip()
        if i == 0 or s.startswith(keep):
            out.append(re.sub(r"\s*\(cost=[^)]*\)|\s*\(actual [^)]*\)|\s*\(never executed\)", "", line))
    return out


def plans(
    y: Yibao, big_rows: int, big_pages: int, variants: tuple[str, ...] = ("card", "voucher")
) -> tuple[str, list[str]]:
    """EXPLAIN of every statement settlements of the given variants send (EXPLAIN QUERY PLAN on
    SQLite): all that SQLAlchemy sends (an engine listener) and all that ``storage.raw``
    (the family reads included) sends past it (its listener), each distinct statement once, replayed
    with its real parameters in a transaction that is rolled back. On PostgreSQL each is shown
    with its values (EXPLAIN ANALYZE, BUFFERS) and as the generic plan a prepared statement gets.
    Flagged: sequential scans of big tables (in either plan), and statements whose plan touches many
    pages (an index scanned whole, without its leading column, costs as much as a table scan)."""
    seen: dict[str, list] = {}  # sql → [params, variants]
    engine = y.p.store.engine
    for variant in variants:
        # the region's policy version is read once a second (POLICY_RECHECK_SECONDS): read it here
        y.p._policies.clear()
        counter = measure.StatementCounter(pg=not y.sqlite, capture=True)
        counter.attach(engine)
        try:
            answer = y.settle_once(variant)
        finally:
            counter.detach(engine)
        assert answer["infcode"] == 0, answer["err_msg"]
        for stmt, params in counter.captured:
            seen.setdefault(stmt, [params, []])[1].append(variant)
    raw = engine.raw_connection()
    lines, flagged = [], []
    try:
        cur = raw.cursor()
        sizes = {}
        if y.sqlite:
            cur.execute("BEGIN")
        else:
            cur.execute("SELECT relname, reltuples::bigint FROM pg_class WHERE relkind = 'r'")
            sizes = dict(cur.fetchall())
            leading = _leading_columns(cur)
        for i, (stmt, (params, used)) in enumerate(seen.items(), 1):
            times = {v: used.count(v) for v in variants}
            where = ", ".join(f"{v} ×{n}" for v, n in times.items() if n)
            lines.append(f"[{i}] ({where}) {measure.short_sql(stmt)}")
            generic: list[str] = []
            try:
                if y.sqlite:
                    cur.execute("EXPLAIN QUERY PLAN " + stmt, params or ())
                    plan = [str(r[-1]) for r in cur.fetchall()]
                    scans = [m for r in plan for m in re.findall(r"^SCAN (\w+)", r)]
                    lines += ["      " + p for p in plan]
                else:
                    plan, how = _explain_pg(cur, stmt, params)
                    generic = _generic_pg(raw.driver_connection, stmt, params)
                    buffers = re.findall(r"(hit|read|dirtied|written)=(\d+)", _buffers_line(plan))
                    pages = ", ".join(f"{k} {v}" for k, v in buffers) or "none"
                    how = f"EXPLAIN ANALYZE; shared pages {pages}" if how == "analyze" else how
                    lines.append(f"      with its values ({how}):")
                    lines += ["        " + p for p in _node_lines(plan)]
                    if _node_lines(generic) != _node_lines(plan):
                        lines.append("      generic plan (prepared, force_generic_plan):")
                        lines += ["        " + p for p in _node_lines(generic)]
                    else:
                        lines.append("      generic plan: the same")
                    scans = [m for r in plan + generic for m in re.findall(r"Seq Scan on (\w+)", r)]
                    forced = plan
                    if scans:  # is there an index for when the table grows?
                        forced = _without_seqscan_pg(cur, stmt, params)
                        lines.append("      with enable_seqscan = off (the index the statement has):")
                        lines += ["        " + p for p in _node_lines(forced)]
                    unserved = sorted({m for r in forced for m in re.findall(r"Seq Scan on (\w+)", r)})
                    unserved += _unled_indexes(forced + generic, leading)
                    flagged += [f"[{i}] NO INDEX for {what}: {measure.short_sql(stmt)}" for what in unserved]
            except Exception as exc:
                if not y.sqlite:
                    cur.execute("ROLLBACK TO SAVEPOINT plan")
                plan, scans = [f"(not explained: {type(exc).__name__}: {str(exc).splitlines()[0][:100]})"], []
                lines.append("      " + plan[0])
            for table in sorted(set(scans)):
                rows = sizes.get(table)
                if y.sqlite or (rows is not None and rows >= big_rows):
                    size = f"{rows:,} rows" if rows is not None else "full scan"
                    flagged.append(f"[{i}] sequential scan of {table} ({size}): {measure.short_sql(stmt)}")
            pages = plan_pages(plan)
            if pages >= big_pages:
                flagged.append(f"[{i}] reads {pages:,} pages (grows with the table?): {measure.short_sql(stmt)}")
    finally:
        raw.rollback()
        raw.close()
    return "\n".join(lines), flagged


# The whole run ------------------------------------------------------------------------------------------------


def report_head(script: str, title: str, argv, started: float, loads: tuple, details: str) -> list[str]:
    """The first lines of a bench script's markdown report: title and time, the command, the machine
    (``loads``: the load averages at the start and now)."""
    load0, load1 = loads
    command = f"python bench/{script} " + " ".join(argv if argv is not None else sys.argv[1:])
    return [
        f"## {title} — " + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "",
        f"`{command}`",
        "",
        f"Machine: {os.cpu_count()} CPUs; load average {load0[0]:.2f} at the start, {load1[0]:.2f} at the end; "
        f"{time.time() - started:.0f} s. {details}",
        "",
    ]


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}×" if a and b else "—"


def fmt(v, spec: str) -> str:
    return "—" if v is None or (isinstance(v, float) and v != v) else format(v, spec)


def table_text(rows: list[Row]) -> str:
    head = (
        "| database | path | variant | workers | n | settl./s | p50 ms | p99 ms | errors | client CPU ms | "
        "PG backend CPU ms | WAL B | WAL B w/o FPI | transfers | statements | round trips | machine busy | note |"
    )
    out = [head, "|" + "---|" * 18]
    for r in rows:
        errs = sum(r.errors.values())
        cpu = fmt(r.client_cpu_ms, ".2f") + (" (server)" if r.path == "HTTP" else "")
        wal = fmt(r.wal_bytes, ",.0f") + ("*" if r.wal_how == "cluster" else "")
        no_fpi = fmt(r.wal_bytes - r.wal_fpi_bytes if r.wal_fpi_bytes is not None else None, ",.0f")
        out.append(
            f"| {r.db} | {r.path} | {r.variant} | {r.workers} | {r.n:,} | {r.per_second:,.1f} | "
            f"{fmt(r.p50_ms, '.1f')} | {fmt(r.p99_ms, '.1f')} | {errs}{' ' + str(r.errors) if errs else ''} | "
            f"{cpu} | {fmt(r.backend_cpu_ms, '.2f')} | {wal} | {no_fpi} | {fmt(r.transfers, '.2f')} | "
            f"{fmt(r.statements, '.1f')} | {fmt(r.round_trips, '.1f')} | {fmt(r.busy and r.busy * 100, '.0f')}% | "
            f"{r.note} |"
        )
    return "\n".join(out)


def find(rows: list[Row], db: str, path: str, variant: str, workers: int) -> Row | None:
    return next(
        (r for r in rows if r.db == db and r.path == path and r.variant == variant and r.workers == workers), None
    )


def ratios_text(rows: list[Row], levels: list[int]) -> str:
    out = ["| ratio | database | workers | value | issue 11 target |", "|---|---|---|---|---|"]
    dbs = sorted({r.db for r in rows if not r.db.startswith("PostgreSQL large")}, key=lambda d: (d != "PostgreSQL", d))
    for db in dbs:

        def tps(path, variant, w, db=db):
            r = find(rows, db, path, variant, w)
            return r.per_second if r else None

        peer = next((r for r in rows if r.path == "pgledger (peer)"), None)
        for variant in ("card", "voucher"):
            if peer and db == "PostgreSQL":
                value = ratio(tps("in-process", variant, peer.workers), peer.per_second)
                out.append(f"| in-process ({variant}) ÷ pgledger | {db} | {peer.workers} | {value} | ≥ 1.0× |")
            for w in levels:
                value = ratio(tps("in-process", variant, w), tps("floor (hand-written SQL)", "same rows", w))
                out.append(f"| in-process ({variant}) ÷ floor | {db} | {w} | {value} | ≥ 0.4× |")
        for variant in ("card", "voucher"):
            for w in levels:
                value = ratio(tps("HTTP", variant, w), tps("in-process", variant, w))
                out.append(f"| HTTP ÷ in-process ({variant}) | {db} | {w} | {value} | ≥ 0.5× at 8 |")
        for variant in ("card", "voucher"):
            if 8 in levels:
                value = ratio(tps("in-process", variant, 8), tps("in-process", variant, 1))
                out.append(f"| 8 workers ÷ 1 worker ({variant}) | {db} | 8 ÷ 1 | {value} | ≥ 3× |")
        if 8 in levels:
            floor = "floor (hand-written SQL)"
            value = ratio(tps(floor, "same rows", 8), tps(floor, "same rows", 1))
            out.append(f"| floor 8 ÷ 1 | {db} | 8 ÷ 1 | {value} | (reference) |")
            value = ratio(tps(floor, "institution row in place", 8), tps(floor, "same rows", 8))
            out.append(
                f"| floor with the institution's row in place (before) ÷ floor | {db} | 8 | {value} | (reference) |"
            )
    large = [r for r in rows if r.db.startswith("PostgreSQL large")]
    for r in large:
        small = find(rows, "PostgreSQL", "in-process", r.variant, r.workers)
        value = ratio(r.per_second, small.per_second if small else None)
        out.append(f"| large ÷ small database (in-process {r.variant}) | PostgreSQL | {r.workers} | {value} | ≥ 0.9× |")
        for what, attr in (("client CPU", "client_cpu_ms"), ("PG backend CPU", "backend_cpu_ms")):
            value = ratio(getattr(r, attr), getattr(small, attr) if small else None)
            out.append(
                f"| large ÷ small: {what} per settlement ({r.variant}) | PostgreSQL | {r.workers} | {value} | "
                "(≤ 1.1× keeps the rate) |"
            )
    return "\n".join(line for line in out if "| — |" not in line)


def open_large(args, variants: list[str], probes: dict, plan_text: dict) -> Yibao:
    """The database ``population.py`` made (``--large-db``): warmed up, its plans, its probes."""
    y = Yibao(args.large_db, label="PostgreSQL large")
    pop = y.pop
    y.label = f"PostgreSQL large ({pop.people:,} people, {pop.families:,} relations, {pop.settlements:,} settl.)"
    y.warm_up()
    if args.plans or args.plans_only:
        plan_text[y.label] = plans(y, args.big_table_rows, args.big_pages, tuple(variants))
    if not args.plans_only:
        for variant in variants:
            probes[f"{y.label} in-process {variant}"] = y.probe(variant)
    return y


def run_large(y: Yibao, variant: str, workers: int, seconds: float, probes: dict) -> Row:
    say(f"{y.label}: in-process {variant}, {workers} workers …")
    row = run_inprocess(y, variant, workers, seconds)
    row.statements = probes[f"{y.label} in-process {variant}"]["statements"]
    row.round_trips = probes[f"{y.label} in-process {variant}"]["round_trips"]
    return row


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg", default=os.environ.get("YIBAO_TEST_PG_URL"), help="a PostgreSQL URL (the server to use)")
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--no-http", action="store_true")
    ap.add_argument("--no-floor", action="store_true")
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--seconds", type=float, default=12.0, help="length of each timed run")
    ap.add_argument("--workers", help="worker (and HTTP client) counts (1,8,32; --quick: 1,8)")
    ap.add_argument("--variants", default="card,voucher", help="in-process variants: card, voucher, id")
    ap.add_argument("--families", type=int, default=20_000, help="families in the small databases")
    ap.add_argument("--quick", action="store_true", help="a ~1 minute smoke run: 2 s runs, 1 and 8 workers")
    ap.add_argument("--large-db", help="a PostgreSQL database made by population.py: in-process runs there too")
    ap.add_argument(
        "--plans", action="store_true", help="EXPLAIN every statement a settlement of each --variants sends"
    )
    ap.add_argument("--plans-only", action="store_true", help="only the plans (small PG, --large-db, SQLite)")
    ap.add_argument(
        "--big-table-rows", type=int, default=10_000, help="a sequential scan of a table this big is flagged"
    )
    ap.add_argument("--big-pages", type=int, default=50, help="a statement touching this many pages is flagged")
    ap.add_argument("--peer-dir", default=str(PEER_DIR), help="the pgledger peer harness (bench_pgledger.py)")
    ap.add_argument("--pgledger-git", default="", help="bare git dir of a fetched pgr0ss/pgledger")
    ap.add_argument("--pgledger-commit", default=PGLEDGER_COMMIT)
    ap.add_argument("--markdown", help="also write the report (command, machine, tables) to this file")
    ap.add_argument("--json", help="also write the rows as JSON to this file")
    args = ap.parse_args(argv)
    if args.quick:
        args.seconds = min(args.seconds, 2.0)
        args.families = min(args.families, 3_000)
    args.workers = args.workers or ("1,8" if args.quick else "1,8,32")
    levels = [int(x) for x in args.workers.split(",") if x.strip()]
    variants = [v for v in args.variants.split(",") if v]
    kinds = ([] if args.no_pg or not args.pg else ["pg"]) + ([] if args.no_sqlite else ["sqlite"])
    if not kinds:
        raise SystemExit("nothing to measure: give --pg or drop --no-sqlite")
    started = time.time()
    load0 = os.getloadavg()
    rows: list[Row] = []
    notes: list[str] = []
    probes: dict[str, dict] = {}
    plan_text: dict[str, tuple[str, list[str]]] = {}
    with tempfile.TemporaryDirectory(prefix="yibao-throughput-") as tmp, ExitStack() as stack:
        dbs = Databases(args.pg, Path(tmp))
        stack.callback(dbs.drop_all)
        # The large database, when given, is opened first; each in-process run on the small
        # PostgreSQL database is followed at once by the same run on the large one, so that the two
        # of a pair share the shared machine's conditions.
        large = open_large(args, variants, probes, plan_text) if args.large_db else None
        large_done: set[tuple[str, int]] = set()
        if large is not None:
            stack.callback(large.dispose)
        for kind in kinds:
            label = "PostgreSQL" if kind == "pg" else "SQLite"
            say(f"{label}: loading {args.families:,} families …")
            url = dbs.new(kind, "yibao")
            population.load(url, people=2 * args.families, relations=args.families)
            y = Yibao(url, label=label)
            stack.callback(y.dispose)
            y.warm_up()
            if not y.voucher_password:
                notes.append(f"{label}: e-voucher settlements sent without a password (the server accepts it)")
            else:
                notes.append(f"{label}: e-voucher settlements still need the password (E2207-007 without one)")
            if args.plans or args.plans_only:
                plan_text[label] = plans(y, args.big_table_rows, args.big_pages, tuple(variants))
            if args.plans_only:
                continue
            for variant in variants:
                probes[f"{label} in-process {variant}"] = y.probe(variant)
            texts = y.texts()
            for variant in variants:
                for w in levels:
                    say(f"{label}: in-process {variant}, {w} workers …")
                    rows.append(run_inprocess(y, variant, w, args.seconds))
                    rows[-1].statements = probes[f"{label} in-process {variant}"]["statements"]
                    rows[-1].round_trips = probes[f"{label} in-process {variant}"]["round_trips"]
                    if large is not None and kind == "pg" and w in (1, 8):
                        rows.append(run_large(large, variant, w, args.seconds, probes))
                        large_done.add((variant, w))
            if 8 in levels:
                if f"{label} in-process card" not in probes:
                    probes[f"{label} in-process card"] = y.probe("card")
                say(f"{label}: in-process, 8 workers on one family …")
                rows.append(run_inprocess(y, "card", 8, args.seconds, one_family=True))
                key = f"{label} in-process card"
                card = probes[key] if key in probes else probes.setdefault(key, y.probe("card"))
                rows[-1].statements, rows[-1].round_trips = card["statements"], card["round_trips"]
            if not args.no_http:
                api_key = issue_key(y)
                hv = http_variant(variants)
                probes[f"{label} HTTP {hv}"] = y.probe_http(api_key, hv)
                with yibao_server(url, Path(tmp)) as srv:
                    http_sign_in(y, srv, api_key, hv)
                    for clients in levels:
                        say(f"{label}: HTTP {hv}, {clients} clients …")
                        rows.append(run_http(y, srv, api_key, clients, args.seconds, hv))
                        rows[-1].statements = probes[f"{label} HTTP {hv}"]["statements"]
                        rows[-1].round_trips = probes[f"{label} HTTP {hv}"]["round_trips"]
            if y.wrapped:
                notes.append(f"{label}: ran out of fresh families; later settlements reused some (see transfers)")
            problems = y.invariants()
            notes.append(f"{label}: ledger invariants after the runs: {'hold' if not problems else problems[:3]}")
            if not args.no_floor:
                say(f"{label}: loading the floor's database …")
                furl = dbs.new(kind, "floor")
                fpop = population.load(
                    furl, people=2 * args.families, relations=args.families, balances=floor_mod.FLOOR_BALANCES
                )
                fl = floor_mod.Floor(furl, fpop, texts, sqlite=kind == "sqlite")
                state = {"next": 0}
                run_floor(fl, label, 1, min(1.0, args.seconds), state)  # warm-up: plans, caches
                for w in levels:
                    say(f"{label}: floor, {w} workers …")
                    rows.append(run_floor(fl, label, w, args.seconds, state))
                if kind == "pg" and 8 in levels:  # what the one hot row cost (yibao before issue 11)
                    say(f"{label}: floor with the institution's balance updated in place, 8 workers …")
                    fl.hot_row = True
                    rows.append(run_floor(fl, label, 8, args.seconds, state))
                    rows[-1].note = "reference: one row every settlement updates (yibao before issue 11)"
                    fl.hot_row = False
                fstore = Store.open(furl, migrate=False)
                fproblems = population.verify(fstore, full=False)
                fstore.dispose()
                notes.append(f"{label}: floor ledger after the runs: {fproblems if fproblems else 'balanced'}")
            if kind == "pg" and not args.no_peer:
                plugin, why = pgledger_plugin(args)
                if plugin is None:
                    notes.append(f"pgledger peer skipped: {why}")
                    say(f"pgledger peer skipped: {why}")
                else:
                    peer_w = 8 if 8 in levels else max(levels)
                    say(f"pgledger, {peer_w} workers …")
                    purl = dbs.new("pg", "pgledger")
                    quick_prefill = 500 if args.quick else 5000
                    rows.append(run_pgledger(plugin, purl, label, peer_w, args.seconds, quick_prefill, 10_000))
                    notes.append(f"pgledger: {plugin.commit} from {plugin.mirror}")
        if large is not None and not args.plans_only:
            for variant in variants:
                for w in [w for w in levels if w in (1, 8) and (variant, w) not in large_done]:
                    rows.append(run_large(large, variant, w, args.seconds, probes))
        if large is not None:
            large.save_next()
    load1 = os.getloadavg()
    report = render(args, argv, rows, levels, notes, probes, plan_text, started, load0, load1)
    print(report)
    if args.markdown:
        Path(args.markdown).write_text(report + "\n", encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=1), "utf-8")
    return {"rows": rows, "probes": probes, "notes": notes, "plans": plan_text}


def render(args, argv, rows, levels, notes, probes, plan_text, started, load0, load1) -> str:
    cmd = "python bench/throughput.py " + " ".join(argv if argv is not None else sys.argv[1:])
    when = datetime.fromtimestamp(started).strftime("%Y-%m-%d %H:%M")
    out = [
        f"## yibao throughput — {when}",
        "",
        f"`{cmd}`",
        "",
        f"Machine: {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}; load average "
        f"{load0[0]:.2f}/{load0[1]:.2f}/{load0[2]:.2f} at the start, {load1[0]:.2f}/{load1[1]:.2f}/{load1[2]:.2f} at "
        f"the end; {time.time() - started:.0f} s. Each run {args.seconds:g} s.",
        "",
    ]
    if rows:
        out += [
            table_text(rows),
            "",
            "Per settlement (per transfer for pgledger). client CPU: the workers' processes (in-process, floor, "
            "pgledger) or the `yibao serve` process (HTTP). WAL: records of the run's database (pg_waldump), and "
            "the same without full-page images (which follow every checkpoint, and the shared server checkpoints "
            "often); * = the whole cluster's (the shared server's other work included). statements / round trips: an "
            "engine listener over 10 settlements (see bench/measure.py); floor and pgledger: one statement by "
            "construction. machine busy: both CPUs, all processes.",
            "",
            ratios_text(rows, levels),
            "",
        ]
    out += [f"- {n}" for n in notes]
    for name, probe in probes.items():
        if "profile" in probe:
            out += ["", f"Statements of one settlement — {name} (rows written {probe['rows_written']:.1f}):", ""]
            out += [f"    {n} × {s}" for s, n in probe["profile"].items()]
    for name, (text_, flagged) in plan_text.items():
        out += [
            "",
            f"### Plans — {name}",
            "",
            "Flagged (sequential scans of big tables; statements touching many pages): "
            + ("none" if not flagged else ""),
        ]
        out += [f"- {f}" for f in flagged]
        out += ["", "```", text_, "```"]
    return "\n".join(out)


if __name__ == "__main__":
    main()
