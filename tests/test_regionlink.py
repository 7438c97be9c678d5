"""The region link against the real NATS JetStream server (127.0.0.1:4222, as in CI).

Each test runs under a prefix of its own (streams ``T<hex>_REQ`` …, subjects ``t<hex>.…``), so
parallel runs never share a stream, and deletes its streams afterwards. Every wait has a timeout.
Skipped, with the reason, when no server answers. The reconnect test starts a private
``nats-server`` of its own on a free port (skipped when the binary is missing) and stops only it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from datetime import datetime

import pytest
from typer.testing import CliRunner

from yibao.cli.main import app
from yibao.errors import DomainError
from yibao.regionlink.handlers import handler_for
from yibao.regionlink.link import RegionLink, Subjects, new_request
from yibao.regionlink.messages import SCHEMA, Envelope, Ping, Reserve, decode, encode, make
from yibao.services import regionlink as service
from yibao.services.platform import FixedClock, Platform
from yibao.storage.uow import Store

NATS_URL = os.environ.get("YIBAO_TEST_NATS_URL", "nats://127.0.0.1:4222")
A, B = "360100", "310000"


def _reachable(url: str) -> bool:
    host, port = url.rsplit("//", 1)[-1].split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


needs_nats = pytest.mark.skipif(
    not _reachable(NATS_URL), reason=f"NATS JetStream not reachable at {NATS_URL} (start nats-server -js)"
)


def run(coro, timeout: float = 30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def fresh_subjects() -> Subjects:
    return Subjects(f"t{uuid.uuid4().hex[:12]}")


def platform_of(region: str, peer: str) -> Platform:
    p = Platform(Store.open("sqlite://", create=True), FixedClock(datetime(2025, 8, 1, 9)), region=region)
    service.add_peer(p, peer, "对端")
    return p


async def linked(region: str, subjects: Subjects, **kw) -> RegionLink:
    link = RegionLink(region, [NATS_URL], subjects, **kw)
    await link.connect()
    await link.ensure_streams()
    return link


@contextlib.asynccontextmanager
async def pair(subjects: Subjects, serve_with=None, **b_options):
    """Region A's and region B's links; B answers with ``serve_with`` while the block runs. The
    streams are deleted and both links closed afterwards, whatever happens."""
    a, b = await linked(A, subjects), await linked(B, subjects, **b_options)
    stop = asyncio.Event()
    server = asyncio.create_task(b.serve(serve_with, stop, wait_s=0.2)) if serve_with else None
    try:
        yield a, b
    finally:
        stop.set()
        if server is not None:
            await asyncio.wait_for(server, 5)
        await b.close(drain=False)  # its serve loop has stopped; a drain of its pull consumer waits 30 s
        await a.delete_streams()
        await a.close()


def ping(msg_id: str, deadline_s: float = 5) -> Envelope:
    return new_request("link.ping", Ping(note="hi"), from_region=A, to_region=B, msg_id=msg_id, deadline_s=deadline_s)


# Messages (no server needed) ----------------------------------------------------------------------


def test_messages_round_trip_and_refuse_what_does_not_fit():
    env = ping("m1")
    assert decode(encode(env)) == env
    assert b'"schema":"yibao.regionlink/1"' in encode(env)
    with pytest.raises(DomainError) as e:
        decode(encode(env).replace(SCHEMA.encode(), b"yibao.regionlink/9"))
    assert e.value.code == "E7601-005"
    for bad in (b"{", b"[]", encode(env).replace(b'"msg_id":"m1"', b'"msg_id":"a.b"')):
        with pytest.raises(DomainError) as e:
            decode(bad)
        assert e.value.code == "E7601-002"
    body = Reserve.model_json_schema()
    assert body["properties"]["lines"]["maxItems"] == 2000
    with pytest.raises(ValueError):
        make("reserve", Reserve.model_validate({"reservation_id": "r", "setl_ref": "s"}), msg_id="x")


# JetStream ------------------------------------------------------------------------------------------


@needs_nats
def test_streams_are_durable_and_a_resend_inside_the_window_is_stored_once():
    subjects = fresh_subjects()

    async def go():
        link = await linked(A, subjects)
        try:
            info = await link.js.stream_info(subjects.stream("REQ"))
            assert info.config.duplicate_window == pytest.approx(120.0)
            assert str(getattr(info.config.storage, "value", info.config.storage)) == "file"
            assert await link.publish(ping("dup1")) is False
            assert await link.publish(ping("dup1")) is True  # Nats-Msg-Id: the stream keeps one
            assert await link.publish(ping("dup2")) is False
            assert (await link.js.stream_info(subjects.stream("REQ"))).state.messages == 2
        finally:
            await link.delete_streams()
            await link.close()

    run(go())


@needs_nats
def test_request_reply_applies_through_the_service_and_answers_within_the_deadline():
    subjects = fresh_subjects()
    pb = platform_of(B, A)

    async def go():
        async with pair(subjects, handler_for(pb)) as (a, b):
            answer = await a.request(ping("req1"), timeout_s=10)
            assert answer.kind == "answer" and answer.reply_to == "req1" and answer.from_region == B
            body = answer.parsed()
            assert body.ok and body.data["region"] == B
            assert (await a.answer_of("req1")) == answer  # kept: readable again after a restart
            health = await b.health()
            assert health.connected and health.streams[subjects.stream("REQ")] == 1 and health.pending == 0

    run(go())
    assert service.applied_count(pb) == 1


@needs_nats
def test_a_request_nobody_answers_times_out_and_is_applied_when_the_peer_comes_back():
    subjects = fresh_subjects()
    pb = platform_of(B, A)

    async def go():
        a = await linked(A, subjects)
        try:
            started = time.monotonic()
            with pytest.raises(DomainError) as e:
                await a.request(ping("late1"), timeout_s=0.5)
            assert e.value.code == "E7601-003" and time.monotonic() - started < 5
            assert await a.answer_of("late1") is None
            b = await linked(B, subjects)  # the peer starts later: the request waited in the stream
            try:
                assert await b.serve_batch(handler_for(pb), wait_s=2) == 1
            finally:
                await b.close()
            answer = await a.answer_of("late1")
            assert answer is not None and answer.parsed().ok
        finally:
            await a.delete_streams()
            await a.close()

    run(go())


@needs_nats
def test_exactly_once_past_the_duplicate_window_and_on_redelivery():
    """A resend the stream no longer recognises (published without its Nats-Msg-Id, as after the
    window) and a redelivery after the handler died before its ack are both answered from the
    applied-message record: the effect happens once."""
    subjects = fresh_subjects()
    pb = platform_of(B, A)
    calls: list[str] = []

    def counting(env: Envelope) -> dict:
        def work(tx):
            calls.append(env.msg_id)
            return {"n": len(calls)}

        outcome = service.apply_once(pb, msg_id=env.msg_id, from_region=env.from_region, kind=env.kind, handler=work)
        return outcome.answer

    async def go():
        async with pair(subjects, ack_wait_s=1.0) as (a, b):
            env = ping("once1")
            await a.publish(env)
            await a.js.publish(subjects.request(B, env.kind), encode(env))  # no msg id: stored again
            assert await b.serve_batch(counting, wait_s=2) == 2
            assert calls == ["once1"]
            # The handler "dies" after applying but before the ack: the message comes back.
            await a.publish(ping("once2"))
            sub = await b._subscription()
            first = (await sub.fetch(1, timeout=2))[0]
            counting(decode(first.data))  # applied and committed, never acknowledged
            again = (await sub.fetch(1, timeout=5))[0]  # redelivered after ack_wait (1 s)
            assert again.metadata.num_delivered == 2
            answer = counting(decode(again.data))
            await again.ack()
            assert calls == ["once1", "once2"] and answer == {"ok": True, "n": 2}

    run(go())
    assert service.applied_count(pb) == 2


@needs_nats
def test_unknown_peer_is_refused_and_the_refusal_is_the_answer():
    subjects = fresh_subjects()
    pb = Platform(Store.open("sqlite://", create=True), FixedClock(datetime(2025, 8, 1, 9)), region=B)  # no peers

    async def go():
        async with pair(subjects, handler_for(pb)) as (a, _b):
            answer = (await a.request(ping("stranger1"), timeout_s=10)).parsed()
            assert not answer.ok and answer.code == "E7601-001"

    run(go())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nats_server_binary() -> str | None:
    """The nats-server executable, also where Debian puts it (/usr/sbin) when that is not on PATH."""
    return shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin:/usr/local/sbin:/usr/bin")


def _start_server(port: int, store: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [nats_server_binary(), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", store],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not _reachable(f"nats://127.0.0.1:{port}"):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("private nats-server did not start")
        time.sleep(0.05)
    return proc


@pytest.mark.skipif(nats_server_binary() is None, reason="nats-server binary not installed")
def test_the_link_reconnects_after_the_broker_restarts_and_nothing_stored_is_lost(tmp_path):
    port = _free_port()
    url = f"nats://127.0.0.1:{port}"
    subjects = fresh_subjects()
    proc = _start_server(port, str(tmp_path / "js"))
    try:

        async def go():
            nonlocal proc
            link = RegionLink(A, [url], subjects)
            await link.connect()
            await link.ensure_streams()
            await link.publish(ping("before"))
            proc.terminate()
            proc.wait(timeout=10)
            for _ in range(100):  # wait for the client to notice, at most 10 s
                if link.disconnects:
                    break
                await asyncio.sleep(0.1)
            assert link.disconnects >= 1
            proc = _start_server(port, str(tmp_path / "js"))
            for _ in range(200):  # wait for the reconnect, at most 20 s
                if link.reconnects:
                    break
                await asyncio.sleep(0.1)
            assert link.reconnects >= 1
            assert await link.publish(ping("after")) is False
            assert await link.publish(ping("before")) is True  # still inside the window after the restart
            assert (await link.js.stream_info(subjects.stream("REQ"))).state.messages == 2
            health = await link.health()
            assert health.connected and health.reconnects >= 1
            await link.close()

        run(go(), timeout=60)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def _poll(condition, what: str, timeout: float = 30.0):
    """Await ``condition()`` (a coroutine function) until it is true; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (got := await condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)
    return got


