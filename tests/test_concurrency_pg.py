"""Concurrent settlements on PostgreSQL: a shared payer is never overdrawn and every fen is accounted for.

Threads share one ``Platform`` (one ``Store``, one connection pool) and start each round together
on a barrier, so their transactions really overlap on the rows they lock.
"""

import threading
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from support import call, envelope, ledger_problems, person, setup_region
from waiting import DEADLINE, at_once, join_all, pg_lock_waiters, start_daemon, wait_until
from yibao.care.ids import settlement_public_id
from yibao.gateway.dispatcher import dispatch
from yibao.ledger.model import Entry, Transfer, external_account, person_bucket
from yibao.services import family
from yibao.services.identity import public_key_pem
from yibao.services.platform import FixedClock, Platform
from yibao.storage import tables

pytestmark = pytest.mark.pg

START = datetime(2025, 6, 1, 10, 0, 0)
ADMDVS = "360199"


def drug(c, amount: Decimal, sn: str = "1") -> dict:
    return {
        "druginfo": {
            "psn_no": c.person.psn_no,
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": c.person.certno,
            "begntime": f"{START:%Y-%m-%d %H:%M:%S}",
            "medfee_sumamt": str(amount),
            "insutype": "310",
            "med_type": "41",
            "acct_used_flag": "1",
        },
        "drugdetail": [
            {
                "feedetl_sn": sn,
                "med_list_codg": "XJ01CAA0001",
                "det_item_fee_sumamt": str(amount),
                "cnt": "1",
                "pric": str(amount),
            }
        ],
    }


def run_rounds(p: Platform, rounds: list[list[dict]]) -> list[dict]:
    """``rounds[r][k]`` is the envelope thread k sends in round r; a round's threads start together."""
    answers: list[dict] = []
    for batch in rounds:
        answers += at_once([lambda env=env: dispatch(p, env) for env in batch], timeout=180)
    return answers


def bucket_totals(p: Platform, psn_no: str) -> tuple[int, int]:
    codes = [person_bucket(psn_no, "current"), person_bucket(psn_no, "historical")]
    with p.store.uow() as tx:
        got = tx.ledger.balances(codes)
    return got[codes[0]], got[codes[1]]


def bucket_history(p: Platform, psn_no: str) -> dict[str, list[int]]:
    """Each of the person's buckets after every entry that touched it, in posting order."""
    codes = {person_bucket(psn_no, b) for b in ("current", "historical")}
    a_d, a_c = tables.accounts.alias("d"), tables.accounts.alias("c")
    t = tables.transfers
    with p.store.uow() as tx:
        rows = tx.conn.execute(
            select(t.c.entry_id, a_d.c.code, a_c.c.code, t.c.amount)
            .join(a_d, a_d.c.id == t.c.debit_account_id)
            .join(a_c, a_c.c.id == t.c.credit_account_id)
            .order_by(t.c.entry_id, t.c.id)
        ).all()
    running = dict.fromkeys(codes, 0)
    history: dict[str, list[int]] = {c: [] for c in codes}
    for _entry, debit, credit, amount in rows:
        for code, sign in ((debit, -1), (credit, 1)):
            if code in codes:
                running[code] += sign * amount
                history[code].append(running[code])
    return history


def settled_ids(p: Platform) -> list[str]:
    with p.store.uow() as tx:
        rows = tx.conn.execute(
            select(tables.settlements.c.id)
            .where(tables.settlements.c.status == "settled")
            .order_by(tables.settlements.c.id)
        ).all()
    return [settlement_public_id(ADMDVS, r[0]) for r in rows]


def fen(amount: Decimal) -> int:
    return int(amount * 100)


def assert_answers_balance(answers: list[dict]) -> None:
    for a in answers:
        info = a["output"]["setlinfo"]
        assert (
            info["medfee_sumamt"]
            == info["fund_pay_sumamt"] + info["acct_pay"] + info["acct_mulaid_pay"] + info["psn_cash_pay"]
        )
        assert min(info["acct_pay"], info["acct_mulaid_pay"], info["psn_cash_pay"]) >= 0


