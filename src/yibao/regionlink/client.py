"""The link for synchronous code: a ``RegionLink`` on an event loop of its own, in a daemon thread.

The services and the gateway are synchronous; the link is asyncio. ``LinkClient`` runs the link's
loop in one daemon thread and offers ``call`` / ``send`` (the ``services.crossregion.PeerLink``
port) and ``serve`` (the responder that hands each request to ``handlers``). Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from datetime import datetime, timedelta

from yibao.errors import refuse
from yibao.regionlink.link import RegionLink
from yibao.regionlink.messages import BODIES, make


class LinkClient:
    def __init__(self, link: RegionLink, *, create_streams: bool = True, connect_timeout_s: float = 10.0):
        self.link = link
        self.region = link.region
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"regionlink-{link.region}", daemon=True)
        self._thread.start()
        self._stop: asyncio.Event | None = None
        self._serving = None
        self._run(self._open(create_streams), connect_timeout_s)

    async def _open(self, create_streams: bool) -> None:
        await self.link.connect()
        if create_streams:
            await self.link.ensure_streams()

    def _run(self, coro, timeout_s: float):
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return fut.result(timeout_s)
        except TimeoutError:
            fut.cancel()
            raise refuse("E7601-003", detail=f"本地链路操作超过{timeout_s}秒") from None

    def _envelope(self, to_region: str, kind: str, body: dict, msg_id: str, timeout_s: float):
        now = datetime.now().replace(microsecond=0)
        return make(
            kind,
            BODIES[kind].model_validate(body),
            msg_id=msg_id,
            from_region=self.region,
            to_region=to_region,
            sent_at=now,
            deadline=now + timedelta(seconds=max(1, int(timeout_s))),
        )

    def call(self, to_region: str, kind: str, body: dict, *, msg_id: str, timeout_s: float) -> dict:
        env = self._envelope(to_region, kind, body, msg_id, timeout_s)
        answer = self._run(self.link.request(env, timeout_s=timeout_s), timeout_s + 5)
        return answer.parsed().model_dump(mode="json")

    def stored_answer(self, msg_id: str) -> dict | None:
        """The peer's answer to one of our requests if it was given (read back from the stream)."""
        env = self._run(self.link.answer_of(msg_id), 10)
        return env.parsed().model_dump(mode="json") if env is not None else None

    def send(self, to_region: str, kind: str, body: dict, *, msg_id: str) -> None:
        env = self._envelope(to_region, kind, body, msg_id, 5)
        self._run(self.link.publish(env, timeout_s=5), 10)

    def serve(self, handler, *, wait_s: float = 0.5) -> None:
        """Start answering this region's requests with ``handler`` (sync, called in a worker thread)."""

        async def start():
            self._stop = asyncio.Event()
            self._serving = asyncio.ensure_future(self.link.serve(handler, self._stop, wait_s=wait_s))

        self._run(start(), 10)

    def health(self):
        return self._run(self.link.health(), 10)

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop answering, close the connection, stop the loop; bounded, whatever state it is in."""

        async def stop():
            if self._stop is not None:
                self._stop.set()
            if self._serving is not None:
                self._serving.cancel()
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(self._serving, 2)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.link.close(drain=False), timeout_s / 2)
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in others:
                t.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout_s)
        except Exception:
            pass
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout_s)
            if not self._loop.is_running():
                self._loop.close()
