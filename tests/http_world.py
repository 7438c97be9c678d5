"""Building a world and calling the gateway through a live server's public interfaces only.

The agency's side goes through the admin REST API (``/api/v1``, Bearer token); the institution's
side is an HIS client: API key or TIF-signed headers, 9001 sign-in, and the patient's password
RSA-encrypted under the key from ``GET /fsi/api/pubkey``. Used by the HTTP, fuzz, crash and
concurrency suites.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, inspect, select

from waiting import DEADLINE, Tally, join_all
from yibao.api.auth import tif_signature
from yibao.nhsa.envelope import dumps, parse_body, request_envelope
from yibao.services.identity import encrypt_password
from yibao.storage import tables as t

TEST_REGION = Path(__file__).parent / "acceptance" / "policies" / "test-region.yaml"
ADMDVS = "360199"
PHARMACY = "P36019900001"
HOSPITAL = "H36019900002"
DRUG = "XJ01CAA0001"
GATEWAY = "/fsi/api/rsfComIfsService/callService"
CHINA = ZoneInfo("Asia/Shanghai")


def beijing_now() -> datetime:
    """What the server's ``SystemClock`` reads: Beijing time, naive."""
    return datetime.now(CHINA).replace(tzinfo=None, microsecond=0)


class ApiError(AssertionError):
    def __init__(self, method: str, path: str, response: httpx.Response):
        super().__init__(f"{method} {path} → {response.status_code}: {response.text[:500]}")
        self.response = response


class Admin:
    """The agency's REST client."""

    def __init__(self, url: str, token: str, *, timeout: float = 60):
        self.http = httpx.Client(base_url=url, timeout=timeout, headers={"Authorization": f"Bearer {token}"})

    def request(self, method: str, path: str, body: Any = None, *, ok: tuple[int, ...] = (200, 201)) -> Any:
        r = self.http.request(method, path, json=body)
        if r.status_code not in ok:
            raise ApiError(method, path, r)
        return r.json()

    def get(self, path: str, **kw) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw) -> Any:
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw) -> Any:
        return self.request("PUT", path, body, **kw)

    def balances(self, psn_no: str) -> tuple[int, int]:
        got = self.get(f"/api/v1/people/{psn_no}/accounts")
        return fen(got["current"]), fen(got["historical"])

    def close(self) -> None:
        self.http.close()


def fen(text: str) -> int:
    """``"123.45"`` → 12345 (exact; negative allowed)."""
    sign = -1 if text.startswith("-") else 1
    whole, _, part = text.lstrip("-").partition(".")
    return sign * (int(whole) * 100 + int((part + "00")[:2]))


# The world ---------------------------------------------------------------------------------------


def setup_region(admin: Admin, *, overrides: dict | None = None) -> None:
    """The acceptance test region, one pharmacy, one level-2 hospital, one 甲类 drug."""
    body: dict[str, Any] = {"policy_text": TEST_REGION.read_text(encoding="utf-8")}
    if overrides:
        body["overrides"] = overrides
    admin.put("/api/v1/regions", body)
    admin.post(
        "/api/v1/institutions",
        {"code": PHARMACY, "name": "示例大药房", "kind": "pharmacy", "level": 0, "admdvs": ADMDVS},
    )
    admin.post(
        "/api/v1/institutions",
        {"code": HOSPITAL, "name": "示例二级医院", "kind": "hospital", "level": 2, "admdvs": ADMDVS},
    )
    admin.post("/api/v1/catalog", {"code": DRUG, "name": "阿莫西林胶囊", "chrgitm_lv": "01"})


_names = itertools.count(1)


def add_person(
    admin: Admin,
    name: str,
    *,
    current: str = "0.00",
    historical: str = "0.00",
    psn_type: str = "1101",
    insutype: str = "310",
    birth: str = "1990-01-01",
    gender: str = "1",
    password: str | None = "123456",
    since: str = "2015-01-01",
) -> dict:
    body = {
        "name": name,
        "birth": birth,
        "gender": gender,
        "admdvs": ADMDVS,
        "insutype": insutype,
        "psn_type": psn_type,
        "insured_since": since,
        "current": current,
        "historical": historical,
    }
    if password is not None:
        body["password"] = password
    return admin.post("/api/v1/people", body)


@dataclass
class Family:
    """A working son (the patient) and retired parents who granted him mutual aid (father first)."""

    son: dict
    father: dict
    mother: dict

    @property
    def members(self) -> list[dict]:
        return [self.son, self.father, self.mother]


