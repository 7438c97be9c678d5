"""Settlements per second over HTTP, in-process, and the floor a hand-written SQL transaction sets.

    python bench/http_bench.py [--n 300] [--concurrency 1,4,16] [--pg postgresql://…] [--no-sqlite]

One 2102 pharmacy purchase paid through mutual aid (the son's own account is spent on the first one,
every later one is paid from the father's account), measured three ways on each database:

(a) HTTP: ``yibao serve`` in production mode on loopback — API key, 9001 sign-in, the password
    RSA-OAEP-encrypted under the key from ``GET /fsi/api/pubkey`` and checked with argon2id, msgid
    recorded in the settlement's transaction — with N concurrent HIS clients (threads with httpx);
(b) in-process: the same envelope through the gateway dispatcher, no HTTP, one caller;
(c) the floor: a minimal hand-written transaction (sqlite3 / psycopg, no ORM, no checks) that reads
    and locks the same rows and writes what one settlement writes — message lookup, person lock,
    the four personal buckets and the institution account locked, accumulator read, visit,
    settlement, fee line, journal entry, transfer, account balances, accumulator, message row.

The last column is yibao's throughput as a fraction of the floor's at the same concurrency. SQLite
is a WAL file in a temporary directory; PostgreSQL (``--pg`` or ``YIBAO_TEST_PG_URL``) gets
throw-away databases created next to the one named and dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

from http_world import (  # noqa: E402
    ADMDVS,
    DRUG,
    PHARMACY,
    TEST_REGION,
    Admin,
    His,
    add_person,
    beijing_now,
    hammer,
    issue_credentials,
    pharmacy_input,
    setup_region,
)
from server import Server  # noqa: E402

AMOUNT = "3.00"
console = Console(width=max(Console().width, 110))


@dataclass
class Row:
    database: str
    path: str
    clients: int
    n: int
    per_second: float
    p50_ms: float
    p99_ms: float

    @classmethod
    def of(cls, database: str, path: str, clients: int, latencies: list[float], wall: float) -> Row:
        q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
        return cls(database, path, clients, len(latencies), len(latencies) / wall, q[49] * 1000, q[98] * 1000)


# Databases ---------------------------------------------------------------------------------------


def pg_driver_url(url: str) -> str:
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)


@contextmanager
def scratch_databases(kind: str, base: str | None, tmp: Path):
    """A factory of fresh, empty databases (SQLite files, or PostgreSQL databases dropped afterwards)."""
    made: list[str] = []

    def new(label: str) -> str:
        if kind == "sqlite":
            return str(tmp / f"{label}.sqlite")
        import psycopg

        name = f"yibao_bench_{label}_{os.getpid()}"
        with psycopg.connect(pg_driver_url(base), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return pg_driver_url(base).rsplit("/", 1)[0] + f"/{name}"

    try:
        yield new
    finally:
        if made:
            import psycopg

            with psycopg.connect(pg_driver_url(base), autocommit=True) as conn:
                for name in made:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# (a) over HTTP -----------------------------------------------------------------------------------


def http_world(url: str, families: int) -> tuple[list[dict], dict, str]:
    admin = Admin(url, "bench-admin")
    setup_region(admin)
    sons = []
    for i in range(families):
        son = add_person(admin, f"子{i}", current="1.00")
        father = add_person(
            admin, f"父{i}", current="100000.00", historical="100000.00", psn_type="1201", birth="1960-01-01"
        )
        admin.post("/api/v1/relations", {"of": father["psn_no"], "to": son["psn_no"], "relation": "parent"})
        admin.post("/api/v1/mutual-aid/grants", {"payer": father["psn_no"], "beneficiary": son["psn_no"]})
        sons.append(son)
    cred = issue_credentials(admin)
    admin.close()
    his = His(url, api_key=cred["api_key"])
    sign_no = his.sign_in()
    his.close()
    return sons, cred, sign_no


def run_http(url: str, sons: list[dict], cred: dict, sign_no: str, n: int, clients: int) -> tuple[list[float], float]:
    per = [n // clients + (1 if k < n % clients else 0) for k in range(clients)]

    def work(t: int, i: int):
        if i >= per[t]:
            return None
        return "2102", pharmacy_input(sons[(t * 7919 + i) % len(sons)], AMOUNT), "123456"

    sent = hammer(url, api_key=cred["api_key"], sign_no=sign_no, threads=clients, work=work)
    for s in sent:
        if not s.acked:
            raise SystemExit(f"settlement failed over HTTP: {s.answer['err_msg'] if s.answer else s.error}")
    wall = max(s.at + s.seconds for s in sent) - min(s.at for s in sent)
    return [s.seconds for s in sent], wall


def bench_http(kind: str, new_db: Callable[[str], str], args, tmp: Path) -> tuple[list[Row], str]:
    db = new_db("http")
    srv = Server(db, admin_token="bench-admin", log_dir=tmp, log_level="info")
    srv.start()
    try:
        sons, cred, sign_no = http_world(srv.url, args.families)
        run_http(srv.url, sons, cred, sign_no, 2 * len(sons), min(4, max(args.concurrency)))  # warm-up
        rows = []
        for clients in args.concurrency:
            latencies, wall = run_http(srv.url, sons, cred, sign_no, args.n, clients)
            rows.append(Row.of(kind, "HTTP (yibao serve)", clients, latencies, wall))
        shape = settlement_shape(db)
    finally:
        srv.stop()
    return rows, shape


def settlement_shape(db: str) -> str:
    from sqlalchemy import func, select

    from yibao.storage import tables as t
    from yibao.storage.uow import Store

    store = Store.open(db, migrate=False)
    try:
        with store.engine.connect() as conn:
            n = conn.execute(select(func.count()).select_from(t.settlements)).scalar_one()
            transfers = conn.execute(select(func.count()).select_from(t.transfers)).scalar_one()
            opening = conn.execute(
                select(func.count()).select_from(t.journal_entries).where(t.journal_entries.c.kind != "settlement")
            ).scalar_one()
        with store.uow() as tx:
            problems = tx.ledger.check_invariants()
    finally:
        store.dispose()
    per = (transfers - opening * 2) / n if n else 0
    return f"{n} settlements, ~{per:.1f} transfers each; ledger {'balanced' if not problems else problems[:2]}"


# (b) in-process ----------------------------------------------------------------------------------


def bench_inprocess(kind: str, new_db: Callable[[str], str], args) -> list[Row]:
    from yibao.gateway.dispatcher import dispatch
    from yibao.gateway.envelope import request_envelope
    from yibao.services import family, world
    from yibao.services.identity import encrypt_password, public_key_pem
    from yibao.services.platform import Platform, SystemClock
    from yibao.settlement.model import CatalogItem
    from yibao.storage.uow import Store

    store = Store.open(new_db("inproc"))
    p = Platform(store, SystemClock(), require_sign_in=True)
    world.put_region(p, TEST_REGION.read_text(encoding="utf-8"), "test-region.yaml")
    world.add_institution(p, PHARMACY, "示例大药房", "pharmacy", 0, ADMDVS)
    world.add_catalog_item(p, CatalogItem(DRUG, "阿莫西林胶囊", "01"))
    sons = []
    for i in range(args.families):

        def person(name, **kw):
            spec = dict(name=name, birth=date(1990, 1, 1), gender="1", admdvs=ADMDVS, insutype="310", psn_type="1101")
            spec.update(insured_since=date(2015, 1, 1), **kw)
            return world.add_person(p, world.NewPerson(**spec))

        son = person(f"子{i}", current=100, password="123456")
        father = person(f"父{i}", psn_type="1201", birth=date(1960, 1, 1), current=10_000_000, historical=10_000_000)
        family.declare_relation(p, father.person.psn_no, son.person.psn_no, "parent")
        family.authorize_mutual_aid(p, father.person.psn_no, son.person.psn_no)
        sons.append({"psn_no": son.person.psn_no, "certno": son.person.certno})
    pem = public_key_pem(p)
    counter = iter(range(10**9))

    def envelope(infno: str, inp: dict, sign_no: str = "", password: str | None = None) -> dict:
        env = request_envelope(
            infno,
            inp,
            institution=PHARMACY,
            admdvs=ADMDVS,
            now=beijing_now(),
            msgid=f"B{os.getpid()}X{next(counter):010d}",
            sign_no=sign_no,
            opter="bench",
        )
        if password:
            env["cainfo"] = encrypt_password(pem, password)
        return env

    signed = dispatch(p, envelope("9001", {"signIn": {"opter_no": "1"}}), authenticated=PHARMACY)
    sign_no = signed["output"]["signinoutb"]["sign_no"]

    def run(n: int) -> list[float]:
        timings = []
        for i in range(n):
            env = envelope("2102", pharmacy_input(sons[i % len(sons)], AMOUNT), sign_no, "123456")
            t0 = time.perf_counter()
            answer = dispatch(p, env, authenticated=PHARMACY)
            timings.append(time.perf_counter() - t0)
            if answer["infcode"] != 0:
                raise SystemExit(f"settlement failed in-process: {answer['err_msg']}")
        return timings

    run(2 * len(sons))  # warm-up
    timings = run(args.n)
    store.dispose()
    # one caller, back to back: throughput is 1 / mean latency (envelope building is not timed, as over HTTP)
    return [Row.of(kind, "in-process", 1, timings, sum(timings))]


# (c) the floor -----------------------------------------------------------------------------------

FLOOR_SQL = [
    # the message (idempotency) row, absent
    ("one", "SELECT infno FROM messages WHERE institution_code = %(inst)s AND msgid = %(msgid)s {lock}"),
    ("one", "SELECT id FROM people WHERE psn_no = %(psn)s {lock}"),
    (
        "all",
        "SELECT id, code, debits, credits FROM accounts WHERE code IN "
        "(%(c1)s, %(c2)s, %(c3)s, %(c4)s, %(c5)s) ORDER BY id {lock}",
    ),
    (
        "one",
        "SELECT deductible_used, fund_paid FROM accumulators "
        "WHERE person_id = %(pid)s AND year = %(year)s AND category = 'pharmacy'",
    ),
    (
        "id",
        "INSERT INTO visits (person_id, institution_code, kind, insutype, med_type, begntime, endtime, status, "
        "mdtrt_cert_type, created_at) VALUES (%(pid)s, %(inst)s, 'pharmacy', '310', '41', %(now)s, %(now)s, "
        "'closed', '02', %(now)s) RETURNING id",
    ),
    (
        "id",
        "INSERT INTO settlements (visit_id, person_id, institution_code, infno, msgid, insutype, psn_type, "
        "mdtrt_cert_type, med_type, category, clr_type, year, setl_time, medfee, fund_pay, acct_pay, mulaid_pay, "
        "cash_pay, deductible, mid_setl, output, explanation, status, revision) VALUES (%(visit)s, %(pid)s, "
        "%(inst)s, '2102', %(msgid)s, '310', '1101', '02', '41', 'pharmacy', '41', %(year)s, %(now)s, 300, 0, 0, "
        "300, 0, 0, %(false)s, %(record)s, %(explanation)s, 'settled', 0) RETURNING id",
    ),
    ("one", "SELECT id FROM journal_entries WHERE key = %(key)s"),
    (
        "id",
        "INSERT INTO journal_entries (key, kind, ref, digest, posted_at) "
        "VALUES (%(key)s, 'settlement', %(ref)s, %(digest)s, %(now)s) RETURNING id",
    ),
    (
        "none",
        "INSERT INTO transfers (entry_id, debit_account_id, credit_account_id, amount, code) "
        "VALUES (%(entry)s, %(payer)s, %(institution)s, 300, 'mutual_aid')",
    ),
    ("none", "UPDATE accounts SET debits = debits + 300 WHERE id = %(payer)s"),
    ("none", "UPDATE accounts SET credits = credits + 300 WHERE id = %(institution)s"),
    (
        "count",
        "UPDATE accumulators SET deductible_used = deductible_used + 0, fund_paid = fund_paid + 0 "
        "WHERE person_id = %(pid)s AND year = %(year)s AND category = 'pharmacy'",
    ),
    (
        "none",
        "INSERT INTO fee_lines (visit_id, feedetl_sn, med_list_codg, amount, price, count, settlement_id, "
        "uploaded_at) VALUES (%(visit)s, '1', %(drug)s, 300, '3.00', '1', %(setl)s, %(now)s)",
    ),
    (
        "none",
        "INSERT INTO messages (institution_code, msgid, infno, digest, answer, ref, psn_no, received_at) "
        "VALUES (%(inst)s, %(msgid)s, '2102', %(digest)s, %(answer)s, %(ref)s, %(psn)s, %(now)s)",
    ),
]


def complete_insert(sql: str, kind: str) -> str:
    """Add any NOT NULL column the schema has grown (with a Python-side default) to a hand-written INSERT."""
    from yibao.storage import tables as t

    m = re.match(r"INSERT INTO (\w+) \(([^)]*)\) VALUES \((.*)\)( RETURNING id)?$", sql, re.S)
    if m is None:
        return sql
    table, named = t.metadata.tables[m[1]], {c.strip() for c in m[2].split(",")}
    extra = []
    for col in table.columns:
        if col.name in named or col.nullable or col.primary_key or col.server_default is not None:
            continue
        if col.default is None or not col.default.is_scalar:
            raise SystemExit(f"the floor's INSERT INTO {table.name} lacks the required column {col.name}")
        value = col.default.arg
        if isinstance(value, bool):
            literal = ("TRUE" if value else "FALSE") if kind == "pg" else str(int(value))
        elif isinstance(value, int | float):
            literal = str(value)
        else:
            literal = "'" + str(value).replace("'", "''") + "'"
        extra.append((col.name, literal))
    if not extra:
        return sql
    cols = m[2] + "".join(f", {c}" for c, _ in extra)
    vals = m[3] + "".join(f", {v}" for _, v in extra)
    return f"INSERT INTO {m[1]} ({cols}) VALUES ({vals}){m[4] or ''}"


class Floor:
    """The same rows, by hand: one connection per client, one transaction per settlement."""

    def __init__(self, kind: str, url: str, families: int):
        from yibao.storage import tables as t
        from yibao.storage.uow import Store

        self.kind, self.url = kind, url
        self.sql = [(fetch, complete_insert(sql, kind)) for fetch, sql in FLOOR_SQL]
        self.answer = json.dumps({"infcode": 0, "output": {"setlinfo": {"x": "y" * 1500}}}, ensure_ascii=False)
        self.record = json.dumps({"lines": [{"amount": 300}] * 10})
        self.sons: list[tuple[str, list[str]]] = []
        # the real schema through the real migrations; the world seeded with SQLAlchemy (not timed)
        store = Store.open(url)
        now = datetime.now().replace(microsecond=0)
        with store.engine.begin() as conn:
            conn.execute(
                t.regions.insert(),
                dict(admdvs=ADMDVS, region_id="bench", name="bench", policy_text="-", overrides="", updated_at=now),
            )
            conn.execute(
                t.institutions.insert(),
                dict(code=PHARMACY, name="p", kind="pharmacy", level=0, admdvs=ADMDVS, active=True, created_at=now),
            )
            conn.execute(t.catalog_items.insert(), dict(code=DRUG, name="d", chrgitm_lv="01", selfpay_prop=0))
            conn.execute(
                t.accounts.insert(),
                dict(code=f"I:{PHARMACY}", kind="institution", debits=0, credits=0, created_at=now),
            )
            for i in range(families):
                codes = []
                for who in ("S", "F"):
                    psn = f"{ADMDVS}{who}{i:013d}"
                    pid = conn.execute(
                        t.people.insert().values(
                            psn_no=psn,
                            certno=psn,
                            name="x",
                            gender="1",
                            birth=date(1990, 1, 1),
                            admdvs=ADMDVS,
                            created_at=now,
                        )
                    ).inserted_primary_key[0]
                    for bucket in ("current", "historical"):
                        codes.append(f"P:{psn}:{bucket}")
                        conn.execute(
                            t.accounts.insert(),
                            dict(
                                code=codes[-1],
                                kind="person_bucket",
                                person_id=pid,
                                bucket=bucket,
                                floor=0,
                                debits=0,
                                credits=1_000_000_000,
                                created_at=now,
                            ),
                        )
                    if who == "S":
                        conn.execute(
                            t.accumulators.insert(),
                            dict(person_id=pid, year=now.year, category="pharmacy", deductible_used=0, fund_paid=0),
                        )
                        son = psn
                self.sons.append((son, codes))
        store.dispose()
        self.counter = iter(range(10**9))
        self.lock = threading.Lock()

    def connect(self):
        if self.kind == "sqlite":
            import sqlite3

            path = self.url
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            return conn
        import psycopg

        return psycopg.connect(pg_driver_url(self.url))

    def tx_begin(self, conn) -> None:
        if self.kind == "sqlite":
            conn.execute("BEGIN IMMEDIATE")

    def commit(self, conn) -> None:
        if self.kind == "sqlite":
            conn.execute("COMMIT")
        else:
            conn.commit()

    def run(self, conn, sql: str, params: dict, fetch: str = "none"):
        sql = sql.replace("{lock}", "" if self.kind == "sqlite" else "FOR UPDATE")
        params = dict(params, false=False, true=True)
        if self.kind == "sqlite":
            sql = re.sub(r"%\((\w+)\)s", r":\1", sql)
        cur = conn.execute(sql, params)
        if fetch == "one":
            return cur.fetchone()
        if fetch == "all":
            return cur.fetchall()
        if fetch == "id":
            return cur.fetchone()[0]
        if fetch == "count":
            return cur.rowcount
        return None

    def settle(self, conn) -> None:
        with self.lock:
            k = next(self.counter)
        son, codes = self.sons[k % len(self.sons)]
        now = datetime.now().replace(microsecond=0)
        msgid = f"F{os.getpid()}X{k:012d}"
        p = {
            "inst": PHARMACY,
            "msgid": msgid,
            "psn": son,
            "now": now,
            "year": now.year,
            "drug": DRUG,
            "record": self.record,
            "explanation": "符合政策范围 3.00 元；家庭共济支付 3.00 元",
            "answer": self.answer,
            "digest": f"{k:064d}",
        }
        p.update({f"c{i + 1}": c for i, c in enumerate([*codes, f"I:{PHARMACY}"])})
        self.tx_begin(conn)
        for fetch, sql in self.sql:
            got = self.run(conn, sql, p, fetch)
            if "FROM people" in sql:
                p["pid"] = got[0]
            elif "FROM accounts" in sql:
                ids = {code: row[0] for row in got for code in [row[1]]}
                p["payer"], p["institution"] = ids[codes[2]], ids[f"I:{PHARMACY}"]
            elif sql.startswith("INSERT INTO visits"):
                p["visit"] = got
            elif sql.startswith("INSERT INTO settlements"):
                p["setl"] = got
                p["ref"] = p["key"] = f"setl:ST{ADMDVS}{got:010d}"
            elif sql.startswith("INSERT INTO journal_entries"):
                p["entry"] = got
        self.commit(conn)

    def bench(self, n: int, clients: int) -> tuple[list[float], float]:
        per = [n // clients + (1 if k < n % clients else 0) for k in range(clients)]
        timings: list[list[float]] = [[] for _ in range(clients)]
        barrier = threading.Barrier(clients + 1)

        def client(t: int) -> None:
            conn = self.connect()
            barrier.wait()
            for _ in range(per[t]):
                t0 = time.perf_counter()
                self.settle(conn)
                timings[t].append(time.perf_counter() - t0)
            conn.close()

        threads = [threading.Thread(target=client, args=(t,)) for t in range(clients)]
        for th in threads:
            th.start()
        barrier.wait()
        started = time.perf_counter()
        for th in threads:
            th.join()
        return [x for per_t in timings for x in per_t], time.perf_counter() - started


def bench_floor(kind: str, new_db: Callable[[str], str], args, levels: list[int]) -> tuple[list[Row], str]:
    from sqlalchemy import func, select

    from yibao.storage import tables as t
    from yibao.storage.uow import Store

    url = new_db("floor")
    floor = Floor("sqlite" if kind == "sqlite" else "pg", url, args.families)
    floor.bench(50, 1)  # warm-up
    rows = []
    for clients in levels:
        timings, wall = floor.bench(args.floor_n, clients)
        rows.append(Row.of(kind, "floor (raw SQL)", clients, timings, wall))
    store = Store.open(url, migrate=False)
    with store.engine.connect() as conn:
        counts = {
            tb.name: conn.execute(select(func.count()).select_from(tb)).scalar_one()
            for tb in (t.settlements, t.transfers, t.messages, t.fee_lines, t.visits, t.journal_entries)
        }
        moved = conn.execute(select(func.sum(t.accounts.c.debits))).scalar_one()
    store.dispose()
    expected = 50 + args.floor_n * len(levels)
    assert set(counts.values()) == {expected}, counts
    assert moved == expected * 300, moved
    return rows, f"{expected} transactions, one row each in {', '.join(counts)}"


# -------------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=400, help="settlements per HTTP / in-process measurement")
    ap.add_argument("--floor-n", type=int, default=2000, help="transactions per floor measurement")
    ap.add_argument("--concurrency", default="1,4,16", help="comma-separated numbers of concurrent HTTP clients")
    ap.add_argument("--families", type=int, default=40)
    ap.add_argument("--pg", default=os.environ.get("YIBAO_TEST_PG_URL"), help="a PostgreSQL URL (a server to use)")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--no-http", action="store_true")
    ap.add_argument("--no-inprocess", action="store_true")
    ap.add_argument("--no-floor", action="store_true")
    args = ap.parse_args()
    args.concurrency = [int(x) for x in args.concurrency.split(",") if x.strip()]
    kinds = ([] if args.no_sqlite else ["sqlite"]) + (["postgresql"] if args.pg else [])
    if not kinds:
        raise SystemExit("nothing to measure: --no-sqlite and no --pg")

    rows: list[Row] = []
    notes: list[str] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="yibao-bench-") as tmp:
        for kind in kinds:
            with scratch_databases("sqlite" if kind == "sqlite" else "pg", args.pg, Path(tmp)) as new_db:
                if not args.no_http:
                    with console.status(f"{kind}: HTTP, {args.concurrency} clients …"):
                        got, shape = bench_http(kind, new_db, args, Path(tmp))
                    rows += got
                    notes.append(f"{kind} HTTP run: {shape}")
                if not args.no_inprocess:
                    with console.status(f"{kind}: in-process …"):
                        rows += bench_inprocess(kind, new_db, args)
                if not args.no_floor:
                    with console.status(f"{kind}: floor …"):
                        got, shape = bench_floor(kind, new_db, args, sorted({1, *args.concurrency}))
                    rows += got
                    notes.append(f"{kind} floor run: {shape}")

    floor = {(r.database, r.clients): r.per_second for r in rows if r.path.startswith("floor")}
    table = Table(
        title=f"2102 药店结算（家庭共济支付）— settlements per second, loopback, {os.cpu_count()} CPUs",
        caption=f"measured in {time.perf_counter() - started:.0f} s; × floor = throughput ÷ floor throughput "
        "at the same number of clients",
    )
    for col in ("database", "path", "clients", "n", "settlements/s", "p50 ms", "p99 ms", "× floor"):
        table.add_column(col, justify="left" if col in ("database", "path") else "right")
    for r in rows:
        f = floor.get((r.database, r.clients))
        ratio = "—" if r.path.startswith("floor") or not f else f"{r.per_second / f:.3f}"
        table.add_row(
            r.database,
            r.path,
            str(r.clients),
            str(r.n),
            f"{r.per_second:,.0f}",
            f"{r.p50_ms:.2f}",
            f"{r.p99_ms:.2f}",
            ratio,
        )
    console.print(table)
    for note in notes:
        console.print(note)


if __name__ == "__main__":
    main()
