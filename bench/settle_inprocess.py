"""Settlements per second in-process: a pharmacy purchase paid by the own account and mutual aid.

    python bench/settle_inprocess.py [--n 2000] [--db sqlite-file|memory|postgresql://...]

The first figure is a full 2102 through the gateway dispatcher: envelope check, password
(RSA-OAEP decryption + argon2id verification), credential, policy, calculation, ledger entry under
row locks, accumulators. The second is the same service call without the password check, the third
the pure calculation alone, to show where the time goes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from yibao.gateway.dispatcher import dispatch
from yibao.nhsa.envelope import request_envelope
from yibao.policy import load_policy
from yibao.services import family, world
from yibao.services.identity import encrypt_password, public_key_pem
from yibao.services.platform import FixedClock, Platform
from yibao.settlement import Buckets, CatalogItem, Claim, FeeLine, Patient, PayerCandidate, YearToDate, settle
from yibao.storage.uow import Store

PHARMACY = "P36010000001"


def build(url: str, families: int) -> tuple[Platform, list[world.Created]]:
    store = Store.open(url)
    p = Platform(store, FixedClock(datetime(2025, 6, 1, 10)))
    _, text = load_policy("jiangxi-nanchang")
    admdvs = world.put_region(p, text, "jiangxi-nanchang")
    world.add_institution(p, PHARMACY, "大药房", "pharmacy", 0, admdvs)
    world.add_catalog_item(p, CatalogItem("XJ01CAA0001", "阿莫西林胶囊", "01"))
    patients = []
    for i in range(families):
        son = world.add_person(
            p,
            world.NewPerson(
                name=f"子{i}",
                birth=date(1990, 1, 1),
                gender="1",
                admdvs=admdvs,
                insutype="310",
                psn_type="1101",
                insured_since=date(2015, 1, 1),
                current=100,
                password="123456",
            ),
        )
        father = world.add_person(
            p,
            world.NewPerson(
                name=f"父{i}",
                birth=date(1960, 1, 1),
                gender="1",
                admdvs=admdvs,
                insutype="310",
                psn_type="1201",
                insured_since=date(2000, 1, 1),
                current=10_000_000,
                historical=10_000_000,
            ),
        )
        family.declare_relation(p, father.person.psn_no, son.person.psn_no, "parent")
        family.authorize_mutual_aid(p, father.person.psn_no, son.person.psn_no)
        patients.append(son)
    return p, patients


def envelope(p: Platform, son: world.Created, n: int, cainfo: str) -> dict:
    inp = {
        "druginfo": {
            "psn_no": son.person.psn_no,
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": son.person.certno,
            "begntime": "2025-06-01 10:00:00",
            "medfee_sumamt": "3.00",
            "insutype": "310",
            "med_type": "41",
            "acct_used_flag": "1",
        },
        "drugdetail": [
            {
                "feedetl_sn": "1",
                "med_list_codg": "XJ01CAA0001",
                "det_item_fee_sumamt": "3.00",
                "cnt": "1",
                "pric": "3.00",
            }
        ],
    }
    return request_envelope(
        "2102",
        inp,
        institution=PHARMACY,
        admdvs="360100",
        now=p.now(),
        cainfo=cainfo,
        msgid=f"{PHARMACY}20250601100000{n:04d}"[:30],
        opter="bench",
    )


def run_gateway(p: Platform, patients, n: int, cainfo: str) -> list[float]:
    timings = []
    for i in range(n):
        env = envelope(p, patients[i % len(patients)], i, cainfo)
        t0 = time.perf_counter()
        answer = dispatch(p, env)
        timings.append(time.perf_counter() - t0)
        if answer["infcode"] != 0:
            sys.exit(f"settlement failed: {answer['err_msg']}")
    return timings


def run_service(p: Platform, patients, n: int) -> list[float]:
    from yibao.gateway.pharmacy import _request
    from yibao.gateway.registry import TRANSACTIONS, Call, load_handlers
    from yibao.services.settle import settle_claim

    load_handlers()
    spec = TRANSACTIONS["2102"]
    timings = []
    for i in range(n):
        env = envelope(p, patients[i % len(patients)], i, "")
        call = Call("2102", env["msgid"], PHARMACY, env["input"], None, None, env, spec.spec, spec.rules)
        with p.store.uow(read_only=True) as tx:
            req = _request(p, call, tx, check_password=False)
        t0 = time.perf_counter()
        settle_claim(p, req)
        timings.append(time.perf_counter() - t0)
    return timings


def run_pure(p: Platform, n: int) -> list[float]:
    policy = p.policy_for_admdvs("360100")
    item = CatalogItem("XJ01CAA0001", "阿莫西林胶囊", "01")
    from decimal import Decimal

    claim = Claim(date(2025, 6, 1), "41", 0, (FeeLine("1", item, 300, Decimal("3"), Decimal("1")),), True)
    patient = Patient("1", "子", "employee", "in_service", Buckets(100, 0))
    payers = [PayerCandidate("2", "父", "1", "parent", 1, True, Buckets(10_000, 10_000))]
    timings = []
    for _ in range(n):
        t0 = time.perf_counter()
        settle(policy, claim, patient, YearToDate(), payers)
        timings.append(time.perf_counter() - t0)
    return timings


def row(table: Table, label: str, timings: list[float]) -> None:
    total = sum(timings)
    q = statistics.quantiles(timings, n=100)
    table.add_row(
        label, str(len(timings)), f"{len(timings) / total:,.0f}", f"{q[49] * 1000:.2f}", f"{q[98] * 1000:.2f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=2000, help="settlements per measurement")
    ap.add_argument("--families", type=int, default=50)
    ap.add_argument("--db", default="file", help="'file' (SQLite WAL in a temp dir), 'memory', or a URL")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = {"file": str(Path(tmp) / "bench.sqlite"), "memory": "sqlite://"}.get(args.db, args.db)
        p, patients = build(url, args.families)
        cainfo = encrypt_password(public_key_pem(p), "123456")
        run_gateway(p, patients, 20, cainfo)  # warm-up
        table = Table(title=f"2102 药店结算（本人账户 + 家庭共济），进程内，{p.store.engine.dialect.name}（{args.db}）")
        for col in ("measurement", "n", "settlements/s", "p50 ms", "p99 ms"):
            table.add_column(col, justify="right" if col != "measurement" else "left")
        row(
            table,
            "gateway 2102, full path incl. password (RSA-OAEP + argon2id)",
            run_gateway(p, patients, args.n, cainfo),
        )
        row(table, "settle_claim service without the password check", run_service(p, patients, args.n))
        row(table, "pure calculation only (settle())", run_pure(p, args.n * 5))
        with p.store.uow() as tx:
            problems = tx.ledger.check_invariants()
        Console().print(table)
        Console().print("ledger invariants: " + ("hold" if not problems else "; ".join(problems)))


if __name__ == "__main__":
    main()
