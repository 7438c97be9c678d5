"""A new user's first hour: every command either works or says in Chinese what to do — no traceback,
no English driver error, no cut-off amount, no link out of the repository."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conftest import ACCEPTANCE, require_pg
from server import free_port, running_server
from yibao.services.platform import Platform
from yibao.services.statements import monthly_statement
from yibao.storage.migrate import head_revision
from yibao.storage.uow import Store

ROOT = Path(__file__).resolve().parents[1]
CASE = ACCEPTANCE / "01-pharmacy-own-account-first.yaml"
COMMAND_TIMEOUT = 300  # seconds; a command that takes longer has hung


def yibao(*args: str, columns: int = 80, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``yibao ARGS`` as a user runs it, its output read through a pipe (not a terminal)."""
    env = {**os.environ, "COLUMNS": str(columns), "PYTHONUNBUFFERED": "1"}
    env.pop("YIBAO_ADMIN_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "yibao", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd or ROOT,
        timeout=COMMAND_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )


def said(run: subprocess.CompletedProcess) -> str:
    return run.stdout + run.stderr


def assert_no_traceback(run: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in said(run) and "╭─" not in said(run), said(run)[-3000:]


# cases run --server ------------------------------------------------------------------------------


def test_cases_run_against_no_server_says_so():
    run = yibao("cases", "run", str(CASE), "--server", f"http://127.0.0.1:{free_port()}")
    assert run.returncode == 2, said(run)
    assert_no_traceback(run)
    assert "无法连接 yibao 服务" in said(run) and "yibao serve --sandbox" in said(run)


def test_cases_run_against_a_production_server_is_refused(tmp_path):
    with running_server(str(tmp_path / "prod.sqlite")) as srv:
        run = yibao("cases", "run", str(CASE), "--server", srv.url)
    assert run.returncode == 2, said(run)
    assert_no_traceback(run)
    assert "生产模式" in said(run)


def test_cases_run_never_wipes_the_demo_family_silently(tmp_path):
    with running_server(str(tmp_path / "demo.sqlite"), sandbox=True, args=("--demo",)) as srv:
        people = httpx.get(srv.url + "/api/v1/people", headers=srv.admin_headers, timeout=60).json()
        assert len(people) == 5
        refused = yibao("cases", "run", str(CASE), "--server", srv.url, "--admin-token", srv.admin_token)
        assert refused.returncode == 2, said(refused)
        assert_no_traceback(refused)
        assert "不是由案例载入的数据" in said(refused) and "--clear-sandbox" in said(refused)
        after = httpx.get(srv.url + "/api/v1/people", headers=srv.admin_headers, timeout=60).json()
        assert after == people  # nothing was wiped
        agreed = yibao(
            "cases", "run", str(CASE), "--server", srv.url, "--admin-token", srv.admin_token, "--clear-sandbox"
        )
        assert agreed.returncode == 0, said(agreed)
        # the sandbox now holds a case's world: the next case replaces it without asking
        again = yibao("cases", "run", str(CASE), "--server", srv.url, "--admin-token", srv.admin_token)
        assert again.returncode == 0, said(again)


# db upgrade --------------------------------------------------------------------------------------


def test_db_upgrade_says_from_which_revision_to_which(tmp_path):
    db = str(tmp_path / "fresh.sqlite")
    first = yibao("db", "upgrade", "--db", db)
    assert first.returncode == 0, said(first)
    assert f"空库 → 版本 {head_revision()}" in first.stdout
    second = yibao("db", "upgrade", "--db", db)
    assert second.returncode == 0, said(second)
    assert f"已是最新版本 {head_revision()}，无需迁移" in second.stdout


def test_db_upgrade_on_a_missing_postgresql_database_says_how_to_create_it():
    base = require_pg()
    name = f"yibao_missing_{os.getpid()}"
    run = yibao("db", "upgrade", "--db", base.rsplit("/", 1)[0] + f"/{name}")
    assert run.returncode == 2, said(run)
    assert_no_traceback(run)
    assert f"没有数据库 {name}" in said(run) and "createdb" in said(run) and name in said(run)
    assert "does not exist" not in said(run)


def test_db_upgrade_in_a_folder_that_does_not_exist(tmp_path):
    run = yibao("db", "upgrade", "--db", str(tmp_path / "no" / "such" / "folder" / "x.sqlite"))
    assert run.returncode == 2, said(run)
    assert_no_traceback(run)
    assert "所在目录不存在" in said(run)


# the demo and the docs point inside the repository --------------------------------------------


def test_the_demo_points_at_cases_a_clone_has(tmp_path):
    run = yibao("demo", "--db", str(tmp_path / "demo.sqlite"))
    assert run.returncode == 0, said(run)
    last = run.stdout.strip().splitlines()[-1]
    assert "yibao cases run tests/acceptance" in last and "../shared" not in run.stdout
    assert (ROOT / "tests" / "acceptance").is_dir()


LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)|`(\.\.?/[^`\s]+)`")


def test_readme_and_docs_link_only_to_files_in_the_repository():
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        assert "../shared" not in text, f"{doc.relative_to(ROOT)} points outside the repository"
        for m in LINK.finditer(text):
            target = m[1] or m[2]
            if re.match(r"[a-z]+:", target):
                continue  # a URL, not a file
            path = (doc.parent / target).resolve()
            assert path.is_relative_to(ROOT), f"{doc.relative_to(ROOT)}: {target} is outside the repository"
            assert path.exists(), f"{doc.relative_to(ROOT)}: {target} does not exist"


# tables at 80 columns in a pipe: money and explanations whole --------------------------------


def _row_on_one_line(out: str, amounts: list[str]) -> bool:
    pattern = re.compile(r"(?<![\d.])" + r"\D+".join(re.escape(a) for a in amounts) + r"(?![\d.])")
    return any(pattern.search(line) for line in out.splitlines())


def test_monthly_tables_keep_every_amount_whole_at_80_columns(tmp_path):
    db = str(tmp_path / "year.sqlite")
    run = yibao("demo", "--year", "2025", "--db", db)
    assert run.returncode == 0, said(run)
    assert "…" not in run.stdout
    store = Store.open(db, migrate=False)
    try:
        with store.uow(read_only=True) as tx:
            people = [p.psn_no for p in tx.people.search(limit=10) if p.name in ("张伟", "李娜", "张建国", "王秀英")]
        statements = [monthly_statement(Platform(store), psn_no, 2025)[1] for psn_no in people]
    finally:
        store.dispose()
    assert len(statements) == 4
    monthly = yibao("accounts", "monthly", *people, "--year", "2025", "--db", db)
    assert monthly.returncode == 0, said(monthly)
    for out in (run.stdout, monthly.stdout):
        assert "…" not in out
        for rows in statements:
            for r in rows:
                amounts = [r.credited, r.spent, r.shared, r.rolled, r.current, r.historical, r.total]
                assert _row_on_one_line(out, amounts), (r, out[-2000:])
    assert "1500.00" in run.stdout  # the father's opening total, cut to "1500.…" before


def test_settlement_explanations_are_printed_whole_at_80_columns(tmp_path):
    from fastapi.testclient import TestClient

    from yibao.api.app import create_app

    db = str(tmp_path / "demo.sqlite")
    run = yibao("demo", "--db", db)
    assert run.returncode == 0, said(run)
    out = run.stdout
    assert "…" not in out
    lines = [line.strip() for line in out.splitlines()]
    store = Store.open(db, migrate=False)
    try:
        with TestClient(create_app(Platform(store, sandbox=True), admin_token="t")) as api:
            auth = {"Authorization": "Bearer t"}
            listed = api.get("/api/v1/settlements", headers=auth).json()
            details = [api.get(f"/api/v1/settlements/{s['setl_id']}", headers=auth).json() for s in listed]
    finally:
        store.dispose()
    assert len(details) == 2
    for d in details:
        for sentence in d["explanation"]:
            assert sentence.strip() in lines, sentence  # each sentence whole, on a line of its own
        for row in d["setldetail"]:
            assert any(row["setl_proc_info"] in line and str(row["fund_payamt"]) in line for line in lines), row
        for key in ("medfee_sumamt", "hifp_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay", "balc"):
            assert re.search(rf"(?<![\d.]){re.escape(str(d['setlinfo'][key]))}(?![\d.])", out), key


@pytest.mark.parametrize(
    "args", [("policy", "show", "jiangxi-nanchang", "--date", "2025-06-01"), ("errors",)], ids=["policy", "errors"]
)
def test_reference_tables_are_never_cut_at_80_columns(args):
    run = yibao(*args)
    assert run.returncode == 0, said(run)
    assert "…" not in run.stdout


def test_a_loaded_case_world_shows_every_credential_whole(tmp_path):
    run = yibao("cases", "load", str(CASE), "--db", str(tmp_path / "case.sqlite"))
    assert run.returncode == 0, said(run)
    assert "…" not in run.stdout
    store = Store.open(str(tmp_path / "case.sqlite"), migrate=False)
    try:
        with store.uow(read_only=True) as tx:
            people = tx.people.search(limit=10)
    finally:
        store.dispose()
    for p in people:
        assert p.psn_no in run.stdout and p.certno in run.stdout


# the favicon ------------------------------------------------------------------------------------


def test_favicon_is_served():
    from fastapi.testclient import TestClient

    from yibao.api.app import create_app

    store = Store.open("sqlite://", create=True)
    with TestClient(create_app(Platform(store), admin_token="t")) as c:
        r = c.get("/favicon.ico")
    store.dispose()
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/vnd.microsoft.icon"
    assert r.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
