"""Every bad request is answered ``infcode -1`` with ``[Exxxx-nnn] 中文原因`` and changes nothing.

"Nothing" is checked on the whole database: the row count of every table, every account's posted
totals, the accumulators, and the status of every settlement, fee line and visit. The one refusal
that writes on purpose (a wrong password counts towards the lockout) is checked separately.
"""

import os
import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, text

from conftest import DATABASES, START, require_pg
from support import (
    HOSPITAL,
    call,
    db_snapshot,
    envelope,
    family_world,
    ledger_problems,
    pharmacy_input,
)
from yibao.errors import DomainError
from yibao.gateway.dispatcher import dispatch
from yibao.nhsa.envelope import parse_body
from yibao.services.identity import public_key_pem
from yibao.services.platform import FixedClock, Platform
from yibao.storage.db import normalize_url
from yibao.storage.uow import Store

CODE = re.compile(r"^\[E\d{4}-\d{3}\] ")
CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class Ctx:
    p: object
    fam: object
    visit: str  # the son's open outpatient visit at HOSPITAL[2], one line of 100.00 in batch B001
    father_visit: str  # the father's open visit at HOSPITAL[2]
    cancelled_visit: str
    setl_id: str  # the son's settled pharmacy purchase
    cancelled_setl_id: str


def ok(answer: dict) -> dict:
    assert answer["infcode"] == 0, answer["err_msg"]
    return answer["output"]


def register(p, c, level: int, no: str) -> str:
    return ok(
        call(
            p,
            "2201",
            {
                "data": {
                    "psn_no": c.person.psn_no,
                    "insutype": "310",
                    "begntime": "2025-06-01 09:00:00",
                    "mdtrt_cert_type": "02",
                    "mdtrt_cert_no": c.person.certno,
                    "ipt_otp_no": no,
                }
            },
            institution=HOSPITAL[level],
        )
    )["data"]["mdtrt_id"]


def fee(mdtrt_id: str, psn_no: str, sn: str = "1", code: str = "XJ01CAA0001", amount: str = "100.00") -> dict:
    return {
        "feedetl_sn": sn,
        "mdtrt_id": mdtrt_id,
        "psn_no": psn_no,
        "chrg_bchno": "B001",
        "med_list_codg": code,
        "det_item_fee_sumamt": amount,
        "cnt": "1",
        "pric": amount,
    }


def settle_data(c, mdtrt_id: str, total: str = "100.00", **extra) -> dict:
    return {
        "data": {
            "psn_no": c.person.psn_no,
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": c.person.certno,
            "med_type": "11",
            "medfee_sumamt": total,
            "mdtrt_id": mdtrt_id,
            "chrg_bchno": "B001",
            "insutype": "310",
            "acct_used_flag": "1",
            **extra,
        }
    }


def build_ctx(p) -> Ctx:
    fam = family_world(p)
    public_key_pem(p)  # the platform key is created before any snapshot is taken
    son = fam.son.person
    setl_id = ok(call(p, "2102", pharmacy_input(fam.son, "10.00"), password="123456"))["setlinfo"]["setl_id"]
    other = ok(call(p, "2102", pharmacy_input(fam.son, "5.00"), password="123456"))["setlinfo"]["setl_id"]
    ok(call(p, "2103", {"data": {"setl_id": other, "psn_no": son.psn_no}}))
    visit = register(p, fam.son, 2, "MZ001")
    ok(call(p, "2204", {"feedetail": [fee(visit, son.psn_no)]}, institution=HOSPITAL[2]))
    father_visit = register(p, fam.father, 2, "MZ002")
    gone = register(p, fam.son, 2, "MZ003")
    ok(call(p, "2202", {"data": {"psn_no": son.psn_no, "mdtrt_id": gone}}, institution=HOSPITAL[2]))
    return Ctx(p, fam, visit, father_visit, gone, setl_id, other)


@pytest.fixture
def ctx(platform) -> Ctx:
    """A world of its own, for the tests that write (password failures, the msgid log)."""
    return build_ctx(platform)


