"""A large, consistent yibao database, loaded fast: COPY on PostgreSQL, executemany on SQLite.

    python bench/population.py --pg postgresql://postgres@127.0.0.1:5432/yibao_large \\
        --people 1000000 --relations 500000 --settlements 1000000 [--recreate]
    python bench/population.py --sqlite /tmp/small.sqlite --people 2000 --relations 1000

It writes the rows the services would write, without calling them once per person (that takes
~10 ms a person: an argon2 hash, a dozen statements). The database is migrated to head first.

- the region (the ``jiangxi-nanchang`` policy), one pharmacy, one 甲类 drug (the real services);
- ``relations`` families of two: a working son (310/1101) and his retired father (310/1201), the
  father declared the son's parent and granting him mutual aid (a grant and its ``granted`` event);
  the rest of ``people`` are single working employees;
- everyone: a valid ID number, a card, an e-voucher token, the password 123456 (one argon2id hash
  shared by all rows: a settlement verifies a hash, it never makes one), insurance;
- personal accounts (current and historical buckets, floor 0) opened with real ledger entries
  ``opening:<psn_no>`` from ``X:opening``: son 1.00 current; father 1.00 current and 10,000.00
  historical; single 500.00 current. A 3.00 purchase by a son then draws three buckets (his own
  current, his father's current and historical): three transfers, four balances;
- ``settlements`` of history: cash-paid 2102 purchases by people outside the families the bench
  uses (each with its visit, fee line, settlement record and message answer copied from a real
  settlement, its journal entry and transfer, its accumulator row), spread over the past year.

``bench.population`` in the settings table says which families the bench may use (those no history
touches); ``bench.next_family`` is where the next bench run starts, so runs never reuse a family.
The ledger invariants are checked afterwards (with SQL on big databases, ``check_invariants()`` on
small ones).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import secrets
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

from yibao.care.ids import person_number, settlement_public_id, visit_public_id
from yibao.credentials.model import hash_password, id_check_digit
from yibao.credentials.voucher import signed_token
from yibao.ledger.model import (
    CASH_PAY,
    OPENING,
    Entry,
    Transfer,
    cash_account,
    external_account,
    institution_account,
    person_bucket,
)
from yibao.policy import load_policy
from yibao.services import world
from yibao.services.credentials import voucher_key
from yibao.services.platform import Platform
from yibao.settlement.model import CatalogItem
from yibao.storage import tables as t
from yibao.storage.uow import Store

REGION = "jiangxi-nanchang"
ADMDVS = "360100"
PHARMACY = "P36010000001"
DRUG = "XJ01CAA0001"
PASSWORD = "123456"
SON_CURRENT, FATHER_CURRENT, FATHER_HISTORICAL, SINGLE_CURRENT = 100, 100, 1_000_000, 50_000
HISTORY_AMOUNT = "25.00"
META = "bench.population"
NEXT_FAMILY = "bench.next_family"
CHINA = ZoneInfo("Asia/Shanghai")
SERIAL_TABLES = (
    "people",
    "insurances",
    "cards",
    "accounts",
    "journal_entries",
    "transfers",
    "relations",
    "mutual_aid_grants",
    "grant_events",
    "visits",
    "fee_lines",
    "settlements",
)


@dataclass(frozen=True)
class Population:
    """What was loaded, as the bench reads it back from ``settings``."""

    people: int
    families: int  # son + father pairs: person ids first_person_id + 2i (son) and + 2i + 1 (father)
    bench_families: int  # the first families, untouched by history
    settlements: int
    first_person_id: int
    admdvs: str = ADMDVS
    pharmacy: str = PHARMACY
    drug: str = DRUG

    def son(self, family: int) -> int:
        """The son's person id in a family (the father's is the next one)."""
        return self.first_person_id + 2 * (family % max(self.bench_families, 1))

    def bucket(self, person_id: int, bucket: str) -> int:
        """The account id of a person's bucket, as loaded (two per person, current first)."""
        return 2 * (person_id - self.first_person_id) + (1 if bucket == "current" else 2)


# Rows ----------------------------------------------------------------------------------------------


