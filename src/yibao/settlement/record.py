"""A settlement result as plain JSON-able data (fen integers, decimal strings) and back.

Stored with each settlement so that a cancellation, a slip or an explanation years later shows
exactly what was decided, whatever the policy says by then.
"""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any

from yibao.settlement.model import AccountPayment, CatalogItem, Draw, LineSplit, Settlement


def to_record(s: Settlement) -> dict[str, Any]:
    d = asdict(s)
    for line in d["lines"]:
        line["price"], line["count"] = str(line["price"]), str(line["count"])
        ceiling = line["item"]["price_ceiling"]
        line["item"]["price_ceiling"] = None if ceiling is None else str(ceiling)
    d["steps"] = list(s.steps)
    return d


def _payment(d: dict | None) -> AccountPayment | None:
    if d is None:
        return None
    return AccountPayment(
        d["psn_no"], d["name"], d["relation"], d["gender"], tuple(Draw(x["bucket"], x["amount"]) for x in d["draws"])
    )


def _line(d: dict) -> LineSplit:
    item = dict(d["item"])
    item["price_ceiling"] = None if item["price_ceiling"] is None else Decimal(item["price_ceiling"])
    return LineSplit(**{**d, "item": CatalogItem(**item), "price": Decimal(d["price"]), "count": Decimal(d["count"])})


def from_record(d: dict[str, Any]) -> Settlement:
    return Settlement(
        **{
            **d,
            "lines": tuple(_line(x) for x in d["lines"]),
            "own": _payment(d["own"]),
            "mutual_aid": tuple(_payment(x) for x in d["mutual_aid"]),
            "steps": tuple(d["steps"]),
        }
    )
