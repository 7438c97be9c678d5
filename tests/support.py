"""Building small worlds for tests through the same service functions the adapters use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from yibao.gateway.dispatcher import dispatch
from yibao.ledger.model import person_bucket
from yibao.nhsa.envelope import new_msgid, request_envelope
from yibao.services import family, world
from yibao.services.identity import encrypt_password, public_key_pem
from yibao.services.platform import Platform
from yibao.settlement.model import CatalogItem

TEST_REGION = Path(__file__).parent / "acceptance" / "policies" / "test-region.yaml"
ADMDVS = "360199"
PHARMACY = "P36019900001"
HOSPITAL = {1: "H36019900001", 2: "H36019900002", 3: "H36019900003"}


@dataclass
class Family:
    """An employee son, his retired father (who authorised mutual aid), a resident child."""

    son: world.Created
    father: world.Created
    child: world.Created


def setup_region(p: Platform, overrides: dict[str, Any] | None = None) -> None:
    world.put_region(p, TEST_REGION.read_text(encoding="utf-8"), "test-region.yaml", overrides)
    world.add_institution(p, PHARMACY, "示例大药房", "pharmacy", 0, ADMDVS)
    for level, code in HOSPITAL.items():
        world.add_institution(p, code, f"示例{level}级医院", "hospital", level, ADMDVS)
    world.add_catalog_item(p, CatalogItem("XJ01CAA0001", "阿莫西林胶囊", "01"))
    world.add_catalog_item(p, CatalogItem("XB02BAA0002", "某乙类药品", "02", 1000))
    world.add_catalog_item(p, CatalogItem("ZZ0000000003", "某自费检查", "03"))
    world.add_catalog_item(p, CatalogItem("XC03AAA0004", "某限价耗材", "01", 0, Decimal("12.00")))


def person(
    p: Platform,
    name: str,
    *,
    insutype: str | None = "310",
    psn_type: str = "1101",
    current: int = 0,
    historical: int = 0,
    birth: date = date(1990, 1, 1),
    gender: str = "1",
    password: str | None = "123456",
    since: date = date(2015, 1, 1),
) -> world.Created:
    return world.add_person(
        p,
        world.NewPerson(
            name=name,
            birth=birth,
            gender=gender,
            admdvs=ADMDVS,
            insutype=insutype,
            psn_type=psn_type if insutype else None,
            insured_since=max(since, birth) if insutype else None,  # insured from birth at the earliest
            current=current,
            historical=historical,
            password=password,
        ),
    )


def family_world(
    p: Platform, *, son_current: int = 10000, father_current: int = 30000, father_historical: int = 50000
) -> Family:
    setup_region(p)
    son = person(p, "张小明", current=son_current)
    father = person(
        p,
        "张大山",
        psn_type="1201",
        current=father_current,
        historical=father_historical,
        birth=date(1962, 3, 4),
        password="654321",
    )
    child = person(p, "张小宝", insutype="390", psn_type="1403", birth=date(2015, 9, 1), password="333333")
    family.declare_relation(p, father.person.psn_no, son.person.psn_no, "parent")
    family.declare_relation(p, son.person.psn_no, child.person.psn_no, "parent")
    family.authorize_mutual_aid(p, father.person.psn_no, son.person.psn_no)
    family.authorize_mutual_aid(p, son.person.psn_no, child.person.psn_no)
    return Family(son, father, child)


def envelope(
    p: Platform,
    infno: str,
    inp: dict,
    *,
    institution: str = PHARMACY,
    password: str | None = None,
    msgid: str | None = None,
) -> dict:
    now = p.now()
    env = request_envelope(
        infno,
        inp,
        institution=institution,
        admdvs=ADMDVS,
        now=now,
        msgid=msgid or new_msgid(institution, now, _next()),
        opter="t",
        opter_name="测试",
        institution_name="测试机构",
    )
    if password is not None:
        env["cainfo"] = encrypt_password(public_key_pem(p), password)
    return env


_counter = [0]


def _next() -> int:
    _counter[0] += 1
    return _counter[0] % 10000


def call(p: Platform, infno: str, inp: dict, **kw) -> dict:
    return dispatch(p, envelope(p, infno, inp, **kw))


def pharmacy_input(
    c: world.Created,
    amount: str,
    *,
    acct_used: str = "1",
    count: str = "1",
    code: str = "XJ01CAA0001",
    when: datetime | None = None,
) -> dict:
    price = str(Decimal(amount) / Decimal(count))
    return {
        "druginfo": {
            "psn_no": c.person.psn_no,
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": c.person.certno,
            "begntime": f"{when or datetime(2025, 6, 1, 10):%Y-%m-%d %H:%M:%S}",
            "medfee_sumamt": amount,
            "insutype": "310",
            "med_type": "41",
            "acct_used_flag": acct_used,
        },
        "drugdetail": [
            {"feedetl_sn": "1", "med_list_codg": code, "det_item_fee_sumamt": amount, "cnt": count, "pric": price}
        ],
    }


def balances(p: Platform, c: world.Created) -> tuple[int, int]:
    codes = [person_bucket(c.person.psn_no, b) for b in ("current", "historical")]
    with p.store.uow() as tx:
        got = tx.ledger.balances(codes)
    return got[codes[0]], got[codes[1]]


def ledger_problems(p: Platform) -> list[str]:
    with p.store.uow() as tx:
        return tx.ledger.check_invariants()


# Helpers for the property, service and refusal suites ------------------------------------------


def reset_store(store) -> None:
    """Empty every table but ``settings`` (which keeps the platform key), for a fresh hypothesis example."""
    from sqlalchemy import text

    from yibao.storage import tables

    names = [t for t in reversed(tables.metadata.sorted_tables) if t.name != "settings"]
    with store.engine.begin() as conn:
        if store.sqlite:
            for t in names:
                conn.execute(t.delete())
        else:
            quoted = ", ".join(f'"{t.name}"' for t in names)
            conn.execute(text(f"TRUNCATE {quoted} CASCADE"))


GATEWAY_BOOKKEEPING = ("messages", "nonces", "sign_ins")  # msgid idempotency and authentication, not business state


def db_snapshot(store, *, skip: tuple[str, ...] = ()) -> dict:
    """Row counts of every table (but ``skip``), every account's totals and floor, accumulators, statuses."""
    from sqlalchemy import func, select

    from yibao.storage import tables as t

    with store.engine.connect() as conn:
        snap = {
            "counts": {
                tb.name: conn.execute(select(func.count()).select_from(tb)).scalar_one()
                for tb in t.metadata.sorted_tables
                if tb.name not in skip
            },
            "accounts": {r.code: (r.debits, r.credits, r.floor) for r in conn.execute(select(t.accounts))},
            "accumulators": {
                (r.person_id, r.year, r.category): (r.deductible_used, r.fund_paid)
                for r in conn.execute(select(t.accumulators))
            },
            "settlements": dict(conn.execute(select(t.settlements.c.id, t.settlements.c.status)).all()),
            "fee_lines": dict(conn.execute(select(t.fee_lines.c.id, t.fee_lines.c.settlement_id)).all()),
            "visits": dict(conn.execute(select(t.visits.c.id, t.visits.c.status)).all()),
        }
        conn.rollback()
    return snap


def all_balances(store) -> dict[str, int]:
    """Every account's balance (credits − debits) by code."""
    return {code: c - d for code, (d, c, _floor) in db_snapshot(store)["accounts"].items()}