@pytest.fixture(scope="module", params=DATABASES)
def shared(request):
    """One world per database for the whole module: a refusal writes nothing, so they can share it.

    PostgreSQL gets a database of its own here, so the per-test emptying of the ``store`` fixture's
    database cannot touch this world.
    """
    if request.param == "sqlite":
        store = Store.open("sqlite://", create=True)
        yield build_ctx(Platform(store, FixedClock(START)))
        store.dispose()
        return
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    base = normalize_url(require_pg())
    name = f"yibao_refusals_{re.sub(r'[^a-z0-9]', '', worker.lower())}_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    store = Store.open(base.rsplit("/", 1)[0] + f"/{name}", create=True)
    try:
        yield build_ctx(Platform(store, FixedClock(START)))
    finally:
        store.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def assert_refused(answer: dict, code: str) -> None:
    assert answer["infcode"] == -1
    msg = answer["err_msg"]
    assert CODE.match(msg), msg
    assert msg.startswith(f"[{code}] "), msg
    assert CJK.search(msg), msg
    assert answer["output"] == {}
    assert "Traceback" not in msg


def _env(c: Ctx, **changes) -> dict:
    env = envelope(c.p, "2102", pharmacy_input(c.fam.son, "10.00"), password="123456")
    for k, v in changes.items():
        if v is _DROP:
            del env[k]
        else:
            env[k] = v
    return env


_DROP = object()


def _drug(c: Ctx, **druginfo) -> dict:
    inp = pharmacy_input(c.fam.son, "10.00")
    inp["druginfo"].update(druginfo)
    return inp


def _line(c: Ctx, **line) -> dict:
    inp = pharmacy_input(c.fam.son, "10.00")
    inp["drugdetail"][0].update(line)
    return inp


BIG_MD, BIG_ST = "MD3601999999999999", "ST3601999999999999"  # serials above 2^31: no row can have them


def _lines(c: Ctx, rows: list[tuple[str, str, str]]) -> dict:
    """A purchase of the son's with these (amount, count, price) lines and their total."""
    inp = pharmacy_input(c.fam.son, "1.00")
    inp["drugdetail"] = [
        {"feedetl_sn": str(i), "med_list_codg": "XJ01CAA0001", "det_item_fee_sumamt": a, "cnt": n, "pric": u}
        for i, (a, n, u) in enumerate(rows, start=1)
    ]
    inp["druginfo"]["medfee_sumamt"] = str(sum(Decimal(a) for a, _, _ in rows))
    return inp


def _visit_call(c: Ctx, infno: str, node: str, data: dict) -> dict:
    return call(c.p, infno, {node: data}, institution=HOSPITAL[2], password="123456")


def _registration(c: Ctx, begntime: str) -> dict:
    son = c.fam.son.person
    return {
        "psn_no": son.psn_no,
        "insutype": "310",
        "begntime": begntime,
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": son.certno,
        "ipt_otp_no": "MZ-T",
    }


def _admission(c: Ctx, begntime: str) -> dict:
    return {**_registration(c, begntime), "med_type": "21", "ipt_no": "ZY-T"}


def _buy(c: Ctx, inp: dict, infno: str = "2102") -> dict:
    return call(c.p, infno, inp, password="123456")


def _psn(c: Ctx) -> str:
    return c.fam.son.person.psn_no


def _fee_2204(c: Ctx, **line) -> dict:
    return call(c.p, "2204", {"feedetail": [{**fee(c.visit, _psn(c), "9"), **line}]}, institution=HOSPITAL[2])


def _cancel(c: Ctx, infno: str, setl_id: str) -> dict:
    return _visit_call(c, infno, "data", {"setl_id": setl_id, "mdtrt_id": c.visit, "psn_no": _psn(c)})


def _on_visit(c: Ctx, infno: str, node: str, mdtrt_id: str, **more) -> dict:
    return _visit_call(c, infno, node, {"mdtrt_id": mdtrt_id, "psn_no": _psn(c), **more})


