"""What the settlement transactions (21xx, 22xx, 23xx) share: the patient cross-check, the request
every settlement input carries under the same national names, the fee-line audit fields, and the
negated answer a cancellation gives."""

from __future__ import annotations

from typing import Any

from yibao.errors import DomainError, refuse
from yibao.gateway.registry import Call
from yibao.nhsa.output import settlement_output
from yibao.nhsa.reader import Row, check_same
from yibao.services.care import AUDIT_COLUMNS, FeeInput, institution_or_refuse, insurance_on, person_or_refuse
from yibao.services.identity import PasswordEarly, password_early
from yibao.services.platform import Platform
from yibao.services.settle import DECLARED, SettleRequest, cancel_settlement

# Who the patient is, as the HIS sends it: filled from the person's record when absent, refused when
# it disagrees (a wrong patient is worse than a refusal).
PERSON = ("psn_cert_type", "certno", "psn_name", "psn_type")
REGIONS = ("insuplc_admdvs", "mdtrtarea_admvs")
LINE_AUDIT = AUDIT_COLUMNS  # what else the HIS sends for a line, kept for audit (services.care)


def person_fields(node: str) -> tuple[str, ...]:
    return tuple(f"{node}.{f}" for f in (*PERSON, "cert_type"))


def check_person(p: Platform, call: Call, tx, row: Row, *, psn_no: str | None = None, day=None) -> None:
    """``psn_cert_type``/``cert_type``, ``certno``, ``psn_name``, ``psn_type`` and the two regions, when
    sent, must be the platform's record of the patient named by ``psn_no`` (and of the institution)."""
    sent = {k: row.get(k) for k in (*PERSON, "cert_type", *REGIONS) if row.get(k) is not None}
    if not sent:
        return
    person = person_or_refuse(tx, psn_no or row.psn_no)
    where = row.where
    for name, label, ours in (
        ("psn_cert_type", "人员证件类型", person.psn_cert_type),
        ("cert_type", "证件类型", person.psn_cert_type),
        ("certno", "证件号码", person.certno),
        ("psn_name", "人员姓名", person.name),
    ):
        check_same(f"{where}.{name}", label, sent.get(name), ours, "E1101-008")
    if "psn_type" in sent and row.get("insutype"):
        day = day or p.now().date()
        try:
            psn_type = insurance_on(tx, person, row.insutype, day).psn_type
        except DomainError:  # no insurance of that type that day: the service refuses it with its reason
            psn_type = None
        check_same(f"{where}.psn_type", "人员类别", sent["psn_type"], psn_type, "E1101-008")
    check_same(f"{where}.insuplc_admdvs", "参保地医保区划", sent.get("insuplc_admdvs"), person.admdvs)
    if "mdtrtarea_admvs" in sent:
        inst = institution_or_refuse(tx, call.institution)
        check_same(f"{where}.mdtrtarea_admvs", "就医地医保区划", sent["mdtrtarea_admvs"], inst.admdvs)


def settle_request(call: Call, node: Row, *, check_password: bool, **specific: Any) -> SettleRequest:
    """``psn_no``, ``insutype``, ``medfee_sumamt``, ``acct_used_flag`` and the 就诊凭证, plus what the
    transaction adds (``med_type``, ``mdtrt_id``, ``chrg_bchno``, inline lines, ``mid_setl_flag``)."""
    setlway = node.get("psn_setlway", "01")
    if setlway != "01":
        raise refuse("E2207-011", detail=f"psn_setlway={setlway}，本平台按项目结算（01）")
    flag = node.get("acct_used_flag", "0")
    return SettleRequest(
        institution=call.institution,
        psn_no=node.psn_no,
        insutype=node.insutype,
        medfee_sumamt=node.medfee_sumamt,
        acct_used=flag in ("1", "2"),
        family_only=flag == "2",
        cert_type=node.mdtrt_cert_type,
        cert_no=node.mdtrt_cert_no,
        infno=call.infno,
        msgid=call.msgid,
        cainfo=call.cainfo,
        check_password=check_password,
        declared=tuple((k, node.get(k)) for k in DECLARED if node.get(k) is not None),
        info=node.record(),
        password_early=call.early if check_password else None,
        **specific,
    )


def password_ahead(p: Platform, call: Call) -> PasswordEarly | None:
    """``Transaction.ahead`` of a settlement: a password sent for an account to pay is decrypted, and
    its hash checked, before the settlement's unit of work opens (``identity.PasswordEarly``). From
    the input as sent: the settlement reads and checks it again and uses this only for the same
    patient and the same stored hash."""
    if not call.cainfo:
        return None
    for node in call.input.values():
        if isinstance(node, dict) and str(node.get("acct_used_flag")) in ("1", "2"):
            psn_no = node.get("psn_no")
            if isinstance(psn_no, str) and 0 < len(psn_no) <= 30:
                return password_early(p, psn_no, call.cainfo)
    return None


def fee_input(x: Row, **override: Any) -> FeeInput:
    """One fee line (2204/2301 ``feedetail``, 2101/2102 ``drugdetail``) with what it carries for audit."""
    info = {k: v for k, v in x.record().items() if k not in LINE_AUDIT and k != "durg_trac_info"}
    trace = [{"drug_trac_codg": t.drug_trac_codg, "trdn_flag": t.trdn_flag} for t in (x.get("durg_trac_info") or [])]
    values = dict(
        sn=x.feedetl_sn,
        code=x.med_list_codg,
        amount=x.det_item_fee_sumamt,
        price=x.pric,
        count=x.cnt,
        medins_code=x.medins_list_codg,
        chrg_bchno=x.get("chrg_bchno"),
        fee_ocur_time=x.fee_ocur_time,
        init_sn=x.get("init_feedetl_sn"),
        audit={**{k: x.get(k) for k in LINE_AUDIT}, "info": info, "trace": trace},
    )
    values.update(override)
    return FeeInput(**values)


def diagnosis_rows(rows: list[Row]) -> list[dict]:
    keys = (
        "diag_type",
        "diag_srt_no",
        "diag_code",
        "diag_name",
        "diag_dept",
        "dise_dor_no",
        "dise_dor_name",
        "diag_time",
        "vali_flag",
        "maindiag_flag",
        "adm_cond",
    )
    return [{k: r.get(k) for k in keys} for r in rows]


def cancel_answer(p: Platform, call: Call, tx, d: Row, *, with_lines: bool = False) -> dict:
    view = cancel_settlement(
        p,
        institution=call.institution,
        setl_id=d.setl_id,
        mdtrt_id=d.get("mdtrt_id"),
        psn_no=d.psn_no,
        infno=call.infno,
        tx=tx,
    )
    return settlement_output(view, with_lines=with_lines)
