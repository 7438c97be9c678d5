"""Account statements read from the ledger: a person's buckets month by month through a year, and
each movement in or out of them said in words (what, for whom, which settlement)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from yibao.care.ids import parse_settlement_id
from yibao.family.model import relation_between
from yibao.ledger.model import ACCT_PAY, CLAWBACK, CREDIT, MUTUAL_AID, OPENING, PREMIUM, ROLLOVER, person_bucket
from yibao.lifecycle.model import Person
from yibao.money import fmt_yuan
from yibao.services.care import person_or_refuse
from yibao.services.platform import Platform
from yibao.storage.uow import Tx
from yibao.words import BUCKET_NAMES, MOVEMENT_NAMES, mask_name, relation_word

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


def monthly_statement(
    platform: Platform, psn_no: str, year: int, *, tx: Tx | None = None
) -> tuple[str, list[MonthRow]]:
    """期初, each month (credits in, own spending, paid for relatives, balances at its end), 年终结转."""
    with platform.unit(tx, read_only=True) as tx:
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


# Movements in words ---------------------------------------------------------------------------------

SETTLEMENT_KINDS = ("settlement", "cancellation", "reinstatement")


@dataclass(frozen=True)
class MovementLine:
    """One movement of a person's account as they (or the agency) read it."""

    at: datetime
    what: str  # a sentence: what moved the money, for whom, which settlement
    bucket: str  # 当年账户 / 历年账户 / 当年账户→历年账户
    amount: int  # fen: + in, − out; an internal rollover shows what moved
    setl_id: str | None = None
    institution: str | None = None


def account_movements(
    platform: Platform, psn_no: str, limit: int = 30, *, masked: bool = True, tx: Tx | None = None
) -> list[MovementLine]:
    """The newest movements of a person's 当年/历年账户, each with why: one's own care, a relative's
    care paid through mutual aid (relation and name, masked for the portal), a premium paid for a
    relative, a cancellation giving money back, credits, rollover, clawback."""
    with platform.unit(tx, read_only=True) as tx:
        me = person_or_refuse(tx, psn_no)
        buckets = {person_bucket(psn_no, b): b for b in ("current", "historical")}
        moves = tx.ledger.movements(list(buckets), newest_first=True, limit=limit)
        settlements = {}
        for m in moves:
            if m.kind in SETTLEMENT_KINDS and m.ref and m.ref not in settlements:
                pk = parse_settlement_id(m.ref)
                row = tx.care.settlement(pk) if pk is not None else None
                if row is not None:
                    settlements[m.ref] = (row, tx.care.institution(row.institution_code))
        others = {row.person_id for row, _ in settlements.values()}
        premium_for = {m.ref for m in moves if m.kind == "premium" and m.ref}
        people = tx.people.many(sorted(others | {me.id}))
        people.update({x.id: x for x in (tx.people.by_psn_no(r) for r in premium_for) if x is not None})
        relations = tx.family.relations_of([me.id])

    def who(person: Person) -> str:
        if person.id == me.id:
            return "本人"
        relation = relation_between(relations, person.id, me.id)
        name = mask_name(person.name) if masked else person.name
        return (relation_word(relation, person.gender) if relation else "") + name

    lines = []
    for m in moves:
        out_of, into = buckets.get(m.out_of), buckets.get(m.into)
        if out_of and into:
            bucket, amount = f"{BUCKET_NAMES[out_of]}→{BUCKET_NAMES[into]}", m.amount
        else:
            bucket, amount = BUCKET_NAMES[out_of or into], -m.amount if out_of else m.amount
        found = settlements.get(m.ref) if m.kind in SETTLEMENT_KINDS else None
        if found:
            row, inst = found
            patient = people[row.person_id]
            what = _settlement_words(m.kind, m.code, who(patient), m.ref)
            lines.append(MovementLine(m.posted_at, what, bucket, amount, m.ref, inst.name if inst else None))
            continue
        if m.code == PREMIUM:
            beneficiary = next((x for x in people.values() if x.psn_no == m.ref), None)
            period = m.key.rsplit(":", 1)[-1]
            what = f"为{who(beneficiary) if beneficiary else ''}代缴{period}年度居民医保"
        elif m.kind == "preallocation":
            what = "预划入个人账户"
        elif m.code == ROLLOVER:
            what = "年度结转：当年账户余额转入历年账户"
        else:
            what = MOVEMENT_NAMES.get(m.code, "账户调整")
        lines.append(MovementLine(m.posted_at, what, bucket, amount))
    return lines


def _settlement_words(kind: str, code: str, whose: str, setl_id: str) -> str:
    own = code == ACCT_PAY
    if kind == "cancellation":
        return f"{whose}的结算{setl_id}已撤销，{'退回本人账户' if own else '共济款退回'}"
    if kind == "reinstatement":
        return f"{whose}的结算{setl_id}恢复，{'重新支付' if own else '重新共济支付'}"
    if own:
        return f"本人就医购药支付（结算{setl_id}）"
    return f"为{whose}的结算{setl_id}共济支付"