SUB_FEN = ("0.01", "1", "0.004")  # worth 0.004, charged 0.01
END = "2025-06-01 10:00:00"

# Issue 9: times the platform's clock does not allow (item 1), sums of roundings and line counts
# (item 2), amounts beyond their bounds (item 3), nothing to settle and full-width digits (item 4),
# identifiers no row can have (item 10). The clock stands at 2025-06-01 10:00.
ISSUE_9 = [
    ("begntime_9999_2102", lambda c: _buy(c, _drug(c, begntime="9999-12-31 23:59:59")), "E0000-009"),  # past 2199
    ("begntime_2099_2102", lambda c: _buy(c, _drug(c, begntime="2099-12-31 23:59:59")), "E2201-008"),
    ("begntime_tomorrow_2102", lambda c: _buy(c, _drug(c, begntime="2025-06-02 00:10:00")), "E2201-008"),
    ("begntime_2022_2102", lambda c: _buy(c, _drug(c, begntime="2022-01-01 10:00:00")), "E2201-009"),
    ("begntime_two_days_ago_2101", lambda c: _buy(c, _drug(c, begntime="2025-05-30 10:00:00"), "2101"), "E2201-009"),
    ("begntime_before_1900_2102", lambda c: _buy(c, _drug(c, begntime="1899-12-31 10:00:00")), "E0000-009"),
    ("begntime_full_width_2102", lambda c: _buy(c, _drug(c, begntime="２０２５-06-01 10:00:00")), "E0000-008"),
    ("begntime_2027_2201", lambda c: _visit_call(c, "2201", "data", _registration(c, "2027-01-01")), "E2201-008"),
    ("begntime_2099_2201", lambda c: _visit_call(c, "2201", "data", _registration(c, "2099-06-01")), "E2201-008"),
    ("begntime_2022_2201", lambda c: _visit_call(c, "2201", "data", _registration(c, "2022-06-01")), "E2201-009"),
    (
        "begntime_last_week_2401",
        lambda c: _visit_call(c, "2401", "mdtrtinfo", _admission(c, "2025-05-25")),
        "E2201-009",
    ),
    (
        "begntime_next_year_2401",
        lambda c: _visit_call(c, "2401", "mdtrtinfo", _admission(c, "2026-01-01")),
        "E2201-008",
    ),
    ("fee_time_tomorrow_2102", lambda c: _buy(c, _line(c, fee_ocur_time="2025-06-02 09:00:00")), "E2204-011"),
    ("fee_time_before_purchase_2102", lambda c: _buy(c, _line(c, fee_ocur_time="2025-05-31 09:00:00")), "E2204-011"),
    ("fee_time_tomorrow_2204", lambda c: _fee_2204(c, fee_ocur_time="2025-06-02 09:00:00"), "E2204-011"),
    ("rounding_charged_twice_2102", lambda c: _buy(c, _lines(c, [SUB_FEN] * 2)), "E2204-010"),
    ("rounding_charged_150_times_2101", lambda c: _buy(c, _lines(c, [SUB_FEN] * 150), "2101"), "E2204-010"),
    ("lines_over_the_pharmacy_limit_2102", lambda c: _buy(c, _lines(c, [("0.10", "1", "0.10")] * 201)), "E2204-009"),
    ("purchase_of_9999999999990_2102", lambda c: _buy(c, _lines(c, [("9999999999990.00", "1", "1")])), "E0000-009"),
    ("one_fen_over_the_bound_2102", lambda c: _buy(c, _lines(c, [("10000000.01", "1", "10000000.01")])), "E0000-009"),
    ("price_over_the_bound_2102", lambda c: _buy(c, _line(c, pric="10000000.000001")), "E0000-009"),
    ("count_over_the_bound_2102", lambda c: _buy(c, _line(c, cnt="1000000.0001")), "E0000-009"),
    (
        "total_over_the_bound_2207",
        lambda c: _visit_call(c, "2207", "data", settle_data(c.fam.son, c.visit, "10000000.01")["data"]),
        "E0000-009",
    ),
    ("count_zero_2102", lambda c: _buy(c, _lines(c, [("0.00", "0", "10.00")])), "E2204-008"),
    ("count_zero_2204", lambda c: _fee_2204(c, cnt="0", det_item_fee_sumamt="0.00"), "E2204-008"),
    ("settlement_of_0_00_2102", lambda c: _buy(c, _lines(c, [("0.00", "1", "0.00")])), "E2207-009"),
    ("settlement_of_0_00_2101", lambda c: _buy(c, _lines(c, [("0.00", "3", "0.00")]), "2101"), "E2207-009"),
    ("full_width_total_2102", lambda c: _buy(c, _drug(c, medfee_sumamt="１０.００")), "E0000-008"),
    ("full_width_line_amount_2102", lambda c: _buy(c, _line(c, det_item_fee_sumamt="１０.００")), "E0000-008"),
    ("full_width_price_2102", lambda c: _buy(c, _line(c, pric="１０")), "E0000-008"),
    ("full_width_count_2102", lambda c: _buy(c, _line(c, cnt="１")), "E0000-008"),
    (
        "serial_above_2_31_2103",
        lambda c: call(c.p, "2103", {"data": {"setl_id": BIG_ST, "psn_no": _psn(c)}}),
        "E2208-001",
    ),
    ("serial_above_2_31_2208", lambda c: _cancel(c, "2208", BIG_ST), "E2208-001"),
    ("serial_above_2_31_2305", lambda c: _cancel(c, "2305", BIG_ST), "E2208-001"),
    ("serial_above_2_31_2202", lambda c: _on_visit(c, "2202", "data", BIG_MD), "E2201-001"),
    ("serial_above_2_31_2203", lambda c: _on_visit(c, "2203", "mdtrtinfo", BIG_MD, med_type="11"), "E2201-001"),
    (
        "serial_above_2_31_2204",
        lambda c: call(c.p, "2204", {"feedetail": [fee(BIG_MD, _psn(c))]}, institution=HOSPITAL[2]),
        "E2201-001",
    ),
    ("serial_above_2_31_2205", lambda c: _on_visit(c, "2205", "data", BIG_MD, chrg_bchno="0000"), "E2201-001"),
    (
        "serial_above_2_31_2206",
        lambda c: call(c.p, "2206", settle_data(c.fam.son, BIG_MD), institution=HOSPITAL[2]),
        "E2201-001",
    ),
    (
        "serial_above_2_31_2207",
        lambda c: _visit_call(c, "2207", "data", settle_data(c.fam.son, BIG_MD)["data"]),
        "E2201-001",
    ),
    (
        "serial_above_2_31_2402",
        lambda c: _on_visit(c, "2402", "dscginfo", BIG_MD, insutype="310", endtime=END),
        "E2201-001",
    ),
    ("serial_zero_2202", lambda c: _on_visit(c, "2202", "data", "MD3601990000000000"), "E2201-001"),
    (
        "full_width_serial_2103",
        lambda c: call(c.p, "2103", {"data": {"setl_id": "ST３６０１９９０００００００００１", "psn_no": _psn(c)}}),
        "E2208-001",
    ),
    (
        "cum_ym_year_zero_5206",
        lambda c: call(c.p, "5206", {"data": {"psn_no": _psn(c), "cum_ym": "000001"}}),
        "E0000-009",
    ),
    # Issue 12 reads the ISO and compact time forms real clients send, and every number of the field
    # tables: the same bounds and the same codes hold for them.
    ("begntime_iso_past_2199_2102", lambda c: _buy(c, _drug(c, begntime="2200-01-01T10:00:00")), "E0000-009"),
    ("begntime_compact_9999_2102", lambda c: _buy(c, _drug(c, begntime="99991231235959")), "E0000-009"),
    ("begntime_compact_full_width_2102", lambda c: _buy(c, _drug(c, begntime="２０２５0601100000")), "E0000-008"),
    ("prd_days_past_its_table_digits_2102", lambda c: _buy(c, _line(c, prd_days="100")), "E0000-009"),
]


