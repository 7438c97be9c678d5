"""A whole pharmacy and outpatient day driven the way a public HIS SDK does, in every dialect, against a
real ``yibao serve`` in production mode (and in sandbox mode).

The client does what real clients do and yibao must accept unchanged: it posts to the URL per
transaction (``…/callService/{infno}``, under the agency's prefix or not), sends GBK bodies (with
and without a declared charset), writes "null" and "" for every empty field (``sign_no``,
``cainfo``, ``dev_no``, ``begntime``, ``fee_ocur_time`` …), sends ``signtype: "SM2"`` with an empty
``cainfo`` on the plain variant, sometimes sends ``input`` as JSON text, never carries the
``sign_no`` it got from 9001 (its institution is registered with sign-in optional), and settles
with the patient's e-voucher token and no password.

Dialects: national TIF headers, API key, provincial service-gateway signature (AK/SK), and the
SM2/SM4 encrypted variant (over the provincial signature).
"""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass

import httpx
import pytest
import simplejson

from http_world import ADMDVS, DRUG, HOSPITAL, PHARMACY, Admin, add_person, beijing_now, setup_region, tif_headers
from server import running_server
from yibao.nhsa import dialects
from yibao.nhsa.envelope import parse_body

PREFIX = "/hsa/fsi-gw"
SM_PHARMACY, SM_HOSPITAL = "P36019900009", "H36019900009"
GATEWAY = "/fsi/api/rsfComIfsService/callService"
_n = itertools.count(1)


@dataclass
class Sdk:
    """An HIS client written to the national spec and a provincial gateway, not to yibao."""

    http: httpx.Client
    institution: str
    dialect: str  # tif | apikey | provincial | sm
    cred: dict
    prefix: str = ""
    platform_public: str | None = None

    def headers(self, infno: str, n: int) -> dict[str, str]:
        declared = n % 2 == 0
        h = {"content-type": "application/json;charset=GBK" if declared else "text/plain"}
        if self.dialect == "tif":
            h.update(tif_headers(self.cred["tif_paasid"], self.cred["tif_token"]))
        elif self.dialect == "apikey":
            h["x-api-key"] = self.cred["api_key"]
        else:
            ms = int(time.time() * 1000)
            h.update(dialects.api_headers(self.cred["gateway_ak"], self.cred["gateway_sk"], infno, timestamp_ms=ms))
        return h

    def envelope(self, infno: str, inp: dict, msgid: str) -> dict:
        now = beijing_now()
        return {
            "infno": infno,
            "msgid": msgid,
            "mdtrtarea_admvs": ADMDVS,
            "insuplc_admdvs": "null",
            "recer_sys_code": "YBXT",
            "dev_no": "null",
            "dev_safe_info": "null",
            "cainfo": "null",
            "signtype": "SM2",
            "infver": "V1.0",
            "opter_type": "1",
            "opter": "001",
            "opter_name": "收费员甲",
            "inf_time": f"{now:%Y-%m-%d %H:%M:%S}",
            "fixmedins_code": self.institution,
            "fixmedins_name": "示例机构",
            "sign_no": "null",
            "input": inp,
        }

    def call(self, infno: str, inp: dict, *, msgid: str | None = None, input_as_text: bool = False) -> dict:
        n = next(_n)
        msgid = msgid or f"{self.institution}{beijing_now():%Y%m%d%H%M%S}{n % 10000:04d}"
        env = self.envelope(infno, inp, msgid)
        if self.dialect == "sm":
            c = self.cred
            env = dialects.seal(env, "input", c["sm4_key"], c["sm2_private_key"], c["sm2_public_key"])
        elif input_as_text:
            env["input"] = simplejson.dumps(inp, ensure_ascii=False)
        body = simplejson.dumps(env, ensure_ascii=False).encode("gbk")
        r = self.http.post(f"{self.prefix}{GATEWAY}/{infno}", content=body, headers=self.headers(infno, n))
        assert r.status_code == 200, (infno, r.status_code, r.text[:300])
        answer = parse_body(r.content, r.charset_encoding)
        assert answer["infcode"] == 0, (self.dialect, infno, answer["err_msg"])
        if self.dialect == "sm":
            answer["output"] = dialects.unseal(answer, "output", self.cred["sm4_key"], self.platform_public)
        return answer["output"]


