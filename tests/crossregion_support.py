"""Two or three region instances in one test process: platforms, links, and an HIS at the 就医地.

Each region has its own store (its own database), its own ``LinkClient`` (its own event loop and
NATS connection), and answers its requests with the production handler; all share one NATS server
under a prefix of the test's own. Everything is closed and the streams are deleted afterwards.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from yibao.gateway.dispatcher import dispatch
from yibao.ledger.model import person_bucket
from yibao.nhsa.envelope import new_msgid, request_envelope
from yibao.regionlink.client import LinkClient
from yibao.regionlink.handlers import handler_for
from yibao.regionlink.link import RegionLink, Subjects
from yibao.services import crossregion, world
from yibao.services.platform import FixedClock, Platform
from yibao.services.regionlink import add_peer
from yibao.services.regions import install_region
from yibao.storage.uow import Store

AT = datetime(2025, 8, 1, 9, 0)
NAMES = {"360100": "南昌市", "310000": "上海市", "110000": "北京市", "440100": "广州市"}
_serial = itertools.count(1)


@dataclass
class Region:
    admdvs: str
    p: Platform
    client: LinkClient | None = None
    people: dict[str, world.Created] = field(default_factory=dict)

    @property
    def hospital(self) -> str:
        return f"H{self.admdvs}00003"  # demo_sites: one hospital per level, H<admdvs>0000<level>

    def start(self, nats_url: str, subjects: Subjects) -> None:
        self.client = LinkClient(RegionLink(self.admdvs, [nats_url], subjects))
        crossregion.attach(self.p, self.client)
        self.client.serve(handler_for(self.p), wait_s=0.2)

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


def region(url: str, admdvs: str, peers: list[str], *, clock: FixedClock | None = None) -> Region:
    store = Store.open(url)
    p = Platform(store, clock or FixedClock(AT), region=admdvs)
    install_region(p, admdvs, sites=True)
    for peer in peers:
        add_peer(p, peer, NAMES[peer])
    return Region(admdvs, p)


def insured(r: Region, name: str, *, current: int = 80_000, historical: int = 30_000) -> world.Created:
    who = world.add_person(
        r.p,
        world.NewPerson(
            name=name,
            birth=date(1975, 3, 1),
            gender="1",
            admdvs=r.admdvs,
            insutype="310",
            psn_type="1101",
            insured_since=date(2010, 1, 1),
            current=current,
            historical=historical,
            password="123456",
        ),
    )
    r.people[name] = who
    return who


def his(care: Region, insured_region: str, infno: str, inp: dict, *, msgid: str | None = None) -> dict:
    """One HIS call at the care region's gateway for a patient insured in ``insured_region``."""
    now = care.p.now()
    env = request_envelope(
        infno,
        inp,
        institution=care.hospital,
        admdvs=care.admdvs,
        now=now,
        msgid=msgid or new_msgid(care.hospital, now, next(_serial)),
        opter="t",
        opter_name="测试",
    )
    env["insuplc_admdvs"] = insured_region
    return dispatch(care.p, env)


def ok(answer: dict) -> dict:
    assert answer["infcode"] == 0, answer.get("err_msg")
    return answer["output"]


def visit(care: Region, who: world.Created, lines: list[tuple[str, str, str]]) -> tuple[str, dict]:
    """1101 → 2201 → 2204 at the care region; the mdtrt_id and the 2207 input (not yet sent)."""
    insured_region = who.person.admdvs
    person = who.person
    info = ok(his(care, insured_region, "1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno}}))
    assert info["baseinfo"]["psn_no"] == person.psn_no
    reg = {
        "psn_no": person.psn_no,
        "insutype": "310",
        "begntime": f"{care.p.now():%Y-%m-%d %H:%M:%S}",
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": person.certno,
        "ipt_otp_no": f"MZ{uuid.uuid4().hex[:10]}",
        "dept_name": "内科",
        "caty": "03",
    }
    mdtrt_id = ok(his(care, insured_region, "2201", {"data": reg}))["data"]["mdtrt_id"]
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
        for i, (code, amount, count) in enumerate(lines, 1)
    ]
    ok(his(care, insured_region, "2204", {"feedetail": details}))
    total = str(sum(Decimal(a) for _, a, _ in lines))
    data = {
        "psn_no": person.psn_no,
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": person.certno,
        "med_type": "11",
        "medfee_sumamt": total,
        "psn_setlway": "01",
        "mdtrt_id": mdtrt_id,
        "chrg_bchno": "B1",
        "insutype": "310",
        "acct_used_flag": "1",
    }
    return mdtrt_id, data


LINES = [("XJ01CAA0001", "320.00", "4"), ("XB02BAA0002", "150.00", "3"), ("ZZ0000000003", "80.00", "1")]


def own_balance(r: Region, who: world.Created) -> int:
    codes = [person_bucket(who.person.psn_no, b) for b in ("current", "historical")]
    with r.p.store.uow(read_only=True) as tx:
        return sum(tx.ledger.balances(codes).values())


def balance(r: Region, code: str) -> int:
    with r.p.store.uow(read_only=True) as tx:
        return tx.ledger.balances([code])[code]


def ledger_problems(r: Region) -> list[str]:
    with r.p.store.uow(read_only=True) as tx:
        problems = tx.ledger.check_invariants()
    problems += crossregion.check_advances(r.p)
    return problems + [p for c in crossregion.check_reservations(r.p) for p in c.problems]


def fen(value) -> int:
    return int(Decimal(str(value)) * 100)


def delete_streams(nats_url: str, subjects: Subjects) -> None:
    async def go():
        link = RegionLink("000000", [nats_url], subjects)
        await link.connect()
        try:
            await link.delete_streams()
        finally:
            await link.close()

    asyncio.run(asyncio.wait_for(go(), 20))
