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


# Records written before the domain names were settled (national names, bare ratios): read as today's.
_RENAMED = {"hifp_pay": "fund_pay", "inscp": "in_scope", "ratio": "ratio_bp"}
_RENAMED_ITEM = {"selfpay_prop": "selfpay_bp"}


def _renamed(d: dict, names: dict[str, str]) -> dict:
    return {names.get(k, k): v for k, v in d.items()}


def _payment(d: dict | None) -> AccountPayment | None:
    if d is None:
        return None
    return AccountPayment(
        d["psn_no"], d["name"], d["relation"], d["gender"], tuple(Draw(x["bucket"], x["amount"]) for x in d["draws"])
    )


def _line(d: dict) -> LineSplit:
    d = _renamed(d, _RENAMED)
    item = _renamed(d["item"], _RENAMED_ITEM)
    item["price_ceiling"] = None if item["price_ceiling"] is None else Decimal(item["price_ceiling"])
    return LineSplit(**{**d, "item": CatalogItem(**item), "price": Decimal(d["price"]), "count": Decimal(d["count"])})


def from_record(d: dict[str, Any]) -> Settlement:
    d = _renamed(d, _RENAMED)
    return Settlement(
        **{
            **d,
            "lines": tuple(_line(x) for x in d["lines"]),
            "own": _payment(d["own"]),
            "mutual_aid": tuple(_payment(x) for x in d["mutual_aid"]),
            "steps": tuple(d["steps"]),
        }
    )
