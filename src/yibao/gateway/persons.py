"""【1101】人员信息获取: who the patient is and what insurance they hold."""

from __future__ import annotations

from datetime import date

from yibao.errors import DomainError, refuse
from yibao.gateway.registry import Call, transaction
from yibao.lifecycle.model import EMPLOYEE
from yibao.nhsa.output import age, money
from yibao.nhsa.reader import check_same
from yibao.services import crossregion, views
from yibao.services.identity import CERT_ID, resolve_credential
from yibao.services.platform import Platform


@transaction("1101", "人员信息获取", writes=False, filled=("data.psn_cert_type", "data.certno", "data.psn_name"))
def person_info(p: Platform, call: Call, tx) -> dict:
    q = call.read("data")
    if q.mdtrt_cert_type == "03" and not q.card_sn:
        raise refuse("E0000-008", detail="data.card_sn：就诊凭证类型为03时必填")
    now = p.now()
    day = (q.begntime or now).date()
    insured = call.envelope.get("insuplc_admdvs") if isinstance(call.envelope, dict) else None
    try:
        person = resolve_credential(tx, now, q.mdtrt_cert_type, q.mdtrt_cert_no, q.card_sn)
    except DomainError as exc:  # another region's insured, not seen here before: asked of the 参保地
        if exc.code != "E1101-001" or q.mdtrt_cert_type != CERT_ID or not crossregion.settles_for(p, insured):
            raise
        return _across(crossregion.fetch_guest(p, insured, certno=q.mdtrt_cert_no), day, insured)
    if crossregion.is_cross(p, tx, person):  # the 参保地's data are the truth (balances, filing)
        return _across(crossregion.fetch_guest(p, person.admdvs, psn_no=person.psn_no), day, person.admdvs)
    if q.certno and q.certno != person.certno:
        raise refuse("E1101-006")
    check_same("data.psn_cert_type", "人员证件类型", q.psn_cert_type, person.psn_cert_type, "E1101-008")
    check_same("data.psn_name", "人员姓名", q.psn_name, person.name, "E1101-008")
    insurances = views.insurances_of(tx, person)
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


def _across(a: dict, day, insured: str) -> dict:
    """1101 answered from the 参保地's answer (``services.crossregion.person_entitlement``)."""
    balance = sum(a["balances"].values()) if a.get("balances") else 0
    return {
        "baseinfo": {
            "psn_no": a["psn_no"],
            "psn_cert_type": a["psn_cert_type"],
            "certno": a["certno"],
            "psn_name": a["name"],
            "gend": a["gender"],
            "naty": a["naty"],
            "brdy": a["birth"],
            "age": age(date.fromisoformat(a["birth"]), day),
        },
        "insuinfo": [
            {
                "balc": money(balance if a["insutype"] == "310" else 0),
                "insutype": a["insutype"],
                "psn_type": a["psn_type"],
                "psn_insu_stas": "1",
                "psn_insu_date": a["insured_from"],
                "paus_insu_date": a.get("insured_to"),
                "cvlserv_flag": "0",
                "insuplc_admdvs": insured,
                "emp_name": a.get("emp_name"),
            }
        ],
        "idetinfo": [],
    }
