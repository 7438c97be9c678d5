"""【1101】人员信息获取: who the patient is and what insurance they hold."""

from __future__ import annotations

from yibao.errors import refuse
from yibao.gateway.registry import Call, transaction
from yibao.lifecycle.model import EMPLOYEE
from yibao.nhsa.output import age, money
from yibao.nhsa.reader import check_same
from yibao.services import views
from yibao.services.identity import resolve_credential
from yibao.services.platform import Platform


@transaction("1101", "人员信息获取", writes=False, filled=("data.psn_cert_type", "data.certno", "data.psn_name"))
def person_info(p: Platform, call: Call, tx) -> dict:
    q = call.read("data")
    if q.mdtrt_cert_type == "03" and not q.card_sn:
        raise refuse("E0000-008", detail="data.card_sn：就诊凭证类型为03时必填")
    now = p.now()
    day = (q.begntime or now).date()
    person = resolve_credential(tx, now, q.mdtrt_cert_type, q.mdtrt_cert_no, q.card_sn)
    if q.certno and q.certno != person.certno:
        raise refuse("E1101-006")
    check_same("data.psn_cert_type", "人员证件类型", q.psn_cert_type, person.psn_cert_type, "E1101-008")
    check_same("data.psn_name", "人员姓名", q.psn_name, person.name, "E1101-008")
    insurances = tx.people.insurances(person.id)
    account = views.account_of(tx, person.psn_no)
    balance = account.total if account else 0
    return {
        "baseinfo": {
            "psn_no": person.psn_no,
            "psn_cert_type": person.psn_cert_type,
            "certno": person.certno,
            "psn_name": person.name,
            "gend": person.gender,
            "naty": person.naty,
            "brdy": person.birth,
            "age": age(person.birth, day),
        },
        "insuinfo": [
            {
                "balc": money(balance if i.insutype == EMPLOYEE else 0),
                "insutype": i.insutype,
                "psn_type": i.psn_type,
                "psn_insu_stas": i.status_on(day),
                "psn_insu_date": i.begin,
                "paus_insu_date": i.suspended_from or i.end,
                "cvlserv_flag": "0",
                "insuplc_admdvs": person.admdvs,
                "emp_name": i.emp_name,
            }
            for i in insurances
        ],
        "idetinfo": [],
    }
