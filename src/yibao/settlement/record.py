"""A settlement result as plain JSON-able data (fen integers, decimal strings) and back.

Stored with each settlement so that a cancellation, a slip or an explanation years later shows
exactly what was decided, whatever the policy says by then.
"""

from __future__ import annotations

import copy
from dataclasses import fields, is_dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from yibao.settlement.model import AccountPayment, CatalogItem, Draw, LineSplit, Settlement

# Field names per dataclass, read once: ``dataclasses.asdict`` looks them up and deep-copies every
# leaf on each call, which was a tenth of a settlement's Python time.
_NAMES: dict[type, tuple[str, ...]] = {}
_IMMUTABLE = (str, int, Decimal, date, type(None))  # bool and datetime are among them


def _plain(v: Any) -> Any:
    """What ``dataclasses.asdict`` makes of ``v``: dataclasses as dicts, containers of the same type."""
    names = _NAMES.get(v.__class__)
    if names is not None:
        return {n: _plain(getattr(v, n)) for n in names}
    if isinstance(v, _IMMUTABLE):
        return v
    if isinstance(v, tuple | list):
        return type(v)(_plain(x) for x in v)
    if isinstance(v, dict):
        return {_plain(k): _plain(x) for k, x in v.items()}
    if is_dataclass(v) and not isinstance(v, type):
        _NAMES[v.__class__] = tuple(f.name for f in fields(v))
        return _plain(v)
    return copy.deepcopy(v)  # as asdict does with any other value


def to_record(s: Settlement) -> dict[str, Any]:
    d = _plain(s)
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
