"""Monthly clearing between two regions (issue 15 phase 2): a statement both sides agree to the fen.

For a month ``M`` and a pair (C advanced for I's insured): C lists every cross-region settlement it
booked in ``M`` that stands (posted), per institution (3203-style 对总账) and per settlement (对明细账,
by reservation id), with the total and a sha256 digest of the sorted items, and sends it to I. I
lists its own posted reservations for C made in ``M`` and compares: equal items, totals and digests
→ both sides book the month (I pays C: ``X:due-to:<C>`` → ``X:paid-to:<C>``; C is paid:
``X:received-from:<I>`` → ``X:due-from:<I>``), and the two due accounts come back to zero for it. A
difference is recorded on both sides with the settlements behind it (missing on one side, or
amounts that differ), and nothing is booked. Across three or more regions the clearing is the sum of
the pairs; once every statement is agreed every due account is zero.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from yibao.errors import refuse
from yibao.ledger.model import Entry, Transfer, external_account
from yibao.ledger.reservations import POSTED, due_from_account, due_to_account
from yibao.services.platform import Platform
from yibao.storage.uow import Tx

PAYER, PAYEE = "payer", "payee"
CLEARING_TIMEOUT_S = 30.0


def month_bounds(month: str) -> tuple[datetime, datetime]:
    try:
        year, mon = (int(x) for x in month.split("-"))
        start = datetime(year, mon, 1)
    except ValueError:
        raise refuse("E7602-007", detail=f"月份应为 YYYY-MM：{month!r}") from None
    end = datetime(year + (mon == 12), mon % 12 + 1, 1)
    return start, end


def _digest(items: list[tuple[str, str, int]], adjustments: list[tuple[str, str, int]] = ()) -> str:
    text = "\n".join(
        [f"{rid}|{amount}" for rid, _, amount in sorted(items)]
        + [f"adj:{rid}|{amount}" for rid, _, amount in sorted(adjustments)]
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _cleared(tx: Tx, counterpart: str, role: str) -> dict[str, int]:
    """What the agreed clearings with ``counterpart`` have settled so far, per reservation (fen):
    each agreed statement records its items and adjustments (``detail["cleared"]``)."""
    out: dict[str, int] = {}
    for row in tx.reservations.clearings():
        if row.counterpart != counterpart or row.role != role or row.status != "agreed":
            continue
        for rid, amount in json.loads(row.detail).get("cleared", {}).items():
            out[rid] = out.get(rid, 0) + amount
    return out


def _carried(cleared: dict[str, int], standing: dict[str, tuple[str, datetime, int]], start: datetime):
    """Adjustment lines for a statement of the month starting at ``start``: each settlement of an
    earlier month that an agreed clearing settled at one amount and that now stands at another (a
    2208/2305/2601 cancellation after its month was cleared: −amount; a reinstatement: +amount).
    The closed statement stays as it was; the difference is carried to the next month cleared."""
    out = []
    for rid, paid in sorted(cleared.items()):
        setl_ref, created_at, now = standing.get(rid, ("", start, paid))
        if created_at < start and now != paid:
            out.append((rid, setl_ref, now - paid))
    return out


def _booked_detail(lines, differences, items, adjustments) -> str:
    cleared: dict[str, int] = {}
    for rid, _, amount in [*items, *adjustments]:
        cleared[rid] = cleared.get(rid, 0) + amount
    detail = {
        "lines": lines,
        "differences": differences,
        "adjustments": [{"reservation_id": r, "setl_ref": s, "amount_fen": a} for r, s, a in sorted(adjustments)],
        "cleared": cleared,
    }
    return json.dumps(detail, ensure_ascii=False)


def _transfer(debit: str, credit: str, amount: int) -> Transfer:
    """A clearing's payment; a month whose adjustments outweigh its settlements is paid back."""
    return Transfer(debit, credit, amount, "clearing") if amount > 0 else Transfer(credit, debit, -amount, "clearing")


def cleared_total(tx: Tx, region: str, side: str) -> int:
    """What the agreed clearings have settled with ``region`` so far (fen)."""
    return tx.reservations.cleared_total(region, side)


