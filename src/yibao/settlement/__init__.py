"""The settlement calculation (steps 1–10 of spec/policy-format.md) as pure functions."""

from yibao.settlement.calculate import UnknownMedType, category_of, eligible_payers, settle
from yibao.settlement.lines import split_line, split_lines
from yibao.settlement.model import (
    AccountPayment,
    Buckets,
    CatalogItem,
    Claim,
    Draw,
    FeeLine,
    LineSplit,
    Patient,
    PayerCandidate,
    Settlement,
    YearToDate,
)

__all__ = [
    "AccountPayment",
    "Buckets",
    "CatalogItem",
    "Claim",
    "Draw",
    "FeeLine",
    "LineSplit",
    "Patient",
    "PayerCandidate",
    "Settlement",
    "UnknownMedType",
    "YearToDate",
    "category_of",
    "eligible_payers",
    "settle",
    "split_line",
    "split_lines",
]
