"""A pharmacy's stock (3501–3513): moves per batch and their traceability codes."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from yibao.care.model import Move
from yibao.storage.tx_tables import stock_moves, stock_trace_codes


def _move(r) -> Move:
    v = dict(r._mapping)
    v["delta"] = Decimal(v["delta"])
    v["price"] = None if v["price"] is None else Decimal(v["price"])
    v["info"] = json.loads(v["info"])
    return Move(**v)


class StockRepo:
    def __init__(self, tx):
        self.tx = tx
        self.conn = tx.conn

    def moves(self, institution: str, batch: str | None = None, *, lock: bool = False) -> list[Move]:
        cond = [stock_moves.c.institution_code == institution, stock_moves.c.deleted_at.is_(None)]
        if batch is not None:
            cond.append(stock_moves.c.batch == batch)
        stmt = select(stock_moves).where(*cond).order_by(stock_moves.c.id)
        return [_move(r) for r in self.conn.execute(self.tx.for_update(stmt) if lock else stmt)]

    def add(self, codes: list[str], **values) -> int:
        values["delta"] = str(values["delta"])
        values["price"] = None if values.get("price") is None else str(values["price"])
        values["info"] = json.dumps(values["info"], ensure_ascii=False, default=str)
        pk = int(self.conn.execute(stock_moves.insert().values(**values)).inserted_primary_key[0])
        if codes:
            self.conn.execute(stock_trace_codes.insert(), [{"move_id": pk, "drug_trac_codg": c} for c in codes])
        return pk

    def delete(self, ids: list[int], at: datetime) -> None:
        if ids:
            self.conn.execute(stock_moves.update().where(stock_moves.c.id.in_(ids)).values(deleted_at=at))

    def trace_codes(self, move_ids: list[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        if move_ids:
            stmt = select(stock_trace_codes).where(stock_trace_codes.c.move_id.in_(move_ids))
            for r in self.conn.execute(stmt.order_by(stock_trace_codes.c.id)):
                out.setdefault(r.move_id, []).append(r.drug_trac_codg)
        return out
