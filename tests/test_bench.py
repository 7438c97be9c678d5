"""The throughput bench and the population generator still run (a smoke test, not a measurement).

Performance is measured by ``bench/throughput.py``, never timed here: this only proves the scripts
work on today's code — a loaded population settles through the real gateway, the floor writes the
same rows and keeps the ledger balanced, the one-family run checks itself — so they cannot rot.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from conftest import require_pg
from yibao.storage.uow import Store

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import population  # noqa: E402
import throughput  # noqa: E402


def test_population_matches_the_services_and_keeps_the_ledger_sound(tmp_path):
    url = str(tmp_path / "pop.sqlite")
    pop = population.load(url, people=30, relations=10, settlements=8, check=True)
    assert (pop.people, pop.families, pop.settlements) == (30, 10, 8)
    assert pop.bench_families == 10  # the history went to the singles
    store = Store.open(url, migrate=False)
    with store.uow(read_only=True) as tx:
        assert tx.ledger.check_invariants() == []
        son, father = tx.people.by_id(pop.son(0)), tx.people.by_id(pop.son(0) + 1)
        assert tx.family.grants_for(son.id)[0].payer_id == father.id
        assert tx.care.count_settlements() == 8
    store.dispose()
    y = throughput.Yibao(url, label="SQLite")
    try:
        y.warm_up()  # card, voucher and ID-number settlements of loaded families through the gateway
        probe = y.probe("card", k=2)
        assert probe["statements"] > 10 and probe["rows_written"] >= 12
    finally:
        y.dispose()


def test_quick_bench_on_sqlite(tmp_path):
    out = throughput.main(["--no-pg", "--quick", "--seconds", "0.4", "--families", "4000", "--workers", "1,8"])
    rows = out["rows"]
    assert {r.path for r in rows} == {"in-process", "HTTP", "floor (hand-written SQL)"}
    assert all(r.n > 0 and not r.errors for r in rows), [(r.path, r.errors) for r in rows]
    assert all(r.transfers == 3.0 for r in rows if r.path != "in-process" or "one family" not in r.variant)
    assert [r.note for r in rows if "one family" in r.variant] == ["correct, no deadlock"]
    assert "ledger invariants after the runs: hold" in " ".join(out["notes"])


@pytest.mark.pg
def test_quick_bench_on_postgresql():
    url = require_pg()
    out = throughput.main(
        ["--pg", url, "--no-sqlite", "--quick", "--no-http", "--no-peer", "--seconds", "0.3", "--families", "2000",
         "--workers", "2", "--variants", "card", "--plans"]
    )  # fmt: skip
    rows = out["rows"]
    assert all(r.n > 0 and not r.errors for r in rows), [(r.path, r.errors) for r in rows]
    floor = [r for r in rows if r.path.startswith("floor")]
    assert floor and all(r.round_trips == 1.0 and r.transfers == 3.0 for r in floor)
    assert all(r.backend_cpu_ms and r.wal_bytes for r in rows)
    assert "floor ledger after the runs: balanced" in " ".join(out["notes"])
    assert "PostgreSQL" in out["plans"]


@pytest.mark.pg
def test_every_statement_of_a_settlement_has_an_index(tmp_path):
    """Issue 11: every statement a card or e-voucher settlement sends (SQLAlchemy's, storage.raw's,
    the family pipeline's) is explained with its real parameters, and has an index: with
    sequential scans priced out, none is left (a small table is read whole when that is cheaper;
    the index is what keeps the statement's cost flat when the table is 1 million rows)."""
    dbs = throughput.Databases(require_pg(), tmp_path)
    try:
        url = dbs.new("pg", "plans")
        population.load(url, people=400, relations=200)
        y = throughput.Yibao(url, label="PostgreSQL")
        try:
            y.warm_up()
            text, flagged = throughput.plans(y, 10_000, 50, ("card", "voucher"))
        finally:
            y.dispose()
    finally:
        dbs.drop_all()
    assert not [f for f in flagged if "NO INDEX" in f], flagged
    assert "not explained" not in text and "generic plan not shown" not in text, text
    tables = ("regions", "people", "insurances", "relations", "mutual_aid_grants", "accumulators", "accounts")
    for table in (*tables, "messages"):
        assert f" on {table}" in text, table  # a plan node reads or writes it
    assert "(voucher ×1) SELECT … FROM ec_tokens" in text and "(card ×1) SELECT … FROM cards" in text


def test_ratios_of_one_round():
    import ratios

    got = {"voucher@1": 100.0, "floor@1": 400.0, "voucher@8": 300.0, "floor@8": 600.0, "pgledger@8": 1200.0}
    r = ratios.ratios_of(got, [1, 8], ["voucher"])
    assert r["voucher ÷ floor, 1 workers"] == 0.25 and r["voucher ÷ floor, 8 workers"] == 0.5
    assert r["voucher ÷ pgledger, 8 workers"] == 0.25 and r["voucher 8 ÷ 1 workers"] == 3.0
    assert r["floor 8 ÷ 1 workers (reference)"] == 1.5


@pytest.mark.pg
def test_ratios_in_rounds_on_postgresql():
    import ratios

    url = require_pg()
    out = ratios.main(
        ["--pg", url, "--rounds", "2", "--seconds", "0.3", "--families", "1500", "--workers", "1,2",
         "--variants", "voucher", "--no-peer"]
    )  # fmt: skip
    assert len(out["rounds"]) == 2
    assert all(v > 0 for got in out["rounds"] for v in got.values()), out["rounds"]
    assert set(out["rounds"][0]) == {"voucher@1", "floor@1", "voucher@2", "floor@2"}


@pytest.mark.pg
def test_statement_stats_reads_the_servers_own_counts():
    import statement_stats

    url = require_pg()
    log = statement_stats.default_log()
    if log is None or not Path(log).is_file() or not os.access(log, os.R_OK):
        pytest.skip("the PostgreSQL server's log is not readable here")
    out = statement_stats.main(["--pg", url, "--n", "5", "--families", "200", "--log", log])
    if not out["messages"]:
        pytest.skip(f"the server does not write its statement statistics to {log}")
    assert out["per_settlement_ms"] > 0 and out["messages"] > 10
    assert any(text.startswith("WITH e AS ( INSERT INTO journal_entries") for text in out["statements"])


@pytest.mark.pg
def test_side_by_side_runs_two_trees_at_once():
    import side_by_side

    url = require_pg()
    rounds = side_by_side.main(
        ["--pg", url, "--other", str(BENCH.parent), "--rounds", "1", "--seconds", "0.5", "--people", "300",
         "--lead", "5"]
    )  # fmt: skip
    assert len(rounds) == 1 and rounds[0]["this"]["per_second"] > 0 and rounds[0]["other"]["per_second"] > 0
    assert rounds[0]["this"]["client_ms"] > 0 and rounds[0]["this"]["backend_ms"] >= 0


def test_open_loop_arrivals_keep_their_rate_whatever_the_answers():
    import http_latency

    offsets = http_latency.schedule(200.0, 30.0, seed=7)
    assert offsets == sorted(offsets) and offsets[0] > 0 and offsets[-1] < 30.0
    assert 5_600 < len(offsets) < 6_400  # 6,000 expected; Poisson's spread is ±77
    assert offsets == http_latency.schedule(200.0, 30.0, seed=7)  # the same arrivals for two servers compared


@pytest.mark.pg
def test_http_latency_at_a_set_load():
    import http_latency

    url = require_pg()
    capacity, levels = http_latency.main(
        ["--pg", url, "--seconds", "1", "--families", "600", "--fractions", "0.5", "--one-core", "40",
         "--senders", "1", "--threads", "2"]
    )  # fmt: skip
    assert capacity is None and len(levels) == 1
    level = levels[0]
    assert level.offered == 20.0 and level.n > 0 and not level.errors, level
    assert 0 < level.p50_ms <= level.p99_ms
