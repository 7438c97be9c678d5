"""Account statements read from the ledger: a person's buckets month by month through a year."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from yibao.ledger.model import ACCT_PAY, CLAWBACK, CREDIT, MUTUAL_AID, OPENING, PREMIUM, ROLLOVER, person_bucket
from yibao.money import fmt_yuan
from yibao.services.care import person_or_refuse
from yibao.services.platform import Platform

OPENING_ROW, CLOSING_ROW = 0, 13


@dataclass(frozen=True)
class MonthRow:
    month: str
    credited: str
    spent: str
    shared: str
    rolled: str
    current: str
    historical: str
    total: str


def _row_of(at: datetime, code: str, year: int) -> int | None:
    """0: before the year (期初); 1–12: the month; 13: the rollover opening the next year; None: later."""
    if code == OPENING or at < datetime(year, 1, 1):
        return OPENING_ROW
    if at.year == year:
        return at.month
    if code == ROLLOVER and at == datetime(year + 1, 1, 1):
        return CLOSING_ROW
    return None


def monthly_statement(p: Platform, psn_no: str, year: int, *, tx=None) -> tuple[str, list[MonthRow]]:
    """期初, each month (credits in, own spending, paid for relatives, balances at its end), 年终结转."""
    with p.unit(tx, read_only=True) as tx:
        person = person_or_refuse(tx, psn_no)
        buckets = {person_bucket(psn_no, b): b for b in ("current", "historical")}
        moves = tx.ledger.movements(list(buckets))
    flows = {r: {"credited": 0, "spent": 0, "shared": 0, "rolled": 0} for r in range(OPENING_ROW, CLOSING_ROW + 1)}
    balance = {"current": 0, "historical": 0}
    ends: dict[int, tuple[int, int]] = {}
    for m in moves:
        amount, code = m.amount, m.code
        row = _row_of(m.posted_at, code, year)
        if row is None:
            break
        for r in range(max(ends, default=-1) + 1, row):
            ends[r] = (balance["current"], balance["historical"])
        out_of, into = buckets.get(m.out_of), buckets.get(m.into)
        if out_of:
            balance[out_of] -= amount
        if into:
            balance[into] += amount
        f = flows[row]
        if code in (CREDIT, OPENING) and into:
            f["credited"] += amount
        elif code == CLAWBACK and out_of:
            f["credited"] -= amount
        elif code == ROLLOVER:
            f["rolled"] += amount if into == "historical" else 0
        elif code == ACCT_PAY:
            f["spent"] += amount if out_of else -amount  # a cancellation gives it back
        elif code in (MUTUAL_AID, PREMIUM):
            f["shared"] += amount if out_of else -amount
    for r in range(max(ends, default=-1) + 1, CLOSING_ROW + 1):
        ends[r] = (balance["current"], balance["historical"])
    labels = {OPENING_ROW: "期初", CLOSING_ROW: f"{year + 1}-01-01 结转后"}
    out = []
    for r in range(OPENING_ROW, CLOSING_ROW + 1):
        cur, hist = ends[r]
        f = flows[r]
        out.append(
            MonthRow(
                labels.get(r, f"{year}-{r:02d}"),
                fmt_yuan(f["credited"]),
                fmt_yuan(f["spent"]),
                fmt_yuan(f["shared"]),
                fmt_yuan(f["rolled"]),
                fmt_yuan(cur),
                fmt_yuan(hist),
                fmt_yuan(cur + hist),
            )
        )
    return person.name, out
