"""A settlement result as plain JSON-able data (fen integers, decimal strings) and back.

Stored with each settlement so that a cancellation, a slip or an explanation years later shows
exactly what was decided, whatever the policy says by then.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from yibao.settlement.model import AccountPayment, CatalogItem, Draw, LineSplit, Settlement

# How each class is made plain, worked out on its first value: ``dataclasses.asdict`` looks the
# fields up and deep-copies every leaf on each call, which was a tenth of a settlement's Python time.
_IMMUTABLE = (str, int, Decimal, date, type(None))  # bool and datetime are among them
_LEAVES = frozenset({str, int, bool, Decimal, date, datetime, type(None)})  # the common exact classes
_CONVERT: dict[type, Callable[[Any], Any]] = {}


def _plain(v: Any) -> Any:
    """What ``dataclasses.asdict`` makes of ``v``: dataclasses as dicts, containers of the same type."""
    cls = v.__class__
    if cls in _LEAVES:
        return v
    convert = _CONVERT.get(cls)
    if convert is None:
        convert = _CONVERT[cls] = _converter(v)
    return convert(v)


def _converter(v: Any) -> Callable[[Any], Any]:
    if isinstance(v, _IMMUTABLE):
        return _same
    if isinstance(v, tuple | list):
        return lambda x: type(x)(map(_plain, x))
    if isinstance(v, dict):
        return lambda x: {_plain(k): _plain(y) for k, y in x.items()}
    if is_dataclass(v) and not isinstance(v, type):
        # One function per dataclass, written out as ``dataclasses`` writes its ``__init__``:
        # {"name": _plain(v.name), …} (field names are identifiers), twice as fast as a loop.
        body = ", ".join(f"{f.name!r}: _plain(v.{f.name})" for f in fields(v))
        scope: dict[str, Any] = {"_plain": _plain}
        exec(f"def convert(v):\n    return {{{body}}}", scope)
        return scope["convert"]
    return copy.deepcopy  # as asdict does with any other value


def _same(v: Any) -> Any:
    return v


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
