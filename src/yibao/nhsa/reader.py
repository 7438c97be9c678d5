"""One request reader for every transaction, driven by the field tables.

Rules, in one place:

- **Empty means absent.** ``""``, ``"null"`` (any case, blanks around) and JSON ``null`` are the same
  as a field not sent, for every field of every node.
- **Required is the spec's flag**, with two documented exceptions a transaction or yibao declares:
  fields the platform fills from its own records (``Rules.filled``, cross-checked by the handler when
  sent) and fields yibao records when sent but never needs to decide anything (``NOT_NEEDED``). An
  empty required field is refused naming it (``E0000-008``).
- **Types from the table**, read by the shared parsers that hold every format and bound
  (``yibao.money``, ``yibao.limits``): amounts (``16,2``) to integer fen (``parse_fen``), prices
  (``16,6``) and counts (``16,4``) exact (``parse_price``, ``parse_count``), other numbers within the
  digits the table gives them; dates and date-times in the national formats (and the ISO and compact
  ones real clients send) in ASCII digits within ``limits``' calendar; text within its length; coded
  fields within the region's dictionary. A value beyond its bound is ``E0000-009``, anything else
  malformed ``E0000-008`` (``limits.refusal_code``).
- Fields the table does not list are kept as sent (``Row.raw``) for the record, never refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

import simplejson

from yibao.errors import DomainError, refuse
from yibao.limits import COUNT_PLACES, PRICE_PLACES, parse_time, refusal_code
from yibao.money import parse_count, parse_fen, parse_price, parse_quantity
from yibao.nhsa.dictionary import NATIONAL, Dictionary
from yibao.nhsa.spec import FieldSpec, InterfaceSpec, NodeSpec

# Spec-required fields yibao records when sent but never needs: departments and doctors, the HIS's
# own codes, administrative flags and diagnosis paperwork. Liberal in form; docs/gateway.md lists them.
NOT_NEEDED = frozenset(
    {
        # who ordered, where (2201, 2204, 2301, 2401, 2402, diagnoses)
        "dept_code",
        "dept_name",
        "caty",
        "bilg_dept_codg",
        "bilg_dept_name",
        "bilg_dr_codg",
        "bilg_dr_name",
        "atddr_no",
        "chfpdr_name",
        "adm_diag_dscr",
        "adm_dept_codg",
        "adm_dept_name",
        "adm_bed",
        "dscg_maindiag_code",
        "dscg_maindiag_name",
        "dscg_dept_codg",
        "dscg_dept_name",
        "dscg_way",
        "diag_type",
        "diag_srt_no",
        "diag_name",
        "diag_dept",
        "dise_dor_no",
        "dise_dor_name",
        "diag_time",
        "vali_flag",
        "maindiag_flag",
        "dise_codg",
        "dise_name",
        # the HIS's own item code and flags yibao does not price by
        "medins_list_codg",
        "rx_circ_flag",
        "hosp_appr_flag",
        # the sign-in terminal
        "mac",
        "ip",
        # 3201: which refund settlements the institution's totals include (recorded with the statement)
        "fixmedins_refd_setl_flag",
    }
)

# Typed as numbers in the edition, but real HIS send them as text and yibao keeps them as codes.
TEXT_NUMBERS = frozenset({"feedetl_sn", "init_feedetl_sn"})

# Where yibao accepts longer text than the table, and why: psn_type is 3 long in some inputs but the
# 1101 answer gives 6; an IPv6 address and a MAC with separators do not fit 20; 2601 names infnos
# such as 2203A.
LONGER = {"psn_type": 6, "ip": 40, "mac": 40, "oinfno": 6}


def is_empty(value: Any) -> bool:
    """The one rule: JSON null, "" and "null" mean the field was not sent."""
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    text = value.strip()
    return not text or (len(text) == 4 and text.lower() == "null")  # no other text lowers to "null"


@dataclass(frozen=True)
class Rules:
    """What one transaction declares beyond its table.

    ``filled``: required fields the platform takes from its own records (``node.field`` or ``field``),
    cross-checked by the handler when sent. ``signed``: numbers that may be negative (refund lines).
    """

    filled: frozenset[str] = frozenset()
    signed: frozenset[str] = frozenset()

    def fills(self, node: str | None, code: str) -> bool:
        return code in self.filled or f"{node}.{code}" in self.filled

    def allows_negative(self, node: str | None, code: str) -> bool:
        return code in self.signed or f"{node}.{code}" in self.signed


NO_RULES = Rules()


class Row:
    """One node row, read: spec fields as attributes (None when absent), the rest in ``raw``."""

    __slots__ = ("_values", "raw", "where")

    def __init__(self, values: dict[str, Any], raw: dict[str, Any], where: str):
        self._values = values
        self.raw = raw
        self.where = where

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def get(self, name: str, default: Any = None) -> Any:
        value = self._values.get(name)
        return default if value is None else value

    def sent(self, name: str) -> bool:
        return self._values.get(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def record(self) -> dict[str, Any]:
        """What was sent, empties dropped, as JSON-able text: what the platform keeps for audit."""
        out = {}
        for k, v in self.raw.items():
            if is_empty(v):
                continue
            out[k] = v if isinstance(v, str | int | bool | list | dict) else str(v)
        return out

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Row({self.where}, {self._values!r})"


@dataclass(frozen=True)
class Reader:
    """Reads the nodes of one call's ``input`` against one interface table."""

    spec: InterfaceSpec
    inp: dict[str, Any]
    rules: Rules = NO_RULES
    dictionary: Dictionary = NATIONAL
    strict: bool = False  # refuse NOT_NEEDED fields too (a deployment that wants the spec to the letter)

    def node(self, name: str | None) -> Row:
        spec = self._spec(name)
        raw = self.inp if name is None else self.inp.get(name)
        if isinstance(raw, list) and len(raw) == 1:
            raw = raw[0]  # one row sent as a list
        if is_empty(raw) or raw == {}:
            if any(self._required(spec, f) for f in spec.fields):
                raise refuse("E0000-008", detail=f"input 缺少节点 {name}")
            raw = {}
        if not isinstance(raw, dict):
            raise refuse("E0000-008", detail=f"{name}：应为对象")
        return self._row(spec, raw, name or "input")

    def rows(self, name: str, *, min_rows: int = 0) -> list[Row]:
        spec = self._spec(name)
        raw = self.inp.get(name)
        if is_empty(raw):
            raw = []
        if isinstance(raw, dict):
            raw = [raw]  # one row sent as an object
        if not isinstance(raw, list):
            raise refuse("E0000-008", detail=f"{name}：应为数组")
        if len(raw) < min_rows:
            raise refuse("E0000-008", detail=f"{name}：至少需要{min_rows}条")
        out = []
        for i, item in enumerate(raw):
            if not isinstance(item, dict):
                raise refuse("E0000-008", detail=f"{name}[{i}]：应为对象")
            out.append(self._row(spec, item, f"{name}[{i}]"))
        return out

    def nested(self, name: str, sent: Any, where: str) -> list[Row]:
        """The rows of a node nested in a field of another (3101 ``patient_dtos`` in ``data``), read
        against that node's table."""
        spec = self.spec.child(name)
        assert spec is not None, f"{self.spec.infno} has no nested node {name!r}"
        return self._children(spec, sent, where)

    # ---------------------------------------------------------------------------------------------

    def _spec(self, name: str | None) -> NodeSpec:
        spec = self.spec.input(name)
        if spec is None:
            raise AssertionError(f"{self.spec.infno} has no input node {name!r}")  # a handler bug
        return spec

    def _required(self, node: NodeSpec, f: FieldSpec) -> bool:
        if not f.required or self.rules.fills(node.name, f.code):
            return False
        return self.strict or f.code not in NOT_NEEDED

    def _row(self, node: NodeSpec, raw: dict[str, Any], where: str) -> Row:
        values: dict[str, Any] = {}
        for f, required, read in self._plan(node):
            code = f.code
            sent = raw.get(code)
            if read is None:  # a nested node
                path = f"{where}.{code}"
                child = self.spec.child(code) or (
                    self.spec.child("drug_trac_info") if code == "durg_trac_info" else None
                )
                if sent is None and code == "durg_trac_info":
                    sent = raw.get("drug_trac_info")  # the revision history's spelling
                values[code] = self._children(child, sent, path) if child else sent
                continue
            if sent is None or (isinstance(sent, str) and is_empty(sent)):
                if required:
                    raise refuse("E0000-008", detail=f"{where}.{code}（{f.label}）为必填项，不能为空")
                values[code] = None
                continue
            try:
                values[code] = read(self, sent, where)
            except ValueError as exc:  # a bound (OutOfRange: E0000-009) or a malformed value (E0000-008)
                raise refuse(refusal_code(exc), detail=f"{where}.{code}：{exc}") from None
        return Row(values, raw, where)

    def _plan(self, node: NodeSpec) -> tuple[tuple[FieldSpec, bool, Any], ...]:
        """Per field of ``node``: whether it is required and its reader (None for a nested node),
        worked out once per table, transaction rules and strictness."""
        key = (id(node), id(self.rules), self.strict)
        got = _PLANS.get(key)
        if got is None or got[0] is not node or got[1] is not self.rules:
            plan = tuple(
                (f, self._required(node, f), None if f.kind == "node" else _field_reader(f, self.rules, node.name))
                for f in node.fields
            )
            got = _PLANS[key] = (node, self.rules, plan)
        return got[2]

    def _children(self, spec: NodeSpec, sent: Any, where: str) -> list[Row]:
        if is_empty(sent):
            return []
        items = [sent] if isinstance(sent, dict) else sent
        if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
            raise refuse("E0000-008", detail=f"{where}：应为对象或对象数组")
        return [self._row(spec, x, f"{where}[{i}]") for i, x in enumerate(items)]


