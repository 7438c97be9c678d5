"""Pay first, claim back (手工报销) at the 参保地 (issue 15 phase 2).

Where direct settlement was not possible (an unfiled visit, an emergency outside the network, a
hospital not connected) the patient paid the institution in full and files the receipts here —
from the portal or through an operator at the console. The claim carries the receipts' fee lines
as the institution classed them; the 参保地 runs **the same calculation** as a direct settlement
(``crossregion._calculate``: its policy, the person's accumulators, the off-site rule for the case —
急诊抢救 counts as filed), moves the accumulators exactly as a direct settlement would, and pays
the fund's share to the person (``F:<I>:<fund>`` → ``X:reimburse:<psn_no>``: the transfer to the
person's bank account). The accounts are not drawn: the person has paid. It is explained like any
settlement. A receipt (institution + receipt number) is paid once; a visit already settled directly
at that institution (a standing reservation of the same day and amount) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from yibao.errors import refuse
from yibao.ledger.model import FUND_PAY, Entry, Transfer, external_account, fund_account
from yibao.lifecycle.model import FUND_PAY_TYPE
from yibao.services.crossregion import _calculate
from yibao.services.platform import Platform
from yibao.services.settle import counted_columns

CASES = {"unfiled": "unfiled", "emergency": "filed", "filed": "filed"}  # 急诊抢救 counts as filed
CASE_NAMES = {"unfiled": "未备案", "emergency": "急诊抢救", "filed": "已备案"}


@dataclass(frozen=True)
class ClaimBack:
    claim_id: int
    psn_no: str
    receipt_no: str
    medfee: int
    fund_pay: int
    explanation: str


def claim_back(
    platform: Platform,
    *,
    psn_no: str,
    care_region: str,
    institution: str,
    hospital_level: int,
    receipt_no: str,
    day: date,
    med_type: str,
    case: str,
    lines: list[dict],
    insutype: str = "310",
    filed_by: str,
) -> ClaimBack:
    """One receipt's claim: computed, counted, paid and explained in one unit of work."""
    if case not in CASES:
        raise refuse("E7602-008", detail=f"报销类别应为 {'/'.join(CASES)}：{case!r}")
    if not receipt_no or len(receipt_no) > 50:
        raise refuse("E7602-008", detail="须有票据号（至多50字符）")
    if care_region == platform.region:
        raise refuse("E7602-008", detail="本统筹区内就医应直接结算，不办理异地手工报销")
    if day > platform.now().date():
        raise refuse("E7602-008", detail=f"就诊日期 {day} 晚于今天")
    body = {
        "psn_no": psn_no,
        "insutype": insutype,
        "med_type": med_type,
        "day": day.isoformat(),
        "hospital_level": hospital_level,
        "lines": lines,
        "acct_used": False,  # the person paid in full: the account is not drawn afterwards
        "family_only": False,
        "visit_deductible_used_fen": 0,
    }
    now = platform.now()
    with platform.store.uow() as tx:
        if tx.reservations.claim_back_of_receipt(institution, receipt_no) is not None:
            raise refuse("E7602-008", detail=f"票据 {institution}/{receipt_no} 已报销")
        person, result, year, _ = _calculate(platform, tx, body, care_region, offsite=CASES[case])
        for r in tx.reservations.direct_settlements(person.id, institution):
            if r.created_at.date() == day and r.medfee == result.medfee:
                raise refuse("E7602-008", detail=f"该次就诊已在就医地直接结算（{r.setl_ref}）")
        claim_id = tx.reservations.add_claim_back(
            person_id=person.id,
            care_region=care_region,
            institution=institution,
            receipt_no=receipt_no,
            case=case,
            day=day,
            year=year,
            medfee=result.medfee,
            fund_pay=result.fund_pay,
            **counted_columns(result),
            filed_by=filed_by[:60],
            created_at=now,
        )
        if result.fund_pay:
            fund = fund_account(person.admdvs, FUND_PAY_TYPE.get(insutype, "310100"))
            pay = Transfer(fund, external_account(f"reimburse:{psn_no}"), result.fund_pay, FUND_PAY)
            tx.ledger.post(Entry(f"claim:{claim_id}", "claim_back", (pay,), ref=receipt_no), now)
        tx.care.add_to_accumulator(
            person.id, year, result.category, result.year_deductible_delta, result.year_fund_delta
        )
        head = f"异地就医手工报销（{CASE_NAMES[case]}），票据 {institution}/{receipt_no}，就医地 {care_region}"
        return ClaimBack(
            claim_id, psn_no, receipt_no, result.medfee, result.fund_pay, "\n".join((head, result.explanation))
        )
