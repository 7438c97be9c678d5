"""Quality control of a settlement list (结算清单, 4101): the rules in ``setl_list_qc.yaml`` applied to
the list as sent. A finding is what 4104 answers (``exam_data_fld``, ``qltctrl_chk_rslt``,
``err_lv``, ``retn_flag``, ``init_val``); an upload is kept with its findings, never refused for them
(the agency returns the list; the institution corrects it and uploads again)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from yibao.yamlio import load_yaml_text

KINDS = ("exactly_one", "not_before", "range", "required_for_infant", "required_when", "pattern")
KINDS += ("in_catalogue",)


@dataclass(frozen=True)
class QcRule:
    id: str
    field: str
    kind: str
    params: Mapping[str, Any]
    err_lv: str
    retn_flag: str
    message: str
    source: str


@dataclass(frozen=True)
class Context:
    """What the rules need beyond the list: the patient's age in days at admission and a catalogue
    lookup (None: that catalogue is not loaded, the rule is skipped)."""

    age_days: int | None
    in_catalogue: Callable[[str, str], bool | None]


@cache
def ruleset() -> tuple[str, tuple[QcRule, ...]]:
    doc = load_yaml_text(resources.files("yibao.rules").joinpath("setl_list_qc.yaml").read_text(encoding="utf-8"))
    rules = []
    for raw in doc["rules"]:
        assert raw["kind"] in KINDS, raw["id"]
        assert raw["source"] in doc["sources"], raw["id"]
        rules.append(QcRule(**{**raw, "params": raw.get("params") or {}}))
    return str(doc["version"]), tuple(rules)


def _text(v: Any) -> str | None:
    return None if v is None or str(v).strip() == "" else str(v).strip()


def _matches(row: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
    return all(_text(row.get(k)) == str(v) for k, v in where.items())


def check(nodes: Mapping[str, Any], ctx: Context) -> list[dict]:
    """Findings for one list: ``nodes`` maps each input node (``setlinfo``, ``diseinfo`` …) to its
    row or rows as sent (dates as text or values)."""
    _, rules = ruleset()
    info = nodes.get("setlinfo") or {}
    out = []

    def finding(rule: QcRule, value: Any) -> None:
        out.append(
            {
                "rule": rule.id,
                "exam_data_fld": rule.field,
                "qltctrl_chk_rslt": f"{rule.id} {rule.message}",
                "err_lv": rule.err_lv,
                "retn_flag": rule.retn_flag,
                "init_val": "" if value is None else str(value)[:200],
            }
        )

    for rule in rules:
        p = rule.params
        if rule.kind == "exactly_one":
            rows = nodes.get(p["node"]) or []
            n = sum(1 for r in rows if _matches(r, p["where"]))
            if n != 1:
                finding(rule, f"{n}条")
        elif rule.kind == "not_before":
            a, b = _text(info.get(p["field"])), _text(info.get(p["other"]))
            if a and b and a < b:  # ISO dates and times compare as text
                finding(rule, a)
        elif rule.kind == "range":
            v = _text(info.get(p["field"]))
            if v is not None:
                try:
                    bad = not (p["min"] <= float(v) <= p["max"])
                except ValueError:
                    bad = True
                if bad:
                    finding(rule, v)
        elif rule.kind == "required_for_infant":
            if ctx.age_days is not None and ctx.age_days < 365 and _text(info.get(p["field"])) is None:
                finding(rule, None)
        elif rule.kind == "required_when":
            if _text(info.get(p["when"])) in p["values"] and _text(info.get(p["field"])) is None:
                finding(rule, None)
        elif rule.kind == "pattern":
            v = _text(info.get(p["field"]))
            if v is not None and not re.fullmatch(p["regex"], v):
                finding(rule, v)
        elif rule.kind == "in_catalogue":
            for r in nodes.get(p["node"]) or []:
                code = _text(r.get(p["field"]))
                if code and _matches(r, p.get("where", {})) and ctx.in_catalogue(p["catalogue"], code) is False:
                    finding(rule, code)
    return out
