"""Reading policy files (``spec/policy-format.md``) with validation that names file, key and reason."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from yibao.errors import DomainError
from yibao.policy.model import DatedValue, Parameter, Policy, Source
from yibao.policy.schema import DIMENSIONS, MAPPING_KEYS, read_dimension_key, reader_for
from yibao.yamlio import load_yaml_text

GRADES = ("A", "B", "C", "D")
OVERRIDE_SOURCE = Source("override", "案例或改革覆盖的参数（policy_overrides）", None, "D")


class PolicyError(DomainError):
    """A policy file that breaks the format; the message names the file, the key and the reason."""

    def __init__(self, origin: str, key: str, reason: str):
        where = f"{origin}：{key}" if key else origin
        super().__init__("E8001-001", f"政策文件错误：{where}：{reason}")
        self.origin, self.key, self.reason = origin, key, reason


def _as_date(raw: Any) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
        return date.fromisoformat(raw)
    raise ValueError(f"生效日期应为 YYYY-MM-DD，实际为 {raw!r}")


def read_value(key: str, by: tuple[str, ...], raw: Any) -> Any:
    """Turn a written value into program form along ``by``; raises ``ValueError`` with the reason."""
    reader = reader_for(key)
    if not by:
        if isinstance(raw, Mapping) and reader is not None and key not in MAPPING_KEYS:
            raise ValueError("取值是映射，但参数没有声明 by 维度")
        return reader(raw) if reader else raw
    return _read_by(key, by, raw, reader)


def _read_by(key: str, by: tuple[str, ...], raw: Any, reader: Any) -> Any:
    dim, rest = by[0], by[1:]
    if not isinstance(raw, Mapping) or not raw:
        raise ValueError(f"按 {dim} 分档的取值应为非空映射，实际为 {raw!r}")
    out = {}
    for k, v in raw.items():
        dk = read_dimension_key(dim, k)
        if dk in out:
            raise ValueError(f"{dim}={k!r} 重复")
        try:
            out[dk] = _read_by(key, rest, v, reader) if rest else (reader(v) if reader else v)
        except ValueError as exc:
            raise ValueError(f"{dim}={k}：{exc}") from exc
    if dim == "age" and 0 not in out:
        raise ValueError("按年龄（age）分档须从 0 岁开始，使每个年龄都有取值")
    return out


def parse_policy(doc: Any, origin: str) -> Policy:
    if not isinstance(doc, Mapping):
        raise PolicyError(origin, "", "文件内容应为映射（region / sources / parameters）")
    unknown = set(doc) - {"region", "sources", "parameters"}
    if unknown:
        raise PolicyError(origin, sorted(unknown)[0], "未知的顶层键")
    region = doc.get("region")
    if not isinstance(region, Mapping):
        raise PolicyError(origin, "region", "缺少 region")
    for k in ("id", "admdvs", "name"):
        if not isinstance(region.get(k), str) or not region.get(k):
            raise PolicyError(origin, f"region.{k}", "缺少或不是字符串")
    if not re.fullmatch(r"[0-9]{6}", region["admdvs"]):
        raise PolicyError(origin, "region.admdvs", "医保区划应为6位数字")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", region["id"]):
        raise PolicyError(origin, "region.id", "只能包含小写字母、数字和连字符")
    sources = _parse_sources(doc.get("sources"), origin)
    params_doc = doc.get("parameters")
    if not isinstance(params_doc, Mapping) or not params_doc:
        raise PolicyError(origin, "parameters", "缺少参数")
    params = {key: _parse_parameter(str(key), body, sources, origin) for key, body in params_doc.items()}
    return Policy(region["id"], region["admdvs"], region["name"], sources, params, origin)


def _parse_sources(raw: Any, origin: str) -> dict[str, Source]:
    if not isinstance(raw, Mapping) or not raw:
        raise PolicyError(origin, "sources", "缺少来源列表")
    out = {}
    for sid, body in raw.items():
        if not isinstance(body, Mapping) or not isinstance(body.get("title"), str):
            raise PolicyError(origin, f"sources.{sid}", "来源须有 title")
        grade = body.get("grade")
        if grade not in GRADES:
            raise PolicyError(origin, f"sources.{sid}.grade", f"可信度应为 A/B/C/D，实际为 {grade!r}")
        extra = set(body) - {"title", "url", "grade", "note"}
        if extra:
            raise PolicyError(origin, f"sources.{sid}.{sorted(extra)[0]}", "未知的来源字段")
        out[str(sid)] = Source(str(sid), body["title"], body.get("url"), grade)
    return out


def _parse_parameter(key: str, body: Any, sources: Mapping[str, Source], origin: str) -> Parameter:
    if not isinstance(body, Mapping):
        raise PolicyError(origin, key, "参数应为映射（description / by / values）")
    extra = set(body) - {"description", "by", "values", "unit", "note"}
    if extra:
        raise PolicyError(origin, f"{key}.{sorted(extra)[0]}", "未知的参数字段")
    try:
        reader_for(key)
    except ValueError as exc:
        raise PolicyError(origin, key, str(exc)) from exc
    by_raw = body.get("by", [])
    if not isinstance(by_raw, list) or len(set(by_raw)) != len(by_raw):
        raise PolicyError(origin, f"{key}.by", "by 应为不重复的维度列表")
    for dim in by_raw:
        if dim not in DIMENSIONS:
            raise PolicyError(origin, f"{key}.by", f"未知维度 {dim!r}（可用：{', '.join(DIMENSIONS)}）")
    by = tuple(by_raw)
    values_raw = body.get("values")
    if not isinstance(values_raw, Mapping) or not values_raw:
        raise PolicyError(origin, f"{key}.values", "缺少按生效日期排列的取值")
    entries = []
    for since_raw, entry in values_raw.items():
        where = f"{key}.values.{since_raw}"
        try:
            since = _as_date(since_raw)
        except ValueError as exc:
            raise PolicyError(origin, where, str(exc)) from exc
        if not isinstance(entry, Mapping) or "value" not in entry:
            raise PolicyError(origin, where, "每个取值须写成 {value: ..., source: ...}")
        extra = set(entry) - {"value", "source", "note"}
        if extra:
            raise PolicyError(origin, f"{where}.{sorted(extra)[0]}", "未知字段")
        source = entry.get("source")
        if source not in sources:
            raise PolicyError(origin, f"{where}.source", f"来源 {source!r} 未在 sources 中列出")
        raw = entry["value"]
        try:
            value = None if raw is None else read_value(key, by, raw)
        except ValueError as exc:
            raise PolicyError(origin, f"{where}.value", str(exc)) from exc
        entries.append(DatedValue(since, value, str(source), raw))
    entries.sort(key=lambda e: e.since)
    return Parameter(key, str(body.get("description") or ""), by, tuple(entries))


def load_policy_text(text: str, origin: str) -> Policy:
    try:
        doc = load_yaml_text(text)
    except yaml.YAMLError as exc:
        raise PolicyError(origin, "", f"YAML 语法错误：{exc}") from exc
    return parse_policy(doc, origin)


def load_policy_file(path: str | Path) -> Policy:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(str(p), "", f"无法读取：{exc.strerror}") from exc
    return load_policy_text(text, str(p))


def apply_overrides(policy: Policy, overrides: Mapping[str, Any], origin: str = "policy_overrides") -> Policy:
    """Each override holds for every day of the case; its value is validated like a file value."""
    values = {}
    for key, raw in overrides.items():
        p = policy.parameters.get(key)
        by = p.by if p else ()
        try:
            reader_for(key)
            value = None if raw is None else read_value(key, by, raw)
        except ValueError as exc:
            raise PolicyError(origin, key, str(exc)) from exc
        values[key] = DatedValue(date.min, value, OVERRIDE_SOURCE.id, raw)
    return policy.with_values(values, OVERRIDE_SOURCE)


# Shipped regions ---------------------------------------------------------------------------------


def shipped_region_ids() -> list[str]:
    folder = resources.files("yibao.regions")
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def shipped_policy_text(region_id: str) -> str:
    if region_id not in shipped_region_ids():
        raise PolicyError(
            region_id, "", f"没有名为 {region_id!r} 的内置统筹区（可用：{', '.join(shipped_region_ids())}）"
        )
    return (resources.files("yibao.regions") / f"{region_id}.yaml").read_text(encoding="utf-8")


def load_policy(ref: str, base: Path | None = None) -> tuple[Policy, str]:
    """A shipped region id or a file path (relative to ``base``); returns the policy and its text."""
    if ref in shipped_region_ids():
        text = shipped_policy_text(ref)
        return load_policy_text(text, f"yibao/regions/{ref}.yaml"), text
    path = Path(ref)
    if base is not None and not path.is_absolute():
        path = base / path
    if not path.exists():
        raise PolicyError(ref, "", f"既不是内置统筹区（{', '.join(shipped_region_ids())}），也不是存在的文件")
    policy = load_policy_file(path)
    return policy, path.read_text(encoding="utf-8")