@pytest.fixture(scope="module", params=["production", "sandbox"])
def server(request, tmp_path_factory):
    db = str(tmp_path_factory.mktemp(request.param) / "d.sqlite")
    env = {"YIBAO_GATEWAY_PREFIX": PREFIX, "YIBAO_SECRET_KEY": secrets.token_hex(16)}
    with running_server(db, sandbox=request.param == "sandbox", env=env) as srv:
        admin = Admin(srv.url, srv.admin_token)
        setup_region(admin)
        for code, kind, level in ((SM_PHARMACY, "pharmacy", 0), (SM_HOSPITAL, "hospital", 2)):
            admin.post(
                "/api/v1/institutions",
                {"code": code, "name": "示例SM机构", "kind": kind, "level": level, "admdvs": ADMDVS},
            )
        creds = {}
        for code, variant in ((PHARMACY, "plain"), (HOSPITAL, "plain"), (SM_PHARMACY, "sm"), (SM_HOSPITAL, "sm")):
            body = {"variant": variant, "sign_in": "optional"}
            creds[code] = admin.post(f"/api/v1/institutions/{code}/credentials", body)
        yield srv, admin, creds
        admin.close()
        assert "Traceback" not in srv.log(), srv.log()[-3000:]


def null_person_fields() -> dict:
    return {"psn_cert_type": "", "certno": "null", "psn_type": "null", "psn_name": "", "card_sn": "", "exp_content": ""}


