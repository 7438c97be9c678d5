"""The region link on NATS JetStream: durable streams, request/reply with deadlines, de-duplication.

Three streams per deployment (their names carry a prefix, so that tests and parallel
deployments never share one):

* ``<P>_REQ`` — requests, subject ``<p>.req.<to_region>.<kind>``. Durable: a request published
  while the receiving instance is down waits for it. Each region reads its own subjects through
  a durable pull consumer ``region_<admdvs>`` with explicit acks, so a message whose handling was
  never acknowledged (the receiver died) is delivered again after ``ack_wait``.
* ``<P>_ANS`` — answers, subject ``<p>.ans.<to_region>.<request msg_id>``. The requester listens on
  that subject while it waits; after a restart it can read the answer back (``answer_of``).
* ``<P>_CLR`` — clearing events, subject ``<p>.clr.<to_region>``.
* ``<P>_DLQ`` — dead letters, subject ``<p>.dlq.<region>``: a request whose handler failed
  ``max_deliver`` times (a poison message), or that cannot be read, is moved here with the reason
  (headers ``Yibao-Reason``, ``Yibao-Deliveries``), answered with the refusal E7601-006 and
  terminated, so that it cannot loop for ever; ``health`` counts them, ``dead_letters`` lists them.
  Before that, each failure is retried after a growing delay (``retry_delay_s`` doubled, at most
  ``retry_delay_max_s``). The consumer's own ``max_deliver`` is two more than the link's: a backstop
  for a handler that kills its process every time.

Every publish carries ``Nats-Msg-Id`` = the envelope's ``msg_id``: within the stream's
``duplicate_window`` JetStream stores a resend once. Past the window (or on a redelivery) the
receiving side's applied-message record (``services.regionlink.apply_once``) answers it again
without applying it again. Reconnects are nats-py's (unbounded, with a short wait); the link
counts them for ``health``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote, unquote

import nats
from nats.errors import NoServersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import Error as JetStreamError
from nats.js.errors import NotFoundError

from yibao.errors import DomainError, refuse
from yibao.regionlink.messages import Answer, Envelope, decode, encode, make

log = logging.getLogger("yibao.regionlink")

Handler = Callable[[Envelope], Awaitable[dict]] | Callable[[Envelope], dict]


@dataclass(frozen=True)
class Subjects:
    """Subject and stream names under one prefix (``yibao`` in production, a fresh one per test)."""

    prefix: str = "yibao"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", self.prefix):
            raise ValueError(f"链路前缀只能包含小写字母、数字和下划线：{self.prefix!r}")

    def request(self, to_region: str, kind: str) -> str:
        return f"{self.prefix}.req.{to_region}.{kind.replace('.', '_')}"

    def requests_for(self, region: str) -> str:
        return f"{self.prefix}.req.{region}.>"

    def answer(self, to_region: str, msg_id: str) -> str:
        return f"{self.prefix}.ans.{to_region}.{msg_id}"

    def clearing(self, to_region: str) -> str:
        return f"{self.prefix}.clr.{to_region}"

    def dead_letter(self, region: str) -> str:
        return f"{self.prefix}.dlq.{region}"

    def stream(self, what: str) -> str:
        return f"{self.prefix.upper()}_{what}"

    @property
    def streams(self) -> dict[str, str]:
        """Stream name → the subjects it keeps."""
        p = self.prefix
        return {
            self.stream("REQ"): f"{p}.req.>",
            self.stream("ANS"): f"{p}.ans.>",
            self.stream("CLR"): f"{p}.clr.>",
            self.stream("DLQ"): f"{p}.dlq.>",
        }


@dataclass
class LinkHealth:
    region: str
    connected: bool
    server: str | None
    reconnects: int
    disconnects: int
    last_error: str | None
    streams: dict[str, int | None]  # stream → messages kept (None: missing)
    pending: int | None  # requests for this region not yet delivered to it
    unacknowledged: int | None  # delivered but not acknowledged (being handled, or the handler died)
    redelivered: int | None
    dead_letters: int | None = None  # requests for this region moved to the dead-letter stream


@dataclass(frozen=True)
class DeadLetter:
    """A request the link gave up on: what it was, and why."""

    seq: int
    msg_id: str | None
    kind: str | None
    from_region: str | None
    reason: str
    deliveries: int
    at: datetime | None


@dataclass
class RegionLink:
    region: str
    servers: list[str] = field(default_factory=lambda: ["nats://127.0.0.1:4222"])
    subjects: Subjects = field(default_factory=Subjects)
    duplicate_window_s: float = 120.0
    ack_wait_s: float = 30.0
    max_age_s: float = 90 * 24 * 3600.0  # requests and answers are kept 90 days (clearing needs a month)
    connect_timeout_s: float = 2.0
    max_deliver: int = 8  # a request whose handler fails this many times is dead-lettered
    retry_delay_s: float = 0.5  # first redelivery delay after a failure, doubled each time
    retry_delay_max_s: float = 30.0
    reconnects: int = 0
    disconnects: int = 0
    last_error: str | None = None
    _nc: nats.NATS | None = None
    _sub: object = None

    # Connection --------------------------------------------------------------------------------

    async def connect(self) -> None:
        async def disconnected() -> None:
            self.disconnects += 1
            log.warning("区域链路断开（%s）", self.region)

        async def reconnected() -> None:
            self.reconnects += 1
            log.info("区域链路已重连（%s）", self.region)

        async def error(exc: Exception) -> None:
            self.last_error = f"{type(exc).__name__}: {exc}"

        try:
            self._nc = await nats.connect(
                servers=self.servers,
                name=f"yibao-{self.region}",
                connect_timeout=self.connect_timeout_s,
                allow_reconnect=True,
                max_reconnect_attempts=-1,  # keep trying: a region outlives a broker restart
                reconnect_time_wait=0.5,
                disconnected_cb=disconnected,
                reconnected_cb=reconnected,
                error_cb=error,
            )
        except (NoServersError, OSError, TimeoutError, NatsTimeout) as exc:
            raise refuse("E7601-004", detail=f"无法连接 {', '.join(self.servers)}：{exc}") from exc

    async def close(self, *, drain: bool = True) -> None:
        if self._nc is not None and not self._nc.is_closed:
            await (self._nc.drain() if drain else self._nc.close())
        self._nc = None
        self._sub = None

    @property
    def js(self):
        if self._nc is None:
            raise refuse("E7601-004", detail="链路尚未连接")
        return self._nc.jetstream()

    async def ensure_streams(self) -> None:
        """Create the three streams, or bring their settings up to date; idempotent."""
        for name, subject in self.subjects.streams.items():
            config = StreamConfig(
                name=name,
                subjects=[subject],
                storage=StorageType.FILE,
                duplicate_window=self.duplicate_window_s,
                max_age=self.max_age_s,
            )
            try:
                await self.js.stream_info(name)
                await self.js.update_stream(config)
            except NotFoundError:
                await self.js.add_stream(config)

    async def delete_streams(self) -> None:
        for name in self.subjects.streams:
            with contextlib.suppress(NotFoundError):
                await self.js.delete_stream(name)

    # Sending -----------------------------------------------------------------------------------

    async def publish(self, env: Envelope, *, timeout_s: float = 5.0) -> bool:
        """Store the message durably (once per ``msg_id`` within the window); True if it was a duplicate."""
        if env.from_region != self.region:
            raise refuse("E7601-002", detail=f"发送方应为本统筹区 {self.region}")
        subject = (
            self.subjects.answer(env.to_region, env.reply_to)
            if env.kind in ("answer", "reserved", "person.answer") and env.reply_to
            else self.subjects.request(env.to_region, env.kind)
        )
        try:
            ack = await self.js.publish(subject, encode(env), timeout=timeout_s, headers={"Nats-Msg-Id": env.msg_id})
        except (NatsTimeout, TimeoutError, nats.errors.Error) as exc:
            raise refuse("E7601-004", detail=f"发布 {env.kind} 失败：{exc}") from exc
        return bool(ack.duplicate)

    async def request(self, env: Envelope, *, timeout_s: float) -> Envelope:
        """Publish a request and wait for its answer until ``timeout_s``; the request stays in the
        stream either way (a late answer can be read with ``answer_of``)."""
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        if self._nc is None:
            raise refuse("E7601-004", detail="链路尚未连接")
        sub = await self._nc.subscribe(self.subjects.answer(self.region, env.msg_id))
        try:
            await self.publish(env, timeout_s=timeout_s)
            try:
                msg = await sub.next_msg(timeout=timeout_s)
            except (NatsTimeout, TimeoutError):
                waited = f"{env.kind} {env.msg_id} 发往 {env.to_region}，{timeout_s}秒"
                raise refuse("E7601-003", detail=waited) from None
            return decode(msg.data)
        finally:
            await sub.unsubscribe()

    async def answer_of(self, msg_id: str) -> Envelope | None:
        """The answer to one of our requests, if the peer has given one (after a restart, say)."""
        try:
            raw = await self.js.get_last_msg(self.subjects.stream("ANS"), self.subjects.answer(self.region, msg_id))
        except NotFoundError:
            return None
        return decode(raw.data)

    # Receiving ---------------------------------------------------------------------------------

    async def _subscription(self):
        if self._sub is None:
            durable, stream = f"region_{self.region}", self.subjects.stream("REQ")
            config = ConsumerConfig(
                durable_name=durable,
                name=durable,
                filter_subject=self.subjects.requests_for(self.region),
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self.ack_wait_s,
                deliver_policy=DeliverPolicy.ALL,
                max_ack_pending=1000,
                max_deliver=self.max_deliver + 2,  # the backstop; the link dead-letters at max_deliver
            )
            try:  # create, or bring an existing consumer's limits up to date
                await self.js.add_consumer(stream, config)
            except JetStreamError as exc:
                log.warning("未能更新消费者 %s 的设置：%s", durable, exc)
            self._sub = await self.js.pull_subscribe(
                self.subjects.requests_for(self.region), durable=durable, stream=stream, config=config
            )
        return self._sub

    async def _give_up(self, msg, reason: str, env: Envelope | None) -> None:
        """Move a request to the dead-letter stream, answer its sender with E7601-006 and terminate
        it: it is never delivered again."""
        deliveries = msg.metadata.num_delivered if msg.metadata else 1
        # headers travel as ASCII: the reason (Chinese, often) is percent-encoded
        headers = {"Yibao-Reason": quote(reason[:500]), "Yibao-Deliveries": str(deliveries)}
        seq = msg.metadata.sequence.stream if msg.metadata else 0
        headers["Nats-Msg-Id"] = f"dlq_{self.region}_{seq}"
        await self.js.publish(self.subjects.dead_letter(self.region), msg.data, headers=headers)
        log.error("跨统筹区报文转入死信（第%s次投递）：%s", deliveries, reason)
        if env is not None:
            detail = f"{env.kind} {env.msg_id}（{deliveries}次投递均失败：{reason}）"
            refusal = {"ok": False, "code": "E7601-006", "message": detail[:500]}
            # its own msg id: the real answer after a replay is not taken for a duplicate of this one
            await self.publish(self.answer(env, refusal, msg_id=f"dlq_{seq}_{env.msg_id}"[:80]))
        await msg.term()

    async def replay_dead_letter(self, seq: int) -> str:
        """Send one of this region's dead letters again, once its cause is fixed: republished to the
        requests under a fresh ``Nats-Msg-Id`` and removed from the dead-letter stream. The applied-
        message record still applies it at most once; its answer replaces the E7601-006 one (the
        latest answer is the one ``answer_of`` reads). Returns the request's msg_id."""
        name = self.subjects.stream("DLQ")
        try:
            raw = await self.js.get_msg(name, seq)
        except NotFoundError:
            raise refuse("E7601-007", seq=seq) from None
        if raw.subject != self.subjects.dead_letter(self.region):
            raise refuse("E7601-007", seq=seq)
        env = decode(raw.data)  # one that cannot be read cannot be replayed (E7601-002)
        subject = self.subjects.request(self.region, env.kind)
        await self.js.publish(subject, raw.data, headers={"Nats-Msg-Id": f"replay_{seq}_{env.msg_id}"[:100]})
        await self.js.delete_msg(name, seq)
        log.warning("死信 %s（%s %s）已重新投递", seq, env.kind, env.msg_id)
        return env.msg_id

    async def _failed(self, msg, env: Envelope, exc: Exception) -> None:
        """A handler failed (not a refusal): try again after a growing delay, or give up."""
        deliveries = msg.metadata.num_delivered if msg.metadata else 1
        if deliveries >= self.max_deliver:
            await self._give_up(msg, f"{type(exc).__name__}: {exc}", env)
            return
        log.exception("处理跨统筹区报文 %s 失败（第%s次），稍后重新投递", env.msg_id, deliveries)
        await msg.nak(delay=min(self.retry_delay_s * 2 ** (deliveries - 1), self.retry_delay_max_s))

    async def dead_letters(self, limit: int = 20) -> list[DeadLetter]:
        """The latest dead letters of this region, newest first."""
        name, subject = self.subjects.stream("DLQ"), self.subjects.dead_letter(self.region)
        try:
            info = await self.js.stream_info(name)
        except NotFoundError:
            return []
        out: list[DeadLetter] = []
        seq = info.state.last_seq
        while seq >= max(info.state.first_seq, 1) and len(out) < limit and seq > info.state.last_seq - 10 * limit:
            try:
                raw = await self.js.get_msg(name, seq)
            except NotFoundError:
                seq -= 1
                continue
            if raw.subject == subject:
                headers = raw.headers or {}
                try:
                    env = decode(raw.data)
                except DomainError:
                    env = None
                out.append(
                    DeadLetter(
                        seq,
                        env.msg_id if env else None,
                        env.kind if env else None,
                        env.from_region if env else None,
                        unquote(str(headers.get("Yibao-Reason", ""))),
                        int(str(headers.get("Yibao-Deliveries", "0")) or 0),
                        raw.time if hasattr(raw, "time") else None,
                    )
                )
            seq -= 1
        return out

    async def serve_batch(self, handler: Handler, *, wait_s: float = 1.0, batch: int = 16) -> int:
        """Fetch up to ``batch`` requests (waiting at most ``wait_s``), handle each, publish its
        answer, then acknowledge it. Returns how many were handled. A handler that raises anything
        but a refusal leaves the message unacknowledged: it comes back after ``ack_wait``."""
        sub = await self._subscription()
        try:
            msgs = await sub.fetch(batch=batch, timeout=wait_s)
        except (NatsTimeout, TimeoutError):
            return 0
        handled = 0
        for msg in msgs:
            try:
                env = decode(msg.data)
            except DomainError as exc:
                await self._give_up(msg, f"无法解析：{exc.err_msg}", None)
                continue
            try:
                if asyncio.iscoroutinefunction(handler):
                    data = await handler(env)
                else:  # the services are synchronous: keep the event loop (and heartbeats) running
                    data = await asyncio.to_thread(handler, env)
            except DomainError as exc:
                data = {"ok": False, "code": exc.code, "message": exc.message}
            except Exception as exc:
                await self._failed(msg, env, exc)
                continue
            await self.publish(self.answer(env, data))
            await msg.ack()
            handled += 1
        return handled

    def answer(self, request: Envelope, data: dict, *, msg_id: str | None = None) -> Envelope:
        ok = bool(data.get("ok", True))
        body = Answer(
            ok=ok,
            code=data.get("code"),
            message=data.get("message"),
            data={k: v for k, v in data.items() if k not in ("ok", "code", "message")},
        )
        now = datetime.now().replace(microsecond=0)
        return make(
            "answer",
            body,
            msg_id=msg_id or f"ans_{request.msg_id}"[:80],
            from_region=self.region,
            to_region=request.from_region,
            sent_at=now,
            reply_to=request.msg_id,
        )

    async def serve(self, handler: Handler, stop: asyncio.Event, *, wait_s: float = 1.0) -> None:
        """Handle requests until ``stop`` is set; survives broker restarts (the fetch just times out)."""
        while not stop.is_set():
            try:
                await self.serve_batch(handler, wait_s=wait_s)
            except DomainError as exc:  # the broker is away: try again shortly
                self.last_error = exc.err_msg
                await asyncio.sleep(min(wait_s, 1.0))
            except (nats.errors.Error, OSError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(min(wait_s, 1.0))

    # Health ------------------------------------------------------------------------------------

    async def health(self) -> LinkHealth:
        nc = self._nc
        connected = bool(nc and nc.is_connected)
        streams: dict[str, int | None] = {}
        pending = unacked = redelivered = dead = None
        if connected:
            for name in self.subjects.streams:
                try:
                    streams[name] = (await self.js.stream_info(name)).state.messages
                except NotFoundError:
                    streams[name] = None
            try:
                info = await self.js.consumer_info(self.subjects.stream("REQ"), f"region_{self.region}")
                pending, unacked, redelivered = info.num_pending, info.num_ack_pending, info.num_redelivered
            except NotFoundError:
                pass
            subject = self.subjects.dead_letter(self.region)
            try:
                info = await self.js.stream_info(self.subjects.stream("DLQ"), subjects_filter=subject)
                dead = (info.state.subjects or {}).get(subject, 0)
            except NotFoundError:
                pass
        server = str(nc.connected_url.netloc) if connected and nc.connected_url else None
        return LinkHealth(
            self.region,
            connected,
            server,
            self.reconnects,
            self.disconnects,
            self.last_error,
            streams,
            pending,
            unacked,
            redelivered,
            dead,
        )


def new_request(kind: str, body, *, from_region: str, to_region: str, msg_id: str, deadline_s: float) -> Envelope:
    """A request envelope stamped now, with its deadline ``deadline_s`` seconds away."""
    now = datetime.now().replace(microsecond=0)
    return make(
        kind,
        body,
        msg_id=msg_id,
        from_region=from_region,
        to_region=to_region,
        sent_at=now,
        deadline=now + timedelta(seconds=max(1, round(deadline_s))),
    )
