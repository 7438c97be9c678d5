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

import json
from dataclasses import dataclass
from datetime import date, datetime

from yibao.errors import refuse
from yibao.ledger.model import FUND_PAY, Entry, Transfer, external_account, fund_account
from yibao.lifecycle.model import FUND_PAY_TYPE
from yibao.services.crossregion import _calculate
from yibao.services.platform import Platform
from yibao.services.settle import counted_columns
from yibao.settlement.model import Settlement
from yibao.settlement.record import from_record

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
        # the calculation locks the person first: two filings of one receipt are checked one after the other
        person, result, year, _ = _calculate(platform, tx, body, care_region, offsite=CASES[case])
        if tx.reservations.claim_back_of_receipt(institution, receipt_no) is not None:
            raise refuse("E7602-009", receipt=f"{institution}/{receipt_no}")
        for r in tx.reservations.direct_settlements(person.id, institution):
            if r.created_at.date() == day and r.medfee == result.medfee:
                raise refuse("E7602-010", setl_ref=r.setl_ref)
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
        if claim_id is None:  # filed at the same moment by someone else (another tab, the counter)
            raise refuse("E7602-009", receipt=f"{institution}/{receipt_no}")
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


# Filed from a form (portal, console) ----------------------------------------------------------------

MAX_RECEIPT_LINES = 200
SELF_PAID = "03"  # an item the catalogue does not list is paid by the person in full (自费)


@dataclass(frozen=True)
class ReceiptLine:
    """One fee line of a receipt as the gateway would have sent it (2204: 医疗目录编码, 名称, 单价,
    数量, 明细项目费用总额), as typed: text, parsed by ``file_claim``."""

    code: str
    name: str
    price: str
    count: str
    amount: str  # yuan, at most two decimals

    @property
    def blank(self) -> bool:
        return not any(x.strip() for x in (self.code, self.name, self.price, self.count, self.amount))


def _receipt_lines(platform: Platform, rows: list[ReceiptLine]) -> list[dict]:
    """The receipt's lines classed with the catalogue here (national codes, the same in every region):
    an item it does not list is 自费; amounts must match price × count as at the gateway."""
    from yibao.money import MoneyFormatError, parse_count, parse_fen, parse_price
    from yibao.services.crossregion import _line_body
    from yibao.settlement.claim_rules import check_lines
    from yibao.settlement.model import CatalogItem, FeeLine

    filled = [r for r in rows if not r.blank]
    if not filled:
        raise refuse("E7602-008", detail="至少填写一行费用明细")
    if len(filled) > MAX_RECEIPT_LINES:
        raise refuse("E7602-008", detail=f"费用明细至多{MAX_RECEIPT_LINES}行")
    with platform.store.uow(read_only=True) as tx:
        catalogue = tx.care.catalog([r.code.strip() for r in filled])
    lines = []
    for n, row in enumerate(filled, 1):
        code, name = row.code.strip(), row.name.strip()
        if not code or len(code) > 50 or len(name) > 200:
            raise refuse("E7602-008", detail=f"第{n}行：须有项目编码（至多50字符），名称至多200字符")
        try:
            price, count = parse_price(row.price, "单价"), parse_count(row.count, "数量")
            amount = parse_fen(row.amount, "金额")
        except MoneyFormatError as exc:
            raise refuse("E7602-008", detail=f"第{n}行：{exc}") from None
        item = catalogue.get(code) or CatalogItem(code, name or code, SELF_PAID)
        lines.append(FeeLine(str(n), item, amount, price, count))
    check_lines(lines)
    return [_line_body(f) for f in lines]


def file_claim(
    platform: Platform,
    *,
    psn_no: str,
    care_region: str,
    institution: str,
    hospital_level: str,
    receipt_no: str,
    day: str,
    med_type: str,
    case: str,
    rows: list[ReceiptLine],
    filed_by: str,
) -> ClaimBack:
    """A claim filed with a form (the person in the portal, an operator in the console): the fields as
    typed, checked here with the same refusals for both; then ``claim_back``."""
    care_region, institution, receipt_no = care_region.strip(), institution.strip(), receipt_no.strip()
    if len(care_region) != 6 or not care_region.isdigit():
        raise refuse("E7602-008", detail="就医地应为6位医保区划代码")
    if not institution or len(institution) > 30:
        raise refuse("E7602-008", detail="须有就诊机构编码（至多30字符）")
    if hospital_level not in ("1", "2", "3"):
        raise refuse("E7602-008", detail="医院等级应为一级、二级或三级")
    try:
        visit_day = date.fromisoformat(day.strip())
    except ValueError:
        raise refuse("E7602-008", detail="就诊日期应为 YYYY-MM-DD") from None
    lines = _receipt_lines(platform, rows)
    return claim_back(
        platform,
        psn_no=psn_no,
        care_region=care_region,
        institution=institution,
        hospital_level=int(hospital_level),
        receipt_no=receipt_no,
        day=visit_day,
        med_type=med_type,
        case=case,
        lines=lines,
        filed_by=filed_by,
    )


@dataclass(frozen=True)
class ClaimRecord:
    """A claim as the pages show it: who, which receipt, and the calculation as it was decided."""

    claim_id: int
    psn_no: str
    name: str
    care_region: str
    institution: str
    receipt_no: str
    case: str
    day: date
    medfee: int
    fund_pay: int
    filed_by: str
    created_at: datetime
    result: Settlement

    @property
    def case_name(self) -> str:
        return CASE_NAMES.get(self.case, self.case)

    @property
    def borne(self) -> int:
        """What the person bears in the end: paid in full, less what the fund pays back."""
        return self.medfee - self.fund_pay


def _record(row) -> ClaimRecord:
    m = row._mapping
    return ClaimRecord(
        m["id"],
        m["psn_no"],
        m["name"],
        m["care_region"],
        m["institution"],
        m["receipt_no"],
        m["case"],
        m["day"],
        m["medfee"],
        m["fund_pay"],
        m["filed_by"],
        m["created_at"],
        from_record(json.loads(m["result"])),
    )


def claim_of(platform: Platform, claim_id: int) -> ClaimRecord | None:
    with platform.store.uow(read_only=True) as tx:
        row = tx.reservations.claim_back_by_id(claim_id)
    return _record(row) if row is not None else None


def claims_of(platform: Platform, psn_no: str) -> list[ClaimRecord]:
    """A person's claims, the latest first."""
    with platform.store.uow(read_only=True) as tx:
        person = tx.people.by_psn_no(psn_no)
        if person is None:
            return []
        ids = [r._mapping["id"] for r in tx.reservations.claim_backs_of(person.id)]
        rows = [tx.reservations.claim_back_by_id(i) for i in reversed(ids)]
    return [_record(r) for r in rows]
