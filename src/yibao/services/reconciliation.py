"""Detail reconciliation (对明细账, 3202) and clearing (清算, 3203/3204).

3202 compares the institution's file (uploaded with 9101, the spec's columns: setl_id, mdtrt_id,
psn_no, medfee_sumamt, fund_pay_sumamt, acct_pay, refd_setl_flag) with the platform's settlements of
the period line by line — a settlement counts on the day it was made, a cancellation as a second,
negative line (refd_setl_flag 1) on the day it was made — and answers a result file (fetched with
9102) with every line and its result; the mismatches are kept for the agency's console.
3203 applies for a month's clearing only once that period agreed line by line, for exactly the
amounts the platform holds; 3204 withdraws the application.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from yibao.care.ids import settlement_public_id, visit_public_id
from yibao.care.model import NewClearing
from yibao.errors import refuse
from yibao.money import MoneyFormatError, parse_fen
from yibao.nhsa.files import FileFormatError, file_layout, zipped_text
from yibao.services.care import institution_or_refuse
from yibao.services.platform import Platform
from yibao.services.reference import keep_result_file, uploaded_rows
from yibao.storage.uow import Tx


@dataclass(frozen=True)
class Amounts:
    medfee: int
    fund: int
    acct: int


@dataclass(frozen=True)
class Outcome:
    file_qury_no: str
    filename: str
    lines: int
    mismatches: int
    expires: datetime


def _bounds(begin: date, end: date) -> tuple[datetime, datetime]:
    if end < begin:
        raise refuse("E3202-002", detail=f"对账结束日期{end}早于开始日期{begin}")
    return datetime.combine(begin, time.min), datetime.combine(end + timedelta(days=1), time.min)


def ours(tx: Tx, institution: str, clr_type: str, begin: date, end: date) -> dict[tuple[str, str], tuple]:
    """(setl_id, refd_setl_flag) → (psn_no, mdtrt_id, msgid, Amounts) for the period."""
    start, stop = _bounds(begin, end)
    out = {}
    for s in tx.clearing.period(institution, clr_type, start, stop):
        person = tx.people.by_id(s.person_id)
        key = settlement_public_id(person.admdvs, s.id)
        base = (person.psn_no, visit_public_id(person.admdvs, s.visit_id), s.msgid or "")
        if start <= s.setl_time < stop:
            out[(key, "0")] = (*base, Amounts(s.medfee, s.fund, s.acct))
        if s.cancelled_at is not None and start <= s.cancelled_at < stop:
            out[(key, "1")] = (*base, Amounts(-s.medfee, -s.fund, -s.acct))
    return out


def _theirs(rows: Sequence[Sequence[str | None]]) -> dict[tuple[str, str], tuple]:
    cols = file_layout("3202", 0)
    out = {}
    for n, row in enumerate(rows, start=1):
        if len(row) < len(cols):
            raise refuse("E3202-001", detail=f"第{n}行只有{len(row)}列，应为{len(cols)}列（{'、'.join(cols)}）")
        v = dict(zip(cols, row, strict=False))
        flag = v["refd_setl_flag"] or "0"
        if not v["setl_id"] or flag not in ("0", "1"):
            raise refuse("E3202-001", detail=f"第{n}行结算ID为空或退费结算标志不是0/1")
        try:
            amounts = Amounts(*(parse_fen(v[k] or "0", k, allow_negative=True) for k in cols[3:6]))
        except (MoneyFormatError, InvalidOperation) as exc:
            raise refuse("E3202-001", detail=f"第{n}行：{exc}") from None
        key = (v["setl_id"], flag)
        if key in out:
            raise refuse("E3202-001", detail=f"第{n}行结算ID重复：{v['setl_id']}")
        out[key] = (v["psn_no"], v["mdtrt_id"], amounts)
    return out


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"


def reconcile_details(
    platform: Platform, tx: Tx, asking: str, clr_type: str, file_qury_no: str, begin: date, end: date, totals: tuple
) -> Outcome:
    """3202: compare every line, keep the run and its mismatches, produce the result file."""
    institution_or_refuse(tx, asking)
    _bounds(begin, end)
    try:
        theirs = _theirs(uploaded_rows(platform, tx, asking, file_qury_no))
    except FileFormatError as exc:
        raise refuse("E3202-001", detail=str(exc)) from None
    mine = ours(tx, asking, clr_type, begin, end)
    result_rows, mismatches = [], []
    for key in sorted(set(theirs) | set(mine)):
        setl_id, flag = key
        t, m = theirs.get(key), mine.get(key)
        if t and m:
            same = t[2] == m[3]
            memo = "对平" if same else _diff(t[2], m[3])
        else:
            same, memo = False, "中心无此结算" if t else "机构未上传该结算"
        psn_no, mdtrt_id = (m[0], m[1]) if m else (t[0], t[1])
        shown = m[3] if m else t[2]
        result_rows.append(
            [psn_no, mdtrt_id, setl_id, m[2] if m else "", "0" if same else "1", flag, memo,
             _yuan(shown.medfee), _yuan(shown.fund), _yuan(shown.acct)]
        )  # fmt: skip
        if not same:
            mismatches.append(
                {
                    "setl_id": setl_id,
                    "refd_setl_flag": flag,
                    "memo": memo[:200],
                    "their_medfee": t[2].medfee if t else None,
                    "our_medfee": m[3].medfee if m else None,
                    "their_fund": t[2].fund if t else None,
                    "our_fund": m[3].fund if m else None,
                }
            )
    medfee, fund, count = totals
    net = sum(1 if k[1] == "0" else -1 for k in mine)
    sums = (sum(v[3].medfee for v in mine.values()), sum(v[3].fund for v in mine.values()))
    if (medfee, fund, count) != (*sums, net):
        mismatches.append(
            {
                "setl_id": "合计",
                "refd_setl_flag": "0",
                "memo": f"合计不符：机构{_yuan(medfee)}元/{count}笔，中心{_yuan(sums[0])}元/{net}笔",
                "their_medfee": medfee,
                "our_medfee": sums[0],
                "their_fund": fund,
                "our_fund": sums[1],
            }
        )
    name = f"3202_{asking}_{begin:%Y%m%d}_{end:%Y%m%d}.zip"
    content = zipped_text(name.replace(".zip", ".txt"), result_rows)
    number = keep_result_file(platform, tx, asking, name, content)
    tx.clearing.add_run(
        mismatches,
        institution_code=asking,
        clr_type=clr_type,
        begin_date=begin,
        end_date=end,
        lines=len(result_rows),
        mismatches=len(mismatches),
        result_file=number,
        at=platform.now(),
    )
    return Outcome(number, name, len(result_rows), len(mismatches), platform.now() + timedelta(days=1))


def _diff(t: Amounts, m: Amounts) -> str:
    parts = []
    for label, a, b in (("医疗费总额", t.medfee, m.medfee), ("基金支付", t.fund, m.fund), ("个人账户", t.acct, m.acct)):
        if a != b:
            parts.append(f"{label}机构{_yuan(a)}元、中心{_yuan(b)}元")
    return "；".join(parts)


# Clearing ----------------------------------------------------------------------------------------------


def month_of(setlym: str) -> tuple[date, date]:
    if len(setlym) != 6 or not setlym.isdigit() or not 1 <= int(setlym[4:]) <= 12:
        raise refuse("E3203-004", detail=f"setlym={setlym}（yyyyMM）")
    first = date(int(setlym[:4]), int(setlym[4:]), 1)
    last = date(first.year + (first.month == 12), first.month % 12 + 1, 1) - timedelta(days=1)
    return first, last


def apply_clearing(platform: Platform, tx: Tx, asking: str, a: NewClearing) -> int:
    """3203: the period must have agreed line by line (3202) and the amounts must be the platform's."""
    institution_or_refuse(tx, asking)
    first, last = month_of(a.setlym)
    begin, end = a.begin_date, a.end_date
    if not (first <= begin <= end <= last):
        raise refuse("E3203-004", detail=f"{begin}–{end} 不在清算年月 {a.setlym} 内")
    run = tx.clearing.agreed_run(asking, a.clr_type, begin, end)
    if run is None:
        raise refuse("E3203-001", detail=f"{begin}–{end} 清算类别{a.clr_type}")
    if tx.clearing.active_clearing(asking, a.clr_type, a.setlym) is not None:
        raise refuse("E3203-003", setlym=a.setlym)
    mine = ours(tx, asking, a.clr_type, begin, end)
    net = sum(1 if k[1] == "0" else -1 for k in mine)
    medfee = sum(v[3].medfee for v in mine.values())
    fund = sum(v[3].fund for v in mine.values())
    acct = sum(v[3].acct for v in mine.values())
    held = replace(a, count=net, medfee=medfee, fund=fund, acct=acct, cash=medfee - fund - acct)
    if held != a:
        raise refuse(
            "E3203-002",
            detail=f"申请{a.count}人次、医疗费{_yuan(a.medfee)}元、基金{_yuan(a.fund)}元；"
            f"平台{net}人次、医疗费{_yuan(medfee)}元、基金{_yuan(fund)}元、个人账户{_yuan(acct)}元、现金{_yuan(held.cash)}元",
        )
    return tx.clearing.add_clearing(**asdict(held), institution_code=asking, run_id=run, created_at=platform.now())


def clearing_id(pk: int) -> str:
    return f"QS{pk:012d}"


def cancel_clearing(platform: Platform, tx: Tx, asking: str, evt_id: str) -> None:
    institution_or_refuse(tx, asking)
    digits = evt_id[2:] if evt_id.startswith("QS") else ""
    found = tx.clearing.clearing(int(digits), lock=True) if digits.isdigit() and len(digits) <= 12 else None
    if found is None or found.institution_code != asking or clearing_id(found.id) != evt_id:
        raise refuse("E3204-001", evt_id=evt_id)
    if found.cancelled_at is not None:
        raise refuse("E3204-002", evt_id=evt_id)
    tx.clearing.cancel_clearing(found.id, platform.now())


def console_view(platform: Platform) -> tuple[list[dict], list]:
    """For the agency's console: recent runs with their mismatches, and the clearing applications."""
    with platform.store.uow(read_only=True) as tx:
        runs = [{**r, "lines_off": tx.clearing.mismatches(r["id"])} for r in tx.clearing.runs()]
        return runs, tx.clearing.clearings()
