"""Reference data and files (issue 13, step 1): each business rule refused with its code and nothing
written; catalogue downloads incremental by version in the spec's column order; the agency's import
feeds the settlement; 9101/9102 over HTTP as multipart and bytes."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

import recipes_13
from support import ADMDVS, PHARMACY
from test_conformance import HOSP, World
from yibao.api.app import create_app
from yibao.errors import DomainError
from yibao.nhsa.envelope import dumps, new_msgid, request_envelope
from yibao.nhsa.files import file_columns, read_zipped_text, zipped_text
from yibao.services import reference
from yibao.services.platform import Platform
from yibao.storage.tables import metadata


def counts(w: World) -> dict[str, int]:
    """Rows in every table: what a refusal must leave unchanged."""
    with w.store.engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar() for t in metadata.sorted_tables}


def refused(w: World, infno: str, inp: dict, code: str, *, institution: str = HOSP) -> str:
    before = counts(w)
    answer = w.call(infno, inp, institution=institution)
    assert answer["infcode"] == -1, answer
    assert answer["err_msg"].startswith(f"[{code}]"), answer["err_msg"]
    assert counts(w) == before, "a refusal wrote something"
    return answer["err_msg"]


@pytest.fixture
def w():
    world = World()
    yield world
    world.store.dispose()


PAGE = {"page_num": "1", "page_size": "10", "updt_time": "2025-06-01"}


# 1201, 1901, 100001 ------------------------------------------------------------------------------


def test_1201_own_and_other_institution(w):
    own = w.ok("1201", {"medinsinfo": {"fixmedins_type": "1"}})["medinsinfo"]
    assert own["fixmedins_code"] == HOSP and own["fixmedins_type"] == "1"
    shop = w.ok("1201", {"medinsinfo": {"fixmedins_type": "2", "fixmedins_code": PHARMACY}})["medinsinfo"]
    assert shop["fixmedins_code"] == PHARMACY and shop["hosp_lv"] == ""
    refused(w, "1201", {"medinsinfo": {"fixmedins_type": "1", "fixmedins_code": PHARMACY}}, "E1201-001")
    refused(w, "1201", {"medinsinfo": {"fixmedins_type": "1", "fixmedins_code": "H999"}}, "E1201-001")


def test_1901_dictionary_with_its_codes(w):
    inp = {"type": "insutype", "parent_value": "0", "admdvs": ADMDVS, "date": "2025-06-01", "Vali_Flag": "1"}
    rows = w.ok("1901", {"data": inp})["list"]
    assert {"310", "390"} <= {r["value"] for r in rows}
    assert all(r["type"] == "insutype" for r in rows)
    refused(w, "1901", {"data": {**inp, "type": "no_such_dictionary"}}, "E1901-001")


def test_100001_policy_items_of_a_settlement(w):
    s = w.outpatient_settled()
    inp = {"psn_No": w.son.psn_no, "setl_Id": s["setl_id"], "mdtrt_Id": s["mdtrt_id"]}
    out = w.ok("100001", {"data": inp})
    codes = [r["polItemCode"] for r in out["polItemList"]]
    assert codes[0] == "catalog.ownpay" and any(c.endswith(".ratio") for c in codes)
    ratio = next(r for r in out["polItemList"] if r["polItemCode"].endswith(".ratio"))
    assert str(ratio["fundPayAmt"]) == s["hifp_pay"].__str__() or ratio["fundPayAmt"] == s["hifp_pay"]
    refused(w, "100001", {"data": inp}, "E2208-003", institution=PHARMACY)
    refused(w, "100001", {"data": {**inp, "setl_Id": "36019900099999"}}, "E2208-001")


# Catalogue: import, download, queries -------------------------------------------------------------


def test_download_is_incremental_by_version_in_the_spec_column_order(w):
    cols = file_columns("1305")
    first = [
        {cols[0]: "001101000010000", "名称": "普通门诊诊查费", "收费项目等级": "01"},
        {cols[0]: "001101000020000", "名称": "急诊诊查费", "收费项目等级": "01", "最高限价": "20"},
    ]
    assert reference.import_catalogue(w.p, "1305", first) == (1, 2)
    assert reference.import_catalogue(w.p, "1305", [{**first[1], "最高限价": "25"}]) == (2, 1)
    everything = w.ok("1305", {"data": {"ver": "0"}})
    assert everything["data_cnt"] == 3
    newer = w.ok("1305", {"data": {"ver": "1"}})
    assert newer["data_cnt"] == 1
    fetched = w.ok("9102", {"fsDownloadIn": {**_names(newer), "fixmedins_code": "plc"}})
    rows = read_zipped_text(base64.b64decode(fetched["file"]))
    assert len(rows) == 1 and len(rows[0]) == len(cols)
    assert rows[0][0] == "001101000020000" and rows[0][cols.index("版本号")] == "2"
    # the settlement catalogue took the newest version's ceiling
    with w.store.uow(read_only=True) as tx:
        assert str(tx.care.catalog(["001101000020000"])["001101000020000"].price_ceiling) == "25"
    assert w.ok("1305", {"data": {"ver": "v0002"}})["data_cnt"] == 0
    refused(w, "1305", {"data": {"ver": "3"}}, "E1301-001")
    refused(w, "1305", {"data": {"ver": "abc"}}, "E1301-001")
    refused(
        w,
        "9102",
        {"fsDownloadIn": {"file_qury_no": "C1305-0-9", "filename": "x", "fixmedins_code": "plc"}},
        "E9102-001",
    )


def _names(answer: dict) -> dict:
    return {"file_qury_no": answer["file_qury_no"], "filename": answer["filename"]}


@pytest.mark.parametrize(
    ("rows", "words"),
    [
        ([{"医疗目录编码": "X1", "药品商品名": "甲"}], "收费项目等级"),
        ([{"医疗目录编码": "X1", "收费项目等级": "02", "先行自付比例": "1.5"}], "先行自付比例"),
        ([{"医疗目录编码": "X1", "收费项目等级": "01"}, {"医疗目录编码": "X1", "收费项目等级": "01"}], "编码重复"),
        ([{"医疗目录编码": "X1", "收费项目等级": "01", "颜色": "红"}], "不认识的列"),
        ([{"医疗目录编码": "", "收费项目等级": "01"}], "为空"),
        ([], "没有数据行"),
    ],
)
def test_import_refuses_a_bad_file_whole(w, rows, words):
    before = counts(w)
    with pytest.raises(DomainError) as exc:
        reference.import_catalogue(w.p, "1301", rows)
    assert exc.value.code == "E1301-002" and words in exc.value.message
    assert counts(w) == before


def test_import_refuses_a_transaction_that_is_not_a_download(w):
    with pytest.raises(DomainError) as exc:
        reference.import_catalogue(w.p, "1312", [{"a": "b"}])
    assert exc.value.code == "E1301-002"


def test_catalogue_queries_page_and_filter(w):
    recipes_13.load_catalogue(w, "1301", "XL000000001", price_ceiling="12.5")
    page = w.ok("1312", {"data": {**PAGE, "page_size": "2"}})
    assert page["recordCounts"] >= 3 and len(page["data"]) == 2 and page["pages"] >= 2
    one = w.ok("1312", {"data": {**PAGE, "hilist_code": "XB02BAA0002"}})
    assert one["hilist_code"] == "XB02BAA0002" and one["chrgitm_lv"] == "02" and one["list_type"] == "101"
    limits = w.ok("1318", {"data": PAGE})
    assert "XL000000001" in [r["hilist_code"] for r in limits["data"]]
    row = next(r for r in limits["data"] if r["hilist_code"] == "XL000000001")
    assert str(row["hilist_pric_uplmt_amt"]).rstrip("0") == "12.5"
    ratios = w.ok("1319", {"data": PAGE})
    assert "XB02BAA0002" in [r["hilist_code"] for r in ratios["data"]]
    assert w.ok("1316", {"data": {**PAGE, "hilist_code": "XJ01CAA0001"}})["med_list_codg"] == "XJ01CAA0001"
    refused(w, "1312", {"data": {**PAGE, "page_size": "5000"}}, "E1312-001")
    refused(w, "1312", {"data": {**PAGE, "page_num": "0"}}, "E1312-001")


# 3301 / 3302 / 1317 -----------------------------------------------------------------------------


def test_matching_rules(w):
    m = recipes_13.matched(w)
    got = w.ok("1317", {"data": {**PAGE, "medins_list_codg": m["fixmedins_hilist_id"]}})
    assert got["recordCounts"] == 1 and got["med_list_codg"] == "XJ01CAA0001"
    assert w.ok("1317", {"data": PAGE}, institution=PHARMACY)["recordCounts"] == 0  # not another institution's
    refused(w, "1317", {"data": {**PAGE, "fixmedins_code": PHARMACY}}, "E1317-001")
    refused(w, "3301", {"data": m}, "E3301-002")
    refused(w, "3301", {"data": {**m, "fixmedins_hilist_id": "N1", "med_list_codg": "NOPE"}}, "E3301-001")
    refused(w, "3301", {"data": {**m, "fixmedins_hilist_id": "N2", "enddate": "2000-01-01"}}, "E3301-003")
    cancel = {"fixmedins_code": HOSP, "fixmedins_hilist_id": m["fixmedins_hilist_id"], "list_type": "101"}
    refused(w, "3302", {**cancel, "med_list_codg": "XB02BAA0002"}, "E3302-001")
    w.ok("3302", {**cancel, "med_list_codg": "XJ01CAA0001"})
    refused(w, "3302", {**cancel, "med_list_codg": "XJ01CAA0001"}, "E3302-001")
    w.ok("3301", {"data": m})  # matched again once cancelled


# 9101 / 9102 --------------------------------------------------------------------------------------


def test_upload_rules(w):
    good = {"in": recipes_13.zipped([["1"]]), "filename": "a.zip", "fixmedins_code": HOSP}
    refused(w, "9101", {"fsUploadIn": {**good, "in": base64.b64encode(b"plain text").decode()}}, "E9101-001")
    refused(w, "9101", {"fsUploadIn": {**good, "in": "***"}}, "E9101-001")
    refused(w, "9101", {"fsUploadIn": {**good, "in": [1, 2, 999]}}, "E9101-001")
    refused(w, "9101", {"fsUploadIn": {**good, "fixmedins_code": PHARMACY}}, "E9102-002")
    as_array = list(zipped_text("b.txt", [["x", "y"]]))
    up = w.ok("9101", {"fsUploadIn": {**good, "in": as_array}})
    assert len(up["file_qury_no"]) <= 30
    fetch = {"fsDownloadIn": {**_names(up), "fixmedins_code": HOSP}}
    assert read_zipped_text(base64.b64decode(w.ok("9102", fetch)["file"])) == [["x", "y"]]
    refused(w, "9102", {"fsDownloadIn": {**_names(up), "fixmedins_code": PHARMACY}}, "E9102-002", institution=PHARMACY)
    w.p.clock.set(w.p.now() + timedelta(days=2))
    refused(w, "9102", fetch, "E9102-001")


def test_files_over_http_multipart_up_bytes_down(w):
    client = TestClient(create_app(Platform(w.store, w.p.clock, sandbox=True), admin_token="t"))
    content = zipped_text("detail.txt", [["s1", "m1"]])
    env = request_envelope(
        "9101",
        {"fsUploadIn": {"filename": "detail.zip", "fixmedins_code": HOSP}},
        institution=HOSP,
        admdvs=ADMDVS,
        now=w.p.now(),
        msgid=new_msgid(HOSP, w.p.now(), 1),
    )
    url = "/fsi/api/rsfComIfsService/callService"
    r = client.post(url, data={"jsonStr": dumps(env)}, files={"file": ("detail.zip", content, "application/zip")})
    answer = r.json()
    assert answer["infcode"] == 0, answer["err_msg"]
    names = {"file_qury_no": answer["output"]["file_qury_no"], "filename": "detail.zip", "fixmedins_code": HOSP}
    env = request_envelope(
        "9102",
        {"fsDownloadIn": names},
        institution=HOSP,
        admdvs=ADMDVS,
        now=w.p.now(),
        msgid=new_msgid(HOSP, w.p.now(), 2),
    )
    r = client.post(url, content=dumps(env), headers={"Content-Type": "application/json"})
    assert r.headers["content-type"] == "application/octet-stream"
    assert zipfile.ZipFile(io.BytesIO(r.content)).read("detail.txt") == b"s1\tm1\n"
    env["input"]["fsDownloadIn"]["file_qury_no"] = "Fnothing"
    r = client.post(url, content=dumps(env), headers={"Content-Type": "application/json"})
    assert json.loads(r.content)["err_msg"].startswith("[E9102-001]")
    r = client.post(url, data={"jsonStr": dumps(env)})
    assert r.json()["infcode"] == -1


def test_catalog_import_command_reads_csv_and_excel(tmp_path):
    from openpyxl import Workbook
    from typer.testing import CliRunner

    from yibao.cli.main import app
    from yibao.storage.uow import Store

    db = tmp_path / "c.sqlite"
    csv = tmp_path / "a.csv"
    csv.write_text("医疗目录编码,药品商品名,收费项目等级\nXJ01CSV0001,逗号片,01\n", encoding="utf-8-sig")
    book = Workbook()
    book.active.append(["医疗目录编码", "药品商品名", "收费项目等级", "先行自付比例", "最高限价"])
    book.active.append(["XJ01XLS0001", "表格片", "02", 0.1, 12.5])
    book.save(tmp_path / "b.xlsx")
    runner = CliRunner()
    for name, ver in (("a.csv", 1), ("b.xlsx", 2)):
        done = runner.invoke(app, ["catalog", "import", "1301", str(tmp_path / name), "--db", str(db)])
        assert done.exit_code == 0 and f"版本号 {ver}" in done.output, done.output
    bad = tmp_path / "bad.csv"
    bad.write_text("医疗目录编码,药品商品名\nXJ01BAD0001,缺等级\n", encoding="utf-8")
    done = runner.invoke(app, ["catalog", "import", "1301", str(bad), "--db", str(db)])
    assert done.exit_code == 2 and "E1301-002" in done.output
    store = Store.open(f"sqlite:///{db}", migrate=False)
    with store.uow(read_only=True) as tx:
        items = tx.care.catalog(["XJ01CSV0001", "XJ01XLS0001", "XJ01BAD0001"])
    store.dispose()
    assert sorted(items) == ["XJ01CSV0001", "XJ01XLS0001"] and items["XJ01XLS0001"].selfpay_bp == 1000


def test_transactions_by_chapter(capsys):
    """What is answered and what is not, by chapter of the edition (printed with -s; the report quotes it)."""
    from yibao.gateway.registry import TRANSACTIONS, load_handlers
    from yibao.nhsa.spec import EDITION, edition_chapters

    load_handlers()
    chapters = edition_chapters()
    listed = {n for numbers in chapters.values() for n in numbers}
    assert set(TRANSACTIONS) - listed == {"1162"}  # yibao's own; every other one is the edition's
    with capsys.disabled():
        print(f"\n{len(TRANSACTIONS)} transactions answered ({EDITION}):")
        for chapter, numbers in chapters.items():
            left = [n for n in numbers if n not in TRANSACTIONS]
            print(f"  {chapter}: {len(numbers) - len(left)}/{len(numbers)}; unanswered: {' '.join(left) or '—'}")