@dataclass(frozen=True)
class Outcome:
    month: str
    payer: str
    payee: str
    agreed: bool
    total: int
    settlements: int
    differences: tuple[dict, ...] = ()
    adjustments: tuple[dict, ...] = ()  # earlier months' settlements cancelled or reinstated since


def statement(platform: Platform, tx: Tx, insured_region: str, month: str) -> dict:
    """The 就医地's statement for ``month``: what ``insured_region`` owes it, per institution and per settlement."""
    start, end = month_bounds(month)
    standing = [c for c in tx.reservations.crosses_of_month(insured_region, start, end) if c.status == POSTED]
    lines: dict[str, dict] = {}
    for c in standing:
        line = lines.setdefault(
            c.institution, {"institution": c.institution, "settlements": 0, "fund_fen": 0, "acct_fen": 0}
        )
        line["settlements"] += 1
        line["fund_fen"] += c.fund_pay
        line["acct_fen"] += c.own_account_pay + c.mutual_aid_pay
    items = [(c.reservation_id, c.setl_id, c.owed) for c in standing]
    every = tx.reservations.crosses(insured_region=insured_region)
    now = {c.reservation_id: (c.setl_id, c.created_at, c.owed if c.status == POSTED else 0) for c in every}
    adjustments = _carried(_cleared(tx, insured_region, PAYEE), now, start)
    return {
        "month": month,
        "payer_region": insured_region,
        "payee_region": platform.region,
        "lines": [lines[k] for k in sorted(lines)],
        "items": [{"reservation_id": r, "setl_ref": s, "amount_fen": a} for r, s, a in sorted(items)],
        "adjustments": [{"reservation_id": r, "setl_ref": s, "amount_fen": a} for r, s, a in adjustments],
        "total_fen": sum(a for _, _, a in items) + sum(a for _, _, a in adjustments),
        "digest": _digest(items, adjustments),
    }


def receive_statement(platform: Platform, tx: Tx, body: dict, care_region: str) -> dict:
    """The 参保地 compares the statement with its own posted reservations for the care region."""
    month = body["month"]
    if body["payer_region"] != platform.region or body["payee_region"] != care_region:
        raise refuse("E7602-007", detail="对账单的付款方/收款方与链路两端不符")
    start, end = month_bounds(month)
    mine = {
        r.reservation_id: r
        for r in tx.reservations.of_month(care_region, start, end)
        if r.status == POSTED and r.person_id is not None
    }
    theirs = {i["reservation_id"]: i for i in body["items"]}
    differences = []
    for rid in sorted(set(mine) | set(theirs)):
        here, there = mine.get(rid), theirs.get(rid)
        if here is None:
            differences.append(
                {"reservation_id": rid, "setl_ref": there["setl_ref"], "payer": None, "payee": there["amount_fen"]}
            )
        elif there is None:
            differences.append({"reservation_id": rid, "setl_ref": here.setl_ref, "payer": here.held, "payee": None})
        elif here.held != there["amount_fen"]:
            differences.append(
                {"reservation_id": rid, "setl_ref": here.setl_ref, "payer": here.held, "payee": there["amount_fen"]}
            )
    items = [(rid, r.setl_ref, r.held) for rid, r in mine.items()]
    every = tx.reservations.listed(care_region=care_region, limit=10**9)
    now = {
        r.reservation_id: (r.setl_ref, r.created_at, r.held if r.status == POSTED else 0)
        for r in every
        if r.person_id is not None
    }
    adjustments = _carried(_cleared(tx, care_region, PAYER), now, start)
    mine_adj = {rid: (ref, amount) for rid, ref, amount in adjustments}
    theirs_adj = {a["reservation_id"]: a for a in body.get("adjustments", [])}
    for rid in sorted(set(mine_adj) | set(theirs_adj)):
        here, there = mine_adj.get(rid), theirs_adj.get(rid)
        if here is None or there is None or here[1] != there["amount_fen"]:
            differences.append(
                {
                    "reservation_id": rid,
                    "setl_ref": here[0] if here else there["setl_ref"],
                    "payer": here[1] if here else None,
                    "payee": there["amount_fen"] if there else None,
                    "adjustment": True,
                }
            )
    total = sum(a for _, _, a in items) + sum(a for _, _, a in adjustments)
    digest = _digest(items, adjustments)
    agreed = not differences and total == body["total_fen"] and digest == body["digest"]
    existing = tx.reservations.clearing(month, care_region, PAYER, lock=True)
    if existing is not None and existing.status == "agreed":
        # a closed month is answered as it was agreed: the same statement again, or a disagreement
        same = existing.digest == body["digest"] and existing.total == body["total_fen"]
        return {"agreed": same, "total_fen": existing.total, "differences": [] if same else differences}
    if agreed and total:
        pay = _transfer(due_to_account(care_region), external_account(f"paid-to:{care_region}"), total)
        tx.ledger.post(Entry(f"clear-pay:{care_region}:{month}", "clearing", (pay,), ref=month), platform.now())
    tx.reservations.put_clearing(
        month=month,
        counterpart=care_region,
        role=PAYER,
        status="agreed" if agreed else "disputed",
        total=total,
        settlements=len(items),
        digest=digest,
        detail=_booked_detail(body["lines"], differences, items, adjustments),
        created_at=platform.now(),
    )
    return {"agreed": agreed, "total_fen": total, "differences": differences}