def certno(base: date, i: int, gender: str) -> str:
    """A valid, unique ID number: the birth day moves every 500 people, the sequence's parity is the gender."""
    birth = base + timedelta(days=i // 500)
    seq = (i % 500) * 2 + (1 if gender == "1" else 0)
    head = f"{ADMDVS}{birth:%Y%m%d}{seq:03d}"
    return head + id_check_digit(head)


@dataclass
class Sink:
    """Rows into tables inside one transaction: COPY on PostgreSQL, executemany on SQLite."""

    dbapi: object
    sqlite: bool
    counts: dict

    def put(self, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> None:
        started, n = time.perf_counter(), 0
        quoted = ", ".join(f'"{c}"' for c in columns)
        if self.sqlite:
            cur = self.dbapi.cursor()

            def counted() -> Iterator[tuple]:
                nonlocal n
                for row in rows:
                    n += 1
                    yield row

            cur.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({', '.join('?' * len(columns))})", counted())
        else:
            with self.dbapi.cursor() as cur, cur.copy(f"COPY {table} ({quoted}) FROM STDIN") as cp:
                for row in rows:
                    cp.write_row(row)
                    n += 1
        self.counts[table] = self.counts.get(table, 0) + n
        say(f"  {table}: {n:,} rows in {time.perf_counter() - started:.1f} s")


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _history_templates(now: datetime) -> dict:
    """A real cash-paid 2102 made by the services on a scratch in-memory database: its settlement
    record, explanation and answer become every history row's (ids substituted, same lengths)."""
    from yibao.gateway.dispatcher import dispatch
    from yibao.nhsa.envelope import new_msgid, request_envelope
    from yibao.services.identity import encrypt_password, public_key_pem

    p = Platform(Store.open("sqlite://"))
    _world(p)
    son = world.add_person(
        p,
        world.NewPerson(
            name="样本",
            birth=date(1980, 1, 1),
            gender="1",
            admdvs=ADMDVS,
            insutype="310",
            psn_type="1101",
            insured_since=date(2015, 1, 1),
            password=PASSWORD,
        ),
    )
    inp = {
        "druginfo": {
            "psn_no": son.person.psn_no,
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": son.person.certno,
            "begntime": f"{now:%Y-%m-%d %H:%M:%S}",
            "medfee_sumamt": HISTORY_AMOUNT,
            "insutype": "310",
            "med_type": "41",
            "acct_used_flag": "0",
        },
        "drugdetail": [
            {
                "feedetl_sn": "1",
                "med_list_codg": DRUG,
                "det_item_fee_sumamt": HISTORY_AMOUNT,
                "cnt": "1",
                "pric": HISTORY_AMOUNT,
            }
        ],
    }
    env = request_envelope(
        "2102", inp, institution=PHARMACY, admdvs=ADMDVS, now=now, msgid=new_msgid(PHARMACY, now, 1), opter="bench"
    )
    env["cainfo"] = encrypt_password(public_key_pem(p), PASSWORD)
    answer = dispatch(p, env)
    assert answer["infcode"] == 0, answer["err_msg"]
    with p.store.engine.connect() as conn:
        s = conn.execute(select(t.settlements)).one()
        line = conn.execute(select(t.fee_lines)).one()
        m = conn.execute(select(t.messages).where(t.messages.c.infno == "2102")).one()
    p.store.dispose()
    return {
        "psn_no": son.person.psn_no,
        "setl_id": settlement_public_id(ADMDVS, s.id),
        "mdtrt_id": visit_public_id(ADMDVS, s.visit_id),
        "settlement": dict(s._mapping),
        "answer": m.answer,
        "medfee": s.medfee,
        "price": line.price,
        "count": line.count,
    }


def _world(p: Platform) -> None:
    """Region, pharmacy and drug through the real services (cheap: a handful of rows)."""
    with p.store.uow() as tx:
        if tx.config.region(ADMDVS) is not None:
            return
    _, policy_text = load_policy(REGION)
    world.put_region(p, policy_text, f"yibao/regions/{REGION}.yaml")
    world.add_institution(p, PHARMACY, "示例大药房", "pharmacy", 0, ADMDVS)
    world.add_catalog_item(p, CatalogItem(DRUG, "阿莫西林胶囊", "01"))


OPENING_BALANCES = {
    "son": (SON_CURRENT, 0),
    "father": (FATHER_CURRENT, FATHER_HISTORICAL),
    "single": (SINGLE_CURRENT, 0),
}


def load(
    url: str,
    *,
    people: int,
    relations: int,
    settlements: int = 0,
    check: bool | None = None,
    balances: dict[str, tuple[int, int]] | None = None,
) -> Population:
    """Load a population into the (migrated, person-free) database at ``url``; returns what it made.
    ``balances`` changes the opening (current, historical) fen of "son", "father" and "single"."""
    if relations * 2 > people:
        raise SystemExit(f"--relations {relations} needs at least {2 * relations} people (two per family)")
    started = time.perf_counter()
    store = Store.open(url)
    p = Platform(store)
    _world(p)
    now = p.now()
    with store.uow() as tx:
        if tx.people.count():
            raise SystemExit("the database already has people: load a population into a fresh database")
        key = voucher_key(tx)
    say(f"loading {people:,} people, {relations:,} families, {settlements:,} settlements of history …")
    templates = _history_templates(now) if settlements else None
    pw_hash = hash_password(PASSWORD)
    counts: dict[str, int] = {}
    with store.engine.begin() as conn:
        dbapi = conn.connection.dbapi_connection
        if not store.sqlite:
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            if conn.exec_driver_sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar():
                # FK triggers off for the load: the rows are consistent by construction, checked below
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        sink = Sink(dbapi, store.sqlite, counts)
        opening = {**OPENING_BALANCES, **(balances or {})}
        pop = _load_rows(sink, now, people, relations, settlements, pw_hash, key, templates, opening)
        _put_meta(conn, pop)
    if not store.sqlite:
        with store.engine.connect() as conn:
            for table in SERIAL_TABLES:
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"GREATEST((SELECT max(id) FROM {table}), 1))"
                )
            conn.commit()
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            say("VACUUM ANALYZE …")
            conn.exec_driver_sql("VACUUM ANALYZE")  # statistics for the plans, the visibility map
            if people > 100_000:  # the load's own dirty pages written now, not during the first runs
                conn.exec_driver_sql("CHECKPOINT")
    else:
        with store.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    problems = verify(store, full=check if check is not None else people <= 20_000)
    store.dispose()
    if problems:
        raise SystemExit("the loaded ledger is inconsistent: " + "; ".join(problems[:5]))
    say(f"loaded in {time.perf_counter() - started:.0f} s; ledger invariants hold")
    return pop


def _load_rows(sink: Sink, now, people, relations, settlements, pw_hash, key, tpl, balances) -> Population:
    first = 1
    ids = range(first, first + people)

    def role(pid: int) -> tuple[str, int]:
        k = pid - first
        if k < 2 * relations:
            return ("son" if k % 2 == 0 else "father"), k // 2
        return "single", k - 2 * relations

    def person_row(pid: int) -> tuple:
        kind, i = role(pid)
        if kind == "son":
            gender, base, name = "1", date(1975, 1, 1), f"子{i}"
        elif kind == "father":
            gender, base, name = "1", date(1940, 1, 1), f"父{i}"
        else:
            gender, base, name = ("1" if i % 2 == 0 else "2"), date(1985, 1, 1), f"职工{i}"
        cert = certno(base, i, gender)
        birth = date(int(cert[6:10]), int(cert[10:12]), int(cert[12:14]))
        return (pid, person_number(ADMDVS, pid), cert, "01", name, gender, birth, "01", ADMDVS, now)

    sink.put(
        "people",
        ("id", "psn_no", "certno", "psn_cert_type", "name", "gender", "birth", "naty", "admdvs", "created_at"),
        (person_row(pid) for pid in ids),
    )
    sink.put(
        "insurances",
        ("id", "person_id", "insutype", "psn_type", "begin", "end", "benefit_start", "created_at"),
        (
            (pid, pid, "310", "1201" if role(pid)[0] == "father" else "1101", since, None, since, now)
            for pid in ids
            for since in [date(2000, 1, 1) if role(pid)[0] == "father" else date(2015, 1, 1)]
        ),
    )
    sink.put(
        "cards",
        ("id", "person_id", "card_no", "card_sn", "status", "issued_at", "status_at"),
        ((pid, pid, f"A{pid:08d}", secrets.token_hex(16).upper(), "active", now, now) for pid in ids),
    )
    issued, expires = now - timedelta(days=1), now + world.TOKEN_LIFETIME
    sink.put(
        "ec_tokens",
        ("token", "person_id", "issued_at", "expires_at"),
        ((signed_token(key, ADMDVS), pid, issued, expires) for pid in ids),
    )
    sink.put(
        "passwords",
        ("person_id", "hash", "failures", "updated_at"),
        ((pid, pw_hash, 0, now) for pid in ids),
    )

    # Accounts: two buckets each (ids 2·k+1, 2·k+2 for person index k), then X:opening, I:, C:.
    def opening(pid: int) -> tuple[int, int]:
        return balances[role(pid)[0]]

    def bucket_id(pid: int, bucket: str) -> int:
        return 2 * (pid - first) + (1 if bucket == "current" else 2)

    x_open, inst_id, cash_id = 2 * people + 1, 2 * people + 2, 2 * people + 3
    total_opening = sum(sum(opening(pid)) for pid in ids)
    history = _history_plan(people, relations, settlements)
    history_total = settlements * (tpl["medfee"] if tpl else 0)

    def account_rows() -> Iterator[tuple]:
        for pid in ids:
            psn = person_number(ADMDVS, pid)
            for bucket, amount in zip(("current", "historical"), opening(pid), strict=True):
                code = person_bucket(psn, bucket)
                yield (bucket_id(pid, bucket), code, "person_bucket", pid, bucket, 0, 0, amount, now)
        yield (x_open, external_account("opening"), "external", None, None, None, total_opening, 0, now)
        if settlements:  # otherwise the first settlement opens them, as it would
            yield (inst_id, institution_account(PHARMACY), "institution", None, None, None, 0, history_total, now)
            yield (cash_id, cash_account(PHARMACY), "cash", None, None, None, history_total, 0, now)

    sink.put(
        "accounts",
        ("id", "code", "kind", "person_id", "bucket", "floor", "debits", "credits", "created_at"),
        account_rows(),
    )

    # Opening entries (one per person) and their transfers.
    def opening_entries() -> Iterator[tuple]:
        for pid in ids:
            psn = person_number(ADMDVS, pid)
            moves = tuple(
                Transfer(external_account("opening"), person_bucket(psn, b), a, OPENING)
                for b, a in zip(("current", "historical"), opening(pid), strict=True)
                if a
            )
            entry = Entry(f"opening:{psn}", "opening", moves, ref=psn)
            yield (pid, entry.key, entry.kind, entry.ref, entry.digest(), now)

    sink.put("journal_entries", ("id", "key", "kind", "ref", "digest", "posted_at"), opening_entries())
    transfer_id = 0

    def opening_transfers() -> Iterator[tuple]:
        nonlocal transfer_id
        for pid in ids:
            for bucket, amount in zip(("current", "historical"), opening(pid), strict=True):
                if amount:
                    transfer_id += 1
                    yield (transfer_id, pid, x_open, bucket_id(pid, bucket), amount, OPENING)

    sink.put(
        "transfers", ("id", "entry_id", "debit_account_id", "credit_account_id", "amount", "code"), opening_transfers()
    )

    # Families: relation, grant, grant event.
    fam = range(relations)
    sink.put(
        "relations",
        ("id", "of_person_id", "to_person_id", "relation", "declared_by", "declared_at"),
        ((i + 1, first + 2 * i + 1, first + 2 * i, "parent", "agency", now) for i in fam),
    )
    sink.put(
        "mutual_aid_grants",
        ("id", "payer_id", "beneficiary_id", "position", "granted_at"),
        ((i + 1, first + 2 * i + 1, first + 2 * i, 1, now) for i in fam),
    )
    detail = json.dumps({"position": 1}, ensure_ascii=False)
    sink.put(
        "grant_events",
        ("id", "grant_id", "payer_id", "beneficiary_id", "event", "detail", "at"),
        ((i + 1, i + 1, first + 2 * i + 1, first + 2 * i, "granted", detail, now) for i in fam),
    )
    if settlements:
        _load_history(sink, now, history, tpl, people, inst_id, cash_id, transfer_id, first)
    return Population(
        people=people,
        families=relations,
        bench_families=history["bench_families"],
        settlements=settlements,
        first_person_id=first,
    )


def _history_plan(people: int, relations: int, settlements: int) -> dict:
    """Who has history: the last people by id (singles, then the last families), at most half of
    everyone; the first families stay untouched for the bench."""
    persons = min(max(people // 2, 1), settlements)
    touched_family_people = max(0, persons - (people - 2 * relations))
    touched_families = -(-touched_family_people // 2)
    return {
        "count": settlements,
        "persons": persons,
        "families": relations,
        "bench_families": relations - touched_families,
    }


def _load_history(sink: Sink, now, plan, tpl, people, inst_id, cash_id, transfer_base, first) -> None:
    """Cash-paid purchases by the last ``plan["persons"]`` people, oldest first, over the past year."""
    count, persons = plan["count"], plan["persons"]
    entry_base = sink.counts["journal_entries"]
    span = timedelta(days=364)
    medfee = tpl["medfee"]
    entry_digest = Entry(
        "-", "settlement", (Transfer(cash_account(PHARMACY), institution_account(PHARMACY), medfee, CASH_PAY),)
    ).digest()

    def rows(make) -> Iterator[tuple]:
        for k in range(count):
            pid = first + people - 1 - (k % persons)
            at = (now - span + span * k / count).replace(microsecond=0)
            yield make(k, pid, person_number(ADMDVS, pid), k + 1, at)

    def swap(text_: str, psn: str, pk: int) -> str:
        return (
            text_.replace(tpl["psn_no"], psn)
            .replace(tpl["setl_id"], settlement_public_id(ADMDVS, pk))
            .replace(tpl["mdtrt_id"], visit_public_id(ADMDVS, pk))
        )

    sink.put(
        "visits",
        ("id", "person_id", "institution_code", "kind", "insutype", "med_type", "begntime", "endtime", "status",
         "mdtrt_cert_type", "created_at"),
        rows(lambda k, pid, psn, pk, at: (pk, pid, PHARMACY, "pharmacy", "310", "41", at, at, "closed", "02", at)),
    )  # fmt: skip
    row = tpl["settlement"]
    columns = tuple(c for c in row if c not in ("id", "cancelled_at", "cancel_infno"))

    def settlement(k, pid, psn, pk, at) -> tuple:
        values = dict(row, visit_id=pk, person_id=pid, msgid=f"{PHARMACY}{k:018d}", year=at.year, setl_time=at)
        values["output"] = swap(row["output"], psn, pk)
        values["psn_type"] = "1201" if (pid - first) % 2 and (pid - first) < 2 * plan["families"] else "1101"
        return (pk, *(values[c] for c in columns))

    sink.put("settlements", ("id", *columns), rows(settlement))
    sink.put(
        "fee_lines",
        ("id", "visit_id", "feedetl_sn", "med_list_codg", "amount", "price", "count", "settlement_id", "uploaded_at"),
        rows(lambda k, pid, psn, pk, at: (pk, pk, "1", DRUG, medfee, tpl["price"], tpl["count"], pk, at)),
    )
    sink.put(
        "journal_entries",
        ("id", "key", "kind", "ref", "digest", "posted_at"),
        rows(
            lambda k, pid, psn, pk, at: (
                entry_base + pk,
                f"setl:{settlement_public_id(ADMDVS, pk)}",
                "settlement",
                settlement_public_id(ADMDVS, pk),
                entry_digest,
                at,
            )
        ),
    )
    sink.put(
        "transfers",
        ("id", "entry_id", "debit_account_id", "credit_account_id", "amount", "code"),
        rows(lambda k, pid, psn, pk, at: (transfer_base + pk, entry_base + pk, cash_id, inst_id, medfee, CASH_PAY)),
    )
    sink.put(
        "messages",
        ("institution_code", "msgid", "infno", "digest", "answer", "ref", "psn_no", "received_at"),
        rows(
            lambda k, pid, psn, pk, at: (
                PHARMACY,
                f"{PHARMACY}{k:018d}",
                "2102",
                hashlib.sha256(f"history:{k}".encode()).hexdigest(),
                swap(tpl["answer"], psn, pk),
                settlement_public_id(ADMDVS, pk),
                psn,
                at,
            )
        ),
    )
    seen: set[tuple[int, int]] = set()

    def accumulators() -> Iterator[tuple]:
        for _k, pid, _psn, _pk, at in rows(lambda *r: r):
            if (pid, at.year) not in seen:
                seen.add((pid, at.year))
                yield (pid, at.year, "pharmacy", 0, 0)

    sink.put("accumulators", ("person_id", "year", "category", "deductible_used", "fund_paid"), accumulators())


def _put_meta(conn, pop: Population) -> None:
    for name, value in ((META, json.dumps(asdict(pop))), (NEXT_FAMILY, "0")):
        conn.execute(t.settings.delete().where(t.settings.c.name == name))
        conn.execute(t.settings.insert().values(name=name, value=value))


def read_meta(conn) -> Population | None:
    raw = conn.execute(select(t.settings.c.value).where(t.settings.c.name == META)).scalar()
    return Population(**json.loads(raw)) if raw else None


def verify(store: Store, *, full: bool) -> list[str]:
    """The ledger's invariants: by ``check_invariants()`` when ``full``, else the same rules in SQL."""
    if full:
        with store.uow(read_only=True) as tx:
            return tx.ledger.check_invariants()
    problems = []
    with store.engine.connect() as conn:
        d, c = conn.execute(select(func.sum(t.accounts.c.debits), func.sum(t.accounts.c.credits))).one()
        if d != c:
            problems.append(f"Σ debits {d} ≠ Σ credits {c}")
        off = conn.execute(
            text(
                "SELECT count(*) FROM accounts a "
                "LEFT JOIN (SELECT debit_account_id id, sum(amount) s FROM transfers GROUP BY 1) d ON d.id = a.id "
                "LEFT JOIN (SELECT credit_account_id id, sum(amount) s FROM transfers GROUP BY 1) c ON c.id = a.id "
                "WHERE a.debits <> coalesce(d.s, 0) OR a.credits <> coalesce(c.s, 0)"
            )
        ).scalar()
        if off:
            problems.append(f"{off} accounts whose balances differ from their transfers")
        below = conn.execute(
            text("SELECT count(*) FROM accounts WHERE floor IS NOT NULL AND credits - debits < floor")
        ).scalar()
        if below:
            problems.append(f"{below} accounts below their floor")
        bare = conn.execute(
            text("SELECT count(*) FROM accounts WHERE kind = 'person_bucket' AND floor IS NULL")
        ).scalar()
        if bare:
            problems.append(f"{bare} personal buckets without a floor")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--pg", help="PostgreSQL URL of the database to fill (created if missing)")
    where.add_argument("--sqlite", help="SQLite file to fill")
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--relations", type=int, default=10_000, help="son + father families (two people each)")
    ap.add_argument("--settlements", type=int, default=0, help="settlements of history")
    ap.add_argument("--recreate", action="store_true", help="drop the PostgreSQL database first")
    ap.add_argument("--check", action="store_true", help="run check_invariants() itself even when large")
    args = ap.parse_args()
    url = args.sqlite
    if args.pg:
        url = args.pg
        ensure_pg_database(url, recreate=args.recreate)
    pop = load(url, people=args.people, relations=args.relations, settlements=args.settlements, check=args.check)
    print(json.dumps(asdict(pop)))


def ensure_pg_database(url: str, *, recreate: bool = False) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain + "/postgres", autocommit=True) as conn:
        if recreate:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    main()
