"""The interface specification as data: every transaction's input and output nodes and fields.

``data/interfaces.json`` and ``data/dictionaries.json`` are the field tables and code tables of the
edition yibao follows (the Hunan provincial edition V1.1.27 of the national baseline of 2021-12-30,
extracted field by field; see ``../shared/reference/nhsa-interface/README.md``). ``data/yibao.json``
adds, in the same shape, what the edition does not have but yibao answers (1162). A test keeps the
copies equal to the reference when it is present.

Nothing here reads a database or a clock: the gateway reads requests and shapes answers from these
tables (``nhsa.reader``, ``nhsa.answer``), so a new transaction is a handler plus its table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

EDITION = "湖南省医疗保障信息平台定点医药机构接口规范 V1.1.27（国家版 2021-12-30 基线）"


@dataclass(frozen=True)
class FieldSpec:
    code: str
    label: str
    kind: str  # text | number | date | datetime | node | other
    length: int | None  # characters (text) or digits in all (number)
    scale: int | None  # digits after the point (number); None when the spec gives none
    required: bool
    dict: str | None  # dictionary key, when the field is coded and its table is in the edition
    type_text: str  # the spec's own wording (字符型, 数值型 …)

    @property
    def precision(self) -> str:
        if self.kind == "number":
            return f"{self.length},{self.scale}" if self.scale is not None else str(self.length or "")
        return str(self.length or "")


@dataclass(frozen=True)
class NodeSpec:
    name: str | None  # None: the fields sit directly under input/output
    kind: str  # object | list
    fields: tuple[FieldSpec, ...]
    parent: str | None = None  # a node nested in a field of another node (2102 durg_trac_info)

    def field(self, code: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.code == code), None)


@dataclass(frozen=True)
class InterfaceSpec:
    infno: str
    name: str
    inputs: tuple[NodeSpec, ...]
    outputs: tuple[NodeSpec, ...]
    source: str  # "edition" | "yibao"

    def input(self, name: str | None) -> NodeSpec | None:
        return next((n for n in self.inputs if n.name == name and n.parent is None), None)

    def child(self, name: str, *, output: bool = False) -> NodeSpec | None:
        nodes = self.outputs if output else self.inputs
        return next((n for n in nodes if n.name == name and n.parent is not None), None)


_TYPES = {"string": "text", "number": "number", "date": "date", "datetime": "datetime"}


def _field(raw: dict[str, Any]) -> FieldSpec:
    kind = _TYPES.get(raw.get("type_short") or "", "node" if raw.get("type_short") is None else "other")
    length, scale = None, None
    text = raw.get("length")
    if text:
        head, _, tail = str(text).partition(",")
        length = int(head) if head.strip().isdigit() else None
        scale = int(tail) if tail.strip().isdigit() else None
    coded = raw.get("dict") if raw.get("dict_listed", True) else None
    return FieldSpec(
        code=raw["code"],
        label=raw.get("label") or raw["code"],
        kind=kind,
        length=length,
        scale=scale,
        required=bool(raw.get("required")),
        dict=coded,
        type_text=raw.get("type") or "",
    )


def _node(raw: dict[str, Any]) -> NodeSpec:
    fields = tuple(_field(f) for f in raw["fields"] if not f.get("struck_out"))
    return NodeSpec(raw.get("node"), raw.get("kind") or "object", fields, raw.get("parent"))


def _load(name: str) -> Any:
    return json.loads(resources.files("yibao.nhsa").joinpath("data", name).read_text(encoding="utf-8"))


@cache
def interfaces() -> dict[str, InterfaceSpec]:
    out: dict[str, InterfaceSpec] = {}
    for source, doc in (("edition", _load("interfaces.json")), ("yibao", _load("yibao.json"))):
        for raw in doc["interfaces"]:
            out[raw["infno"]] = InterfaceSpec(
                raw["infno"],
                raw["name"],
                tuple(_node(n) for n in raw.get("input", [])),
                tuple(_node(n) for n in raw.get("output", [])),
                source,
            )
    return out


def interface(infno: str) -> InterfaceSpec | None:
    return interfaces().get(infno)


@cache
def national_dictionaries() -> dict[str, dict[str, str]]:
    """``{key: {code: meaning}}`` from the edition's dictionary chapter."""
    return {k: dict(v["values"]) for k, v in _load("dictionaries.json")["dictionaries"].items()}


@cache
def edition_chapters() -> dict[str, list[str]]:
    """The edition's transactions by chapter, in document order."""
    out: dict[str, list[str]] = {}
    for raw in _load("interfaces.json")["interfaces"]:
        out.setdefault(raw.get("chapter") or "其他", []).append(raw["infno"])
    return out
