"""Many HIS clients settling for ONE family at once, over HTTP, against a production-mode server.

A son and a daughter both draw on their parents' accounts through mutual aid, and the father buys
for himself from the same account, all at once from sixteen clients, for more than the parents
have. Then:

- no overdraw: a relative's bucket is never below 0 (watched while the load runs, and after);
- no lost update: what left each account is exactly what the answers say it paid, and what the
  settlements in the database say;
- every msgid applied once: one settlement per acknowledged msgid; resending each returns the
  same answer and leaves every balance as it was;
- the ledger balances.

And the races an HIS produces by retrying: the same msgid from several clients at once, a
cancellation sent twice at once, a 2601 reversal overtaking its own settlement.

PostgreSQL (row locks) when ``YIBAO_TEST_PG_URL`` is set; SQLite (one writer) as well.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from conftest import DATABASES
from http_world import (
    Admin,
    Family,
    His,
    add_family,
    add_person,
    hammer,
    issue_credentials,
    ledger_problems,
    new_msgid,
    person_balances,
    pharmacy_input,
    resend,
    server_db_url,
    settlement_problems,
    setup_region,
    snapshot,
)
from server import Server, running_server
from waiting import at_once, join_all, pg_lock_waiters, start_daemon, wait_until
from yibao.ledger.model import person_bucket
from yibao.storage import tables as t
from yibao.storage.uow import Store

THREADS = 16
GATE = 7301  # the advisory lock id the fault-injection trigger waits on
PER_THREAD = 8


@dataclass
class Env:
    kind: str
    url: str
    srv: Server
    store: Store
    admin: Admin
    cred: dict
    sign_no: str

    def his(self) -> His:
        return His(self.srv.url, api_key=self.cred["api_key"], sign_no=self.sign_no)


@pytest.fixture(scope="module", params=DATABASES)
def env(request, tmp_path_factory):
    url = server_db_url(request, tmp_path_factory.mktemp("concurrency"), "concurrency")
    with running_server(url, log_level="info") as srv:
        store = Store.open(url, migrate=False)
        admin = Admin(srv.url, srv.admin_token)
        setup_region(admin)
        cred = issue_credentials(admin)
        his = His(srv.url, api_key=cred["api_key"])
        sign_no = his.sign_in()
        his.close()
        try:
            yield Env(request.param, url, srv, store, admin, cred, sign_no)
        finally:
            admin.close()
            store.dispose()


def _d(value) -> Decimal:
    return Decimal(str(value))


def _codes(*people: dict) -> list[str]:
    return [person_bucket(p["psn_no"], b) for p in people for b in ("current", "historical")]


def _settlements_of(store: Store, msgids: list[str]) -> dict[str, list[str]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(t.settlements.c.msgid, t.settlements.c.status).where(t.settlements.c.msgid.in_(msgids))
        ).all()
        conn.rollback()
    out: dict[str, list[str]] = {m: [] for m in msgids}
    for msgid, status in rows:
        out[msgid].append(status)
    return out


def test_one_family_many_clients_no_overdraw_no_lost_update_each_msgid_once(env):
    admin, store = env.admin, env.store
    father = add_person(admin, "张父", current="100.00", historical="50.00", psn_type="1201", birth="1960-01-01")
    mother = add_person(
        admin, "张母", current="80.00", historical="0.00", psn_type="1201", birth="1962-01-01", gender="2"
    )
    son = add_person(admin, "张子", current="3.00")
    daughter = add_person(admin, "张女", current="0.50", gender="2", birth="1993-01-01")
    for parent in (father, mother):
        for child in (son, daughter):
            admin.post("/api/v1/relations", {"of": parent["psn_no"], "to": child["psn_no"], "relation": "parent"})
            admin.post("/api/v1/mutual-aid/grants", {"payer": parent["psn_no"], "beneficiary": child["psn_no"]})
    everyone = (father, mother, son, daughter)
    relatives = {father["psn_no"], mother["psn_no"]}
    codes = _codes(*everyone)
    opening = {c: b for c, b in person_balances(store).items() if c in codes}

    rng = random.Random(7)
    plan = [
        [(rng.choice([son, son, daughter, father]), f"{rng.randint(500, 3000) / 100:.2f}") for _ in range(PER_THREAD)]
        for _ in range(THREADS)
    ]
    demand = sum(_d(a) for row in plan for _, a in row)
    assert demand > sum(_d(v) / 100 for v in opening.values())  # the family runs dry: mutual aid must stop at zero

    # watch the family's buckets while the load runs
    lowest: dict[str, int] = {}
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for code, bal in person_balances(store).items():
                if code in opening:
                    lowest[code] = min(lowest.get(code, bal), bal)
            time.sleep(0.01)  # a sampling interval, not a wait for anything

    watcher = start_daemon(watch, name="watcher")

    def work(n: int, i: int):
        if i >= PER_THREAD:
            return None
        who, amount = plan[n][i]
        return "2102", pharmacy_input(who, amount), "123456"

    sent = hammer(env.srv.url, api_key=env.cred["api_key"], sign_no=env.sign_no, threads=THREADS, work=work)
    done.set()
    join_all([watcher], "the balance watcher")

    # every call answered and settled (waiting on a lock is not a reason to refuse)
    assert len(sent) == THREADS * PER_THREAD
    bad = [s.answer["err_msg"] if s.answer else s.error for s in sent if not s.acked]
    assert not bad, bad[:5]
    closing = {c: b for c, b in person_balances(store).items() if c in codes}

    # no overdraw, ever
    assert lowest and all(v >= 0 for v in lowest.values()), lowest
    assert all(v >= 0 for v in closing.values()), closing

    # no lost update: every account moved by exactly what the answers say it paid
    own_paid = {p["psn_no"]: Decimal(0) for p in everyone}
    aid_paid = Decimal(0)
    for s in sent:
        info = s.answer["output"]["setlinfo"]
        psn = info["psn_no"]
        own_paid[psn] += _d(info["acct_pay"])
        aid_paid += _d(info["acct_mulaid_pay"])
        assert _d(info["medfee_sumamt"]) == _d(info["fund_pay_sumamt"]) + _d(info["psn_part_amt"]) + _d(
            info.get("hosp_part_amt", 0)
        )
        assert _d(info["psn_part_amt"]) == _d(info["acct_pay"]) + _d(info["acct_mulaid_pay"]) + _d(info["psn_cash_pay"])
        if psn in relatives:
            assert _d(info["acct_mulaid_pay"]) == 0  # no one granted the parents mutual aid

    def moved(*people: dict) -> Decimal:
        return Decimal(sum(opening[c] - closing[c] for c in _codes(*people))) / 100

    assert moved(son) == own_paid[son["psn_no"]]
    assert moved(daughter) == own_paid[daughter["psn_no"]]
    assert moved(father, mother) == aid_paid + own_paid[father["psn_no"]]
    assert aid_paid > 0
    assert sum(closing[c] for c in _codes(father, mother)) < 1000  # drawn down to (almost) nothing, never below

    msgids = [s.msgid for s in sent]
    with store.engine.connect() as conn:
        own_db, aid_db, n = conn.execute(
            select(func.sum(t.settlements.c.acct_pay), func.sum(t.settlements.c.mulaid_pay), func.count()).where(
                t.settlements.c.msgid.in_(msgids)
            )
        ).one()
        conn.rollback()
    assert (Decimal(own_db) / 100, Decimal(aid_db) / 100) == (sum(own_paid.values()), aid_paid)

    # every msgid applied once; resending changes nothing and answers the same
    assert n == len(sent)
    assert settlement_problems(store) == []
    his = env.his()
    before = snapshot(store)
    for s in sent:
        assert resend(his, s) == s.answer, s.msgid
    assert snapshot(store) == before
    his.close()
    assert ledger_problems(env.url) == []


def test_the_same_msgid_from_six_clients_at_once_settles_once(env):
    fam = add_family(env.admin, "dup", son="0.00", father=("500.00", "0.00"))
    clients = [env.his() for _ in range(6)]
    for _ in range(5):
        msgid, inp = new_msgid("DUP"), pharmacy_input(fam.son, "7.00")
        answers = at_once([lambda c=c, m=msgid, i=inp: c.call("2102", i, msgid=m, password="123456") for c in clients])
        assert all(a["infcode"] == 0 for a in answers), [a["err_msg"] for a in answers]
        assert all(a == answers[0] for a in answers)
        assert _settlements_of(env.store, [msgid]) == {msgid: ["settled"]}
    assert env.admin.balances(fam.father["psn_no"]) == (50000 - 5 * 700, 0)
    # and with different bodies: one wins, the others are told the msgid is taken
    msgid = new_msgid("CLASH")
    answers = at_once(
        [
            lambda c=c, k=k: c.call("2102", pharmacy_input(fam.son, f"{k + 1}.00"), msgid=msgid, password="123456")
            for k, c in enumerate(clients)
        ]
    )
    assert sorted(a["err_msg"][:11] or "ok" for a in answers) == ["[E0000-005]"] * 5 + ["ok"]
    assert len(_settlements_of(env.store, [msgid])[msgid]) == 1
    for c in clients:
        c.close()
    assert ledger_problems(env.url) == []


def test_a_cancellation_sent_four_times_at_once_restores_once(env):
    fam = add_family(env.admin, "cxl", son="10.00", father=("300.00", "0.00"))
    his = env.his()
    before = env.admin.balances(fam.son["psn_no"]), env.admin.balances(fam.father["psn_no"])
    info = his.call("2102", pharmacy_input(fam.son, "60.00"), password="123456")["output"]["setlinfo"]
    cancel = {"data": {"setl_id": info["setl_id"], "mdtrt_id": info["mdtrt_id"], "psn_no": fam.son["psn_no"]}}
    clients = [env.his() for _ in range(4)]
    answers = at_once([lambda c=c: c.call("2103", cancel) for c in clients])
    assert sorted(a["err_msg"][:11] or "ok" for a in answers) == ["[E2208-002]"] * 3 + ["ok"]
    assert (env.admin.balances(fam.son["psn_no"]), env.admin.balances(fam.father["psn_no"])) == before
    for c in [his, *clients]:
        c.close()
    assert ledger_problems(env.url) == []


def test_reversals_racing_their_settlements_leave_the_money_consistent(env):
    """2102 and its 2601 sent together, the 2601 a few milliseconds later: whichever wins, a settlement
    stands exactly when its reversal did not succeed, and the father's account says so."""
    fam = add_family(env.admin, "race", son="0.00", father=("1000.00", "0.00"))
    payer, reverser = env.his(), env.his()
    outcomes = []
    for k in range(24):
        msgid, inp = new_msgid("RACE"), pharmacy_input(fam.son, "5.00")
        settle = payer.envelope("2102", inp, msgid=msgid, password="123456")
        undo = reverser.envelope("2601", {"data": {"psn_no": fam.son["psn_no"], "omsgid": msgid, "oinfno": "2102"}})
        delay = (k % 12) * 0.002

        def late(undo=undo, delay=delay):
            time.sleep(delay)  # jitter: the race is asserted for whichever order results
            return reverser.send(undo)[1]

        first, second = at_once([lambda settle=settle: payer.send(settle)[1], late])
        outcomes.append((msgid, first, second))
    standing = 0
    for msgid, first, second in outcomes:
        rows = _settlements_of(env.store, [msgid])[msgid]
        if second["infcode"] == 0:
            assert rows in ([], ["cancelled"]), (first["err_msg"], rows)  # reversed, or never applied
            if not rows:
                assert first["err_msg"].startswith("[E2601-003]"), first["err_msg"]
        else:
            assert first["infcode"] == 0 and rows == ["settled"], (first["err_msg"], second["err_msg"], rows)
            standing += 1
    assert env.admin.balances(fam.father["psn_no"]) == (100000 - standing * 500, 0)
    payer.close()
    reverser.close()
    assert settlement_problems(env.store) == []
    assert ledger_problems(env.url) == []


