"""Answers shaped by the field tables: every output node and field of the spec, typed as it says.

A handler returns what it knows (plain values: Decimal, int, str, date, datetime, dict for a JSON
field); ``shape`` puts every spec node and field in place, in the spec's order, with the spec's
type: text (字符型) as a string within its length (an object becomes its JSON text, as
``exp_content`` must), numbers at the spec's precision, dates ``yyyy-MM-dd``, date-times
``yyyy-MM-dd HH:mm:ss``. What the spec does not list is kept after the spec's fields. An absent
number is 0 and an absent text is "" (the spec's own rule for empty values).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import partial
from typing import Any

import simplejson

from yibao.nhsa.spec import FieldSpec, InterfaceSpec, NodeSpec


def shape(spec: InterfaceSpec | None, output: Any) -> Any:
    if spec is not None and isinstance(output, list):  # rows directly under output (5204, 4104)
        top = next((n for n in spec.outputs if n.name is None and n.parent is None), None)
        return [shape_row(top, r) if top is not None and isinstance(r, dict) else r for r in output]
    if spec is None or not isinstance(output, dict):
        return output
    out = dict(output)
    for node in spec.outputs:
        if node.parent is not None:
            continue
        if node.name is None:
            out = shape_row(node, out)
        elif node.kind == "list":
            rows = out.get(node.name)
            rows = [rows] if isinstance(rows, dict) else rows if isinstance(rows, list) else []
            out[node.name] = [shape_row(node, r) if isinstance(r, dict) else r for r in rows]
        else:
            row = out.get(node.name)
            out[node.name] = shape_row(node, row if isinstance(row, dict) else {})
    return out


def shape_row(node: NodeSpec, row: dict[str, Any]) -> dict[str, Any]:
    out = {code: put(row.get(code)) for code, put in _writers(node)}
    for k, v in row.items():
        if k not in out:
            out[k] = v
    return out


# id of an output table → (the table, each field's code and writer); the table is kept so its id stays its own.
_WRITERS: dict[int, tuple[NodeSpec, tuple[tuple[str, Callable[[Any], Any]], ...]]] = {}


def _writers(node: NodeSpec) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """Per field of an output table (nested nodes aside): how a value is written, worked out once."""
    got = _WRITERS.get(id(node))
    if got is None or got[0] is not node:
        got = _WRITERS[id(node)] = (node, tuple((f.code, _writer(f)) for f in node.fields if f.kind != "node"))
    return got[1]


def _writer(f: FieldSpec) -> Callable[[Any], Any]:
    """``value(f, ·)``, with the common case (text as text, a Decimal number) taken first."""
    if f.kind == "text":
        length = f.length

        def put_text(v: Any) -> Any:
            if type(v) is str:
                return v if not length or len(v) <= length else v[: length - 1] + "…"
            return text(f, v)

        return put_text
    if f.kind == "number" and f.scale is not None:
        quantum = Decimal(1).scaleb(-f.scale)

        def put_number(v: Any) -> Any:
            if type(v) is Decimal:
                return v.quantize(quantum, rounding=ROUND_HALF_UP)
            return number(f, v)

        return put_number
    return partial(value, f)


def value(f: FieldSpec, v: Any) -> Any:
    if f.kind == "text":
        return text(f, v)
    if f.kind == "number":
        return number(f, v)
    if f.kind == "date":
        return v.isoformat() if isinstance(v, date) and not isinstance(v, datetime) else _moment_text(v)
    if f.kind == "datetime":
        return _moment_text(v)
    return v


def text(f: FieldSpec, v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, dict | list):
        s = simplejson.dumps(v, ensure_ascii=False, use_decimal=True, default=str)
    elif isinstance(v, datetime):
        s = f"{v:%Y-%m-%d %H:%M:%S}"
    elif isinstance(v, date):
        s = v.isoformat()
    else:
        s = str(v)
    if f.length and len(s) > f.length:
        s = s[: f.length - 1] + "…"  # a description longer than the spec allows: cut, never money
    return s


_QUANTUM: dict[int, Decimal] = {}  # scale → Decimal("0.01") etc., built once


def number(f: FieldSpec, v: Any) -> Any:
    if v is None or v == "":
        v = Decimal(0)
    if isinstance(v, bool):
        return v
    try:
        d = v if isinstance(v, Decimal) else Decimal(v) if isinstance(v, int) else Decimal(str(v))
    except InvalidOperation:
        return v
    if f.scale is not None:
        quantum = _QUANTUM.get(f.scale)
        if quantum is None:
            quantum = _QUANTUM[f.scale] = Decimal(1).scaleb(-f.scale)
        return d.quantize(quantum, rounding=ROUND_HALF_UP)
    return d


def _moment_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return f"{v:%Y-%m-%d %H:%M:%S}"
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def dates_as_text(value: Any, leaf: Callable[[Any], Any] = lambda v: v, *, drop_none: bool = False) -> Any:
    """``value`` with every date and date-time in it, through nested mappings and lists, as the
    national text (``yyyy-MM-dd``, ``yyyy-MM-dd HH:mm:ss``), any other value through ``leaf``;
    ``drop_none`` leaves out a mapping's keys without a value."""
    if isinstance(value, Mapping):
        return {
            k: dates_as_text(v, leaf, drop_none=drop_none) for k, v in value.items() if not drop_none or v is not None
        }
    if isinstance(value, list):
        return [dates_as_text(v, leaf, drop_none=drop_none) for v in value]
    if isinstance(value, date):
        return _moment_text(value)
    return leaf(value)
