"""Turn a settlement result into its ledger entry or, across regions, its holds (pure: no storage here)."""

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
from yibao.ledger.reservations import Hold, due_from_account
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


def cross_entry(setl_id: str, result: Settlement, insured_region: str, institution: str) -> Entry:
    """The 就医地's side: the insured region owes what its fund and accounts pay (``X:due-from:<I>``
    is debited), the patient pays the cash; the institution receives all of it."""
    to = institution_account(institution)
    due = due_from_account(insured_region)
    transfers = []
    if result.fund_pay:
        transfers.append(Transfer(due, to, result.fund_pay, FUND_PAY))
    if result.own_account_pay:
        transfers.append(Transfer(due, to, result.own_account_pay, ACCT_PAY))
    if result.mutual_aid_pay:
        transfers.append(Transfer(due, to, result.mutual_aid_pay, MUTUAL_AID))
    if result.cash:
        transfers.append(Transfer(cash_account(institution), to, result.cash, CASH_PAY))
    invariant(sum(t.amount for t in transfers) == result.medfee, "the entry moves the settlement's total, to the fen")
    return Entry(f"setl:{setl_id}", "settlement", tuple(transfers), ref=setl_id)


def holds_of(result: Settlement, admdvs: str, fund_pay_type: str) -> tuple[Hold, ...]:
    """What the 参保地 pays of a settlement, by account: the fund, the own buckets, the relatives'."""
    holds = []
    if result.fund_pay:
        holds.append(Hold(fund_account(admdvs, fund_pay_type), result.fund_pay, FUND_PAY))
    if result.own:
        holds += [
            Hold(person_bucket(result.own.psn_no, d.bucket), d.amount, ACCT_PAY) for d in result.own.draws if d.amount
        ]
    for payer in result.mutual_aid:
        holds += [Hold(person_bucket(payer.psn_no, d.bucket), d.amount, MUTUAL_AID) for d in payer.draws if d.amount]
    return tuple(holds)