def test_one_father_many_children_at_once(pg_store):
    p = Platform(pg_store, FixedClock(START))
    setup_region(p)
    father = person(
        p, "张大山", psn_type="1201", birth=date(1962, 3, 4), password="654321", current=30_000, historical=20_000
    )
    children = [person(p, f"张子{i}", birth=date(1988 + i, 1, 1), current=500 * i, password="123456") for i in range(4)]
    for c in children:
        family.declare_relation(p, father.person.psn_no, c.person.psn_no, "parent")
        family.authorize_mutual_aid(p, father.person.psn_no, c.person.psn_no)
    public_key_pem(p)
    threads, rounds = 8, 3
    own_before = {c.person.psn_no: sum(bucket_totals(p, c.person.psn_no)) for c in children}
    father_before = sum(bucket_totals(p, father.person.psn_no))
    # Thread k buys for child k % 4: two threads per child, all eight against the same father.
    batches = [
        [
            envelope(
                p,
                "2102",
                drug(children[k % 4], Decimal(f"{25 + 3 * k + r}.{(7 * k + 3 * r) % 100:02d}")),
                password="123456",
            )
            for k in range(threads)
        ]
        for r in range(rounds)
    ]
    answers = run_rounds(p, batches)

    bad = [a["err_msg"] for a in answers if a["infcode"] != 0]
    assert not bad, bad
    assert_answers_balance(answers)
    father_after = bucket_totals(p, father.person.psn_no)
    assert min(father_after) >= 0
    for code, seen in bucket_history(p, father.person.psn_no).items():
        assert min(seen, default=0) >= 0, f"{code} went below zero: {seen}"
    # What mutual aid answered is exactly what left the father's account.
    mulaid = sum(fen(a["output"]["setlinfo"]["acct_mulaid_pay"]) for a in answers)
    assert mulaid == father_before - sum(father_after)
    assert mulaid > 0
    # The father's 500.00 cannot cover 24 purchases of 25–50 yuan: he is drained, the rest is cash.
    assert sum(father_after) == 0
    assert sum(fen(a["output"]["setlinfo"]["psn_cash_pay"]) for a in answers) > 0
    # And each child's own account paid exactly what its answers say.
    for c in children:
        mine = [a for a in answers if a["output"]["setlinfo"]["psn_no"] == c.person.psn_no]
        assert len(mine) == rounds * 2
        spent = sum(fen(a["output"]["setlinfo"]["acct_pay"]) for a in mine)
        assert spent == own_before[c.person.psn_no] - sum(bucket_totals(p, c.person.psn_no))
    # Every success is in the settlements table exactly once, and nothing else is.
    ids = [a["output"]["setlinfo"]["setl_id"] for a in answers]
    assert len(set(ids)) == len(ids) == threads * rounds
    assert sorted(ids) == settled_ids(p)
    assert ledger_problems(p) == []


def test_same_patient_settling_twice_at_once(pg_store):
    p = Platform(pg_store, FixedClock(START))
    setup_region(p)
    son = person(p, "张小明", current=6_000, historical=4_000)
    father = person(p, "张大山", psn_type="1201", birth=date(1962, 3, 4), password="654321", current=15_000)
    family.declare_relation(p, father.person.psn_no, son.person.psn_no, "parent")
    family.authorize_mutual_aid(p, father.person.psn_no, son.person.psn_no)
    public_key_pem(p)
    son_before, father_before = sum(bucket_totals(p, son.person.psn_no)), sum(bucket_totals(p, father.person.psn_no))
    threads, rounds = 8, 2
    batches = [
        [envelope(p, "2102", drug(son, Decimal("20.00") + k + r), password="123456") for k in range(threads)]
        for r in range(rounds)
    ]
    answers = run_rounds(p, batches)

    bad = [a["err_msg"] for a in answers if a["infcode"] != 0]
    assert not bad, bad
    assert_answers_balance(answers)
    for who in (son, father):
        for code, seen in bucket_history(p, who.person.psn_no).items():
            assert min(seen, default=0) >= 0, f"{code} went below zero: {seen}"
    acct = sum(fen(a["output"]["setlinfo"]["acct_pay"]) for a in answers)
    mulaid = sum(fen(a["output"]["setlinfo"]["acct_mulaid_pay"]) for a in answers)
    assert acct == son_before - sum(bucket_totals(p, son.person.psn_no)) == son_before  # drained, never overdrawn
    assert mulaid == father_before - sum(bucket_totals(p, father.person.psn_no)) == father_before
    # Exactly one answer per settlement; each answer's balc is the balance it left behind, so they all differ
    # until the account is empty.
    ids = [a["output"]["setlinfo"]["setl_id"] for a in answers]
    assert len(set(ids)) == len(ids) == threads * rounds
    assert sorted(ids) == settled_ids(p)
    balcs = [fen(a["output"]["setlinfo"]["balc"]) for a in answers if fen(a["output"]["setlinfo"]["balc"]) > 0]
    assert len(balcs) == len(set(balcs))
    assert ledger_problems(p) == []


