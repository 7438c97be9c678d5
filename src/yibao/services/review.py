"""Review before and during care (3101/3102), the institution's feedback (3103), and the same rules
at settlement: a line outside its item's restricted use is settled as 自费, and the explanation
names the rule, its source and the amount (``rules.review``)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import NamedTuple

from yibao.care.model import Visit
from yibao.errors import refuse
from yibao.lifecycle.model import Person, age_on
from yibao.rules.review import Finding, Line, Patient, review, ruleset
from yibao.services.care import institution_or_refuse
from yibao.services.platform import Platform
from yibao.settlement.model import ITEM_SELF_PAY, FeeLine, Settlement
from yibao.storage.uow import Tx


def patient_of(person: Person | None, gender: str | None, birth: date | None, day: date) -> Patient:
    sex = (person.gender if person else gender) or None
    born = person.birth if person else birth
    return Patient(sex, age_on(born, day) if born else None)


def run_review(tx: Tx, lines: Sequence[Line], patient: Patient, setting: str, diagnoses, rule_ids=()) -> list[Finding]:
    cache: dict = {}

    def catalogue(code: str):
        if code not in cache:
            cache[code] = tx.care.catalog([code]).get(code)
        return cache[code]

    return review(lines, patient, setting, diagnoses, catalogue, rule_ids=rule_ids)


def keep_results(
    platform: Platform, tx: Tx, asking: str, infno: str, patn_id: str, findings: list[Finding], mdtrt_id
) -> list:
    """Store each finding under a result id (jr_id) the institution's 3103 feedback names."""
    institution_or_refuse(tx, asking)
    out = []
    for f in findings:
        jr_id = f"JR{secrets.token_hex(12)}"
        tx.reference.add_review_result(
            jr_id=jr_id,
            institution_code=asking,
            infno=infno,
            rule_id=f.rule.id,
            patn_id=patn_id,
            mdtrt_id=mdtrt_id,
            ref=f.line.ref,
            content=f.content,
            amount=f.amount,
            created_at=platform.now(),
        )
        out.append((jr_id, f))
    return out


class Disposal(NamedTuple):
    """One answer of a 3103 feedback, under its row's column names: the result it answers (jr_id),
    ``dspo_way`` 1 继续执行医嘱 (with a reason) or 2 返回修改医嘱, and the reason."""

    jr_id: str
    dspo_way: str
    reason: str | None


def feedback(platform: Platform, tx: Tx, asking: str, warn_type: str, warns: list[Disposal]) -> None:
    """3103: for each result this institution received, continue (with a reason) or change the order."""
    institution_or_refuse(tx, asking)
    for w in warns:
        result = tx.reference.review_result(w.jr_id)
        if result is None or result["institution_code"] != asking:
            raise refuse("E3103-001", jr_id=w.jr_id)
        if w.dspo_way == "1" and not w.reason:
            raise refuse("E3103-002", jr_id=w.jr_id)
        if tx.reference.review_feedback_of(w.jr_id) is not None:
            raise refuse("E3103-003", jr_id=w.jr_id)
        tx.reference.add_review_feedback(
            **w._asdict(), institution_code=asking, warn_type=warn_type, created_at=platform.now()
        )


# At settlement ----------------------------------------------------------------------------------------


def review_claim(tx: Tx, person: Person, visit: Visit | None, category: str, lines: list[FeeLine], day: date):
    """The claim's lines with those a rule moves to 自费 replaced, and the words for the explanation."""
    diagnoses = [d["diag_code"] for d in tx.care.diagnoses_of(visit.id)] if visit is not None else []
    patient = patient_of(person, None, None, day)
    checked = [Line(x.sn, x.item.code, x.item.name, x.price, x.count, x.amount, day) for x in lines]
    findings = [f for f in run_review(tx, checked, patient, category, diagnoses) if f.to_ownpay]
    if not findings:
        return lines, ()
    moved = {f.line.ref for f in findings}
    out = [replace(x, item=replace(x.item, chrgitm_lv=ITEM_SELF_PAY)) if x.sn in moved else x for x in lines]
    version = ruleset()[0]
    words = tuple(
        f"审核规则{f.rule.id}（{f.rule.name}，{version}）：明细{f.line.ref} {f.content}，"
        f"{f.amount / 100:.2f}元按自费结算。"
        for f in findings
    )
    return out, words


def explained(result: Settlement, words: tuple[str, ...]) -> Settlement:
    return replace(result, steps=(*result.steps, *words)) if words else result


def person_named(tx: Tx, psn_no: str) -> Person | None:
    """The patient a 3101/3102 names (``patn_id``) when the platform knows them; None: the review
    goes by the gender and birth date the HIS sent (``patient_of``)."""
    return tx.people.by_psn_no(psn_no)
