"""A hospital's HIS in the 就医地 settling a patient insured in another region (issue 15).

    python examples/cross_region_his.py --insured http://127.0.0.1:8081 --care http://127.0.0.1:8082

Both servers run ``yibao serve --region … --sandbox --nats …`` (README, 多个统筹区). The patient is
found in the 参保地's admin API (the demo family's son); then, at the 就医地's gateway only, as a
hospital's HIS would: 1101 (the 就医地 asks the 参保地), 2201, 2204, 2206 (the 参保地 computes),
2207 (the 参保地 reserves, the 就医地 books, the 参保地 posts). Prints what each side shows.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from decimal import Decimal

import httpx

from yibao.nhsa.envelope import new_msgid, request_envelope

GATEWAY = "/fsi/api/rsfComIfsService/callService"
LINES = [("XJ01CAA0001", "320.00", "4"), ("XB02BAA0002", "150.00", "3"), ("ZZ0000000003", "80.00", "1")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--insured", default="http://127.0.0.1:8081", help="参保地 server")
    ap.add_argument("--care", default="http://127.0.0.1:8082", help="就医地 server (the HIS talks only to it)")
    ap.add_argument("--token", default="sandbox", help="admin token of the 参保地 (sandbox: 'sandbox')")
    args = ap.parse_args()
    admin = {"Authorization": f"Bearer {args.token}"}
    people = httpx.get(f"{args.insured}/api/v1/people", params={"limit": 50}, headers=admin, timeout=10).json()
    who = next(x for x in people if any(i["insutype"] == "310" for i in x["insurances"]))
    insured = who["admdvs"]
    care = httpx.get(f"{args.care}/healthz", timeout=10).json().get("region")
    hospital = f"H{care}00003"
    serial = [0]

    def his(infno: str, inp: dict) -> dict:
        serial[0] += 1
        now = datetime.now().replace(microsecond=0)
        env = request_envelope(
            infno, inp, institution=hospital, admdvs=care, now=now, msgid=new_msgid(hospital, now, serial[0])
        )
        env["insuplc_admdvs"] = insured  # the patient's insured region, as the card says
        answer = httpx.post(args.care + GATEWAY, json=env, timeout=30).json()
        if answer["infcode"] != 0:
            raise SystemExit(f"{infno}: {answer['err_msg']}")
        return answer["output"]

    info = his("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": who["certno"]}})
    print(
        f"1101 {info['baseinfo']['psn_name']} 参保地 {insured}，"
        f"账户余额 {info['insuinfo'][0]['balc']} 元（由参保地提供）"
    )
    reg = {
        "psn_no": who["psn_no"],
        "insutype": "310",
        "begntime": f"{datetime.now():%Y-%m-%d %H:%M:%S}",
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": who["certno"],
        "ipt_otp_no": f"MZ{datetime.now():%H%M%S}",
        "dept_name": "内科",
        "caty": "03",
    }
    mdtrt_id = his("2201", {"data": reg})["data"]["mdtrt_id"]
    his(
        "2204",
        {
            "feedetail": [
                {
                    "feedetl_sn": str(i),
                    "mdtrt_id": mdtrt_id,
                    "psn_no": who["psn_no"],
                    "chrg_bchno": "B1",
                    "med_list_codg": code,
                    "det_item_fee_sumamt": amount,
                    "cnt": count,
                    "pric": str(Decimal(amount) / Decimal(count)),
                }
                for i, (code, amount, count) in enumerate(LINES, 1)
            ]
        },
    )
    data = {
        "psn_no": who["psn_no"],
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": who["certno"],
        "med_type": "11",
        "medfee_sumamt": str(sum(Decimal(a) for _, a, _ in LINES)),
        "psn_setlway": "01",
        "mdtrt_id": mdtrt_id,
        "chrg_bchno": "B1",
        "insutype": "310",
        "acct_used_flag": "1",
    }
    quote = his("2206", {"data": data})["setlinfo"]
    print(
        f"2206 预结算：统筹 {quote['hifp_pay']} 元，个人账户 {quote['acct_pay']} 元，共济 {quote['acct_mulaid_pay']} 元"
    )
    setl = his("2207", {"data": data})["setlinfo"]
    print(
        f"2207 结算 {setl['setl_id']}：统筹 {setl['hifp_pay']} 元，个人账户 {setl['acct_pay']} 元，"
        f"家庭共济 {setl['acct_mulaid_pay']} 元，现金 {setl['psn_cash_pay']} 元"
    )
    balance = httpx.get(f"{args.insured}/api/v1/people/{who['psn_no']}/accounts", headers=admin, timeout=10).json()
    print(f"参保地账户：{balance}")


if __name__ == "__main__":
    main()