def test_the_same_message_sent_at_once_settles_once(pg_store):
    p = Platform(pg_store, FixedClock(START))
    setup_region(p)
    son = person(p, "张小明", current=10_000)
    public_key_pem(p)
    env = envelope(p, "2102", drug(son, Decimal("30.00")), password="123456")
    answers = run_rounds(p, [[env] * 6])
    assert all(a["infcode"] == 0 for a in answers), [a["err_msg"] for a in answers]
    assert {a["output"]["setlinfo"]["setl_id"] for a in answers} == set(settled_ids(p))
    assert len(settled_ids(p)) == 1
    assert bucket_totals(p, son.person.psn_no) == (7_000, 0)
    assert ledger_problems(p) == []
    # A later resend answers the same again and changes nothing.
    assert dispatch(p, env)["output"] == answers[0]["output"]
    assert bucket_totals(p, son.person.psn_no) == (7_000, 0)


def test_cancel_and_settle_race_for_the_same_money(pg_store):
    """Two cancellations of one settlement and purchases spending its money, all at once."""
    p = Platform(pg_store, FixedClock(START))
    setup_region(p)
    son = person(p, "张小明", current=10_000)
    public_key_pem(p)
    first = call(p, "2102", drug(son, Decimal("80.00")), password="123456")
    setl_id = first["output"]["setlinfo"]["setl_id"]
    cancel = {"data": {"setl_id": setl_id, "psn_no": son.person.psn_no}}
    batch = [envelope(p, "2103", cancel), envelope(p, "2103", cancel)] + [
        envelope(p, "2102", drug(son, Decimal("50.00")), password="123456") for _ in range(4)
    ]
    answers = run_rounds(p, [batch])
    cancels, buys = answers[:2], answers[2:]
    # Two messages asking for the same cancellation: exactly one does it, the other is refused.
    assert sorted(a["infcode"] for a in cancels) == [-1, 0]
    assert [a["err_msg"][:11] for a in cancels if a["infcode"] == -1] == ["[E2208-002]"]
    assert all(a["infcode"] == 0 for a in buys), [a["err_msg"] for a in buys]
    spent = sum(fen(a["output"]["setlinfo"]["acct_pay"]) for a in buys)
    assert sum(bucket_totals(p, son.person.psn_no)) == 10_000 - spent >= 0
    assert setl_id not in settled_ids(p)
    assert len(settled_ids(p)) == 4
    assert ledger_problems(p) == []


def test_overlapping_resend_of_a_cancellation_answers_the_first_answer(pg_store):
    p = Platform(pg_store, FixedClock(START))
    setup_region(p)
    son = person(p, "张小明", current=10_000)
    public_key_pem(p)
    setl_id = call(p, "2102", drug(son, Decimal("80.00")), password="123456")["output"]["setlinfo"]["setl_id"]
    env = envelope(p, "2103", {"data": {"setl_id": setl_id, "psn_no": son.person.psn_no}})
    answers: list[dict] = []
    with pg_store.uow() as tx:
        tx.people.lock(son.person.id)  # both copies get past the msgid check and wait here
        threads = [start_daemon(lambda: answers.append(dispatch(p, env))) for _ in range(2)]
        wait_until(lambda: pg_lock_waiters(pg_store.engine) >= 2, "both copies to wait for the lock")
    join_all(threads, "the two copies of the cancellation")
    assert [a["infcode"] for a in answers] == [0, 0], [a["err_msg"] for a in answers]
    assert answers[0]["output"] == answers[1]["output"]


def test_concurrent_replay_of_one_entry_is_a_no_op(pg_store):
    a = person_bucket("CONC", "current")
    with pg_store.uow() as tx:
        tx.ledger.open_account(a, START, bucket="current", floor=0)
    entry = Entry("credit:CONC", "credit", (Transfer(external_account("x"), a, 100, "credit"),))
    posted, release = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def first() -> None:
        with pg_store.uow() as tx:
            results["first"] = tx.ledger.post(entry, START)
            posted.set()
            assert release.wait(DEADLINE), "never released"

    def second() -> None:
        try:
            assert posted.wait(DEADLINE), "the first posting did not happen"
            with pg_store.uow() as tx:
                results["second"] = tx.ledger.post(entry, START)
        except Exception as exc:
            results["second"] = exc

    t1, t2 = start_daemon(first), start_daemon(second)
    assert posted.wait(DEADLINE), "the first posting did not happen"
    wait_until(lambda: pg_lock_waiters(pg_store.engine), "the second posting to wait for the first's row locks")
    release.set()
    join_all([t1, t2], "the two postings")
    assert results["first"].applied
    assert getattr(results["second"], "applied", None) is False, results["second"]
    with pg_store.uow() as tx:
        assert tx.ledger.balances([a])[a] == 100
