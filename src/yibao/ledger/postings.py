"""Turn a settlement result into one ledger entry (pure: no storage here)."""

from __future__ import annotations

from yibao.errors import invariant
from yibao.ledger.model import (
    ACCT_PAY,
    CASH_PAY,
    FUND_PAY,
    MUTUAL_AID,
    Entry,
    Transfer,
    cash_account,
    fund_account,
    institution_account,
    person_bucket,
)
from yibao.settlement.model import Settlement


def settlement_entry(key: str, s: Settlement, *, admdvs: str, fund_pay_type: str, institution: str, ref: str) -> Entry:
    """Pooled fund, own account buckets, each relative's buckets and cash, all to the institution."""
    to = institution_account(institution)
    transfers: list[Transfer] = []
    if s.fund_pay:
        transfers.append(Transfer(fund_account(admdvs, fund_pay_type), to, s.fund_pay, FUND_PAY))
    if s.own:
        transfers += [Transfer(person_bucket(s.own.psn_no, d.bucket), to, d.amount, ACCT_PAY) for d in s.own.draws]
    for payer in s.mutual_aid:
        transfers += [Transfer(person_bucket(payer.psn_no, d.bucket), to, d.amount, MUTUAL_AID) for d in payer.draws]
    if s.cash:
        transfers.append(Transfer(cash_account(institution), to, s.cash, CASH_PAY))
    invariant(sum(t.amount for t in transfers) == s.medfee, "the entry moves the settlement's total, to the fen")
    invariant(
        sum(t.amount for t in transfers if t.code == ACCT_PAY) == s.own_account_pay
        and sum(t.amount for t in transfers if t.code == MUTUAL_AID) == s.mutual_aid_pay,
        "the entry's account and mutual-aid transfers are the settlement's",
    )
    return Entry(key, "settlement", tuple(transfers), ref=ref)
