"""【1101】人员信息获取: who the patient is and what insurance they hold."""

from __future__ import annotations

from yibao.errors import refuse
from yibao.gateway.dispatcher import Call, transaction
from yibao.gateway.inputs import PersonQuery, read
from yibao.gateway.output import age, money
from yibao.ledger.model import person_bucket
from yibao.services.identity import resolve_credential
from yibao.services.platform import Platform


@transaction("1101", "人员信息获取", writes=False)
def person_info(p: Platform, call: Call, tx) -> dict:
    q = read(PersonQuery, call.node("data"), "data")
    if q.mdtrt_cert_type == "03" and not q.card_sn:
        raise refuse("E0000-008", detail="data.card_sn：就诊凭证类型为03时必填")
    now = p.now()
    day = (q.begntime or now).date()
    person = resolve_credential(tx, now, q.mdtrt_cert_type, q.mdtrt_cert_no, q.card_sn)
    if q.certno and q.certno != person.certno:
        raise refuse("E1101-006")
    insurances = tx.people.insurances(person.id)
    codes = [person_bucket(person.psn_no, b) for b in ("current", "historical")]
    balance = sum(tx.ledger.balances(codes).values())
    return {
        "baseinfo": {
            "psn_no": person.psn_no,
            "psn_cert_type": person.psn_cert_type,
            "certno": person.certno,
            "psn_name": person.name,
            "gend": person.gender,
            "naty": person.naty,
            "brdy": person.birth.isoformat(),
            "age": age(person.birth, day),
            "exp_content": "",
        },
        "insuinfo": [
            {
                "balc": money(balance if i.insutype == "310" else 0),
                "insutype": i.insutype,
                "psn_type": i.psn_type,
                "psn_insu_stas": i.status_on(day),
                "psn_insu_date": i.begin.isoformat(),
                "paus_insu_date": (i.suspended_from or i.end).isoformat() if (i.suspended_from or i.end) else "",
                "cvlserv_flag": "0",
                "insuplc_admdvs": person.admdvs,
                "emp_name": i.emp_name or "",
            }
            for i in insurances
        ],
        "idetinfo": [],
    }
