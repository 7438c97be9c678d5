"""A pharmacy's stock (进销存, 3501–3513): counts, changes, purchases and returns, sales and returns
with drug traceability codes, deletion, and the queries.

Stock is kept per batch (``fixmedins_bchno``) as signed moves; a count (3501) records the
difference to what the moves say. No move may take a batch below zero, a batch belongs to one
item, a return never exceeds what was bought or sold. A sale that names a settlement (``setl_id``)
must agree with it: the settlement is this pharmacy's, it settled that item, the sales under it do
not exceed the settled count, and a traceability code the settlement recorded (2102) is one of its
codes; ``sale_mismatches`` reports the settled lines no sale matches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from yibao.care.ids import settlement_public_id
from yibao.care.model import Move
from yibao.errors import refuse
from yibao.services.care import institution_or_refuse
from yibao.services.platform import Platform
from yibao.services.settle import settlement_or_refuse
from yibao.storage.uow import Tx

IN_TYPES = {"101", "103", "106", "108", "110"}  # inv_chg_type that add to stock; the others take away
DATA_TYPES = {"1": ("count",), "2": ("change",), "3": ("purchase", "purchase_return"), "4": ("sale", "sale_return")}
ZERO = Decimal(0)


@dataclass(frozen=True)
class Movement:
    kind: str
    batch: str
    code: str  # med_list_codg
    own_code: str  # fixmedins_hilist_id
    name: str
    quantity: Decimal  # as sent (positive), or the counted quantity for a count
    at: datetime
    info: Mapping[str, Any]
    price: Decimal | None = None
    change_type: str | None = None
    setl_id: str | None = None
    psn_no: str | None = None
    trace: Sequence[str] = ()


# Movement fields stored under their own names in a stock move row.
_MOVE_COLUMNS = ("batch", "name", "kind", "price", "at", "setl_id", "psn_no")


def balance(moves: Sequence[Move]) -> Decimal:
    return sum((m.delta for m in moves), ZERO)


def record(platform: Platform, tx: Tx, asking: str, mv: Movement) -> int:
    inst = institution_or_refuse(tx, asking)
    if inst.kind != "pharmacy":
        raise refuse("E3501-004", code=asking)
    moves = tx.stock.moves(asking, mv.batch, lock=True)
    if moves and moves[0].med_list_codg != mv.code:
        raise refuse("E3501-003", batch=mv.batch, code=moves[0].med_list_codg)
    manu, expiry = mv.info.get("manu_date"), mv.info.get("expy_end")
    if isinstance(manu, date) and isinstance(expiry, date) and expiry < manu:
        raise refuse("E3501-001", detail=f"有效期止{expiry}早于生产日期{manu}")
    if mv.quantity < 0:
        raise refuse("E3501-001", detail=f"数量不能为负数：{mv.quantity}")
    held = balance(moves)
    if mv.kind == "count":
        delta = mv.quantity - held
    elif mv.kind == "change":
        delta = mv.quantity if mv.change_type in IN_TYPES else -mv.quantity
    elif mv.kind in ("purchase", "sale_return"):
        delta = mv.quantity
    elif mv.kind == "virtual":  # a virtual traceability code given to a batch: no quantity moves
        if not moves:
            raise refuse("E3592-001", batch=mv.batch)
        delta = ZERO
    else:  # purchase_return, sale
        delta = -mv.quantity
    if mv.kind == "purchase_return":
        bought = sum((m.delta for m in moves if m.kind == "purchase"), ZERO)
        returned = -sum((m.delta for m in moves if m.kind == "purchase_return"), ZERO)
        if mv.quantity > bought - returned:
            raise refuse("E3504-001", batch=mv.batch, left=bought - returned)
    if mv.kind == "sale_return":
        sold = [m for m in moves if m.kind == "sale" and (mv.setl_id is None or m.setl_id == mv.setl_id)]
        back = [m for m in moves if m.kind == "sale_return" and (mv.setl_id is None or m.setl_id == mv.setl_id)]
        left = -sum((m.delta for m in sold), ZERO) - sum((m.delta for m in back), ZERO)
        if mv.quantity > left:
            raise refuse("E3506-001", batch=mv.batch, left=left)
    if mv.kind == "sale" and mv.setl_id:
        _check_settled_sale(tx, asking, mv)
    if held + delta < 0:
        raise refuse("E3501-002", batch=mv.batch, held=held, want=-delta)
    return tx.stock.add(
        list(mv.trace),
        **{column: getattr(mv, column) for column in _MOVE_COLUMNS},
        institution_code=asking,
        med_list_codg=mv.code,
        medins_list_codg=mv.own_code,
        delta=delta,
        info={**_jsonable(mv.info), "counted": str(mv.quantity)} if mv.kind == "count" else _jsonable(mv.info),
        created_at=platform.now(),
    )


def _jsonable(info: Mapping[str, Any]) -> dict:
    out = {}
    for k, v in info.items():
        if v is None or isinstance(v, list | dict):
            continue
        out[k] = v.isoformat(sep=" ") if isinstance(v, datetime) else v if isinstance(v, str | int) else str(v)
    return out


def _check_settled_sale(tx: Tx, asking: str, mv: Movement) -> None:
    row = settlement_or_refuse(tx, mv.setl_id)
    if row.institution_code != asking or row.status != "settled":
        raise refuse("E2208-003", setl_id=mv.setl_id)
    lines = [x for x in tx.care.lines(row.visit_id) if x.settlement_id == row.id and x.med_list_codg == mv.code]
    settled = sum((Decimal(x.count) for x in lines), ZERO)
    earlier = [m for m in tx.stock.moves(asking) if m.setl_id == mv.setl_id and m.med_list_codg == mv.code]
    sold = -sum((m.delta for m in earlier if m.kind == "sale"), ZERO) - sum(
        (m.delta for m in earlier if m.kind == "sale_return"), ZERO
    )
    if not lines or sold + mv.quantity > settled:
        raise refuse(
            "E3505-001", setl_id=mv.setl_id, detail=f"{mv.code} 结算{settled}，已销售{sold}，本次{mv.quantity}"
        )
    recorded = {t["drug_trac_codg"] for t in tx.care.trace_codes_of(row.visit_id)}
    if recorded and any(code not in recorded for code in mv.trace):
        raise refuse("E3505-002", setl_id=mv.setl_id)


def delete(platform: Platform, tx: Tx, asking: str, batch: str, data_type: str) -> None:
    institution_or_refuse(tx, asking)
    kinds = DATA_TYPES.get(data_type)
    if kinds is None:
        raise refuse("E3507-001", detail=f"inv_data_type={data_type}（1 盘存、2 库存变更、3 采购、4 销售）")
    moves = tx.stock.moves(asking, batch, lock=True)
    gone = [m for m in moves if m.kind in kinds]
    if not gone:
        raise refuse("E3507-001", detail=f"批次{batch}没有该类信息")
    if balance([m for m in moves if m.kind not in kinds]) < 0:
        raise refuse("E3507-002", batch=batch)
    tx.stock.delete([m.id for m in gone], platform.now())


def moves_between(tx: Tx, asking: str, kinds: tuple[str, ...], begin: date, end: date, **match: str | None) -> list:
    """(move, trace codes) of these kinds whose time is in [begin, end], filtered by the fields sent."""
    start, stop = datetime.combine(begin, time.min), datetime.combine(end + timedelta(days=1), time.min)
    found = [
        m
        for m in tx.stock.moves(asking)
        if m.kind in kinds and start <= m.at < stop and all(v is None or getattr(m, k) == v for k, v in match.items())
    ]
    codes = tx.stock.trace_codes([m.id for m in found])
    return [(m, codes.get(m.id, [])) for m in found]


def sale_mismatches(tx: Tx, asking: str, begin: date, end: date) -> list[str]:
    """Settled pharmacy lines (2102) of the period that no 3505 sale matches, in words."""
    start, stop = datetime.combine(begin, time.min), datetime.combine(end + timedelta(days=1), time.min)
    sold: dict[tuple[str, str], Decimal] = {}
    for m in tx.stock.moves(asking):
        if m.kind in ("sale", "sale_return") and m.setl_id:
            sold[(m.setl_id, m.med_list_codg)] = sold.get((m.setl_id, m.med_list_codg), ZERO) - m.delta
    out = []
    for s in tx.clearing.period(asking, "41", start, stop):
        if s.cancelled_at is not None:
            continue
        person = tx.people.by_id(s.person_id)
        setl_id = settlement_public_id(person.admdvs, s.id)
        for line in tx.care.lines(s.visit_id):
            if line.settlement_id != s.id:
                continue
            want, got = Decimal(line.count), sold.get((setl_id, line.med_list_codg), ZERO)
            if want != got:
                out.append(f"{setl_id} {line.med_list_codg}：结算{want}，进销存销售{got}")
    return out


def virtual_trace_code(platform: Platform, tx: Tx, asking: str, batch: str, code: str, own_code: str, name: str) -> str:
    """3592B: a virtual traceability code for a batch in stock that came without one (20 digits,
    derived from the pharmacy, the batch and the count of codes already given)."""
    import hashlib

    given = [m for m in tx.stock.moves(asking, batch) if m.kind == "virtual"]
    digest = hashlib.sha256(f"{asking}/{batch}/{len(given)}".encode()).hexdigest()
    number = "9" + str(int(digest, 16))[:19]
    mv = Movement("virtual", batch, code, own_code, name, ZERO, platform.now(), {"virtual": True}, trace=(number,))
    record(platform, tx, asking, mv)
    return number


def held(tx: Tx, asking: str, batch: str) -> Decimal:
    """What this institution holds of a batch now (3508), by its moves."""
    return balance(tx.stock.moves(asking, batch))