# (id of the node's table, id of the rules, strict) → (table, rules, plan); the table and rules are
# kept so that their ids stay theirs.
_PLANS: dict[tuple[int, int, bool], tuple[NodeSpec, Rules, tuple[tuple[FieldSpec, bool, Any], ...]]] = {}

FieldReader = Callable[["Reader", Any, str], Any]  # (reader, sent value, where) → value, or ValueError


def _field_reader(f: FieldSpec, rules: Rules, node: str | None) -> FieldReader:
    """How a sent value of ``f`` is read: its type from the table (``TEXT_NUMBERS`` as text)."""
    kind = "text" if f.code in TEXT_NUMBERS else f.kind
    if kind == "text":
        return _text_reader(f)
    if kind == "number":
        parse = _number_parser(f, rules.allows_negative(node, f.code))
        return lambda reader, v, where: parse(v)
    if kind == "date":
        label = f.label
        return lambda reader, v, where: parse_time(v, label).date()
    if kind == "datetime":
        label = f.label
        return lambda reader, v, where: parse_time(v, label)
    return lambda reader, v, where: v


def _text_reader(f: FieldSpec) -> FieldReader:
    code, label, key = f.code, f.label, f.dict
    limit = LONGER.get(code, f.length)

    def read(reader: Reader, v: Any, where: str) -> str:
        if isinstance(v, str):
            text = v.strip()
        else:
            if isinstance(v, dict | list):
                if code != "exp_content":
                    raise refuse("E0000-008", detail=f"{where}.{code}：应为字符串")
                v = simplejson.dumps(v, ensure_ascii=False, use_decimal=True)  # 字段扩展 sent as an object
            if isinstance(v, bool):
                raise refuse("E0000-008", detail=f"{where}.{code}：应为字符串")
            text = (v if isinstance(v, str) else str(v)).strip()
        if limit and len(text) > limit:
            raise refuse("E0000-008", detail=f"{where}.{code}：超过最大长度{limit}")
        if key and not reader.dictionary.accepts(key, text):
            if key == "med_type":  # the refusal HIS already map for a medical type the region does not settle
                raise refuse("E2207-005", med_type=text)
            raise refuse(
                "E0000-008",
                detail=f"{where}.{code}：{label}取值 {text!r} 不在字典 {key} 中"
                f"（可用：{reader.dictionary.describe(key)}）",
            )
        return text

    return read