def clear_with(platform: Platform, insured_region: str, month: str) -> Outcome:
    """Run the month's clearing with one 参保地 (from the 就医地): send the statement, book the
    agreement or record the disagreement. Idempotent: an agreed month is answered as it stands."""
    from yibao.services.crossregion import _accepted, link_of

    with platform.store.uow(read_only=True) as tx:
        existing = tx.reservations.clearing(month, insured_region, PAYEE)
        body = statement(platform, tx, insured_region, month)
    if existing is not None and existing.status == "agreed":
        return Outcome(month, insured_region, platform.region, True, existing.total, existing.settlements)
    retry = "" if existing is None else uuid.uuid4().hex[:8]  # a disputed month is asked again afresh
    msg_id = f"clr{platform.region}{insured_region}{month.replace('-', '')}{body['digest'][:16]}{retry}"
    answer = link_of(platform).call(
        insured_region, "clearing.statement", body, msg_id=msg_id, timeout_s=CLEARING_TIMEOUT_S
    )
    data = _accepted(answer)
    agreed = bool(data.get("agreed"))
    items = [(i["reservation_id"], i["setl_ref"], i["amount_fen"]) for i in body["items"]]
    adjustments = [(a["reservation_id"], a["setl_ref"], a["amount_fen"]) for a in body["adjustments"]]
    with platform.store.uow() as tx:
        if agreed and body["total_fen"]:
            paid = _transfer(
                external_account(f"received-from:{insured_region}"), due_from_account(insured_region), body["total_fen"]
            )
            tx.ledger.post(
                Entry(f"clear-recv:{insured_region}:{month}", "clearing", (paid,), ref=month), platform.now()
            )
        tx.reservations.put_clearing(
            month=month,
            counterpart=insured_region,
            role=PAYEE,
            status="agreed" if agreed else "disputed",
            total=body["total_fen"],
            settlements=len(body["items"]),
            digest=body["digest"],
            detail=_booked_detail(body["lines"], data.get("differences", []), items, adjustments),
            created_at=platform.now(),
        )
    return Outcome(
        month,
        insured_region,
        platform.region,
        agreed,
        body["total_fen"],
        len(body["items"]),
        tuple(data.get("differences", [])),
        tuple(body["adjustments"]),
    )


@dataclass(frozen=True)
class ClearingRow:
    month: str
    counterpart: str
    role: str
    status: str
    total: int
    settlements: int
    differences: tuple[dict, ...]
    lines: tuple[dict, ...]
    adjustments: tuple[dict, ...] = ()


def clearings(platform: Platform, month: str | None = None) -> list[ClearingRow]:
    """The clearings this instance has booked or disputed, for the console and the CLI."""
    with platform.store.uow(read_only=True) as tx:
        rows = tx.reservations.clearings(month)
    out = []
    for r in rows:
        detail = json.loads(r.detail)
        out.append(
            ClearingRow(
                r.month,
                r.counterpart,
                r.role,
                r.status,
                r.total,
                r.settlements,
                tuple(detail.get("differences", [])),
                tuple(detail.get("lines", [])),
                tuple(detail.get("adjustments", [])),
            )
        )
    return out
