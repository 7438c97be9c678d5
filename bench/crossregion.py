"""Cross-region settlements per second and p99 beside same-region ones (issue 15).

    python bench/crossregion.py [--n 200] [--nats nats://127.0.0.1:4222] [--db sqlite|postgresql://…/base]

Two region instances in one process, each with its own database and its own link to one NATS
server (a fresh stream prefix, deleted afterwards): Nanchang (360100, the 参保地) and Shanghai
(310000, the 就医地). Each visit is registered and its fees uploaded beforehand (1101 → 2201 →
2204); what is timed is the 2207 alone, through the gateway dispatcher:

* same-region: a Nanchang hospital settles a Nanchang insured (one unit of work);
* cross-region: a Shanghai hospital settles a Nanchang insured — the lines classed by Shanghai's
  catalogue, the reservation computed and held by Nanchang over the link, the booking in Shanghai,
  the post after the commit (two request/replies on JetStream, four commits on two databases).

Settlements are sent one after another (one HIS), so the figures are latencies and a single
client's rate, not the servers' capacity.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
import uuid
from datetime import date, datetime
from decimal import Decimal

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

from yibao.gateway.dispatcher import dispatch
from yibao.nhsa.envelope import new_msgid, request_envelope
from yibao.regionlink.client import LinkClient
from yibao.regionlink.handlers import handler_for
from yibao.regionlink.link import RegionLink, Subjects
from yibao.services import crossregion, world
from yibao.services.identity import encrypt_password, public_key_pem
from yibao.services.platform import FixedClock, Platform
from yibao.services.regionlink import add_peer
from yibao.services.regions import install_region
from yibao.storage.uow import Store

NC, SH = "360100", "310000"
AT = datetime(2025, 8, 1, 9, 0)
LINES = [("XJ01CAA0001", "320.00", "4"), ("XB02BAA0002", "150.00", "3"), ("ZZ0000000003", "80.00", "1")]
_serial = itertools.count(1)


CREATED: list[str] = []


def database(base: str | None, tmp: str, name: str) -> str:
    if not base or base == "sqlite":
        return f"sqlite:///{tmp}/{name}.sqlite"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    db = f"yibao_bench_{name}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db}"'))
    admin.dispose()
    CREATED.append(db)
    return base.rsplit("/", 1)[0] + f"/{db}"


def drop_created(base: str) -> None:
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for db in CREATED:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    admin.dispose()


def instance(url: str, admdvs: str, peer: str) -> Platform:
    p = Platform(Store.open(url), FixedClock(AT), region=admdvs)
    install_region(p, admdvs, sites=True)
    add_peer(p, peer, "对端")
    return p


def his(p: Platform, insured: str, infno: str, inp: dict) -> dict:
    hospital = f"H{p.region}00003"
    env = request_envelope(
        infno,
        inp,
        institution=hospital,
        admdvs=p.region,
        now=p.now(),
        msgid=new_msgid(hospital, p.now(), next(_serial)),
    )
    env["insuplc_admdvs"] = insured
    if infno == "2207" and insured == p.region:  # 跨省异地不验密: only the home settlement carries a password
        env["cainfo"] = encrypt_password(public_key_pem(p), "123456")
    answer = dispatch(p, env)
    if answer["infcode"] != 0:
        raise SystemExit(f"{infno}: {answer['err_msg']}")
    return answer["output"]


def prepare(p: Platform, who: world.Created) -> dict:
    person = who.person
    his(p, person.admdvs, "1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno}})
    reg = {
        "psn_no": person.psn_no,
        "insutype": "310",
        "begntime": f"{p.now():%Y-%m-%d %H:%M:%S}",
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": person.certno,
        "ipt_otp_no": f"MZ{uuid.uuid4().hex[:10]}",
        "dept_name": "内科",
        "caty": "03",
    }
    mdtrt_id = his(p, person.admdvs, "2201", {"data": reg})["data"]["mdtrt_id"]
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
    his(p, person.admdvs, "2204", {"feedetail": details})
    return {
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


def timed(p: Platform, insured: str, inputs: list[dict]) -> list[float]:
    out = []
    for data in inputs:
        t = time.perf_counter()
        his(p, insured, "2207", {"data": data})
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--nats", default="nats://127.0.0.1:4222")
    ap.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL URL whose server gets two new databases")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="yibao-bench-cross-")
    nc = instance(database(args.db, tmp, "nc"), NC, SH)
    sh = instance(database(args.db, tmp, "sh"), SH, NC)
    people = [
        world.add_person(
            nc,
            world.NewPerson(
                name=f"参保人{i}",
                birth=date(1970, 1, 1 + i % 28),
                gender="1",
                admdvs=NC,
                insutype="310",
                psn_type="1101",
                insured_since=date(2010, 1, 1),
                current=10_000_000,
                historical=10_000_000,
                password="123456",
            ),
        )
        for i in range(max(1, args.n // 20))
    ]
    subjects = Subjects(f"bench{uuid.uuid4().hex[:10]}")
    clients = []
    try:
        for p in (nc, sh):
            client = LinkClient(RegionLink(p.region, [args.nats], subjects))
            crossregion.attach(p, client)
            client.serve(handler_for(p), wait_s=0.2)
            clients.append(client)
        home = [prepare(nc, people[i % len(people)]) for i in range(args.n)]
        away = [prepare(sh, people[i % len(people)]) for i in range(args.n)]
        timed(nc, NC, home[:5])  # warm up both paths
        timed(sh, NC, away[:5])
        same, cross = timed(nc, NC, home[5:]), timed(sh, NC, away[5:])
    finally:
        for client in clients:
            client.close()
        for p in (nc, sh):
            p.store.dispose()
        if CREATED:
            drop_created(args.db)

    def row(name: str, xs: list[float]) -> tuple[str, ...]:
        xs = sorted(xs)
        p99 = xs[min(len(xs) - 1, int(len(xs) * 0.99))]
        return (
            name,
            str(len(xs)),
            f"{len(xs) / sum(xs):.1f}",
            f"{statistics.median(xs) * 1000:.1f}",
            f"{p99 * 1000:.1f}",
        )

    table = Table(title=f"2207 one after another ({args.db}, NATS {args.nats})")
    for col in ("path", "settlements", "settlements/s", "median ms", "p99 ms"):
        table.add_column(col)
    table.add_row(*row("same-region (360100 → 360100)", same))
    table.add_row(*row("cross-region (310000 → 360100)", cross))
    Console().print(table)


if __name__ == "__main__":
    main()