# (id, request, expected code). A request is a function of the context returning the answer.
CASES = [
    # The envelope.
    ("not_a_dict_string", lambda c: dispatch(c.p, "hello"), "E0000-002"),
    ("not_a_dict_list", lambda c: dispatch(c.p, [1, 2]), "E0000-002"),
    ("not_a_dict_none", lambda c: dispatch(c.p, None), "E0000-002"),
    ("missing_infno", lambda c: dispatch(c.p, _env(c, infno=_DROP)), "E0000-002"),
    ("empty_infno", lambda c: dispatch(c.p, _env(c, infno="")), "E0000-002"),
    ("missing_input", lambda c: dispatch(c.p, _env(c, input=_DROP)), "E0000-002"),
    ("missing_msgid", lambda c: dispatch(c.p, _env(c, msgid=_DROP)), "E0000-002"),
    ("input_not_an_object", lambda c: dispatch(c.p, _env(c, input="druginfo")), "E0000-002"),
    ("bad_inf_time", lambda c: dispatch(c.p, _env(c, inf_time="2025/06/01 10:00")), "E0000-002"),
    ("impossible_inf_time", lambda c: dispatch(c.p, _env(c, inf_time="2025-02-30 10:00:00")), "E0000-002"),
    ("msgid_too_long", lambda c: dispatch(c.p, _env(c, msgid="M" * 31)), "E0000-002"),
    ("field_of_wrong_type", lambda c: dispatch(c.p, _env(c, opter={"id": 1})), "E0000-002"),
    ("boolean_field", lambda c: dispatch(c.p, _env(c, fixmedins_name=True)), "E0000-002"),
    ("unknown_infno", lambda c: call(c.p, "9999", {}), "E0000-003"),
    # Who.
    (
        "unknown_psn_no_2102",
        lambda c: call(c.p, "2102", _drug(c, psn_no="36019900000000099999"), password="123456"),
        "E1101-001",
    ),
    (
        "unknown_psn_no_2201",
        lambda c: call(
            c.p,
            "2201",
            {
                "data": {
                    "psn_no": "36019900000000099999",
                    "insutype": "310",
                    "begntime": "2025-06-01 09:00:00",
                    "mdtrt_cert_type": "02",
                    "mdtrt_cert_no": c.fam.son.person.certno,
                    "ipt_otp_no": "MZ9",
                }
            },
            institution=HOSPITAL[1],
        ),
        "E1101-001",
    ),
    (
        "unknown_certno_1101",
        lambda c: call(c.p, "1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "36019919900101999X"}}),
        "E1101-001",
    ),
    (
        "unknown_ec_token_1101",
        lambda c: call(c.p, "1101", {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": "360000ecmecNOPE"}}),
        "E1101-004",
    ),
    (
        "certificate_of_someone_else",
        lambda c: call(c.p, "2102", _drug(c, mdtrt_cert_no=c.fam.father.person.certno), password="123456"),
        "E1101-006",
    ),
    ("insutype_not_held", lambda c: call(c.p, "2102", _drug(c, insutype="390"), password="123456"), "E2201-005"),
    # What. (Unknown catalogue codes once answered E0000-099: refuse(code=...) clashed with refuse()'s own.)
    (
        "unknown_catalog_code_2204",
        lambda c: call(
            c.p,
            "2204",
            {"feedetail": [fee(c.visit, c.fam.son.person.psn_no, "2", "NO-SUCH-CODE")]},
            institution=HOSPITAL[2],
        ),
        "E2204-001",
    ),
    (
        "unknown_catalog_code_2102",
        lambda c: call(c.p, "2102", _line(c, med_list_codg="NO-SUCH-CODE"), password="123456"),
        "E2204-001",
    ),
    (
        "unknown_catalog_code_2101",
        lambda c: call(c.p, "2101", _line(c, med_list_codg="NO-SUCH-CODE")),
        "E2204-001",
    ),
    (
        "duplicate_feedetl_sn_2204",
        lambda c: call(
            c.p, "2204", {"feedetail": [fee(c.visit, c.fam.son.person.psn_no, "1")]}, institution=HOSPITAL[2]
        ),
        "E2204-002",
    ),
    (
        "duplicate_feedetl_sn_2102",
        lambda c: call(
            c.p,
            "2102",
            {**pharmacy_input(c.fam.son, "10.00"), "drugdetail": pharmacy_input(c.fam.son, "5.00")["drugdetail"] * 2},
            password="123456",
        ),
        "E2204-002",
    ),
    (
        "line_amount_not_price_times_count",
        lambda c: call(c.p, "2102", _line(c, pric="3.00"), password="123456"),
        "E2204-003",
    ),
    (
        "medfee_differs_2102",
        lambda c: call(c.p, "2102", _drug(c, medfee_sumamt="10.01"), password="123456"),
        "E2207-001",
    ),
    (
        "medfee_differs_2207",
        lambda c: call(
            c.p, "2207", settle_data(c.fam.son, c.visit, "99.99"), institution=HOSPITAL[2], password="123456"
        ),
        "E2207-001",
    ),
    (
        "medfee_differs_2206",
        lambda c: call(c.p, "2206", settle_data(c.fam.son, c.visit, "100.01"), institution=HOSPITAL[2]),
        "E2207-001",
    ),
    ("unknown_med_type", lambda c: call(c.p, "2102", _drug(c, med_type="99"), password="123456"), "E2207-005"),
    ("missing_password", lambda c: call(c.p, "2102", pharmacy_input(c.fam.son, "10.00")), "E2207-007"),
    (
        "undecryptable_password",
        lambda c: dispatch(c.p, _env(c, cainfo="bm90IGVuY3J5cHRlZA==")),
        "E2207-003",
    ),
    # Which visit / which settlement.
    (
        "unknown_mdtrt_id",
        lambda c: call(
            c.p, "2207", settle_data(c.fam.son, "MD3601990000009999"), institution=HOSPITAL[2], password="123456"
        ),
        "E2201-001",
    ),
    (
        "malformed_mdtrt_id",
        lambda c: call(c.p, "2207", settle_data(c.fam.son, "not-a-visit"), institution=HOSPITAL[2], password="123456"),
        "E2201-001",
    ),
    (
        "cancelled_visit",
        lambda c: call(
            c.p, "2207", settle_data(c.fam.son, c.cancelled_visit), institution=HOSPITAL[2], password="123456"
        ),
        "E2201-002",
    ),
    (
        "visit_of_someone_else",
        lambda c: call(c.p, "2207", settle_data(c.fam.son, c.father_visit), institution=HOSPITAL[2], password="123456"),
        "E2201-004",
    ),
    (
        "visit_at_another_hospital",
        lambda c: call(c.p, "2207", settle_data(c.fam.son, c.visit), institution=HOSPITAL[3], password="123456"),
        "E2201-004",
    ),
    (
        "fees_for_unknown_visit",
        lambda c: call(
            c.p, "2204", {"feedetail": [fee("MD3601990000009999", c.fam.son.person.psn_no)]}, institution=HOSPITAL[2]
        ),
        "E2201-001",
    ),
    (
        "cancel_unknown_setl_id",
        lambda c: call(c.p, "2103", {"data": {"setl_id": "ST3601990000009999", "psn_no": c.fam.son.person.psn_no}}),
        "E2208-001",
    ),
    (
        "cancel_malformed_setl_id",
        lambda c: call(c.p, "2103", {"data": {"setl_id": "XYZ", "psn_no": c.fam.son.person.psn_no}}),
        "E2208-001",
    ),
    (
        "cancel_already_cancelled",
        lambda c: call(c.p, "2103", {"data": {"setl_id": c.cancelled_setl_id, "psn_no": c.fam.son.person.psn_no}}),
        "E2208-002",
    ),
    # Shapes and amounts.
    (
        "money_with_three_decimals",
        lambda c: call(c.p, "2102", _drug(c, medfee_sumamt="10.001"), password="123456"),
        "E0000-008",
    ),
    (
        "money_as_json_number_with_three_decimals",
        lambda c: call(c.p, "2102", _line(c, det_item_fee_sumamt=Decimal("10.005")), password="123456"),
        "E0000-008",
    ),
    (
        "negative_line_amount_2102",
        lambda c: call(c.p, "2102", _line(c, det_item_fee_sumamt="-10.00"), password="123456"),
        "E0000-008",
    ),
    (
        "negative_total_2102",
        lambda c: call(c.p, "2102", _drug(c, medfee_sumamt="-10.00"), password="123456"),
        "E0000-008",
    ),
    (
        "negative_fee_2204",
        lambda c: call(
            c.p,
            "2204",
            {
                "feedetail": [
                    {**fee(c.visit, c.fam.son.person.psn_no, "9"), "det_item_fee_sumamt": "-1.00", "pric": "-1.00"}
                ]
            },
            institution=HOSPITAL[2],
        ),
        "E0000-008",
    ),
    ("money_as_text", lambda c: call(c.p, "2102", _drug(c, medfee_sumamt="ten"), password="123456"), "E0000-008"),
    (
        "flag_outside_dictionary",
        lambda c: call(c.p, "2102", _drug(c, acct_used_flag="3"), password="123456"),
        "E0000-008",
    ),
    ("bad_begntime", lambda c: call(c.p, "2102", _drug(c, begntime="yesterday"), password="123456"), "E0000-008"),
    (
        "string_instead_of_druginfo_object",
        lambda c: call(c.p, "2102", {"druginfo": "abc", "drugdetail": []}, password="123456"),
        "E0000-008",
    ),
    (
        "string_instead_of_drugdetail_array",
        lambda c: call(c.p, "2102", {**pharmacy_input(c.fam.son, "10.00"), "drugdetail": "x"}, password="123456"),
        "E0000-008",
    ),
    ("string_instead_of_data_object", lambda c: call(c.p, "2103", {"data": "ST"}), "E0000-008"),
    (
        "string_instead_of_fee_line_object",
        lambda c: call(c.p, "2204", {"feedetail": ["line"]}, institution=HOSPITAL[2]),
        "E0000-008",
    ),
    ("missing_node", lambda c: call(c.p, "2102", {"druginfo": {}}, password="123456"), "E0000-008"),
    (
        "empty_drugdetail",
        lambda c: call(c.p, "2102", {**pharmacy_input(c.fam.son, "1.00"), "drugdetail": []}),
        "E0000-008",
    ),
    *ISSUE_9,
]


@pytest.mark.parametrize(
    ("request_", "code"),
    [pytest.param(r, code, id=name) for name, r, code in CASES],
)
def test_refused_with_stable_code_and_nothing_changes(shared, request_, code):
    before = db_snapshot(shared.p.store)
    answer = request_(shared)
    assert_refused(answer, code)
    assert db_snapshot(shared.p.store) == before
    assert ledger_problems(shared.p) == []


@pytest.mark.parametrize("infno", ["2102", "2101", "1101", "2201"])
def test_unknown_institution_is_refused(shared, infno):
    # Regression: refuse("E0000-004", code=...) once clashed with refuse()'s own ``code`` (E0000-099).
    inputs = {
        "2102": pharmacy_input(shared.fam.son, "10.00"),
        "2101": pharmacy_input(shared.fam.son, "10.00"),
        "1101": {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": shared.fam.son.person.certno}},
        "2201": {"data": {}},
    }
    before = db_snapshot(shared.p.store)
    answer = call(shared.p, infno, inputs[infno], institution="H99999999999", password="123456")
    assert_refused(answer, "E0000-004")
    assert db_snapshot(shared.p.store) == before


def test_every_refusal_leaves_balances_alone(shared):
    """All the refusals above, one after another on the same world: every balance is where it was."""
    before = db_snapshot(shared.p.store)
    for name, request_, _code in CASES:
        answer = request_(shared)
        assert answer["infcode"] == -1, name
    after = db_snapshot(shared.p.store)
    assert (after["accounts"], after["settlements"], after["accumulators"]) == (
        before["accounts"],
        before["settlements"],
        before["accumulators"],
    )


def test_wrong_password_counts_but_moves_no_money(ctx):
    p, son = ctx.p, ctx.fam.son.person
    before = db_snapshot(p.store)
    answer = call(p, "2102", pharmacy_input(ctx.fam.son, "10.00"), password="000000")
    assert_refused(answer, "E2207-003")
    after = db_snapshot(p.store)
    assert after == before  # row counts, balances, accumulators, statuses: all unchanged
    with p.store.uow() as tx:
        assert tx.credentials.password(son.id).failures == 1
    # The same for an outpatient settlement.
    answer = call(p, "2207", settle_data(ctx.fam.son, ctx.visit), institution=HOSPITAL[2], password="000001")
    assert_refused(answer, "E2207-003")
    assert db_snapshot(p.store) == before
    with p.store.uow() as tx:
        assert tx.credentials.password(son.id).failures == 2
    assert ledger_problems(p) == []


def test_password_lockout_after_max_failures(ctx):
    p, son = ctx.p, ctx.fam.son.person
    before = db_snapshot(p.store)
    codes = [call(p, "2102", pharmacy_input(ctx.fam.son, "10.00"), password="000000")["err_msg"][:11] for _ in range(5)]
    assert codes == ["[E2207-003]"] * 4 + ["[E2207-004]"]
    locked = call(p, "2102", pharmacy_input(ctx.fam.son, "10.00"), password="123456")
    assert_refused(locked, "E2207-004")
    assert db_snapshot(p.store) == before
    # A pre-settlement needs no password and still answers.
    assert call(p, "2101", pharmacy_input(ctx.fam.son, "10.00"))["infcode"] == 0
    with p.store.uow() as tx:
        assert tx.credentials.password(son.id).locked_until is not None


def test_same_msgid_with_another_body_is_refused(ctx):
    p = ctx.p
    env = envelope(
        p, "2102", pharmacy_input(ctx.fam.son, "10.00"), msgid="P36019900001MSGID0000000000001", password="123456"
    )
    first = dispatch(p, env)
    assert first["infcode"] == 0
    before = db_snapshot(p.store)
    other = envelope(
        p, "2102", pharmacy_input(ctx.fam.son, "5.00"), msgid="P36019900001MSGID0000000000001", password="123456"
    )
    assert_refused(dispatch(p, other), "E0000-005")
    assert db_snapshot(p.store) == before
    assert dispatch(p, env)["output"] == first["output"]


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", "{'single': 'quotes'}", b'{"a": 1,}', b"\xff\xfe\x00", "[1, 2", "NaN-ish"],
)
def test_invalid_json_is_refused_by_parse_body(body):
    with pytest.raises(DomainError) as info:
        parse_body(body)
    assert info.value.code == "E0000-001"
    assert CODE.match(info.value.err_msg) and CJK.search(info.value.err_msg)


def test_parse_body_keeps_decimal_text():
    doc = parse_body('{"infno": "2102", "input": {"amount": 300.10, "n": 3}}')
    assert doc["input"]["amount"] == Decimal("300.10")
    assert str(doc["input"]["amount"]) == "300.10"
    assert isinstance(doc["input"]["amount"], Decimal)
    assert parse_body(b'{"x": "\xe5\x8c\xbb\xe4\xbf\x9d"}') == {"x": "医保"}


def test_dispatch_of_parsed_garbage_never_raises(shared):
    before = db_snapshot(shared.p.store)
    for doc in (0, 1.5, True, {"input": {}}, {"infno": None}, {"infno": ["2102"], "input": {}}):
        answer = dispatch(shared.p, doc)
        assert answer["infcode"] == -1
        assert CODE.match(answer["err_msg"])
    assert db_snapshot(shared.p.store) == before
