"""Changes to a visit after the fact: 2306 fee-line memo, 2403 admission changes, 2404 admission
cancel, 2405 discharge cancel, 2406/2407 special attributes (就医特殊属性)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from yibao.errors import refuse
from yibao.services.care import (
    admission,
    has_settlement,
    institution_or_refuse,
    person_or_refuse,
    visit_or_refuse,
    withdraw_admission,
)
from yibao.services.platform import Platform
from yibao.storage.uow import Tx


def note_lines(platform: Platform, tx: Tx, asking: str, rows: list[tuple[str, str, str, str, str | None]]) -> None:
    """2306: (mdtrt_id, psn_no, feedetl_sn, med_list_codg, memo) for each line; all or nothing."""
    for mdtrt_id, psn_no, sn, code, memo in rows:
        inst = institution_or_refuse(tx, asking)
        visit = visit_or_refuse(tx, mdtrt_id, inst, person_or_refuse(tx, psn_no))
        if not tx.records.note_line(visit.id, sn, code, memo):
            raise refuse("E2306-001", detail=f"{mdtrt_id} 流水号{sn} 目录编码{code}")


def change_admission(platform: Platform, tx: Tx, asking: str, info: Mapping[str, Any], diagnoses: list[dict]) -> None:
    """2403: while the stay is open and unsettled, its record and diagnoses are replaced."""
    visit = admission(tx, asking, info["mdtrt_id"], info["psn_no"])
    if visit.status != "open" or has_settlement(tx, visit):
        raise refuse("E2403-001", mdtrt_id=info["mdtrt_id"])
    sent = info["begntime"]
    if (sent if isinstance(sent, datetime) else datetime.combine(sent, visit.begntime.time())) != visit.begntime:
        raise refuse(
            "E2403-002", detail=f"入院时间{info['begntime']}，平台记录{visit.begntime}（须先撤销入院再重新办理）"
        )
    if info["med_type"] != visit.med_type:
        policy = platform.policy(tx, person_or_refuse(tx, info["psn_no"]).admdvs)
        category = policy.value("settlement.med_type_category", visit.begntime.date(), default={}).get(info["med_type"])
        if category != "inpatient":
            raise refuse("E2207-005", med_type=info["med_type"])
    stored = json.loads(visit.info or "{}")
    stored.setdefault("changes", []).append({k: _text(v) for k, v in info.items() if v is not None})
    tx.care.update_visit(
        visit.id,
        med_type=info["med_type"],
        ipt_otp_no=info.get("ipt_otp_no") or visit.ipt_otp_no,
        info=json.dumps(stored, ensure_ascii=False, default=str),
    )
    if diagnoses:
        tx.care.replace_diagnoses(visit.id, "2401", diagnoses, platform.now())


def _text(v: Any) -> Any:
    return f"{v:%Y-%m-%d %H:%M:%S}" if isinstance(v, datetime) else v if isinstance(v, str | int) else str(v)


def cancel_admission(platform: Platform, tx: Tx, asking: str, mdtrt_id: str, psn_no: str) -> None:
    """2404: an open, unsettled stay is withdrawn with its unsettled fee lines."""
    visit = admission(tx, asking, mdtrt_id, psn_no)
    if visit.status == "cancelled":
        raise refuse("E2201-002", mdtrt_id=mdtrt_id)
    if visit.status != "open":
        raise refuse("E2404-001", mdtrt_id=mdtrt_id)
    withdraw_admission(platform, asking, mdtrt_id, psn_no, tx=tx)


def cancel_discharge(platform: Platform, tx: Tx, asking: str, mdtrt_id: str, psn_no: str) -> None:
    """2405: a discharged stay whose final settlement is not (or no longer) in force reopens."""
    visit = admission(tx, asking, mdtrt_id, psn_no)
    if visit.status != "discharged":
        raise refuse("E2405-001", mdtrt_id=mdtrt_id)
    if has_settlement(tx, visit) and any(
        not s.mid_setl for s in tx.care.settlements_of_visit(visit.id) if s.status == "settled"
    ):
        raise refuse("E2405-002", mdtrt_id=mdtrt_id)
    tx.care.update_visit(visit.id, status="open", endtime=None)


def add_flag(
    platform: Platform, tx: Tx, asking: str, mdtrt_id: str, psn_no: str, flag_type: str, flag: str, memo
) -> int:
    inst = institution_or_refuse(tx, asking)
    visit = visit_or_refuse(tx, mdtrt_id, inst, person_or_refuse(tx, psn_no))
    if visit.status == "cancelled":
        raise refuse("E2201-002", mdtrt_id=mdtrt_id)
    if any(f["flag_type"] == flag_type and f["flag"] == flag for f in tx.records.flags(asking, visit_id=visit.id)):
        raise refuse("E2406-001", detail=f"{flag_type}={flag}")
    return tx.records.add_flag(
        visit_id=visit.id, institution_code=asking, flag_type=flag_type, flag=flag, memo=memo, created_at=platform.now()
    )