@needs_nats
def test_a_poison_message_is_retried_then_dead_lettered_answered_and_never_delivered_again(tmp_path):
    """A request whose handler keeps failing is retried ``max_deliver`` times with a growing delay,
    then moved to the dead-letter stream, answered with E7601-006 and terminated: it does not loop,
    the requests behind it are served, ``health`` and ``yibao region health`` show it. A message that
    cannot even be read goes the same way at once."""
    subjects = fresh_subjects()
    pb = platform_of(B, A)
    good = handler_for(pb)
    calls: list[str] = []

    fixed: list[bool] = []

    def poisoned(env: Envelope) -> dict:
        calls.append(env.msg_id)
        if env.msg_id == "poison1" and not fixed:
            raise RuntimeError("处理程序缺陷")
        return good(env)

    async def go():
        async with pair(subjects, poisoned, max_deliver=3, retry_delay_s=0.05) as (a, b):
            consumer = await b._subscription()
            info = await b.js.consumer_info(subjects.stream("REQ"), f"region_{B}")
            assert info.config.max_deliver == 5 and consumer is not None  # the backstop: the link's limit + 2
            answer = (await a.request(ping("poison1", deadline_s=30), timeout_s=30)).parsed()
            assert not answer.ok and answer.code == "E7601-006" and "RuntimeError" in answer.message
            assert calls.count("poison1") == 3
            assert (await a.request(ping("good1"), timeout_s=10)).parsed().ok  # the queue moves on
            await a.js.publish(subjects.request(B, "link.ping"), b"{not json", headers={"Nats-Msg-Id": "junk1"})

            async def both_dead():
                h = await b.health()
                return h if h.dead_letters == 2 else None

            health = await _poll(both_dead, "two dead letters")
            assert health.pending == 0 and health.unacknowledged == 0  # nothing left to deliver, ever
            junk, poison = await b.dead_letters()
            assert (poison.msg_id, poison.kind, poison.from_region, poison.deliveries) == ("poison1", "link.ping", A, 3)
            assert "RuntimeError" in poison.reason and junk.msg_id is None and "无法解析" in junk.reason
            assert calls.count("poison1") == 3
            db = str(tmp_path / "b.sqlite")
            args = ["region", "health", "--region", B, "--nats", NATS_URL, "--prefix", subjects.prefix, "--db", db]
            shown = await asyncio.to_thread(CliRunner().invoke, app, args, terminal_width=200)
            assert shown.exit_code == 0, shown.output
            assert "死信" in shown.output and "poison1" in shown.output and "RuntimeError" in shown.output
            # The cause is fixed: the dead letter is sent again, applied once, and its answer is the real one.
            fixed.append(True)
            base = ["region", "dead-letters", "--region", B, "--nats", NATS_URL, "--prefix", subjects.prefix]
            replay = await asyncio.to_thread(
                CliRunner().invoke, app, [*base, "--replay", str(poison.seq)], terminal_width=200
            )
            assert replay.exit_code == 0 and "已重新投递" in replay.output, replay.output

            async def answered():
                got = await a.answer_of("poison1")
                return got if got is not None and got.parsed().ok else None

            assert (await _poll(answered, "the replayed request answered")).parsed().data["region"] == B
            assert (await b.health()).dead_letters == 1 and [d.msg_id for d in await b.dead_letters()] == [None]
            for seq, code in ((junk.seq, "E7601-002"), (poison.seq, "E7601-007"), (10**6, "E7601-007")):
                with pytest.raises(DomainError) as e:
                    await b.replay_dead_letter(seq)  # unreadable; gone after its replay; never there
                assert e.value.code == code, seq
            listed = await asyncio.to_thread(CliRunner().invoke, app, base, terminal_width=200)
            assert listed.exit_code == 0 and "无法解析" in listed.output and "poison1" not in listed.output

    run(go(), timeout=90)
    assert service.applied_count(pb) == 2  # good1, then poison1 once replayed


