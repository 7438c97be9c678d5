"""Settlement lists (医疗保障基金结算清单, 4101–4105) and departments (3401–3403, 5101).

A list belongs to one settlement of the institution that uploads it: the patient, the visit and
the fund's pays by type must be the platform's (refused otherwise); the published quality rules
(``rules/setl_list_qc.yaml``) run on every upload and their findings are kept for 4104. A list
``已提交`` (stas_type 1) cannot be replaced until 4102 sets it back to ``未提交`` (0).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from yibao.care.ids import visit_public_id
from yibao.care.model import Department, SettlementList, SettlementRow
from yibao.errors import refuse
from yibao.lifecycle.model import Person
from yibao.nhsa.answer import dates_as_text
from yibao.rules.setl_list_qc import Context, check, ruleset
from yibao.services.care import institution_or_refuse, person_or_refuse
from yibao.services.platform import Platform
from yibao.services.settle import settlement_or_refuse, view_of
from yibao.storage.uow import Tx

LIST_CATEGORIES = ("inpatient", "chronic")  # the settlements a list is owed for (住院、门诊慢特病)
SUBMITTED, DRAFT = "1", "0"


@dataclass(frozen=True)
class Owned:
    person: Person
    row: SettlementRow
    mdtrt_id: str


def own_settlement(tx: Tx, asking: str, psn_no: str, setl_id: str, mdtrt_id: str | None = None) -> Owned:
    """A settlement this institution made for this patient (and visit, when named)."""
    institution_or_refuse(tx, asking)
    person = person_or_refuse(tx, psn_no)
    row = settlement_or_refuse(tx, setl_id)
    visit_id = visit_public_id(person.admdvs, row.visit_id)
    if row.institution_code != asking or row.person_id != person.id or (mdtrt_id and mdtrt_id != visit_id):
        raise refuse("E2208-003", setl_id=setl_id)
    return Owned(person, row, visit_id)


def fund_pays(tx: Tx, row: SettlementRow) -> dict[str, int]:
    """The settlement's fund pays by fund_pay_type (fen), as its setldetail lists them."""
    view = view_of(tx, row)
    out: dict[str, int] = {}
    pooled = {"310": "310100", "390": "390100"}.get(row.insutype, "310100")
    if view.result.fund_pay:
        out[pooled] = view.result.fund_pay
    return out


def upload_list(platform: Platform, tx: Tx, asking: str, nodes: Mapping[str, Any], stas_type: str | None) -> int:
    """4101: keep the list (replacing an unsubmitted one) with its quality-control findings."""
    info = nodes["setlinfo"]
    owned = own_settlement(tx, asking, info["psn_no"], info["setl_id"], info["mdtrt_id"])
    if owned.row.status != "settled":
        raise refuse("E4101-001", setl_id=info["setl_id"])
    existing = tx.lists.by_settlement(owned.row.id, lock=True)
    if existing is not None and existing.status == SUBMITTED:
        raise refuse("E4101-002", setl_id=info["setl_id"])
    pays = fund_pays(tx, owned.row)
    sent: dict[str, int] = {}
    for r in nodes.get("payinfo") or []:
        sent[r["fund_pay_type"]] = sent.get(r["fund_pay_type"], 0) + r["fund_payamt"]
    if sent and {k: v for k, v in sent.items() if v} != pays:
        theirs = "、".join(f"{k} {v / 100:.2f}元" for k, v in sorted(sent.items()))
        ours = "、".join(f"{k} {v / 100:.2f}元" for k, v in sorted(pays.items())) or "无"
        raise refuse("E4101-003", detail=f"清单{theirs}，平台结算{ours}")
    version, _ = ruleset()
    findings = check(nodes, _context(tx, owned, info))
    now = platform.now()
    return tx.lists.put(
        existing,
        settlement_id=owned.row.id,
        institution_code=asking,
        person_id=owned.person.id,
        status=stas_type or DRAFT,
        record=_jsonable(nodes),
        qc=findings,
        qc_version=version,
        created_at=now,
        updated_at=now,
    )


def _context(tx: Tx, owned: Owned, info: Mapping[str, Any]) -> Context:
    visit = tx.care.visit(owned.row.visit_id)
    born = owned.person.birth
    start = info.get("adm_time") or (visit.begntime.date() if visit else None)
    start = start.date() if isinstance(start, datetime) else start
    age_days = (start - born).days if isinstance(start, date) and born else None

    def in_catalogue(list_type: str, code: str) -> bool | None:
        if tx.reference.latest_version(list_type) == 0:
            return None
        entry = tx.reference.newest_entries([code]).get(code)
        return entry is not None and entry.list_type == list_type and entry.vali_flag == "1"

    return Context(age_days, in_catalogue)


