"""A real ``yibao serve`` in a subprocess, for the HTTP, fuzz, crash and concurrency suites.

    with running_server(db_url, sandbox=True) as srv:
        httpx.get(srv.url + "/healthz")
        srv.kill()      # SIGKILL, as a power cut would
        srv.start()     # the same database, a new process (a new port)

The server is started as ``sys.executable -m yibao serve --db URL --port P [--sandbox] --admin-token T [args]``
(the admin token also in ``YIBAO_ADMIN_TOKEN``); its output goes to a log file, never to a pipe that
nobody reads (the gateway logs one line per call, which would fill a pipe and stall the server).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ADMIN_TOKEN = "test-admin-token"
STARTUP_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerFailed(RuntimeError):
    pass


class Server:
    """One ``yibao serve`` process at a time on one database; ``start`` again after ``kill``/``stop``."""

    def __init__(
        self,
        db: str,
        *,
        sandbox: bool = False,
        admin_token: str = ADMIN_TOKEN,
        env: dict[str, str] | None = None,
        log_dir: str | Path | None = None,
        log_level: str = "warning",
        args: tuple[str, ...] = (),
    ):
        self.db = db
        self.args = tuple(args)
        self.sandbox = sandbox
        self.admin_token = admin_token
        self.extra_env = dict(env or {})
        self.log_level = log_level
        self._own_log_dir = None
        if log_dir is None:
            self._own_log_dir = tempfile.TemporaryDirectory(prefix="yibao-server-")
            log_dir = self._own_log_dir.name
        self.log_dir = Path(log_dir)
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.starts = 0
        self.log_path: Path | None = None

    # ---------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self.port is not None, "start() first"
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def command(self, port: int) -> list[str]:
        cmd = [sys.executable, "-m", "yibao", "serve", "--db", self.db, "--host", "127.0.0.1", "--port", str(port)]
        if self.sandbox:
            cmd.append("--sandbox")
        cmd += ["--admin-token", self.admin_token, "--log-level", self.log_level, *self.args]
        return cmd

    def start(self, timeout: float = STARTUP_TIMEOUT) -> str:
        """Start the process and wait until ``/healthz`` answers; returns the base URL."""
        if self.proc is not None and self.proc.poll() is None:
            raise ServerFailed("already running")
        env = dict(os.environ)
        env["YIBAO_ADMIN_TOKEN"] = self.admin_token
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.update(self.extra_env)
        for attempt in range(3):  # a port taken between probing and binding: try another
            self.port = free_port()
            self.starts += 1
            self.log_path = self.log_dir / f"server-{self.starts}.log"
            log = open(self.log_path, "wb")  # noqa: SIM115 - the child keeps it open
            try:
                self.proc = subprocess.Popen(
                    self.command(self.port),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,  # SIGKILL reaches only this process, not the test runner
                )
            finally:
                log.close()
            try:
                self._wait_healthy(timeout)
                return self.url
            except ServerFailed:
                self.kill()
                if attempt == 2 or "address already in use" not in self.log().lower():
                    raise
        raise AssertionError("unreachable")

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        assert self.proc is not None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerFailed(f"yibao serve exited with {self.proc.returncode}:\n{self.log()[-4000:]}")
            try:
                r = httpx.get(self.url + "/healthz", timeout=2)
                if r.status_code == 200 and r.json().get("ok"):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise ServerFailed(f"yibao serve did not answer /healthz within {timeout:.0f} s:\n{self.log()[-4000:]}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing; open transactions die with the process."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (uvicorn's graceful shutdown), SIGKILL if it does not go in time."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def all_logs(self) -> str:
        return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in sorted(self.log_dir.glob("*.log")))

    def close(self) -> None:
        self.stop()
        if self._own_log_dir is not None:
            self._own_log_dir.cleanup()
            self._own_log_dir = None


@contextlib.contextmanager
def running_server(
    db: str,
    *,
    sandbox: bool = False,
    admin_token: str = ADMIN_TOKEN,
    env: dict[str, str] | None = None,
    log_level: str = "warning",
    args: tuple[str, ...] = (),
) -> Iterator[Server]:
    """A started server; stopped (killed if need be) when the block ends, whatever happens in it."""
    srv = Server(db, sandbox=sandbox, admin_token=admin_token, env=env, log_level=log_level, args=args)
    try:
        srv.start()
        yield srv
    finally:
        srv.close()


def kill(srv: Server) -> None:
    """SIGKILL the server process (module-level spelling of ``Server.kill``)."""
    srv.kill()
