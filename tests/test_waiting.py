"""The load and concurrency helpers themselves: a failing client fails the test, it never hangs it."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from http_world import hammer
from waiting import Tally, at_once, join_all, start_daemon, wait_until


@contextmanager
def flaky_pubkey_server(failures: int) -> Iterator[str]:
    """A stand-in server whose first ``failures`` answers to ``GET /fsi/api/pubkey`` are HTTP 500."""
    seen = [0]
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with lock:
                seen[0] += 1
                fail = seen[0] <= failures
            body = b"boom" if fail else b"-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"
            self.send_response(500 if fail else 200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    runner = start_daemon(server.serve_forever, name="flaky-server")
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        join_all([runner], "the stand-in server")


def test_hammer_fails_instead_of_hanging_when_a_client_dies_before_the_start():
    """One client of four cannot fetch the public key: the other three must not wait for it for ever."""
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(hammer(url, api_key="k", sign_no="s", threads=4, work=lambda n, i: None, timeout=10))
        except AssertionError as exc:
            outcome.append(exc)

    with flaky_pubkey_server(failures=1) as url:
        runner = start_daemon(run, name="hammer")
        join_all([runner], "hammer with a client that failed before the start", timeout=60)
    assert len(outcome) == 1 and isinstance(outcome[0], AssertionError), outcome
    assert "before the start" in str(outcome[0])


def test_hammer_counts_acknowledged_calls_for_a_test_to_wait_on():
    tally = Tally()
    tally.add(True)
    tally.add(False)
    tally.wait_acked(1, timeout=1)
    assert (tally.sent, tally.acked) == (2, 1)
    with pytest.raises(AssertionError, match="only 1 of 2 calls acknowledged"):
        tally.wait_acked(2, timeout=0.05)


def test_at_once_reports_a_failing_call_and_releases_the_others():
    def boom():
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):  # not a BrokenBarrierError, and not a hang
        at_once([boom, lambda: 1, lambda: 2], timeout=30)
    assert at_once([lambda: 1, lambda: 2]) == [1, 2]


def test_at_once_gives_up_on_a_call_that_never_ends():
    never = threading.Event()
    with pytest.raises(AssertionError, match="still running"):
        at_once([lambda: never.wait(), lambda: 1], timeout=0.5)
    never.set()


def test_wait_until_gives_up_with_what_it_waited_for():
    with pytest.raises(AssertionError, match="the impossible"):
        wait_until(lambda: False, "the impossible", timeout=0.05)
    assert wait_until(lambda: 42, "an answer") == 42
