"""``yibao serve --workers N``: N processes on one port, each with its own pool, any one answers any call.

The sign-in, the credentials and the settlements live in the database, so a 9001 answered by one
process is honoured by the others. What lives in a process (the sandbox's clock, the region link's
consumer) is why --workers refuses --sandbox and --nats, and SQLite (one writer at a time) too.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from conftest import require_pg
from http_world import His, fresh_pg_database, worker_of
from server import Server
from yibao.cli import demo
from yibao.cli.main import app

CREDENTIAL = re.compile(r"fixmedins_code：(\w+)；x-api-key：(\S+?)；tif_token：(\w+)")


def worker_processes(parent: int) -> list[int]:
    """The live children of ``parent`` that serve (uvicorn spawns them with multiprocessing)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(text[text.rindex(")") + 2 :].split()[1])
        if ppid == parent and b"spawn_main" in cmdline:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.pg
def test_two_server_processes_share_the_port_and_the_database(request, tmp_path):
    require_pg()
    srv = Server(fresh_pg_database(worker_of(request)), args=("--demo", "--workers", "2"), log_dir=tmp_path)
    try:
        srv.start(timeout=120)
        log = srv.log()
        assert "服务进程：2 个" in log and "Traceback" not in log, log[-3000:]
        assert len(worker_processes(srv.proc.pid)) == 2
        key = {code: key for code, key, _ in CREDENTIAL.findall(log)}[demo.PHARMACY]
        signed = His(srv.url, institution=demo.PHARMACY, api_key=key)
        signed.sign_in()  # answered by one process …
        people = httpx.get(srv.url + "/api/v1/people", headers=srv.admin_headers, timeout=60).json()
        query = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": people[0]["certno"], "psn_cert_type": "01"}}
        for _ in range(12):  # … and honoured by whichever process takes each new connection
            his = His(srv.url, institution=demo.PHARMACY, api_key=key, sign_no=signed.sign_no)
            answer = his.call("1101", query)
            his.close()
            assert answer["infcode"] == 0, answer["err_msg"]
        signed.close()
        srv.stop(timeout=30)
        assert not srv.alive()
    finally:
        srv.close()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--sandbox"], "--sandbox"),
        (["--nats", "nats://127.0.0.1:4222", "--region", "360100"], "--nats"),
        (["--db", "yibao-workers.sqlite"], "PostgreSQL"),
    ],
)
def test_several_processes_refuse_what_lives_in_one_process(args, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = [] if "--db" in args else ["--db", "postgresql://nobody@127.0.0.1:1/none"]
    shown = CliRunner().invoke(app, ["serve", "--workers", "2", *db, *args])
    assert shown.exit_code == 2, shown.output
    assert words in shown.output and "--workers" in shown.output
    assert not (tmp_path / "yibao-workers.sqlite").exists()  # refused before opening anything


def test_the_server_takes_what_starting_made_out_of_the_collectors_view(tmp_path, monkeypatch):
    """A full collection walking the startup heap took 26–119 ms, every request waiting (issue 11's p99):
    ``yibao serve`` freezes that heap once the app is built, just before serving."""
    import uvicorn

    from yibao.cli import serving

    order = []
    monkeypatch.setattr(serving, "freeze_startup_heap", lambda: order.append("freeze"))
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: order.append(("run", type(app).__name__)))
    monkeypatch.chdir(tmp_path)
    shown = CliRunner().invoke(app, ["serve", "--db", "y.sqlite", "--admin-token", "t"])
    assert shown.exit_code == 0, shown.output
    assert order == ["freeze", ("run", "YibaoApp")]


def test_freezing_the_startup_heap_leaves_only_new_objects_to_collect():
    import subprocess
    import sys

    code = (
        "import gc; from yibao.cli.serving import freeze_startup_heap; import yibao.api.app\n"
        "freeze_startup_heap(); print(gc.get_freeze_count(), len(gc.get_objects()))"
    )
    frozen, left = map(int, subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                           check=True, timeout=120).stdout.split())  # fmt: skip
    assert frozen > 10_000 and left < 1_000, (frozen, left)
