"""Requests and answer checks made from the field tables: the conformance suite's tools.

``sample_input`` builds a transaction's ``input`` in one of three forms: every required field and no
optional one (``required``), every field (``all``), or every required field with each optional one
sent empty, alternating ``""`` and ``"null"`` (``empty``). Values the platform must recognise (a
``psn_no``, a ``mdtrt_id``, an amount the lines add up to) come from ``known``; the rest are made
from the field's type, length and dictionary. ``check_output`` lists how an answer differs from the
spec: a missing node or field, a wrong type, too long, the wrong precision.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from yibao.nhsa.spec import FieldSpec, InterfaceSpec, NodeSpec, national_dictionaries

FORMS = ("required", "all", "empty")
DAY, MOMENT = "2025-06-01", "2025-06-01 10:00:00"


def made_value(f: FieldSpec) -> Any:
    """A value of the field's type that any platform must accept as well-formed."""
    if f.kind == "text":
        codes = sorted(national_dictionaries().get(f.dict or "", {}))
        if codes:
            return codes[0]
        return "X" * min(f.length or 4, 4)
    if f.kind == "number":
        return "1.00" if f.scale == 2 else "1"
    if f.kind == "date":
        return DAY
    if f.kind == "datetime":
        return MOMENT
    return "X"


def sample_input(
    spec: InterfaceSpec,
    form: str,
    known: Mapping[str, Any],
    *,
    rows: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """``known``: ``{"node.field": value}`` or ``{"field": value}`` (any node), or for a list node
    ``{"node": [row, …]}`` with one dict of known values per row (``rows`` gives how many rows)."""
    assert form in FORMS
    out: dict[str, Any] = {}
    for node in spec.inputs:
        if node.parent is not None:
            continue
        if node.kind == "list":
            per_row = known.get(node.name) or [{}] * (rows or {}).get(node.name, 1)
            out[node.name] = [_row(spec, node, form, {**_flat(known, node.name), **r}) for r in per_row]
        else:
            row = _row(spec, node, form, _flat(known, node.name))
            if node.name is None:
                out.update(row)
            else:
                out[node.name] = row
    return out


def _flat(known: Mapping[str, Any], node: str | None) -> dict[str, Any]:
    out = {k: v for k, v in known.items() if "." not in k and not isinstance(v, list)}
    prefix = f"{node}."
    out.update({k[len(prefix) :]: v for k, v in known.items() if k.startswith(prefix)})
    return out


def _row(spec: InterfaceSpec, node: NodeSpec, form: str, known: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    empties = iter(["", "null"] * len(node.fields))
    for f in node.fields:
        if f.kind == "node":
            child = spec.child(f.code)
            if form == "all" and child is not None:
                row[f.code] = [_row(spec, child, form, {})]
            continue
        if f.required or form == "all":
            row[f.code] = known[f.code] if f.code in known else made_value(f)
        elif form == "empty":
            row[f.code] = next(empties)
    return row


def fields_sent(inp: Mapping[str, Any]) -> int:
    """How many field values a built input carries (for the suite's count)."""
    n = 0
    for value in inp.values():
        rows = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
        if not rows:
            n += 1
        for r in rows:
            n += sum(fields_sent({k: v}) if isinstance(v, list | dict) else 1 for k, v in r.items())
    return n


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def check_output(spec: InterfaceSpec, output: Any) -> tuple[list[str], int]:
    """(what differs from the spec, how many field values were checked)."""
    problems: list[str] = []
    checked = 0
    top = next((n for n in spec.outputs if n.name is None and n.parent is None), None)
    if isinstance(output, list) and top is not None and top.kind == "list":  # rows directly under output
        for i, row in enumerate(output):
            found, n = check_output(spec, row) if isinstance(row, dict) else ([f"output[{i}] 应为对象"], 0)
            problems += found
            checked += n
        return problems, checked
    if not isinstance(output, dict):
        return [f"output 应为对象：{output!r}"], 0
    for node in spec.outputs:
        if node.parent is not None:
            continue
        if node.name is None:
            rows = [output]
        elif node.name not in output:
            problems.append(f"缺少节点 {node.name}")
            continue
        else:
            value = output[node.name]
            if node.kind == "list":
                if not isinstance(value, list):
                    problems.append(f"{node.name} 应为数组")
                    continue
                rows = value
            else:
                if not isinstance(value, dict):
                    problems.append(f"{node.name} 应为对象")
                    continue
                rows = [value]
        for i, row in enumerate(rows):
            for f in node.fields:
                if f.kind == "node":
                    continue
                where = f"{node.name}[{i}].{f.code}"
                if f.code not in row:
                    problems.append(f"缺少字段 {where}")
                    continue
                checked += 1
                problem = _typed(f, row[f.code])
                if problem:
                    problems.append(f"{where}：{problem}")
    return problems, checked


def _typed(f: FieldSpec, v: Any) -> str | None:
    if f.kind == "text":
        if not isinstance(v, str):
            return f"应为字符串（{f.type_text}），实际 {v!r}"
        if f.length and len(v) > f.length:
            return f"长度{len(v)}超过{f.length}"
    elif f.kind == "number":
        if isinstance(v, bool) or not isinstance(v, int | Decimal):
            return f"应为数值，实际 {v!r}"
        if f.scale is not None and isinstance(v, Decimal) and v.as_tuple().exponent != -f.scale:
            return f"应有{f.scale}位小数，实际 {v}"
    elif f.kind == "date":
        if not isinstance(v, str) or (v and not (_DAY.fullmatch(v) or _MOMENT.fullmatch(v))):
            return f"应为 yyyy-MM-dd，实际 {v!r}"
    elif f.kind == "datetime" and (not isinstance(v, str) or (v and not _MOMENT.fullmatch(v))):
        return f"应为 yyyy-MM-dd HH:mm:ss，实际 {v!r}"
    return None
