"""The review of an order or a stay's fee lines (3101 事前, 3102 事中) and of a claim at settlement:
rules as dated, sourced data (``review.yaml``), evaluated here without a database or a clock.

Findings carry what 3101 answers (rule, content, amount, severity, behaviour type) and whether the
rule changes a settlement: a line outside its item's restricted use is paid by the patient, and
the settlement's explanation says which rule and why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from yibao.settlement.model import CatalogItem
from yibao.yamlio import load_yaml_text

KINDS = ("not_in_catalogue", "price_above_ceiling", "duplicate_charge", "quantity_limit", "restricted_use")
SETTINGS = {"outpatient": "门诊", "inpatient": "住院", "pharmacy": "药店购药", "chronic": "门诊慢特病"}


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    name: str
    sev_deg: str
    vola_bhvr_type: str
    message: str
    since: date
    source: str
    until: date | None = None
    params: dict = field(default_factory=dict)
    settlement: str | None = None

    def in_force(self, day: date) -> bool:
        return self.since <= day and (self.until is None or day <= self.until)


@dataclass(frozen=True)
class Restriction:
    code: str
    text: str
    since: date
    source: str
    until: date | None = None
    sex: str | None = None
    min_age: int | None = None
    max_age: int | None = None
    diagnoses: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()

    def in_force(self, day: date) -> bool:
        return self.since <= day and (self.until is None or day <= self.until)

    def breach(self, patient: Patient, setting: str, diagnoses: Sequence[str]) -> str | None:
        """Why this use is outside the restriction, or None."""
        if self.sex and patient.sex and patient.sex != self.sex:
            return "患者性别不符"
        if self.min_age is not None and patient.age is not None and patient.age < self.min_age:
            return f"患者{patient.age}周岁"
        if self.max_age is not None and patient.age is not None and patient.age > self.max_age:
            return f"患者{patient.age}周岁"
        if self.settings and setting not in self.settings:
            return f"{SETTINGS.get(setting, setting)}使用"
        if self.diagnoses and not any(d.startswith(self.diagnoses) for d in diagnoses):
            return "诊断不在限定范围内"
        return None


@dataclass(frozen=True)
class Patient:
    sex: str | None  # 1 男, 2 女
    age: int | None


@dataclass(frozen=True)
class Line:
    ref: str  # rx_id or feedetl_sn
    code: str
    name: str
    price: Decimal
    count: Decimal
    amount: int  # fen
    day: date


@dataclass(frozen=True)
class Finding:
    rule: Rule
    line: Line
    content: str
    amount: int  # fen the rule concerns
    source: str

    @property
    def to_ownpay(self) -> bool:
        return self.rule.settlement == "ownpay"


@cache
def ruleset() -> tuple[str, tuple[Rule, ...], tuple[Restriction, ...]]:
    doc = load_yaml_text(resources.files("yibao.rules").joinpath("review.yaml").read_text(encoding="utf-8"))
    sources = doc["sources"]
    rules = []
    for raw in doc["rules"]:
        assert raw["kind"] in KINDS and raw["source"] in sources, raw["id"]
        rules.append(Rule(**{**raw, "params": raw.get("params") or {}}))
    restrictions = []
    for raw in doc.get("restrictions") or []:
        assert raw["source"] in sources, raw["code"]
        values: dict[str, Any] = dict(raw)
        values["diagnoses"] = tuple(values.get("diagnoses") or ())
        values["settings"] = tuple(values.get("settings") or ())
        restrictions.append(Restriction(**values))
    return str(doc["version"]), tuple(rules), tuple(restrictions)


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"


def review(
    lines: Sequence[Line],
    patient: Patient,
    setting: str,
    diagnoses: Sequence[str],
    catalogue: Callable[[str], CatalogItem | None],
    *,
    rule_ids: Sequence[str] = (),
) -> list[Finding]:
    """Every finding of the rules in force on each line's day (only ``rule_ids`` when given)."""
    _, rules, restrictions = ruleset()
    out: list[Finding] = []
    seen: dict[tuple[str, date], int] = {}
    for line in lines:
        seen[(line.code, line.day)] = seen.get((line.code, line.day), 0) + 1
    reported: set[tuple[str, str, date]] = set()
    for line in lines:
        item = catalogue(line.code)
        for rule in rules:
            if not rule.in_force(line.day) or (rule_ids and rule.id not in rule_ids):
                continue
            words: dict[str, Any] = {"name": item.name if item else line.name, "code": line.code}
            amount = 0
            if rule.kind == "not_in_catalogue":
                if item is not None:
                    continue
                amount = line.amount
            elif rule.kind == "price_above_ceiling":
                if item is None or item.price_ceiling is None or line.price <= item.price_ceiling:
                    continue
                amount = int(((line.price - item.price_ceiling) * line.count * 100).to_integral_value())
                words.update(price=line.price.normalize(), ceiling=item.price_ceiling.normalize(), amount=_yuan(amount))
            elif rule.kind == "duplicate_charge":
                times = seen[(line.code, line.day)]
                key = (rule.id, line.code, line.day)
                if times < 2 or key in reported:
                    continue
                reported.add(key)
                amount = line.amount
                words.update(day=line.day.isoformat(), times=times)
            elif rule.kind == "quantity_limit":
                limit = Decimal(str(rule.params.get("max_count", 1000)))
                if abs(line.count) <= limit:
                    continue
                amount = line.amount
                words.update(count=line.count.normalize(), max=limit)
            elif rule.kind == "restricted_use":
                found = next((r for r in restrictions if r.code == line.code and r.in_force(line.day)), None)
                why = found.breach(patient, setting, diagnoses) if found else None
                if found is None or why is None:
                    continue
                amount = line.amount
                words.update(restriction=found.text, why=why)
                out.append(Finding(rule, line, rule.message.format(**words), amount, found.source))
                continue
            out.append(Finding(rule, line, rule.message.format(**words), amount, rule.source))
    return out