def add_family(
    admin: Admin,
    tag: str,
    *,
    son: str = "1.00",
    father: tuple[str, str] = ("300.00", "500.00"),
    mother: tuple[str, str] = ("200.00", "0.00"),
) -> Family:
    s = add_person(admin, f"子{tag}", current=son)
    f = add_person(
        admin, f"父{tag}", current=father[0], historical=father[1], psn_type="1201", birth="1960-03-04", password=None
    )
    m = add_person(
        admin,
        f"母{tag}",
        current=mother[0],
        historical=mother[1],
        psn_type="1201",
        birth="1962-05-06",
        gender="2",
        password=None,
    )
    for parent in (f, m):
        admin.post("/api/v1/relations", {"of": parent["psn_no"], "to": s["psn_no"], "relation": "parent"})
        admin.post("/api/v1/mutual-aid/grants", {"payer": parent["psn_no"], "beneficiary": s["psn_no"]})
    return Family(s, f, m)


def issue_credentials(admin: Admin, institution: str = PHARMACY) -> dict:
    return admin.post(f"/api/v1/institutions/{institution}/credentials")


def pharmacy_input(person: dict, amount: str, *, when: datetime | None = None, acct_used: str = "1") -> dict:
    when = when or beijing_now()
    return {
        "druginfo": {
            "psn_no": person["psn_no"],
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": person["certno"],
            "begntime": f"{when:%Y-%m-%d %H:%M:%S}",
            "medfee_sumamt": amount,
            "insutype": "310",
            "med_type": "41",
            "acct_used_flag": acct_used,
        },
        "drugdetail": [
            {"feedetl_sn": "1", "med_list_codg": DRUG, "det_item_fee_sumamt": amount, "cnt": "1", "pric": amount}
        ],
    }


# The HIS side ------------------------------------------------------------------------------------

_msg = itertools.count(1)
_msg_lock = threading.Lock()


def new_msgid(prefix: str = "") -> str:
    with _msg_lock:
        n = next(_msg)
    return f"{prefix}{secrets.token_hex(6)}{n:08d}"[:30]


@dataclass
class His:
    """An institution's client: authenticates every call, carries its sign_no, encrypts passwords.

    One ``His`` per thread (each holds its own connection pool).
    """

    url: str
    institution: str = PHARMACY
    api_key: str | None = None
    tif: tuple[str, str] | None = None  # (paasid, token)
    sign_no: str = ""
    timeout: float = 60
    http: httpx.Client = field(init=False)
    _pem: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.url, timeout=self.timeout)

    def close(self) -> None:
        self.http.close()

    def auth_headers(self) -> dict[str, str]:
        if self.api_key:
            return {"x-api-key": self.api_key}
        if self.tif:
            return tif_headers(*self.tif)
        return {}

    def public_key(self) -> str:
        if self._pem is None:
            r = self.http.get("/fsi/api/pubkey")
            r.raise_for_status()
            self._pem = r.text
        return self._pem

    def cainfo(self, password: str) -> str:
        return encrypt_password(self.public_key(), password)

    def envelope(
        self,
        infno: str,
        inp: dict,
        *,
        msgid: str | None = None,
        password: str | None = None,
        cainfo: str | None = None,
        sign_no: str | None = None,
    ) -> dict:
        env = request_envelope(
            infno,
            inp,
            institution=self.institution,
            admdvs=ADMDVS,
            now=beijing_now(),
            msgid=msgid or new_msgid(),
            opter="t",
            opter_name="测试",
            institution_name="测试机构",
            sign_no=self.sign_no if sign_no is None else sign_no,
        )
        if password is not None:
            env["cainfo"] = self.cainfo(password)
        if cainfo is not None:
            env["cainfo"] = cainfo
        return env

    def post(self, body: bytes | str | dict, headers: dict[str, str] | None = None) -> httpx.Response:
        if isinstance(body, dict):
            body = dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        h = {"content-type": "application/json"}
        h.update(self.auth_headers() if headers is None else headers)
        return self.http.post(GATEWAY, content=body, headers=h)

    def send(self, env: dict, headers: dict[str, str] | None = None) -> tuple[int, dict]:
        r = self.post(env, headers)
        return r.status_code, parse_body(r.content)

    def call(self, infno: str, inp: dict, **kw) -> dict:
        headers = kw.pop("headers", None)
        return self.send(self.envelope(infno, inp, **kw), headers)[1]

    def sign_in(self) -> str:
        answer = self.call("9001", {"signIn": {"opter_no": "001", "mac": "00:00:00:00:00:00", "ip": "127.0.0.1"}})
        assert answer["infcode"] == 0, answer["err_msg"]
        self.sign_no = answer["output"]["signinoutb"]["sign_no"]
        return self.sign_no

    def sign_out(self) -> dict:
        return self.call("9002", {"signOut": {"sign_no": self.sign_no, "opter_no": "001"}})