@pytest.mark.parametrize("dialect", ["tif", "apikey", "provincial", "sm"])
def test_a_day_in_every_dialect(server, dialect):
    srv, admin, creds = server
    person = add_person(admin, f"方{secrets.token_hex(2)}", current="500.00")
    token, psn = person["ec_token"], person["psn_no"]
    hosp, pharm = (SM_HOSPITAL, SM_PHARMACY) if dialect == "sm" else (HOSPITAL, PHARMACY)
    prefix = PREFIX if dialect in ("provincial", "sm") else ""
    with httpx.Client(base_url=srv.url, timeout=60) as http:
        platform_public = creds[hosp].get("platform_sm2_public_key")
        h = Sdk(http, hosp, dialect, creds[hosp], prefix, platform_public)
        p = Sdk(http, pharm, dialect, creds[pharm], prefix, platform_public)
        now = f"{beijing_now():%Y-%m-%d %H:%M:%S}"
        today = f"{beijing_now():%Y-%m-%d}"

        sign = h.call("9001", {"signIn": {"opter_no": "001", "mac": "00-1A-2B-3C-4D-5E", "ip": "192.168.1.20"}})
        who = h.call(
            "1101",
            {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": token, "begntime": "", **null_person_fields()}},
        )
        assert who["baseinfo"]["psn_no"] == psn
        cert = {"mdtrt_cert_type": "01", "mdtrt_cert_no": token, **null_person_fields()}
        reg = {
            "psn_no": psn,
            "insutype": "310",
            "begntime": now,
            "ipt_otp_no": f"MZ{next(_n)}",
            "atddr_no": "null",
            "dr_name": "",
            "dept_code": "01",
            "dept_name": "内科",
            "caty": "A03",
            **cert,
        }
        mdtrt_id = h.call("2201", {"data": reg})["data"]["mdtrt_id"]
        visit = {
            "mdtrt_id": mdtrt_id,
            "psn_no": psn,
            "med_type": "11",
            "begntime": now,
            "main_cond_dscr": "",
            "dise_codg": "",
            "dise_name": "null",
            "birctrl_type": "",
            "birctrl_matn_date": "",
        }
        diag = {
            "diag_type": "1",
            "diag_srt_no": "1",
            "diag_code": "J00",
            "diag_name": "急性鼻咽炎",
            "diag_dept": "内科",
            "dise_dor_no": "D01",
            "dise_dor_name": "张医生",
            "diag_time": now,
            "vali_flag": "1",
        }
        h.call("2203", {"mdtrtinfo": visit, "diseinfo": [diag]}, input_as_text=True)
        line = {
            "feedetl_sn": "1",
            "mdtrt_id": mdtrt_id,
            "psn_no": psn,
            "chrg_bchno": "B1",
            "dise_codg": "",
            "rxno": "",
            "rx_circ_flag": "0",
            "fee_ocur_time": "",
            "med_list_codg": DRUG,
            "medins_list_codg": "YP01",
            "det_item_fee_sumamt": "20.00",
            "cnt": "2",
            "pric": "10.00",
            "sin_dos_dscr": "null",
            "bilg_dept_codg": "01",
            "bilg_dept_name": "内科",
            "bilg_dr_codg": "D01",
            "bilg_dr_name": "张医生",
            "hosp_appr_flag": "1",
            "tcmdrug_used_way": "",
            "etip_flag": "null",
            "memo": "",
        }
        assert h.call("2204", {"feedetail": [line]})["result"][0]["exp_content"] == ""
        setl = {
            "psn_no": psn,
            "med_type": "11",
            "medfee_sumamt": "20.00",
            "psn_setlway": "01",
            "mdtrt_id": mdtrt_id,
            "chrg_bchno": "B1",
            "insutype": "310",
            "acct_used_flag": "1",
            **cert,
        }
        pre = h.call("2206", {"data": setl}, input_as_text=True)["setlinfo"]
        echo = {k: pre[k] for k in ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")}
        done = h.call("2207", {"data": {**setl, **echo, "invono": ""}})["setlinfo"]
        assert isinstance(done["exp_content"], str) and "setl_proc_info" in done["exp_content"]
        assert done["acct_pay"] == pre["acct_pay"] == 20
        undo = h.call("2208", {"data": {"setl_id": done["setl_id"], "mdtrt_id": mdtrt_id, "psn_no": psn}})
        assert undo["setlinfo"]["pdn_cash_pay"] == 0

        p.call("9001", {"signIn": {"opter_no": "002", "mac": "", "ip": "10.0.0.8"}})
        drug = {
            "psn_no": psn,
            "begntime": now,
            "medfee_sumamt": "30.00",
            "insutype": "310",
            "med_type": "41",
            "acct_used_flag": "1",
            "dise_codg": "",
            "dise_name": "",
            **cert,
        }
        detail = {
            "feedetl_sn": "1",
            "rxno": "",
            "rx_circ_flag": "0",
            "fee_ocur_time": "",
            "med_list_codg": DRUG,
            "medins_list_codg": "YP01",
            "det_item_fee_sumamt": "30.00",
            "cnt": "3",
            "pric": "10",
            "bilg_dr_codg": "null",
            "bilg_dr_name": "",
            "exp_content": "",
            "durg_trac_info": [{"feedetl_sn": "1", "drug_trac_codg": "81234567890123456789", "trdn_flag": "0"}],
        }
        trial = p.call("2101", {"druginfo": drug, "drugdetail": [detail]})
        assert trial["detlcutinfo"][0]["hosp_part_amt"] == 0
        sold = p.call("2102", {"druginfo": drug, "drugdetail": [detail]})["setlinfo"]
        p.call("2103", {"data": {"setl_id": sold["setl_id"], "mdtrt_id": sold["mdtrt_id"], "psn_no": psn}})
        lost = f"{pharm}{beijing_now():%Y%m%d%H%M%S}{next(_n) % 10000:04d}"
        p.call("2102", {"druginfo": drug, "drugdetail": [detail]}, msgid=lost)
        p.call("2601", {"data": {"psn_no": psn, "omsgid": lost, "oinfno": "2102"}})
        stmt = {
            "insutype": "310",
            "clr_type": "41",
            "setl_optins": ADMDVS,
            "stmt_begndate": today,
            "stmt_enddate": today,
            "medfee_sumamt": "0.00",
            "fund_pay_sumamt": "0.00",
            "acct_pay": "0.00",
            "fixmedins_setl_cnt": "0",
            "refd_setl_flag": "",
            "fixmedins_refd_setl_flag": "0",
        }
        assert p.call("3201", {"data": stmt})["stmtinfo"]["stmt_rslt"] in ("0", "1", "2")
        cum = p.call("5206", {"data": {"psn_no": psn, "cum_ym": ""}})["cuminfo"]
        assert all(len(r["cum_type_code"]) <= 10 for r in cum)
        out = h.call("9002", {"signOut": {"sign_no": sign["signinoutb"]["sign_no"], "opter_no": "null"}})
        assert set(out) >= {"sign_time"} and "sign_time" in out["sign_time"]

    assert admin.balances(psn) == (50000, 0)  # every settlement of the day was cancelled or reversed