# CLI -----------------------------------------------------------------------------------------------


@needs_nats
def test_region_cli_adds_a_peer_lists_it_and_shows_link_health(tmp_path):
    db = str(tmp_path / "r.sqlite")
    runner = CliRunner()
    out = runner.invoke(app, ["region", "add-peer", "310000", "--name", "上海市", "--db", db], terminal_width=200)
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["region", "peers", "--db", db], terminal_width=200)
    assert out.exit_code == 0 and "310000" in out.output and "上海市" in out.output
    bad = runner.invoke(app, ["region", "add-peer", "31000", "--name", "x", "--db", db])
    assert bad.exit_code == 2 and "E7601-002" in bad.output
    prefix = fresh_subjects().prefix
    args = ["region", "health", "--region", "360100", "--nats", NATS_URL, "--prefix", prefix, "--create-streams"]
    out = runner.invoke(app, [*args, "--db", db], terminal_width=200)
    try:
        assert out.exit_code == 0, out.output
        assert "已连接" in out.output and prefix.upper() + "_REQ" in out.output and "310000" in out.output
    finally:

        async def cleanup():
            link = RegionLink("360100", [NATS_URL], Subjects(prefix))
            await link.connect()
            await link.delete_streams()
            await link.close()

        run(cleanup())


def test_region_health_says_clearly_when_nats_is_down(tmp_path):
    port = _free_port()  # nothing listens there
    out = CliRunner().invoke(
        app,
        ["region", "health", "--region", "360100", "--nats", f"nats://127.0.0.1:{port}", "--db", str(tmp_path / "x")],
        terminal_width=200,
    )
    assert out.exit_code == 2 and "E7601-004" in out.output