def _jsonable(value: Any) -> Any:
    """A list as kept: national date texts, empty keys left out, other values as JSON scalars or text."""
    return dates_as_text(value, lambda v: v if isinstance(v, str | int | bool) else str(v), drop_none=True)


def change_status(platform: Platform, tx: Tx, asking: str, rows: list[tuple[str, str, str]]) -> None:
    """4102: each (psn_no, setl_id, stas_type); all or nothing."""
    for psn_no, setl_id, status in rows:
        if status not in (DRAFT, SUBMITTED):
            raise refuse("E4101-004", detail=f"stas_type={status}（0 未提交、1 已提交）")
        owned = own_settlement(tx, asking, psn_no, setl_id)
        existing = tx.lists.by_settlement(owned.row.id, lock=True)
        if existing is None:
            raise refuse("E4101-005", setl_id=setl_id)
        tx.lists.set_status(existing.id, status, platform.now())


def list_of(tx: Tx, asking: str, psn_no: str, setl_id: str) -> tuple[Owned, SettlementList]:
    owned = own_settlement(tx, asking, psn_no, setl_id)
    existing = tx.lists.by_settlement(owned.row.id)
    if existing is None:
        raise refuse("E4101-005", setl_id=setl_id)
    return owned, existing


def month_bounds(ym: str) -> tuple[datetime, datetime]:
    if len(ym) != 6 or not ym.isdigit() or not 1 <= int(ym[4:]) <= 12 or not 1900 <= int(ym[:4]) <= 2199:
        raise refuse("E4101-004", detail=f"setl_ym={ym}（yyyyMM）")
    start = datetime(int(ym[:4]), int(ym[4:]), 1)
    stop = datetime(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return start, stop


def quality_results(tx: Tx, asking: str, ym: str) -> list[tuple[SettlementList, datetime]]:
    institution_or_refuse(tx, asking)
    start, stop = month_bounds(ym)
    return tx.lists.of_institution(asking, start, stop)


def counts(tx: Tx, asking: str, begin: date, end: date, refunds: bool) -> tuple[int, int]:
    institution_or_refuse(tx, asking)
    if end < begin:
        raise refuse("E4101-004", detail=f"统计结束日期{end}早于开始日期{begin}")
    start, stop = datetime.combine(begin, time.min), datetime.combine(end + timedelta(days=1), time.min)
    return tx.lists.list_counts(asking, LIST_CATEGORIES, start, stop, refunds)


# Departments (3401–3403, 5101) --------------------------------------------------------------------


def add_department(platform: Platform, tx: Tx, asking: str, info: Mapping[str, Any]) -> None:
    institution_or_refuse(tx, asking)
    if tx.lists.department(asking, info["hosp_dept_codg"]) is not None:
        raise refuse("E3401-001", code=info["hosp_dept_codg"])
    _check_period(info)
    now = platform.now()
    tx.lists.add_department(
        institution_code=asking,
        code=info["hosp_dept_codg"],
        name=info["hosp_dept_name"],
        caty=info["caty"],
        begntime=info["begntime"],
        endtime=info.get("endtime"),
        info=_jsonable(info),
        created_at=now,
        updated_at=now,
    )


def _check_period(info: Mapping[str, Any]) -> None:
    if info.get("endtime") is not None and info["endtime"] < info["begntime"]:
        raise refuse("E3401-003", detail=f"结束日期{info['endtime']}早于开始日期{info['begntime']}")


def change_department(platform: Platform, tx: Tx, asking: str, info: Mapping[str, Any]) -> None:
    institution_or_refuse(tx, asking)
    dept = tx.lists.department(asking, info["hosp_dept_codg"], lock=True)
    if dept is None:
        raise refuse("E3401-002", code=info["hosp_dept_codg"])
    _check_period(info)
    tx.lists.update_department(
        dept.id,
        name=info["hosp_dept_name"],
        caty=info["caty"],
        begntime=info["begntime"],
        endtime=info.get("endtime"),
        info=_jsonable(info),
        updated_at=platform.now(),
    )


def cancel_department(platform: Platform, tx: Tx, asking: str, code: str, name: str, begntime: date) -> None:
    institution_or_refuse(tx, asking)
    dept = tx.lists.department(asking, code, lock=True)
    if dept is None or dept.name != name or dept.begntime != begntime:
        raise refuse("E3401-002", code=code)
    tx.lists.update_department(dept.id, cancelled_at=platform.now(), updated_at=platform.now())


def departments(tx: Tx, asking: str) -> list[Department]:
    institution_or_refuse(tx, asking)
    return tx.lists.departments_of(asking)


def record_json(lst: SettlementList) -> str:
    return json.dumps(lst.record, ensure_ascii=False)
