"""A hospital day and a pharmacy day through the gateway over HTTP, in order, on ``yibao serve
--sandbox --demo`` (the examples of docs/gateway.md): sign in, the agency imports a catalogue and the
HIS downloads it (1301 + 9102), entitlement (2001), admission, review (3101), fee details, discharge,
pre-settlement and settlement, the settlement list (4101), totals (3201) and details (9101 + 3202)
reconciled, clearing applied for (3203), sign out — and the pharmacy's stock, sale and 3505. At the
end the platform's state is checked: ledger invariants, settlements whole, the reconciliation run
and the clearing amounts as the settlements say."""

from __future__ import annotations

import base64
import io
import subprocess
import sys
import zipfile
from datetime import date, datetime
from decimal import Decimal

import httpx
import pytest

from http_world import His, beijing_now, ledger_problems, settlement_problems
from server import Server
from web_client import WebClient, outcome
from yibao.cli import demo
from yibao.nhsa.files import zipped_text
from yibao.services.reconciliation import ours
from yibao.storage.uow import Store

HOSPITAL = "H36010000002"


class DemoServer(Server):
    def command(self, port: int) -> list[str]:
        return [*super().command(port), "--demo"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("day")
    db = str(folder / "day.sqlite")
    srv = DemoServer(db, sandbox=True)
    try:
        srv.start()
        with httpx.Client(base_url=srv.url, headers=srv.admin_headers, timeout=60) as api:
            people = {p["name"]: p for p in api.get("/api/v1/people").json()}
        yield srv, db, folder, people
        assert "Traceback" not in srv.all_logs(), srv.all_logs()[-3000:]
    finally:
        srv.close()


def ok(his: His, infno: str, inp: dict, **kw) -> dict:
    answer = his.call(infno, inp, **kw)
    assert answer["infcode"] == 0, (infno, answer["err_msg"])
    return answer["output"]


def moment(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S}"


def books(db: str, institution: str, clr_type: str, day: str) -> list[list[str]]:
    """The institution's own books for the day (every settlement it made, the demo seed's too), as
    the spec's detail file rows; read from the database as the HIS would from its own."""
    store = Store.open(f"sqlite:///{db}", migrate=False)
    try:
        with store.uow(read_only=True) as tx:
            mine = ours(tx, institution, clr_type, date.fromisoformat(day), date.fromisoformat(day))
    finally:
        store.dispose()
    rows = []
    for (setl_id, flag), (psn_no, mdtrt_id, _, a) in sorted(mine.items()):
        rows.append([setl_id, mdtrt_id, psn_no, *(f"{Decimal(x) / 100:.2f}" for x in (a.medfee, a.fund, a.acct)), flag])
    return rows


def reconcile(his: His, db: str, s: dict, clr_type: str) -> dict:
    """3201 totals, 9101 + 3202 details, 9102 the result, 3203 clearing, for the settlement's day."""
    day = str(s["setl_time"])[:10]
    rows = books(db, his.institution, clr_type, day)
    count = str(sum(1 if r[6] == "0" else -1 for r in rows))
    medfee, fund, acct = (f"{sum(Decimal(r[i]) for r in rows):.2f}" for i in (3, 4, 5))
    cash = f"{Decimal(medfee) - Decimal(fund) - Decimal(acct):.2f}"
    totals = {"insutype": "310", "clr_type": clr_type, "setl_optins": "360100", "stmt_begndate": day}
    totals.update(stmt_enddate=day, medfee_sumamt=medfee, fund_pay_sumamt=fund, acct_pay=acct, fixmedins_setl_cnt=count)
    assert ok(his, "3201", {"data": totals})["stmtinfo"]["stmt_rslt"] == "0"
    content = base64.b64encode(zipped_text("detail.txt", rows)).decode()
    up = ok(his, "9101", {"fsUploadIn": {"in": content, "filename": "detail.zip", "fixmedins_code": his.institution}})
    details = {"setl_optins": "360100", "file_qury_no": up["file_qury_no"], "stmt_begndate": day, "stmt_enddate": day}
    details.update(medfee_sumamt=medfee, fund_pay_sumamt=fund, cash_payamt=cash, fixmedins_setl_cnt=count)
    result = ok(his, "3202", {"data": {**details, "clr_type": clr_type, "fixmedins_refd_setl_flag": "0"}})
    assert (result["stmt_rslt"], result["mismatches"], result["lines"]) == ("0", 0, len(rows))
    fetch = {**{k: result["fileinfo"][k] for k in ("file_qury_no", "filename")}, "fixmedins_code": his.institution}
    r = his.post(his.envelope("9102", {"fsDownloadIn": fetch}))
    assert r.headers["content-type"] == "application/octet-stream"
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    lines = archive.read(archive.namelist()[0]).decode().splitlines()
    assert {x.split("\t")[4] for x in lines} == {"0"}  # stmt_rslt of every line: 对平
    clearing = {"clr_type": clr_type, "setlym": day[:4] + day[5:7], "psntime": count, "medfee_sumamt": medfee}
    clearing.update(med_sumfee=medfee, fund_appy_sum=fund, cash_payamt=cash, acct_pay=acct, begndate=day, enddate=day)
    evt = ok(his, "3203", {"data": clearing})["result"]["clr_appy_evt_id"]
    return {"evt": evt, "count": int(count), "fund": Decimal(fund), "lines": len(rows)}


def test_a_hospital_day(served):
    srv, db, folder, people = served
    who = people["张伟"]
    psn = who["psn_no"]
    # the agency loads this month's 西药中成药 catalogue; the HIS downloads it at night
    csv = folder / "1301.csv"
    csv.write_text("医疗目录编码,药品商品名,收费项目等级,最高限价\nXJ01DAY0001,日间测试片,02,30\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "yibao", "catalog", "import", "1301", str(csv), "--db", db],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    his = His(srv.url, institution=HOSPITAL)
    try:
        his.sign_in()
        listed = ok(his, "1301", {"data": {"ver": "0"}})
        assert listed["data_cnt"] >= 1
        r = his.post(his.envelope("9102", {"fsDownloadIn": {**_names(listed), "fixmedins_code": "plc"}}))
        text = zipfile.ZipFile(io.BytesIO(r.content)).read(listed["filename"].replace(".zip", ".txt")).decode()
        assert "XJ01DAY0001\t日间测试片" in text
        now = beijing_now()
        check = {
            "psn_no": psn,
            "insutype": "310",
            "fixmedins_code": HOSPITAL,
            "med_type": "21",
            "begntime": moment(now),
        }
        assert ok(his, "2001", {"data": check})["trtinfo"][0]["trt_enjymnt_flag"] == "1"
        person = {"psn_no": psn, "insutype": "310", "mdtrt_cert_type": "02", "mdtrt_cert_no": who["certno"]}
        info = {**person, "begntime": moment(now), "med_type": "21", "ipt_no": "ZY0001"}
        mdtrt_id = ok(his, "2401", {"mdtrtinfo": info, "diseinfo": [{"diag_code": "J18.9"}]})["result"]["mdtrt_id"]
        order = {"rx_id": "RX1", "hilist_code": "XJ01DAY0001", "cnt": "2", "pric": "25.00", "sumamt": "50.00"}
        assert _review(his, who, mdtrt_id, now, order) == []  # within the limit price, no restriction
        line = {"feedetl_sn": "1", "mdtrt_id": mdtrt_id, "psn_no": psn, "med_type": "21", "fee_ocur_time": moment(now)}
        line.update(
            med_list_codg="XJ01DAY0001", medins_list_codg="YN1", det_item_fee_sumamt="50.00", cnt="2", pric="25"
        )
        ok(his, "2301", {"feedetail": [line]})
        ok(his, "2402", {"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": psn, "insutype": "310", "endtime": moment(now)}})
        settle = {**person, "mdtrt_id": mdtrt_id, "medfee_sumamt": "50.00", "psn_setlway": "01", "acct_used_flag": "1"}
        settle["mid_setl_flag"] = "0"
        pre = ok(his, "2303", {"data": settle})["setlinfo"]
        s = ok(his, "2304", {"data": settle}, password="123456")["setlinfo"]
        assert (s["medfee_sumamt"], s["fund_pay_sumamt"]) == (pre["medfee_sumamt"], pre["fund_pay_sumamt"])
        listing = _settlement_list(s, psn)
        assert ok(his, "4101", listing)["data"]["setl_list_id"]
        got = reconcile(his, db, s, "21")
        day = str(s["setl_time"])[:10]
        assert got["evt"].startswith("QS")
        chronic = {"psn_no": psn, "insutype": "310", "opsp_dise_code": "M03900", "opsp_dise_name": "高血压",
                   "insu_optins": "360100", "ide_fixmedins_no": HOSPITAL, "ide_fixmedins_name": "示例区人民医院",
                   "hosp_ide_date": day, "diag_dr_codg": "DR1", "diag_dr_name": "王医生", "begndate": day}  # fmt: skip
        assert ok(his, "2503", {"data": chronic})["result"]["trt_dcla_detl_sn"].startswith("BA")
        assert ok(his, "9002", {"signOut": {"sign_no": his.sign_no, "opter_no": "001"}})
    finally:
        his.close()
    with WebClient(srv.url) as web:  # the family sees the filing in the portal
        assert outcome(web.portal_login(who["certno"], "123456")) == "ok"
        home = web.get("/portal/").text
        assert "门诊慢特病" in home and "高血压" in home
    _state_is_whole(db, HOSPITAL, "21", got)


def test_a_pharmacy_day(served):
    srv, db, _, people = served
    who = people["张伟"]
    psn = who["psn_no"]
    his = His(srv.url, institution=demo.PHARMACY)
    try:
        his.sign_in()
        item = {"med_list_codg": "XJ01CAA0001", "fixmedins_hilist_id": "YP1", "fixmedins_hilist_name": "阿莫西林胶囊"}
        today = beijing_now().date().isoformat()
        purchase = {**item, "fixmedins_bchno": "B20250601", "spler_name": "某医药公司", "manu_lotnum": "L1"}
        purchase.update(prodentp_name="某药厂", aprvno="国药准字H1", manu_date="2025-01-01", expy_end="2030-01-01")
        purchase.update(purc_retn_cnt="100", rx_flag="1", purc_retn_stoin_time=today, purc_retn_opter_name="王五")
        ok(his, "3503", {"purcinfo": purchase})
        now = beijing_now()
        check = {"psn_no": psn, "insutype": "310", "fixmedins_code": demo.PHARMACY, "med_type": "41"}
        rows = ok(his, "2001", {"data": {**check, "begntime": moment(now)}})["trtinfo"]
        assert rows[0]["trt_chk_rslt"] == "职工医保定点药店购药不设统筹基金支付"  # the account pays (Nanchang)
        druginfo = {"psn_no": psn, "insutype": "310", "mdtrt_cert_type": "02", "mdtrt_cert_no": who["certno"]}
        druginfo.update(begntime=moment(now), medfee_sumamt="30.00", med_type="41", acct_used_flag="1")
        trace = [{"drug_trac_codg": "81000000000000000001", "trdn_flag": "0", "feedetl_sn": "1"}]
        detail = {
            "feedetl_sn": "1",
            "med_list_codg": "XJ01CAA0001",
            "medins_list_codg": "YP1",
            "cnt": "3",
            "pric": "10",
        }
        detail.update(det_item_fee_sumamt="30.00", fee_ocur_time=moment(now), durg_trac_info=trace)
        inp = {"druginfo": druginfo, "drugdetail": [detail]}
        ok(his, "2101", inp)
        s = ok(his, "2102", inp, password="123456")["setlinfo"]
        sale = {**item, "fixmedins_bchno": "B20250601", "prsc_dr_name": "王医生", "phar_name": "李药师"}
        sale.update(phar_prac_cert_no="Z1", mdtrt_sn=s["mdtrt_id"], manu_lotnum="L1", manu_date="2025-01-01")
        sale.update(rx_flag="1", trdn_flag="0", rtal_docno="R1", sel_retn_cnt="3", sel_retn_time=today)
        sale.update(sel_retn_opter_name="李药师", setl_id=s["setl_id"], psn_no=psn)
        ok(his, "3505", {"selinfo": {**sale, "drugtracinfo": {"drug_trac_codg": "81000000000000000001"}}})
        q = {"fixmedins_code": demo.PHARMACY, "medins_list_codg": "YP1", "fixmedins_bchno": "B20250601"}
        stock = ok(his, "3508", {"data": {**q, "begndate": today, "enddate": today}})["output"]
        assert str(stock["invCnt"]) == "97.00"
        got = reconcile(his, db, s, "41")
        ok(his, "9002", {"signOut": {"sign_no": his.sign_no, "opter_no": "001"}})
    finally:
        his.close()
    _state_is_whole(db, demo.PHARMACY, "41", got)


def _names(answer: dict) -> dict:
    return {"file_qury_no": answer["file_qury_no"], "filename": answer["filename"]}


def _review(his: His, who: dict, mdtrt_id: str, now: datetime, order: dict) -> list:
    full = {"rx_id": "RX1", "rxno": "RX1", "long_drord_flag": "0", "hilist_type": "101", "chrg_type": "09"}
    full.update(drord_bhvr="1", hilist_name="日间测试片", hilist_lv="02", hilist_pric=order["pric"])
    full.update(hosplist_code="YN1", hosplist_name="日间测试片", ownpay_amt="0.00", selfpay_amt="0.00", spec="片")
    full.update(spec_unt="片", drord_begn_date=moment(now), drord_dept_codg="D1", drord_dept_name="内科")
    full.update(drord_dr_codg="DR1", drord_dr_name="王医生", drord_dr_profttl="234", curr_drord_flag="1", **order)
    encounter = {"mdtrt_id": mdtrt_id, "medins_id": HOSPITAL, "medins_name": "医院", "medins_admdvs": "360100"}
    encounter.update(medins_type="A1", medins_lv="5", adm_date=moment(now), dscg_date=moment(now))
    encounter.update(dscg_main_dise_codg="J18.9", dscg_main_dise_name="肺炎", dr_codg="DR1", adm_dept_codg="D1")
    encounter.update(adm_dept_name="内科", dscg_dept_codg="D1", dscg_dept_name="内科", med_mdtrt_type="2")
    encounter.update(med_type="21", matn_stas="0", medfee_sumamt=order["sumamt"], ownpay_amt="0.00")
    encounter.update(selfpay_amt="0.00", setl_totlnum="1", insutype="310", reim_flag="2", out_setl_flag="0")
    diagnosis = {"dise_id": "1", "inout_dise_type": "1", "maindise_flag": "1", "dias_srt_no": "1"}
    diagnosis.update(dise_codg="J18.9", dise_name="肺炎", dise_date=moment(now))
    encounter.update(fsi_order_dtos=[full], fsi_diagnose_dtos=[diagnosis])
    patient = {"patn_id": who["psn_no"], "patn_name": who["name"], "gend": "1", "brdy": "1985-01-01"}
    patient.update(poolarea="360100", curr_mdtrt_id=mdtrt_id, fsi_encounter_dtos=[encounter])
    return ok(his, "3101", {"data": {"patient_dtos": [patient], "trig_scen": "1"}})["result_list"]


def _settlement_list(s: dict, psn_no: str) -> dict:
    ids = {"psn_no": psn_no, "mdtrt_id": s["mdtrt_id"], "setl_id": s["setl_id"]}
    day = str(s["setl_time"])[:10]
    info = {**ids, "ntly": "CHN", "prfs": "17", "patn_rlts": "01", "coner_addr": "南昌", "coner_tel": "13800000000"}
    info.update(dscg_caty="A03", bill_code="B1", bill_no="1", biz_sn="1", setl_begn_date=day, setl_end_date=day)
    info.update(medins_fill_dept="病案科", medins_fill_psn="李四", adm_time=day, dscg_time=day)
    pay = [{"fund_pay_type": "310100", "fund_payamt": str(s["hifp_pay"])}]
    dise = [{"diag_type": "1", "diag_code": "J18.9", "diag_name": "肺炎", "adm_cond_type": "1", "maindiag_flag": "1"}]
    return {"setlinfo": info, "payinfo": pay, "diseinfo": dise}


def _state_is_whole(db: str, institution: str, clr_type: str, got: dict) -> None:
    url = f"sqlite:///{db}"
    assert ledger_problems(url) == []
    store = Store.open(url, migrate=False)
    try:
        # (the checker pairs settlements with 2102 messages only: other settlements' msgids are not its business)
        assert [x for x in settlement_problems(store) if not x.startswith("settlement for msgid")] == []
        with store.uow(read_only=True) as tx:
            runs = [r for r in tx.clearing.runs() if r["institution_code"] == institution]
            assert runs and runs[0]["mismatches"] == 0 and runs[0]["lines"] == got["lines"]
            applied = [
                c for c in tx.clearing.clearings() if c.institution_code == institution and c.cancelled_at is None
            ]
            assert [(c.clr_type, c.count, Decimal(c.fund) / 100) for c in applied] == [
                (clr_type, got["count"], got["fund"])
            ]
    finally:
        store.dispose()
