"""Pulling the plug: SIGKILL a loaded production-mode server, restart it on the same database.

Eight HIS clients send 2102 pharmacy settlements with mutual aid (unique msgids) for several
families; the server is killed mid-stream, twice, and restarted on the same database each time.
Afterwards:

- every acknowledged settlement (``infcode 0`` received) is there exactly once, as answered;
- nothing is half-written: every settlement row has its ``setl:<setl_id>`` ledger entry and its
  message row, and the reverse; the ledger invariants hold (a direct ``Store`` on the same URL);
- the money adds up: what left the personal accounts is what the settlements say they paid;
- resending an acknowledged msgid returns the same answer and changes nothing; resending an
  unacknowledged one either applies it once or returns the answer it had already been given.

PostgreSQL (the per-worker test database) when ``YIBAO_TEST_PG_URL`` is set; the same on an
SQLite file (WAL), which is cheap.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest
from sqlalchemy import func, select

from conftest import DATABASES
from http_world import (
    Admin,
    His,
    Sent,
    add_family,
    fen,
    hammer,
    issue_credentials,
    ledger_problems,
    person_balances,
    pharmacy_input,
    resend,
    server_db_url,
    settlement_problems,
    setup_region,
    snapshot,
)
from server import Server
from waiting import Tally, join_all, start_daemon
from yibao.storage import tables as t
from yibao.storage.uow import Store

FAMILIES = 6
THREADS = 8
ROUNDS = 2
ACKED_BEFORE_KILL = 8  # acknowledged settlements in each round before its SIGKILL (a count, not a time)


@pytest.fixture(params=DATABASES)
def db_url(request, tmp_path):
    return server_db_url(request, tmp_path, "crash")


def settled_msgids(store: Store) -> Counter:
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.settlements.c.msgid, func.count()).group_by(t.settlements.c.msgid)).all()
        conn.rollback()
    return Counter(dict(rows))


def paid_by_settlements(store: Store) -> int:
    """Σ (own account + mutual aid) over settlements in force: what must have left personal accounts."""
    with store.engine.connect() as conn:
        total = conn.execute(
            select(func.coalesce(func.sum(t.settlements.c.acct_pay + t.settlements.c.mulaid_pay), 0)).where(
                t.settlements.c.status == "settled"
            )
        ).scalar_one()
        conn.rollback()
    return int(total)


def test_sigkill_under_load_loses_no_acknowledged_settlement_and_half_writes_nothing(db_url, tmp_path):
    srv = Server(db_url, log_dir=tmp_path)
    srv.start()
    store = Store.open(db_url, migrate=False)
    try:
        admin = Admin(srv.url, srv.admin_token)
        setup_region(admin)
        families = [
            add_family(admin, f"{i}", son="2.00", father=("150.00", "100.00"), mother=("80.00", "0.00"))
            for i in range(FAMILIES)
        ]
        cred = issue_credentials(admin)
        admin.close()
        his = His(srv.url, api_key=cred["api_key"])
        sign_no = his.sign_in()
        his.close()
        opening = sum(person_balances(store).values())

        rng = random.Random(20250601)
        amounts = [f"{rng.randint(100, 2500) / 100:.2f}" for _ in range(4096)]

        def work(n: int, i: int):
            fam = families[(n + i) % FAMILIES]
            return "2102", pharmacy_input(fam.son, amounts[(n * 512 + i) % len(amounts)]), "123456"

        sent: list[Sent] = []
        for _ in range(ROUNDS):
            tally, box = Tally(), []
            runner = start_daemon(
                lambda tally=tally, box=box: box.append(
                    hammer(srv.url, api_key=cred["api_key"], sign_no=sign_no, threads=THREADS, work=work, tally=tally)
                ),
                name="hammer",
            )
            tally.wait_acked(ACKED_BEFORE_KILL)  # load is really going through, however busy the machine
            srv.kill()  # mid-stream: requests in flight, transactions open
            # every client now fails on its next call (connection refused) and stops by itself
            join_all([runner], "the load after the kill")
            assert box, "the load runner failed (see the thread's exception above)"
            sent += box[0]
            srv.start()  # same database, new process

        acked = [s for s in sent if s.acked]
        unanswered = [s for s in sent if s.answer is None]
        refused = [s for s in sent if s.answer is not None and not s.acked]
        assert len(acked) >= ROUNDS * ACKED_BEFORE_KILL, f"too little load got through: {len(acked)} of {len(sent)}"
        assert len(unanswered) >= ROUNDS * THREADS, "every client should have lost a call to each kill"
        for s in refused:  # nothing else should refuse a well-formed settlement
            assert s.answer["err_msg"][1:10] in ("E0000-098",), s.answer["err_msg"]

        # 1. every acknowledged settlement is there, exactly once, as it was answered
        counts = settled_msgids(store)
        admin = Admin(srv.url, srv.admin_token)
        for s in acked:
            info = s.answer["output"]["setlinfo"]
            assert counts[s.msgid] == 1, s.msgid
            got = admin.get(f"/api/v1/settlements/{info['setl_id']}")
            assert got["status"] == "settled" and got["psn_no"] == info["psn_no"]
            assert fen(got["medfee"]) == fen(str(info["medfee_sumamt"]))
            assert fen(got["acct_pay"]) == fen(str(info["acct_pay"]))
            assert fen(got["mulaid_pay"]) == fen(str(info["acct_mulaid_pay"]))
        assert all(n == 1 for n in counts.values()), [m for m, n in counts.items() if n > 1]

        # 2. nothing half-written; the ledger balances; the money adds up
        assert settlement_problems(store) == []
        assert ledger_problems(db_url) == []
        assert opening - sum(person_balances(store).values()) == paid_by_settlements(store)

        # 3. resending what was acknowledged: the same answer, nothing changes
        client = His(srv.url, api_key=cred["api_key"], sign_no=sign_no)
        before = snapshot(store)
        for s in acked:
            assert resend(client, s) == s.answer, s.msgid
        assert snapshot(store) == before

        # 4. resending what was not: applied once, or the answer it already had
        committed_before = settled_msgids(store)
        for s in unanswered + refused:
            first = resend(client, s)
            assert first["infcode"] == 0, first["err_msg"]
            again = resend(client, s)
            assert again == first
            if committed_before[s.msgid]:
                # it had committed before the kill: the stored answer, nothing new
                assert settled_msgids(store)[s.msgid] == 1
        after = settled_msgids(store)
        for s in unanswered + refused:
            assert after[s.msgid] == 1, s.msgid
        assert sum(after.values()) == len(acked) + len(unanswered) + len(refused)
        client.close()
        admin.close()

        assert settlement_problems(store) == []
        assert ledger_problems(db_url) == []
        assert opening - sum(person_balances(store).values()) == paid_by_settlements(store)
        assert "Traceback" not in srv.log(), srv.log()[-3000:]
    finally:
        store.dispose()
        srv.close()
