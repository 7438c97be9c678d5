"""Reforms: dated changes to any parameter of a region's policy, for what-if runs.

A reform is a patch to the policy *document*: each change adds a dated entry to a parameter's
``values`` (with the reform as its source), so the reformed policy is an ordinary policy file. The
simulator's kernel reads its parameters from it, and ``--verify`` installs the very same text in a
database and settles through the services; both see one policy.

A change is written ``key[@YYYY-MM-DD]<op>value``:

- ``benefit.employee.outpatient.deductible=800`` sets the value from the date on (default: always);
  later entries of the base file are replaced.
- ``mutual_aid.relations+=sibling`` adds list items (or adds to an amount) in every entry from the
  date on, so the base file's own later changes keep their effect.
- ``mutual_aid.uses-=pharmacy`` removes list items (or subtracts from an amount).
- ``benefit.employee.outpatient.ratio.retired.3=0.65`` changes one cell of a parameter that is
  split ``by`` person class and hospital level.

Whatever the result, it is validated exactly as a file is, and a refusal names the change.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from yibao.policy.loader import GRADES, PolicyError, _as_date, load_policy_text
from yibao.policy.model import Policy
from yibao.yamlio import dump_yaml, load_yaml_text

REFORM_SOURCE = "reform"
_CHANGE = re.compile(r"(?P<key>[a-z0-9_.]+)(?:@(?P<since>\d{4}-\d{2}-\d{2}))?\s*(?P<op>\+=|-=|=)(?P<value>.*)", re.S)
_BEGINNING = date(1, 1, 1)  # "from the beginning": before any date a claim can have


@dataclass(frozen=True)
class Change:
    target: str  # a parameter key, optionally followed by dimension keys ("….ratio.retired.3")
    op: str  # "=", "+=" or "-="
    value: Any  # as YAML reads it: Decimal, int, str, list, mapping
    since: date | None = None  # None: from the beginning
    text: str = ""  # as written, for messages

    def describe(self) -> str:
        return self.text or f"{self.target}{'@' + self.since.isoformat() if self.since else ''}{self.op}{self.value}"


@dataclass(frozen=True)
class Reform:
    name: str
    changes: tuple[Change, ...]
    title: str = "改革方案（假设，示意）"
    url: str | None = None
    grade: str = "D"

    @property
    def empty(self) -> bool:
        return not self.changes


def parse_change(text: str, default_since: date | None = None) -> Change:
    """``key[@date]=value`` / ``+=`` / ``-=``; the value is read as YAML (``800``, ``[a, b]``, ``0.65``)."""
    m = _CHANGE.fullmatch(text.strip())
    if not m:
        raise PolicyError("reform", text, "改革参数应写成 参数[@YYYY-MM-DD]=取值（或 += / -=）")
    try:
        value = load_yaml_text(m["value"].strip()) if m["value"].strip() else None
    except yaml.YAMLError as exc:
        raise PolicyError("reform", text, f"取值不是合法的 YAML：{exc}") from exc
    try:
        since = date.fromisoformat(m["since"]) if m["since"] else default_since
    except ValueError:
        raise PolicyError("reform", text, f"日期无效：{m['since']}") from None
    return Change(m["key"], m["op"], value, since, text.strip())


def reform_from_texts(texts: list[str], name: str | None = None, since: date | None = None) -> Reform:
    changes = tuple(parse_change(t, since) for t in texts)
    return Reform(name or "；".join(c.describe() for c in changes), changes)


def load_reform_file(path: str | Path) -> Reform:
    """A reform YAML: ``name``, optional ``since``, ``source`` {title, url, grade} and ``changes``.

    ``changes`` is a list of change strings, or a mapping ``target: value`` (meaning ``=``), or
    ``target: {op: "+=", value: …, since: …}``.
    """
    origin = str(path)
    try:
        doc = load_yaml_text(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(origin, "", f"无法读取改革文件：{exc}") from exc
    if not isinstance(doc, Mapping) or "changes" not in doc:
        raise PolicyError(origin, "", "改革文件应为映射，含 name 与 changes")
    extra = set(doc) - {"name", "since", "source", "changes", "note"}
    if extra:
        raise PolicyError(origin, sorted(extra)[0], "未知的改革文件字段")
    since = _optional_date(doc.get("since"), origin, "since")
    raw = doc["changes"]
    changes: list[Change] = []
    if isinstance(raw, list):
        changes = [parse_change(str(t), since) for t in raw]
    elif isinstance(raw, Mapping):
        for target, body in raw.items():
            if isinstance(body, Mapping) and "value" in body:
                op = body.get("op", "=")
                if op not in ("=", "+=", "-="):
                    raise PolicyError(origin, f"changes.{target}.op", "应为 = / += / -=")
                when = _optional_date(body.get("since"), origin, f"changes.{target}.since") or since
                changes.append(Change(str(target), op, body["value"], when, f"{target}{op}{body['value']}"))
            else:
                changes.append(Change(str(target), "=", body, since, f"{target}={body}"))
    else:
        raise PolicyError(origin, "changes", "应为列表或映射")
    source = doc.get("source") or {}
    if not isinstance(source, Mapping) or source.get("grade", "D") not in GRADES:
        raise PolicyError(origin, "source", "来源应为 {title, url, grade: A/B/C/D}")
    return Reform(
        str(doc.get("name") or Path(path).stem),
        tuple(changes),
        str(source.get("title") or "改革方案（假设，示意）"),
        source.get("url"),
        source.get("grade", "D"),
    )


def _optional_date(raw: Any, origin: str, key: str) -> date | None:
    if raw is None:
        return None
    try:
        return _as_date(raw)
    except ValueError as exc:
        raise PolicyError(origin, key, str(exc)) from exc


def combine_reforms(*reforms: Reform) -> Reform:
    changes = tuple(c for r in reforms for c in r.changes)
    names = [r.name for r in reforms if r.changes]
    return Reform("；".join(names), changes, *(_source_of(reforms)))


def _source_of(reforms: tuple[Reform, ...]) -> tuple[str, str | None, str]:
    for r in reforms:
        if r.changes:
            return r.title, r.url, r.grade
    return "改革方案（假设，示意）", None, "D"


# Applying ----------------------------------------------------------------------------------------


def reform_document(doc: Mapping[str, Any], reform: Reform, origin: str = "reform") -> dict[str, Any]:
    """The policy document with every change applied (the input is not modified)."""
    out = copy.deepcopy(dict(doc))
    params = out.get("parameters")
    if not isinstance(params, dict):
        raise PolicyError(origin, "parameters", "缺少参数")
    sources = out.setdefault("sources", {})
    sources[REFORM_SOURCE] = {"title": f"{reform.title}：{reform.name}", "grade": reform.grade}
    if reform.url:
        sources[REFORM_SOURCE]["url"] = reform.url
    for change in reform.changes:
        key, path = _split_target(params, change)
        body = params.setdefault(key, {"description": f"改革新增参数 {key}", "values": {}})
        try:
            body["values"] = _apply(body.get("values") or {}, path, change)
        except ValueError as exc:
            raise PolicyError(origin, change.describe(), str(exc)) from exc
    return out


def _split_target(params: Mapping[str, Any], change: Change) -> tuple[str, tuple[str, ...]]:
    """The parameter the change names and the dimension keys after it (longest known key wins)."""
    parts = change.target.split(".")
    for i in range(len(parts), 0, -1):
        key = ".".join(parts[:i])
        if key in params:
            path = tuple(parts[i:])
            by = params[key].get("by") or []
            if len(path) > len(by):
                raise PolicyError("reform", change.describe(), f"参数 {key} 只按 {by or '（无）'} 分档")
            return key, path
    return change.target, ()  # a parameter the base file does not set: the change introduces it


def _apply(values: Mapping[Any, Any], path: tuple[str, ...], change: Change) -> dict[Any, Any]:
    """A whole-value ``=`` replaces the timeline from its date; ``+=``, ``-=`` and a change of one
    cell patch the entry in force on that date and every later one."""
    entries = sorted(((_as_date(k), v) for k, v in values.items()), key=lambda kv: kv[0])
    replace_all = change.op == "=" and not path

    def patch(entry: Mapping[str, Any]) -> dict[str, Any]:
        value = entry.get("value")
        if value is None and path:
            return dict(entry)  # the parameter is ended there: nothing to patch
        return {"value": _patched(value, path, change), "source": REFORM_SOURCE}

    if change.since is None:
        if replace_all or not entries:
            return {_BEGINNING.isoformat(): patch({"value": None} if not path else {"value": {}})}
        return {d.isoformat(): patch(v) for d, v in entries}
    since = change.since
    out = {d.isoformat(): v for d, v in entries if d < since}
    in_force = next((v for d, v in reversed(entries) if d <= since), {"value": None})
    out[since.isoformat()] = patch(in_force) if in_force.get("value") is not None or not path else dict(in_force)
    if not replace_all:
        out.update({d.isoformat(): patch(v) for d, v in entries if d > since})
    return out


def _patched(value: Any, path: tuple[str, ...], change: Change) -> Any:
    if not path:
        return _operate(value, change)
    if not isinstance(value, Mapping):
        raise ValueError(f"取值不是按维度分档的映射，不能修改 {'.'.join(path)}")
    out = dict(value)
    match = next((k for k in out if str(k) == path[0]), None)
    if match is None:
        match = int(path[0]) if path[0].isdigit() else path[0]
    out[match] = _patched(out.get(match), path[1:], change)
    return out


def _operate(current: Any, change: Change) -> Any:
    new = change.value
    if change.op == "=":
        return copy.deepcopy(new)
    if isinstance(current, list) or (current is None and isinstance(new, list | str)):
        items = new if isinstance(new, list) else [new]
        base = list(current or [])
        if change.op == "+=":
            return base + [i for i in items if i not in base]
        return [i for i in base if i not in items]
    if isinstance(current, int | Decimal) and isinstance(new, int | Decimal) and not isinstance(new, bool):
        result = Decimal(current) + Decimal(new) if change.op == "+=" else Decimal(current) - Decimal(new)
        return result
    raise ValueError(f"{change.op} 只能用于列表或金额/比例，当前取值为 {current!r}")


def reformed_policy(base_text: str, reform: Reform, origin: str) -> tuple[Policy, str]:
    """The reformed policy and its text (what a database would store for it)."""
    doc = load_yaml_text(base_text)
    if reform.empty:
        return load_policy_text(base_text, origin), base_text
    text = dump_yaml(reform_document(doc, reform, origin))
    return load_policy_text(text, f"{origin}+{reform.name}"), text


__all__ = [
    "REFORM_SOURCE",
    "Change",
    "Reform",
    "combine_reforms",
    "load_reform_file",
    "parse_change",
    "reform_document",
    "reform_from_texts",
    "reformed_policy",
]
