"""The floor: the fastest honest way to write what one yibao 2102 settlement writes.

A settlement of the bench (a son's 3.00 purchase paid 1.00 from his own current bucket, 1.00 from
his father's current and 1.00 from his father's historical bucket) leaves these rows, and so does
the floor, on the same schema (the real migrations, the same indexes, foreign keys and CHECKs):

    visit · settlement (its record and explanation, copied from a real one) · fee line ·
    journal entry ``setl:<setl_id>`` · 3 transfers · 4 balances (three buckets, the institution) ·
    the accumulator (insert or add) · the message row with the answer (copied from a real one)

PostgreSQL: ONE prepared statement per settlement, in autocommit (one statement = one transaction
= one round trip): data-modifying CTEs chain the generated ids (visit → settlement → line, entry →
transfers), the balances are locked in id order (``SELECT … ORDER BY id FOR UPDATE``, so settlements
of one family never deadlock) and the floors are the accounts' own ``CHECK``; a crossed floor or a
reused msgid or ledger key fails the whole statement. SQLite: one ``BEGIN IMMEDIATE`` transaction of
prepared statements (sqlite3 caches them), writers queued in-process as yibao queues them.

What the floor leaves out is the deciding: it reads nothing (no person, insurance, relations,
grants, catalogue, policy or balances — the amounts are the client's), checks no password and
records the message once instead of claiming it first. That is yibao's job and its cost; the floor
is what the database must do at least for the same rows.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime

from population import ADMDVS, DRUG, PHARMACY, Population
from sqlalchemy import text

from yibao.care.ids import person_number
from yibao.ledger.model import ACCT_PAY, MUTUAL_AID
from yibao.storage.uow import Store

AMOUNT_EACH = 100  # fen from each of the three buckets
MEDFEE = 3 * AMOUNT_EACH
PLENTY = 10**12  # the floor's buckets never run dry, so every settlement has the same shape
FLOOR_BALANCES = {"son": (PLENTY, 0), "father": (PLENTY, PLENTY), "single": (PLENTY, 0)}
SETL_MARK, MDTRT_MARK = "@SETL_ID_MARK_18@@", "@MDTRT_ID_MARK_18@"


@dataclass(frozen=True)
class Texts:
    """What a real settlement stored: its record, explanation and answer (ids marked for replacement)."""

    output: str
    explanation: str
    answer: str
    price: str = "3.00"
    count: str = "1"

    @classmethod
    def synthetic(cls) -> Texts:
        return cls("{" + '"x": "' + "y" * 1400 + '"}', "说明" * 60, "{" + '"a": "' + "z" * 1900 + '"}')


PG_SETTLE = """
WITH v AS (
    INSERT INTO visits (person_id, institution_code, kind, insutype, med_type, begntime, endtime, status,
                        mdtrt_cert_type, created_at)
    VALUES (%(pid)s, %(inst)s, 'pharmacy', '310', '41', %(at)s, %(at)s, 'closed', '03', %(at)s)
    RETURNING id
), s AS (
    INSERT INTO settlements (visit_id, person_id, institution_code, infno, msgid, insutype, psn_type,
                             mdtrt_cert_type, med_type, category, clr_type, year, setl_time, medfee, fund_pay,
                             acct_pay, mulaid_pay, cash_pay, deductible, mid_setl, output, explanation, status,
                             revision)
    SELECT v.id, %(pid)s, %(inst)s, '2102', %(msgid)s, '310', '1101', '03', '41', 'pharmacy', '41', %(year)s,
           %(at)s, %(medfee)s, 0, %(acct)s, %(mulaid)s, 0, 0, false, %(output)s, %(explanation)s, 'settled', 0
    FROM v
    RETURNING id, visit_id
), ids AS (
    SELECT s.id, s.visit_id,
           'ST' || %(admdvs)s || lpad(s.id::text, 10, '0') AS setl_id,
           'MD' || %(admdvs)s || lpad(s.visit_id::text, 10, '0') AS mdtrt_id
    FROM s
), l AS (
    INSERT INTO fee_lines (visit_id, feedetl_sn, med_list_codg, amount, price, count, settlement_id, uploaded_at)
    SELECT ids.visit_id, '1', %(drug)s, %(medfee)s, %(price)s, %(count)s, ids.id, %(at)s FROM ids
), j AS (
    INSERT INTO journal_entries (key, kind, ref, digest, posted_at)
    SELECT 'setl:' || ids.setl_id, 'settlement', ids.setl_id, %(entry_digest)s, %(at)s FROM ids
    RETURNING id
), tr AS (
    INSERT INTO transfers (entry_id, debit_account_id, credit_account_id, amount, code)
    SELECT j.id, x.d, x.c, x.a, x.code
    FROM j, unnest(%(t_debit)s::int[], %(t_credit)s::int[], %(t_amount)s::bigint[], %(t_code)s::text[])
         AS x(d, c, a, code)
), lk AS (
    SELECT id FROM accounts WHERE id = ANY(%(a_id)s::int[]) ORDER BY id FOR UPDATE
), ac AS (
    UPDATE accounts a SET debits = a.debits + u.d, credits = a.credits + u.c
    FROM lk, unnest(%(a_id)s::int[], %(a_debit)s::bigint[], %(a_credit)s::bigint[]) AS u(id, d, c)
    WHERE a.id = lk.id AND u.id = lk.id
    RETURNING a.id
), acc AS (
    INSERT INTO accumulators (person_id, year, category, deductible_used, fund_paid)
    VALUES (%(pid)s, %(year)s, 'pharmacy', 0, 0)
    ON CONFLICT (person_id, year, category) DO UPDATE
    SET deductible_used = accumulators.deductible_used + EXCLUDED.deductible_used,
        fund_paid = accumulators.fund_paid + EXCLUDED.fund_paid
), m AS (
    INSERT INTO messages (institution_code, msgid, infno, digest, answer, ref, psn_no, received_at)
    SELECT %(inst)s, %(msgid)s, '2102', %(digest)s,
           replace(replace(%(answer)s, %(setl_mark)s, ids.setl_id), %(mdtrt_mark)s, ids.mdtrt_id),
           ids.setl_id, %(psn)s, %(at)s
    FROM ids
)
SELECT (SELECT count(*) FROM ac), (SELECT setl_id FROM ids)
"""


class Floor:
    """One settlement's rows by hand, on a database loaded by ``population`` with plenty of money."""

    def __init__(self, url: str, pop: Population, texts: Texts, *, sqlite: bool):
        self.url, self.pop, self.texts, self.sqlite = url, pop, texts, sqlite
        self.hot_row = True  # False: the institution's balance is not updated per settlement (rolled up later)
        store = Store.open(url, migrate=False)
        with store.uow() as tx:
            tx.ledger.open_account(f"I:{PHARMACY}", datetime.now())
            self.institution_id = tx.ledger.account(f"I:{PHARMACY}").id
        store.dispose()
        self.writer = threading.Lock()  # SQLite: one writer at a time, queued here (as yibao's Store does)
        self.entry_digest = hashlib.sha256(b"floor-entry").hexdigest()

    def params(self, family: int, msgid: str, at: datetime) -> dict:
        pid = self.pop.son(family)
        son_cur, fa_cur, fa_hist = (
            self.pop.bucket(pid, "current"),
            self.pop.bucket(pid + 1, "current"),
            self.pop.bucket(pid + 1, "historical"),
        )
        inst = self.institution_id
        return {
            "pid": pid,
            "psn": person_number(ADMDVS, pid),
            "inst": PHARMACY,
            "admdvs": ADMDVS,
            "drug": DRUG,
            "at": at,
            "year": at.year,
            "msgid": msgid,
            "medfee": MEDFEE,
            "acct": AMOUNT_EACH,
            "mulaid": 2 * AMOUNT_EACH,
            "price": self.texts.price,
            "count": self.texts.count,
            "output": self.texts.output,
            "explanation": self.texts.explanation,
            "answer": self.texts.answer,
            "setl_mark": SETL_MARK,
            "mdtrt_mark": MDTRT_MARK,
            "digest": hashlib.sha256(msgid.encode()).hexdigest(),
            "entry_digest": self.entry_digest,
            "t_debit": [son_cur, fa_cur, fa_hist],
            "t_credit": [inst, inst, inst],
            "t_amount": [AMOUNT_EACH] * 3,
            "t_code": [ACCT_PAY, MUTUAL_AID, MUTUAL_AID],
            "a_id": [son_cur, fa_cur, fa_hist, inst][: 4 if self.hot_row else 3],
            "a_debit": [AMOUNT_EACH, AMOUNT_EACH, AMOUNT_EACH, 0][: 4 if self.hot_row else 3],
            "a_credit": [0, 0, 0, MEDFEE][: 4 if self.hot_row else 3],
        }

    # PostgreSQL ------------------------------------------------------------------------------------

    def pg_connect(self):
        import psycopg

        dsn = self.url.replace("postgresql+psycopg://", "postgresql://")
        return psycopg.connect(dsn, autocommit=True, prepare_threshold=0)

    def pg_settle(self, conn, family: int, msgid: str, at: datetime) -> None:
        p = self.params(family, msgid, at)
        got = conn.execute(PG_SETTLE, p, prepare=True).fetchone()
        if got[0] != len(p["a_id"]):
            raise RuntimeError(f"the floor updated {got[0]} balances, not {len(p['a_id'])}")

    def roll_up(self) -> None:
        """After settlements without the hot row: the institution's balance from its postings, once."""
        store = Store.open(self.url, migrate=False)
        with store.engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE accounts SET credits = (SELECT coalesce(sum(amount), 0) FROM transfers "
                    "WHERE credit_account_id = accounts.id) WHERE id = :i"
                ),
                {"i": self.institution_id},
            )
        store.dispose()

    # SQLite ------------------------------------------------------------------------------------------

    def sqlite_connect(self):
        import sqlite3

        conn = sqlite3.connect(self.url, isolation_level=None, check_same_thread=False, timeout=30)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
            conn.execute(f"PRAGMA {pragma}")
        return conn

    def sqlite_settle(self, conn, family: int, msgid: str, at: datetime) -> None:
        p = self.params(family, msgid, at)
        with self.writer:
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._sqlite_rows(conn, p)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _sqlite_rows(self, conn, p: dict) -> None:
        visit = conn.execute(
            "INSERT INTO visits (person_id, institution_code, kind, insutype, med_type, begntime, endtime, status, "
            "mdtrt_cert_type, created_at) VALUES (?, ?, 'pharmacy', '310', '41', ?, ?, 'closed', '03', ?)",
            (p["pid"], p["inst"], p["at"], p["at"], p["at"]),
        ).lastrowid
        setl = conn.execute(
            "INSERT INTO settlements (visit_id, person_id, institution_code, infno, msgid, insutype, psn_type, "
            "mdtrt_cert_type, med_type, category, clr_type, year, setl_time, medfee, fund_pay, acct_pay, mulaid_pay, "
            "cash_pay, deductible, mid_setl, output, explanation, status, revision) VALUES (?, ?, ?, '2102', ?, "
            "'310', '1101', '03', '41', 'pharmacy', '41', ?, ?, ?, 0, ?, ?, 0, 0, 0, ?, ?, 'settled', 0)",
            (
                visit,
                p["pid"],
                p["inst"],
                p["msgid"],
                p["year"],
                p["at"],
                p["medfee"],
                p["acct"],
                p["mulaid"],
                p["output"],
                p["explanation"],
            ),
        ).lastrowid
        setl_id, mdtrt_id = f"ST{ADMDVS}{setl:010d}", f"MD{ADMDVS}{visit:010d}"
        conn.execute(
            "INSERT INTO fee_lines (visit_id, feedetl_sn, med_list_codg, amount, price, count, settlement_id, "
            "uploaded_at) VALUES (?, '1', ?, ?, ?, ?, ?, ?)",
            (visit, p["drug"], p["medfee"], p["price"], p["count"], setl, p["at"]),
        )
        entry = conn.execute(
            "INSERT INTO journal_entries (key, kind, ref, digest, posted_at) VALUES (?, 'settlement', ?, ?, ?)",
            (f"setl:{setl_id}", setl_id, p["entry_digest"], p["at"]),
        ).lastrowid
        conn.executemany(
            "INSERT INTO transfers (entry_id, debit_account_id, credit_account_id, amount, code) "
            "VALUES (?, ?, ?, ?, ?)",
            [(entry, *t) for t in zip(p["t_debit"], p["t_credit"], p["t_amount"], p["t_code"], strict=True)],
        )
        conn.executemany(
            "UPDATE accounts SET debits = debits + ?, credits = credits + ? WHERE id = ?",
            [(d, c, i) for i, d, c in sorted(zip(p["a_id"], p["a_debit"], p["a_credit"], strict=True))],
        )
        conn.execute(
            "INSERT INTO accumulators (person_id, year, category, deductible_used, fund_paid) "
            "VALUES (?, ?, 'pharmacy', 0, 0) ON CONFLICT (person_id, year, category) DO UPDATE "
            "SET deductible_used = deductible_used + excluded.deductible_used, "
            "fund_paid = fund_paid + excluded.fund_paid",
            (p["pid"], p["year"]),
        )
        answer = p["answer"].replace(SETL_MARK, setl_id).replace(MDTRT_MARK, mdtrt_id)
        conn.execute(
            "INSERT INTO messages (institution_code, msgid, infno, digest, answer, ref, psn_no, received_at) "
            "VALUES (?, ?, '2102', ?, ?, ?, ?, ?)",
            (p["inst"], p["msgid"], p["digest"], answer, setl_id, p["psn"], p["at"]),
        )

    # Both ----------------------------------------------------------------------------------------------

    def connect(self):
        return self.sqlite_connect() if self.sqlite else self.pg_connect()

    def settle(self, conn, family: int, msgid: str, at: datetime) -> None:
        (self.sqlite_settle if self.sqlite else self.pg_settle)(conn, family, msgid, at)