def _number_parser(f: FieldSpec, signed: bool) -> Callable[[Any], int | Decimal]:
    label = f.label
    wide = (f.length or 0) >= 10  # 16,x: amounts, prices and counts, bounded by yibao.limits
    if wide and f.scale == 2:
        parse = partial(parse_fen, what=label, allow_negative=signed)  # an amount: integer fen
    elif wide and f.scale == PRICE_PLACES and not signed:
        parse = partial(parse_price, what=label)
    elif wide and f.scale == COUNT_PLACES:
        parse = partial(parse_count, what=label, allow_negative=signed)
    else:
        places = f.scale or 0
        # Any other number (a ratio 5,4, days 4,2, a count of births 3): at most the digits its table gives.
        limit = Decimal(10) ** ((f.length or 16) - places) - Decimal(1).scaleb(-places)
        quantity = partial(parse_quantity, what=label, places=places, limit=limit, allow_negative=signed)
        parse = quantity if places else lambda v: int(quantity(v))

    def read(v: Any) -> int | Decimal:
        if isinstance(v, bool):
            raise ValueError("应为数字")
        return parse(v)

    return read


def check_same(where: str, label: str, sent: Any, ours: Any, code: str = "E0000-011") -> None:
    """A field the platform also knows, sent by the HIS: it must agree with the platform's record."""
    if sent is not None and ours is not None and str(sent) != str(ours):
        raise refuse(code, detail=f"{where}（{label}）为 {sent}，平台记录为 {ours}")


__all__ = ["NOT_NEEDED", "DomainError", "Reader", "Row", "Rules", "check_same", "is_empty"]