def tif_headers(paasid: str, token: str, *, stamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if stamp is None else stamp)
    nonce = nonce or secrets.token_hex(16)
    return {
        "x-tif-paasid": paasid,
        "x-tif-timestamp": ts,
        "x-tif-nonce": nonce,
        "x-tif-signature": tif_signature(ts, token, nonce),
    }


# Looking at the database directly ----------------------------------------------------------------


def snapshot(store) -> dict:
    """Row counts of every table the database has, every account's totals, every accumulator."""
    with store.engine.connect() as conn:
        names = set(inspect(conn).get_table_names())
        counts = {
            tb.name: conn.execute(select(func.count()).select_from(tb)).scalar_one()
            for tb in t.metadata.sorted_tables
            if tb.name in names
        }
        snap = {
            "counts": counts,
            "accounts": {r.code: (r.debits, r.credits) for r in conn.execute(select(t.accounts))},
            "accumulators": {
                (r.person_id, r.year, r.category): (r.deductible_used, r.fund_paid)
                for r in conn.execute(select(t.accumulators))
            },
            "settlements": dict(conn.execute(select(t.settlements.c.id, t.settlements.c.status)).all()),
            "passwords": {r.person_id: (r.failures, r.locked_until) for r in conn.execute(select(t.passwords))},
        }
        conn.rollback()
    return snap


def person_balances(store) -> dict[str, int]:
    """Every personal-account bucket's balance by account code."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(t.accounts.c.code, t.accounts.c.credits - t.accounts.c.debits).where(
                t.accounts.c.kind == "person_bucket"
            )
        ).all()
        conn.rollback()
    return dict(rows)


def settlement_problems(store) -> list[str]:
    """Half-written settlements: a row without its ``setl:<setl_id>`` entry, an entry without a row,
    a msgid settled twice, a recorded 2102 message without its settlement (or the reverse)."""
    from yibao.care.ids import settlement_public_id

    problems = []
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(t.settlements.c.id, t.settlements.c.msgid, t.settlements.c.status, t.people.c.admdvs).join(
                t.people, t.people.c.id == t.settlements.c.person_id
            )
        ).all()
        keys = set(conn.execute(select(t.journal_entries.c.key)).scalars())
        lines = dict(
            conn.execute(select(t.fee_lines.c.settlement_id, func.count()).group_by(t.fee_lines.c.settlement_id)).all()
        )
        messages = conn.execute(
            select(t.messages.c.msgid, t.messages.c.ref, t.messages.c.answer).where(t.messages.c.infno == "2102")
        ).all()
        conn.rollback()
    seen: dict[str, int] = {}
    setl_ids = set()
    for pk, msgid, status, admdvs in rows:
        setl_id = settlement_public_id(admdvs, pk)
        setl_ids.add(setl_id)
        if f"setl:{setl_id}" not in keys:
            problems.append(f"settlement {setl_id} has no ledger entry setl:{setl_id}")
        if status == "settled" and not lines.get(pk):
            problems.append(f"settlement {setl_id} has no fee lines")
        if msgid is not None:
            seen[msgid] = seen.get(msgid, 0) + 1
    problems += [f"msgid {m} settled {n} times" for m, n in seen.items() if n > 1]
    for key in keys:
        if key.startswith("setl:") and key[5:] not in setl_ids:
            problems.append(f"ledger entry {key} without its settlement row")
    for msgid, ref, answer in messages:
        if not answer:
            problems.append(f"message {msgid} recorded without its answer")
        elif parse_body(answer).get("infcode") == 0 and ref not in setl_ids:  # (a 2601 tombstone has none)
            problems.append(f"message {msgid} answered with settlement {ref} that does not exist")
    recorded = {m for m, _, _ in messages}
    problems += [f"settlement for msgid {m} without its message row" for m in seen if m not in recorded]
    return problems


def ledger_problems(url: str) -> list[str]:
    """The ledger invariant checker through a Store of our own on the server's database."""
    from yibao.storage.uow import Store

    store = Store.open(url, migrate=False)
    try:
        with store.uow() as tx:
            return tx.ledger.check_invariants()
    finally:
        store.dispose()


