"""The daily transactions answer the same in every dialect (issue 13): API key, TIF, the provincial
HMAC gateway and the SM2/SM4 variant, through the ASGI app in production mode — a dictionary query,
a filing, a stock purchase, and a file round trip (9101 up; 9102 down as bytes, or inside the
sealed JSON answer for an SM institution)."""

from __future__ import annotations

import base64
import io
import zipfile

import pytest
import simplejson

from conftest import START
from http_world import tif_headers
from recipes_13 import ITEM, zipped
from support import ADMDVS, PHARMACY
from test_dialects import World
from yibao.nhsa import dialects
from yibao.nhsa.envelope import new_msgid, parse_body, request_envelope
from yibao.services.gateway_access import issue_credentials

DIALECTS = ("api_key", "tif", "provincial", "sm")


def headers(w: World, dialect: str, infno: str) -> dict[str, str]:
    c = w.cred[PHARMACY]
    if dialect == "api_key":
        return {"x-api-key": c["api_key"], "content-type": "application/json"}
    if dialect == "tif":
        stamp = w.stamp_ms() // 1000  # the platform's clock
        return {**tif_headers(c["tif_paasid"], c["tif_token"], stamp=stamp), "content-type": "application/json"}
    return w.signed(PHARMACY, infno)


def call(w: World, dialect: str, infno: str, inp: dict):
    w.n += 1
    env = request_envelope(
        infno, inp, institution=PHARMACY, admdvs=ADMDVS, now=w.p.now(), msgid=new_msgid(PHARMACY, START, w.n)
    )
    c = w.cred[PHARMACY]
    if dialect == "sm":
        env = dialects.seal(env, "input", c["sm4_key"], c["sm2_private_key"], c["sm2_public_key"])
    r = w.client.post(
        "/fsi/api/rsfComIfsService/callService",
        content=simplejson.dumps(env).encode(),
        headers=headers(w, dialect, infno),
    )
    if r.headers["content-type"] == "application/octet-stream":
        return r.content
    answer = parse_body(r.content)
    assert answer["infcode"] == 0, (dialect, infno, answer["err_msg"])
    if dialect == "sm":
        return dialects.unseal(answer, "output", c["sm4_key"], c["platform_sm2_public_key"])
    return answer["output"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_daily_transactions_in_every_dialect(dialect):
    w = World()
    try:
        if dialect == "sm":
            w.cred[PHARMACY] = issue_credentials(w.p, PHARMACY, variant="sm", sign_in="optional")
        rows = call(w, dialect, "1901", {"data": {"type": "insutype", "parent_value": "0", "admdvs": ADMDVS,
                                                   "date": "2025-06-01", "Vali_Flag": "1"}})["list"]  # fmt: skip
        assert {"310", "390"} <= {r["value"] for r in rows}
        son = w.son()
        check = {"psn_no": son.psn_no, "insutype": "310", "fixmedins_code": PHARMACY, "med_type": "41"}
        assert call(w, dialect, "2001", {"data": {**check, "begntime": "2025-06-01 10:00:00"}})["trtinfo"]
        purchase = {
            **ITEM,
            "fixmedins_bchno": "B1",
            "spler_name": "某医药公司",
            "manu_lotnum": "L1",
            "prodentp_name": "厂",
        }
        purchase.update(aprvno="国药准字H1", manu_date="2025-01-01", expy_end="2027-01-01", purc_retn_cnt="5")
        purchase.update(rx_flag="1", purc_retn_stoin_time="2025-06-01", purc_retn_opter_name="王五")
        call(w, dialect, "3503", {"purcinfo": purchase})
        up = call(w, dialect, "9101", {"fsUploadIn": {"in": zipped([["a", "b"]]), "filename": "x.zip",
                                                       "fixmedins_code": PHARMACY}})  # fmt: skip
        names = {"file_qury_no": up["file_qury_no"], "filename": "x.zip", "fixmedins_code": PHARMACY}
        got = call(w, dialect, "9102", {"fsDownloadIn": names})
        content = base64.b64decode(got["file"]) if isinstance(got, dict) else got  # sealed JSON or bytes
        assert zipfile.ZipFile(io.BytesIO(content)).read("detail.txt") == b"a\tb\n"
    finally:
        w.store.dispose()
