"""Three regions, three PostgreSQL databases, one NATS server, real ``yibao serve`` processes; then
faults (issue 15 phase 2, step 3).

Nanchang (360100), Shanghai (310000) and Beijing (110000) each run as ``yibao serve --region …
--nats …`` on a database of their own; the test is every hospital's HIS (it calls the 就医地's
gateway over HTTP) and reads each database directly to check. Storms:

1. every direction: settlements, a cancellation (2208) and 2601 of a cancellation and of a
   settlement for each ordered pair of regions;
2. the 参保地 dies between reserve and post (fail point ``insured.before_post``), comes back;
3. the 就医地 dies after the reserve, before booking (``care.after_reserve``): the 参保地's
   deadline job voids;
4. the 就医地 dies after its commit, before the post (``care.after_commit``): its restart sweep posts;
5. every acknowledged 2207 resent with the same msgid;
5b. NATS stopped for a while (a private ``nats-server`` the fixture started, never the machine's
    shared one): 2207s are refused and nothing is booked, a 2208 taken during the outage waits and
    crosses once the broker is back, settlements go through again.

After each storm: every acknowledged settlement exists on both sides with the same amounts, every
reservation is posted, voided or reversed (none left pending), each region's ledger balances, what
each 参保地 owes each 就医地 is what the 就医地 is owed, and no fen is lost (the figures are printed).
Every wait has a deadline; deadlines and the consumer's ack wait are shortened by environment.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import create_engine, text

from server import Server
from test_regionlink import NATS_URL, _free_port, _start_server, nats_server_binary, needs_nats
from waiting import wait_until
from yibao.ledger.model import person_bucket
from yibao.ledger.reservations import due_from_account, due_to_account, held_account
from yibao.nhsa.envelope import new_msgid, request_envelope
from yibao.services import crossregion, world
from yibao.services.platform import Platform
from yibao.services.regionlink import add_peer
from yibao.services.regions import install_region
from yibao.services.signin import add_staff
from yibao.storage.db import normalize_url
from yibao.storage.uow import Store

PG_URL = os.environ.get("YIBAO_TEST_PG_URL")
REGIONS = {"360100": "南昌市", "310000": "上海市", "110000": "北京市"}
GATEWAY = "/fsi/api/rsfComIfsService/callService"
LINES = [("XJ01CAA0001", "320.00", "4"), ("XB02BAA0002", "150.00", "3"), ("ZZ0000000003", "80.00", "1")]
FAST = {
    "YIBAO_LINK_TIMEOUT_S": "4",
    "YIBAO_LINK_POST_TIMEOUT_S": "2",
    "YIBAO_RESERVATION_GRACE_S": "1",
    "YIBAO_LINK_SWEEP_S": "0.5",
    "YIBAO_LINK_ACK_WAIT_S": "2",
}

pytestmark = [
    needs_nats,
    pytest.mark.pg,
    pytest.mark.skipif(not PG_URL, reason="the fault tests need YIBAO_TEST_PG_URL"),
]


@dataclass
class Instance:
    admdvs: str
    url: str  # the database
    server: Server
    people: list[world.Created] = field(default_factory=list)
    start_balance: dict[str, int] = field(default_factory=dict)
    prefix: str = ""
    nats: str = NATS_URL

    @property
    def hospital(self) -> str:
        return f"H{self.admdvs}00003"

    def platform(self) -> Platform:
        return Platform(Store.open(self.url, migrate=False), region=self.admdvs)

    def restart(self, fault: str | None = None) -> None:
        self.server.kill()
        self.server.extra_env.pop("YIBAO_FAULT", None)
        if fault:
            self.server.extra_env["YIBAO_FAULT"] = fault
        self.server.start()


@dataclass
class Acked:
    care: str
    insured: str
    setl_id: str
    msgid: str
    mdtrt_id: str
    psn_no: str
    fund: int
    acct: int
    medfee: int
    data: dict = field(default_factory=dict)
    cancelled: bool = False


@dataclass
class Broker:
    """The NATS server of the storms: a private ``nats-server`` started here (its own port and
    JetStream store) when the binary is installed — then a storm may stop it — else the shared one,
    which is never stopped."""

    url: str
    port: int | None = None
    store: str | None = None
    proc: subprocess.Popen | None = None

    @property
    def private(self) -> bool:
        return self.port is not None

    def start(self) -> None:
        assert self.private
        self.proc = _start_server(self.port, self.store)

    def stop(self) -> None:
        assert self.private and self.proc is not None, "only the private server is ever stopped"
        self.proc.terminate()
        self.proc.wait(timeout=15)
        self.proc = None


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    if nats_server_binary() is None:
        yield Broker(NATS_URL)
        return
    port = _free_port()
    b = Broker(f"nats://127.0.0.1:{port}", port, str(tmp_path_factory.mktemp("jetstream")))
    b.start()
    try:
        yield b
    finally:
        if b.proc is not None:
            b.proc.terminate()
            b.proc.wait(timeout=15)


def _database(base: str, name: str) -> str:
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.rsplit("/", 1)[0] + f"/{name}"


def _drop(base: str, name: str) -> None:
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="module")
def world3(tmp_path_factory, broker):
    base = normalize_url(PG_URL)
    tag = re.sub(r"[^a-z0-9]", "", f"{os.getpid()}{uuid.uuid4().hex[:6]}")
    prefix = f"t{uuid.uuid4().hex[:12]}"
    instances: dict[str, Instance] = {}
    names = []
    try:
        for admdvs in REGIONS:
            name = f"yibao_cr_{tag}_{admdvs}"
            names.append(name)
            url = _database(base, name)
            store = Store.open(url)
            p = Platform(store, region=admdvs)
            install_region(p, admdvs, sites=True)
            add_staff(p, "operator", "经办员", "operator", "operator123")
            for peer in REGIONS:
                if peer != admdvs:
                    add_peer(p, peer, REGIONS[peer])
            inst = Instance(admdvs, url, None)  # type: ignore[arg-type]
            for n in range(3):
                who = world.add_person(
                    p,
                    world.NewPerson(
                        name=f"参保人{admdvs[:2]}{n}",
                        birth=date(1970 + n, 3, 1),
                        gender="1",
                        admdvs=admdvs,
                        insutype="310",
                        psn_type="1101",
                        insured_since=date(2010, 1, 1),
                        current=500_000,
                        historical=300_000,
                        password="123456",
                    ),
                )
                inst.people.append(who)
            store.dispose()
            args = ("--region", admdvs, "--nats", broker.url, "--link-prefix", prefix)
            inst.server = Server(
                url, sandbox=True, env=dict(FAST), log_dir=tmp_path_factory.mktemp(f"srv{admdvs}"), args=args
            )
            inst.prefix = prefix
            inst.nats = broker.url
            instances[admdvs] = inst
        for inst in instances.values():
            inst.server.start()
        for inst in instances.values():
            inst.start_balance = {w.person.psn_no: balance_of(inst, w.person.psn_no) for w in inst.people}
        yield instances
    finally:
        for inst in instances.values():
            if inst.server is not None:
                inst.server.close()
        if broker.proc is not None or not broker.private:
            _delete_streams(broker.url, prefix)
        for name in names:
            _drop(base, name)


def _delete_streams(url: str, prefix: str) -> None:
    from crossregion_support import delete_streams
    from yibao.regionlink.link import Subjects

    delete_streams(url, Subjects(prefix))


def balance_of(inst: Instance, psn_no: str) -> int:
    p = inst.platform()
    codes = [person_bucket(psn_no, b) for b in ("current", "historical")]
    try:
        with p.store.uow(read_only=True) as tx:
            return sum(tx.ledger.balances(codes).values())
    finally:
        p.store.dispose()


_serial = [0]


def his(care: Instance, insured: str, infno: str, inp: dict, *, msgid: str | None = None, timeout: float = 30) -> dict:
    _serial[0] += 1
    now = datetime.now().replace(microsecond=0)
    env = request_envelope(
        infno,
        inp,
        institution=care.hospital,
        admdvs=care.admdvs,
        now=now,
        msgid=msgid or new_msgid(care.hospital, now, _serial[0]),
        opter="t",
        opter_name="测试",
    )
    env["insuplc_admdvs"] = insured
    r = httpx.post(care.server.url + GATEWAY, json=env, timeout=timeout)
    return r.json()


def ok(answer: dict) -> dict:
    assert answer["infcode"] == 0, answer.get("err_msg")
    return answer["output"]


def prepare(care: Instance, insured: Instance, who: world.Created) -> tuple[str, dict]:
    """1101 → 2201 → 2204 at the 就医地; the mdtrt_id and the 2207 input."""
    person = who.person
    ok(his(care, insured.admdvs, "1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno}}))
    reg = {
        "psn_no": person.psn_no,
        "insutype": "310",
        "begntime": f"{datetime.now():%Y-%m-%d %H:%M:%S}",
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": person.certno,
        "ipt_otp_no": f"MZ{uuid.uuid4().hex[:10]}",
        "dept_name": "内科",
        "caty": "03",
    }
    mdtrt_id = ok(his(care, insured.admdvs, "2201", {"data": reg}))["data"]["mdtrt_id"]
    details = [
        {
            "feedetl_sn": str(i),
            "mdtrt_id": mdtrt_id,
            "psn_no": person.psn_no,
            "chrg_bchno": "B1",
            "med_list_codg": code,
            "det_item_fee_sumamt": amount,
            "cnt": count,
            "pric": str(Decimal(amount) / Decimal(count)),
        }
        for i, (code, amount, count) in enumerate(LINES, 1)
    ]
    ok(his(care, insured.admdvs, "2204", {"feedetail": details}))
    data = {
        "psn_no": person.psn_no,
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": person.certno,
        "med_type": "11",
        "medfee_sumamt": str(sum(Decimal(a) for _, a, _ in LINES)),
        "psn_setlway": "01",
        "mdtrt_id": mdtrt_id,
        "chrg_bchno": "B1",
        "insutype": "310",
        "acct_used_flag": "1",
    }
    return mdtrt_id, data


def fen(v) -> int:
    return int(Decimal(str(v)) * 100)


def settle(care: Instance, insured: Instance, who: world.Created, *, timeout: float = 30) -> Acked | None:
    return submit(care, insured, who, *prepare(care, insured, who), timeout=timeout)


def submit(
    care: Instance, insured: Instance, who: world.Created, mdtrt_id: str, data: dict, *, timeout: float = 30
) -> Acked | None:
    """The 2207 of a prepared visit; what was acknowledged, or None."""
    msgid = new_msgid(care.hospital, datetime.now(), uuid.uuid4().int % 10000)
    try:
        answer = his(care, insured.admdvs, "2207", {"data": data}, msgid=msgid, timeout=timeout)
    except httpx.HTTPError:
        return None  # the 就医地 died under the call: nothing acknowledged
    if answer["infcode"] != 0:
        return None
    s = answer["output"]["setlinfo"]
    return Acked(
        care.admdvs,
        insured.admdvs,
        s["setl_id"],
        msgid,
        mdtrt_id,
        who.person.psn_no,
        fen(s["hifp_pay"]),
        fen(s["acct_pay"]),
        fen(s["medfee_sumamt"]),
        data,
    )


# The checks after every storm --------------------------------------------------------------------


def settled_everywhere(world3: dict[str, Instance], acked: list[Acked]) -> dict[str, int]:
    """Wait until nothing is pending anywhere, then check both sides of everything; the figures."""

    def quiet() -> bool:
        for inst in world3.values():
            p = inst.platform()
            try:
                if [r for r in crossregion.reservations(p) if r.status == "pending"]:
                    return False
                if [c for c in crossregion.cross_settlements(p) if c.status.startswith("awaiting")]:
                    return False
            finally:
                p.store.dispose()
        return True

    wait_until(quiet, "every reservation posted or voided and every post confirmed", timeout=90)
    lost = 0
    settlements = 0
    where: list[str] = []
    views = {}
    for admdvs, inst in world3.items():
        p = inst.platform()
        views[admdvs] = (
            {(r.care_region, r.setl_ref): r for r in crossregion.reservations(p)},
            {c.setl_id: c for c in crossregion.cross_settlements(p)},
            p,
        )
    try:
        for a in acked:
            resv, _, _ = views[a.insured]
            _, crosses, _ = views[a.care]
            assert a.setl_id in crosses, f"{a.setl_id} acknowledged but not booked at {a.care}"
            assert (a.care, a.setl_id) in resv, f"{a.setl_id} acknowledged but unknown at {a.insured}"
            r, c = resv[a.care, a.setl_id], crosses[a.setl_id]
            assert (r.fund_pay, r.own_account_pay, r.medfee) == (a.fund, a.acct, a.medfee)
            assert (c.fund_pay, c.own_account_pay) == (a.fund, a.acct)
            want = "reversed" if a.cancelled else "posted"
            assert (r.status, c.status) == (want, "cancelled" if a.cancelled else "posted"), a
            settlements += 1
        for admdvs, (resv, _crosses, p) in views.items():
            with p.store.uow(read_only=True) as tx:
                assert tx.ledger.check_invariants() == [], admdvs
            for check in crossregion.check_reservations(p):
                assert check.problems == (), check
            # The escrow is empty once nothing is pending; the person's accounts hold exactly what
            # was not paid by live settlements.
            for other in world3:
                if other == admdvs:
                    continue
                with p.store.uow(read_only=True) as tx:
                    held = tx.ledger.balances([held_account(other)])[held_account(other)]
                lost += abs(held)
                if held:
                    where.append(f"{admdvs} escrow for {other}: {held}")
                owes = _balance(p, due_to_account(other))  # I owes C (posted, credited)
                owed = _balance(views[other][2], due_from_account(admdvs))  # at C: debited
                # The pair's two books agree: what I owes C is what C is owed by I.
                lost += abs(owes + owed)
                if owes + owed:
                    where.append(f"{admdvs} owes {other} {owes}, {other} is owed {-owed}")
            inst = world3[admdvs]
            for who in inst.people:
                psn = who.person.psn_no
                spent = sum(
                    r.own_account_pay
                    for r in resv.values()
                    if r.status == "posted" and r.person_id == who.person.id  # live cross settlements
                )
                gap = inst.start_balance[psn] - spent - _own(p, psn)
                lost += abs(gap)
                if gap:
                    with p.store.uow(read_only=True) as tx:
                        moves = tx.ledger.movements([person_bucket(psn, b) for b in ("current", "historical")])
                    shown = [(m.key, m.amount, m.out_of, m.into) for m in moves]
                    rows = [
                        (r.reservation_id, r.status, r.own_account_pay)
                        for r in resv.values()
                        if r.person_id == who.person.id
                    ]
                    where.append(
                        f"{psn}: started {inst.start_balance[psn]}, spent {spent}, has {_own(p, psn)} {shown} {rows}"
                    )
    finally:
        for _, _, p in views.values():
            p.store.dispose()
    return {"settlements": settlements, "lost_fen": lost, "where": where}


def _balance(p: Platform, code: str) -> int:
    with p.store.uow(read_only=True) as tx:
        return tx.ledger.balances([code])[code]


def _own(p: Platform, psn_no: str) -> int:
    codes = [person_bucket(psn_no, b) for b in ("current", "historical")]
    with p.store.uow(read_only=True) as tx:
        return sum(tx.ledger.balances(codes).values())


ACKED: list[Acked] = []
FIGURES: list[tuple[str, dict]] = []


def report(name: str, figures: dict) -> None:
    FIGURES.append((name, figures))
    print(
        f"\n[storm] {name}: {figures['settlements']} settlements checked on both sides, lost {figures['lost_fen']} fen"
    )
    assert figures["lost_fen"] == 0, figures["where"]


def pairs(world3):
    return [(c, i) for c in world3 for i in world3 if c != i]


def test_storm_1_every_direction_with_cancellations_and_reversals(world3):
    for n, (c, i) in enumerate(pairs(world3)):
        care, insured = world3[c], world3[i]
        who = insured.people[n % 3]
        first = settle(care, insured, who)
        second = settle(care, insured, insured.people[(n + 1) % 3])
        assert first is not None and second is not None
        ACKED.extend([first, second])
        # 2208 of the first; 2601 of that cancellation (it stands again); 2208 once more.
        cmsgid = new_msgid(care.hospital, datetime.now(), uuid.uuid4().int % 10000)
        cancel = {"data": {"setl_id": first.setl_id, "mdtrt_id": first.mdtrt_id, "psn_no": first.psn_no}}
        ok(his(care, i, "2208", cancel, msgid=cmsgid))
        ok(his(care, i, "2601", {"data": {"psn_no": first.psn_no, "oinfno": "2208", "omsgid": cmsgid}}))
        ok(his(care, i, "2208", cancel))
        first.cancelled = True
        # 2601 of the second settlement itself on one pair in two.
        if n % 2:
            ok(his(care, i, "2601", {"data": {"psn_no": second.psn_no, "oinfno": "2207", "omsgid": second.msgid}}))
            second.cancelled = True
    report("every direction", settled_everywhere(world3, ACKED))


def test_storm_2_insured_region_dies_between_reserve_and_post(world3):
    nc, sh, bj = world3["360100"], world3["310000"], world3["110000"]
    nc.restart(fault="insured.before_post")
    got = settle(sh, nc, nc.people[0])  # Shanghai books and answers; Nanchang dies on the post
    assert got is not None, "the 就医地 answers once it has booked; the post is durable"
    ACKED.append(got)
    wait_until(lambda: not nc.server.alive(), "Nanchang to die on the post", timeout=30)
    nc.restart()  # the unacknowledged post is delivered again and applied once
    ACKED.append(settle(bj, nc, nc.people[1]))
    report("参保地 killed between reserve and post", settled_everywhere(world3, ACKED))


def test_storm_3_care_region_dies_after_the_reserve(world3):
    nc, sh = world3["360100"], world3["310000"]
    before = balance_of(nc, nc.people[2].person.psn_no)
    sh.restart(fault="care.after_reserve")
    assert settle(sh, nc, nc.people[2]) is None  # the HIS sees the connection drop: not acknowledged
    wait_until(lambda: not sh.server.alive(), "Shanghai to die after the reserve", timeout=30)
    sh.restart()
    # Nanchang's deadline job voids the reservation; the person has every fen back.
    wait_until(
        lambda: balance_of(nc, nc.people[2].person.psn_no) == before, "the expired reservation voided", timeout=60
    )
    ACKED.append(settle(sh, nc, nc.people[2]))
    report("就医地 killed after reserve", settled_everywhere(world3, ACKED))


def test_storm_4_care_region_dies_after_commit_before_post(world3):
    bj, sh = world3["110000"], world3["310000"]
    bj.restart(fault="care.after_commit")
    lost_answer = settle(bj, sh, sh.people[0])
    assert lost_answer is None  # the HIS never heard; Beijing had booked it
    wait_until(lambda: not bj.server.alive(), "Beijing to die after its commit", timeout=30)
    bj.restart()  # the restart sweep posts it — or, past Shanghai's deadline, learns it was voided
    p = bj.platform()
    try:
        resolved = wait_until(
            lambda: [
                c
                for c in crossregion.cross_settlements(p)
                if c.insured_region == "310000" and c.status in ("posted", "refused")
            ],
            "Beijing's sweep to resolve the booked settlement",
            timeout=60,
        )
        late = [c for c in resolved if c.status == "refused"]
        for c in late:  # voided at the 参保地 first: reversed here, nothing owed either way
            with p.store.uow(read_only=True) as tx:
                assert tx.care.settlement(c.settlement_id).status == "cancelled"
    finally:
        p.store.dispose()
    print(f"\n[storm] booked-but-unanswered settlement: {'voided at the 参保地, reversed here' if late else 'posted'}")
    report("就医地 killed after commit, before post", settled_everywhere(world3, ACKED))


def test_storm_5_every_acknowledged_2207_resent_with_the_same_msgid(world3):
    live = [a for a in ACKED if a is not None and not a.cancelled]
    for a in live[:8]:
        care = world3[a.care]
        answer = ok(his(care, a.insured, "2207", {"data": a.data}, msgid=a.msgid))
        assert answer["setlinfo"]["setl_id"] == a.setl_id  # answered from the record: nothing crosses again
    report("same msgid resent", settled_everywhere(world3, ACKED))
    total = sum(f["settlements"] for _, f in FIGURES)
    print(f"\n[storms] {len(FIGURES)} storms, {total} settlement checks, money lost 0.00")


def test_storm_5b_nats_stopped_for_a_while(world3, broker):
    """The broker goes away under three running regions and comes back on the same store."""
    if not broker.private:
        pytest.skip("no nats-server binary: the machine's shared NATS server is never stopped")
    nc, sh, bj = world3["360100"], world3["310000"], world3["110000"]
    standing = settle(bj, sh, sh.people[1])
    assert standing is not None
    ACKED.append(standing)
    # Visits registered while the link is up (1101 asks the 参保地); their 2207s go during the outage.
    waiting = [(c, i, i.people[n % 3], prepare(c, i, i.people[n % 3])) for n, (c, i) in enumerate(
        [(sh, nc), (nc, bj), (bj, sh)])]  # fmt: skip
    cancel = {"data": {"setl_id": standing.setl_id, "mdtrt_id": standing.mdtrt_id, "psn_no": standing.psn_no}}
    broker.stop()
    try:
        for care, insured, who, (mdtrt_id, data) in waiting:
            got = submit(care, insured, who, mdtrt_id, data, timeout=60)
            assert got is None, "nothing is acknowledged while the 参保地 cannot be reached"
        # A cancellation at the 就医地 is taken during the outage: booked there, waiting to cross.
        ok(his(bj, "310000", "2208", cancel, timeout=60))
        standing.cancelled = True
        p = bj.platform()
        try:
            assert crossregion.cross_settlements(p, "awaiting_cancel")[0].setl_id == standing.setl_id
        finally:
            p.store.dispose()
    finally:
        broker.start()  # the same port and JetStream store: the streams and the consumers are back

    def attempt() -> Acked | None:
        try:  # the regions reconnect on their own; until then the 1101 across is refused
            return settle(nc, bj, bj.people[2], timeout=60)
        except AssertionError:
            return None

    again = wait_until(attempt, "a settlement across once the broker is back", timeout=90)
    ACKED.append(again)
    report("NATS stopped for a while", settled_everywhere(world3, ACKED))


def test_storm_6_the_month_s_clearing_nets_to_zero_across_the_three_regions(world3):
    """Every 就医地 sends each 参保地 its statement; all agree; every due account is then zero."""
    from yibao.regionlink.client import LinkClient
    from yibao.regionlink.link import RegionLink, Subjects
    from yibao.services import clearing

    month = f"{datetime.now():%Y-%m}"
    net = 0
    for c, i in pairs(world3):
        p = world3[c].platform()
        p.link = LinkClient(RegionLink(c, [world3[c].nats], Subjects(world3[c].prefix)))
        try:
            out = clearing.clear_with(p, i, month)
        finally:
            p.link.close()
            p.store.dispose()
        assert out.agreed, out.differences
        print(f"\n[clearing] {month} {i} pays {c}: {out.total} fen for {out.settlements} settlements")
        net += out.total
    for admdvs, inst in world3.items():
        p = inst.platform()
        try:
            for other in world3:
                if other != admdvs:
                    assert _balance(p, due_to_account(other)) == 0
                    assert _balance(p, due_from_account(other)) == 0
            with p.store.uow(read_only=True) as tx:
                assert tx.ledger.check_invariants() == []
            assert crossregion.check_advances(p) == []
            for check in crossregion.check_reservations(p):
                assert check.problems == (), check
        finally:
            p.store.dispose()
    assert net > 0
    # The agency console shows the month's clearing on both sides.
    from web_client import WebClient, page_problems, visible

    for admdvs in ("360100", "310000"):
        with WebClient(world3[admdvs].server.url) as web:
            web.console_login("operator", "operator123")
            r = web.get("/console/regions", params={"month": month})
            assert r.status_code == 200 and page_problems("/console/regions", r.text) == []
            shown = visible(r.text)
            assert "一致，已记账" in shown and "不一致" not in shown and month in shown
    report("monthly clearing", settled_everywhere(world3, ACKED))