def fresh_pg_database(worker: str) -> str:
    """The per-worker PostgreSQL database (``conftest.pg_worker_url``), emptied: every table the
    database has is truncated (not the tables the code declares, which may run ahead of the
    migrations while they are being written)."""
    from sqlalchemy import create_engine

    from conftest import pg_worker_url

    url = pg_worker_url(worker)
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            names = [n for n in inspect(conn).get_table_names() if n != "alembic_version"]
            if names:
                conn.exec_driver_sql(
                    f"TRUNCATE {', '.join(chr(34) + n + chr(34) for n in names)} RESTART IDENTITY CASCADE"
                )
    finally:
        engine.dispose()
    return url


def worker_of(request) -> str:
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


def server_db_url(request, directory: Path, name: str) -> str:
    """The database for a server test parametrised over ``conftest.DATABASES``: a new SQLite file in
    ``directory``, or this worker's PostgreSQL database emptied (skipped without PostgreSQL)."""
    from conftest import require_pg

    if request.param == "pg":
        require_pg()
        return fresh_pg_database(worker_of(request))
    return str(directory / f"{name}.sqlite")


# Load: many HIS clients at once ----------------------------------------------------------------


@dataclass
class Sent:
    """One gateway call as the client saw it: the answer, or the error that left it unanswered."""

    thread: int
    msgid: str
    infno: str
    input: dict
    answer: dict | None = None
    status: int | None = None
    error: str | None = None
    at: float = 0.0  # time.perf_counter() when it was sent
    seconds: float = 0.0

    @property
    def acked(self) -> bool:
        return self.answer is not None and self.answer.get("infcode") == 0


def hammer(
    url: str,
    *,
    api_key: str,
    sign_no: str,
    threads: int,
    work: Callable[[int, int], tuple[str, dict, str | None] | None],
    stop: threading.Event | None = None,
    tally: Tally | None = None,
    timeout: float = 60,
    deadline: float = DEADLINE * 3,
) -> list[Sent]:
    """``threads`` HIS clients, each calling ``work(thread, i)`` → (infno, input, password) until it
    returns None or ``stop`` is set; every call recorded (and counted in ``tally``, which a test can
    wait on). A client whose connection fails records the error and stops (the server is presumably
    gone). A client that fails before the start releases the others and fails the call; so does a
    run that outlives ``deadline`` seconds. Every wait here has a timeout; the clients are daemons."""
    stop = stop or threading.Event()
    results: list[list[Sent]] = [[] for _ in range(threads)]
    failures: list[str] = []
    start = threading.Barrier(threads, timeout=DEADLINE)

    def client(n: int) -> None:
        his = None
        try:
            his = His(url, api_key=api_key, sign_no=sign_no, timeout=timeout)
            his.public_key()
            start.wait()
        except threading.BrokenBarrierError:
            return  # another client failed before the start (reported by that client)
        except Exception as exc:
            failures.append(f"client {n} failed before the start: {exc!r}"[:300])
            start.abort()
            if his is not None:
                his.close()
            return
        i = 0
        try:
            while not stop.is_set():
                job = work(n, i)
                if job is None:
                    break
                infno, inp, password = job
                env = his.envelope(infno, inp, password=password)
                t0 = time.perf_counter()
                sent = Sent(n, env["msgid"], infno, inp, at=t0)
                try:
                    r = his.post(env)
                    sent.status = r.status_code
                    sent.answer = parse_body(r.content)
                except Exception as exc:  # a dead server: connection refused, reset, timeout
                    sent.error = repr(exc)[:200]
                sent.seconds = time.perf_counter() - t0
                results[n].append(sent)
                if tally is not None:
                    tally.add(sent.acked)
                if sent.error:
                    break
                i += 1
        except Exception as exc:  # a bug in ``work`` or in the test's client: reported, not swallowed
            failures.append(f"client {n} failed: {exc!r}"[:300])
        finally:
            his.close()

    pool = [threading.Thread(target=client, args=(n,), name=f"his-{n}", daemon=True) for n in range(threads)]
    for th in pool:
        th.start()
    try:
        join_all(pool, "HIS clients", timeout=deadline)
    finally:
        stop.set()  # if the deadline passed, tell the stragglers to stop (they are daemons anyway)
    assert not failures, failures
    return [s for per in results for s in per]


def resend(his: His, sent: Sent, password: str | None = "123456") -> dict:
    """The same msgid and input again (new inf_time, new cainfo ciphertext): a resend, not a new message."""
    return his.call(sent.infno, sent.input, msgid=sent.msgid, password=password)
