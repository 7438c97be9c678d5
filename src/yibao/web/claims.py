"""What the portal's and the console's claim-back (手工报销) forms share: the fields, the fee-line rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fastapi import Form

from yibao.services.claimback import ReceiptLine

FIELDS = ("care_region", "institution", "hospital_level", "receipt_no", "day", "med_type", "case")


def blank_form(today: date) -> dict:
    return {"day": today.isoformat(), "hospital_level": "3", "med_type": "11", "case": "unfiled"}


def receipt_rows(
    code: list[str], name: list[str], price: list[str], count: list[str], amount: list[str]
) -> list[ReceiptLine]:
    """The form's fee-line columns as rows (a column the browser did not send counts as blank)."""
    n = max(len(code), len(name), len(price), len(count), len(amount), 0)

    def at(column: list[str], i: int) -> str:
        return column[i] if i < len(column) else ""

    return [ReceiptLine(at(code, i), at(name, i), at(price, i), at(count, i), at(amount, i)) for i in range(n)]


@dataclass(frozen=True)
class Filed:
    """A posted claim form: the header fields by name and the fee-line rows."""

    form: dict
    rows: list[ReceiptLine]


def posted(
    care_region: str = Form(""),
    institution: str = Form(""),
    hospital_level: str = Form(""),
    receipt_no: str = Form(""),
    day: str = Form(""),
    med_type: str = Form(""),
    case: str = Form(""),
    code: list[str] = Form([]),
    name: list[str] = Form([]),
    price: list[str] = Form([]),
    count: list[str] = Form([]),
    amount: list[str] = Form([]),
) -> Filed:
    """The claim form as both pages post it (a FastAPI dependency, so the two routes declare it once)."""
    header = (care_region, institution, hospital_level, receipt_no, day, med_type, case)
    return Filed(dict(zip(FIELDS, header, strict=True)), receipt_rows(code, name, price, count, amount))