def test_a_reversal_overtaking_its_settlement_in_flight_is_not_an_internal_error(env):
    if env.kind != "pg":
        pytest.skip("SQLite serialises whole transactions (BEGIN IMMEDIATE): no window to overtake in")
    # fault injection in the test database: the original's (claimed) message row stays uncommitted
    # until the test lets it go (an advisory lock the test holds), so the reversal surely overtakes it
    with env.store.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE OR REPLACE FUNCTION yibao_test_slow_message() RETURNS trigger AS $$ "
                f"BEGIN IF NEW.msgid LIKE 'SLOW%' AND NEW.infno = '2102' THEN PERFORM pg_advisory_xact_lock({GATE}); "
                "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        conn.execute(text("DROP TRIGGER IF EXISTS yibao_test_slow_message ON messages"))
        conn.execute(
            text(
                "CREATE TRIGGER yibao_test_slow_message AFTER INSERT ON messages "
                "FOR EACH ROW EXECUTE FUNCTION yibao_test_slow_message()"
            )
        )
    gate = env.store.engine.connect()
    try:
        gate.execute(text(f"SELECT pg_advisory_lock({GATE})"))
        gate.commit()
        fam: Family = add_family(env.admin, "slow", son="0.00", father=("100.00", "0.00"))
        payer, reverser = env.his(), env.his()
        msgid = new_msgid("SLOW")
        settle = payer.envelope("2102", pharmacy_input(fam.son, "5.00"), msgid=msgid, password="123456")
        undo = reverser.envelope("2601", {"data": {"psn_no": fam.son["psn_no"], "omsgid": msgid, "oinfno": "2102"}})
        answers: dict[str, dict] = {}
        first = start_daemon(lambda: answers.__setitem__("first", payer.send(settle)[1]), name="settle")
        wait_until(
            lambda: pg_lock_waiters(env.store.engine, event="advisory"), "the settlement to hold its message row"
        )
        second = start_daemon(lambda: answers.__setitem__("second", reverser.send(undo)[1]), name="reverse")
        # the reversal is answered, or waits on the settlement's uncommitted row: either way it overtook
        wait_until(
            lambda: "second" in answers or pg_lock_waiters(env.store.engine) >= 2, "the reversal to reach the database"
        )
        gate.execute(text(f"SELECT pg_advisory_unlock({GATE})"))
        gate.commit()
        join_all([first, second], "the settlement and its reversal")
        payer.close()
        reverser.close()
    finally:
        gate.execute(text("SELECT pg_advisory_unlock_all()"))  # a pooled connection keeps session locks
        gate.commit()
        gate.close()
        with env.store.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER IF EXISTS yibao_test_slow_message ON messages"))
    assert answers["first"]["infcode"] == 0, answers["first"]["err_msg"]
    assert not answers["second"]["err_msg"].startswith("[E0000-099]"), answers["second"]["err_msg"]
