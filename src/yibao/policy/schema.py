"""The public vocabulary of policy keys and how each value is read.

``spec/policy-format.md`` fixes the meaning of these keys; this module fixes their types. A reader
turns the YAML value into the program's form (money in fen, ratios in parts per ten thousand) or
raises ``ValueError`` with a Chinese reason. Keys outside the vocabulary are allowed (regions add
their own) and kept as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from yibao.family.model import RELATIONS
from yibao.limits import CLAIM_LOOKBACK_DAYS, MAX_FEE_LINES, MAX_POLICY_COUNT, REGISTRATION_LOOKBACK_HOURS
from yibao.money import MoneyFormatError, parse_fen, parse_ratio

PERSON_CLASSES = ("in_service", "retired", "resident")
HOSPITAL_LEVELS = (0, 1, 2, 3)
DIMENSIONS = ("person_class", "age", "hospital_level")
MAX_AGE = 150  # an age key is "from this age on"; the bound keeps a typo (1700) from loading
SCHEMES = ("employee", "resident")
CATEGORIES = ("outpatient", "chronic", "inpatient", "pharmacy")
BUCKETS = ("current", "historical")
PAYABLE_PARTS = ("ownpay", "overlimit", "preselfpay", "deductible", "coinsurance", "over_cap")
MUTUAL_AID_USES = (*CATEGORIES, "resident_premium")
OFFSITE_KINDS = ("filed", "temporary", "unfiled")

Reader = Callable[[Any], Any]


def money(v: Any) -> int:
    try:
        return parse_fen(v, "金额")
    except MoneyFormatError as exc:
        raise ValueError(str(exc)) from exc


def ratio(v: Any) -> int:
    try:
        return parse_ratio(v, "比例")
    except MoneyFormatError as exc:
        raise ValueError(str(exc)) from exc


def boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"应为 true/false，实际为 {v!r}")
    return v


def count(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int | Decimal) or int(v) != v or v < 0:
        raise ValueError(f"应为非负整数，实际为 {v!r}")
    if v > MAX_POLICY_COUNT:
        raise ValueError(f"超出上限{MAX_POLICY_COUNT}，实际为 {v!r}")
    return int(v)


def positive(v: Any) -> int:
    n = count(v)
    if n == 0:
        raise ValueError("应为正整数，实际为 0")
    return n


def per_category(read: Reader) -> Reader:
    """A mapping with one value for each category (outpatient, chronic, inpatient, pharmacy)."""

    def read_map(v: Any) -> dict[str, Any]:
        if not isinstance(v, dict):
            raise ValueError(f"应为 {'/'.join(CATEGORIES)} → 取值 的映射")
        missing = [k for k in CATEGORIES if k not in v]
        extra = [k for k in v if k not in CATEGORIES]
        if missing or extra:
            raise ValueError(f"须恰好包含 {'/'.join(CATEGORIES)}（缺少 {missing}，多余 {extra}）")
        return {k: read(v[k]) for k in CATEGORIES}

    return read_map


def one_of(*allowed: str) -> Reader:
    def read(v: Any) -> str:
        if v not in allowed:
            raise ValueError(f"应为 {'/'.join(allowed)} 之一，实际为 {v!r}")
        return v

    read.choices = allowed  # for showing the value in words (yibao.words)
    return read


def subset_of(*allowed: str, non_empty: bool = False) -> Reader:
    def read(v: Any) -> tuple[str, ...]:
        if not isinstance(v, list):
            raise ValueError(f"应为列表，实际为 {v!r}")
        for item in v:
            if item not in allowed:
                raise ValueError(f"列表项 {item!r} 不在 {'/'.join(allowed)} 之中")
        if len(set(v)) != len(v):
            raise ValueError("列表项重复")
        if non_empty and not v:
            raise ValueError("列表不能为空")
        return tuple(v)

    read.choices = allowed
    return read


def month_day(v: Any) -> tuple[int, int]:
    if not isinstance(v, str) or not re.fullmatch(r"[0-9]{2}-[0-9]{2}", v):
        raise ValueError(f'应为 "MM-DD" 形式的字符串，实际为 {v!r}')
    m, d = int(v[:2]), int(v[3:])
    if not (1 <= m <= 12 and 1 <= d <= 28):
        raise ValueError(f"月日无效（日须在1–28之间，以便每年都存在）：{v!r}")
    return (m, d)


def med_type_map(v: Any) -> dict[str, str]:
    if not isinstance(v, dict) or not v:
        raise ValueError("应为 医疗类别 → 类别 的映射")
    out = {}
    for k, cat in v.items():
        if not re.fullmatch(r"[0-9]{2,6}", str(k)):
            raise ValueError(f"医疗类别代码无效：{k!r}")
        if cat not in CATEGORIES:
            raise ValueError(f"类别 {cat!r} 不在 {'/'.join(CATEGORIES)} 之中")
        out[str(k)] = cat
    return out


def window(v: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    if not isinstance(v, dict) or set(v) != {"start", "end"}:
        raise ValueError('应为 {start: "MM-DD", end: "MM-DD"}')
    return (month_day(v["start"]), month_day(v["end"]))


def offsite_map(v: Any) -> dict[str, int]:
    if not isinstance(v, dict):
        raise ValueError("应为 {filed, temporary, unfiled} → 比例 的映射")
    missing = [k for k in OFFSITE_KINDS if k not in v]
    extra = [k for k in v if k not in OFFSITE_KINDS]
    if missing or extra:
        raise ValueError(f"须恰好包含 filed/temporary/unfiled（缺少 {missing}，多余 {extra}）")
    return {k: ratio(v[k]) for k in OFFSITE_KINDS}


FIXED: dict[str, Reader] = {
    "account.year_start": month_day,
    "account.inservice_credit_rate": ratio,
    "account.retiree_credit": money,
    "account.bucket_order": subset_of(*BUCKETS, non_empty=True),
    "account.payable_parts": subset_of(*PAYABLE_PARTS),
    "account.allow_negative": boolean,
    "mutual_aid.enabled": boolean,
    "mutual_aid.relations": subset_of(*RELATIONS),
    "mutual_aid.order": one_of("binding_order", "balance_desc"),
    "mutual_aid.buckets": subset_of(*BUCKETS, non_empty=True),
    "mutual_aid.uses": subset_of(*MUTUAL_AID_USES),
    "proxy.max_members": count,
    "proxy.face_verification_age": count,
    "credential.max_failures": count,
    "credential.lock_minutes": count,
    "settlement.med_type_category": med_type_map,
    "settlement.registration_lookback_hours": per_category(count),
    "settlement.claim_lookback_days": per_category(count),
    "settlement.max_fee_lines": per_category(positive),
    "waiting.resident.fixed_months": count,
    "waiting.resident.per_break_year_months": count,
    "waiting.resident.break_offset_years": count,
    "waiting.resident.long_break_years": count,
    "waiting.resident.long_break_floor_months": count,
    "waiting.employee.first_enrol_months": count,
    "waiting.employee.flexible_first_enrol_months": count,
    "waiting.employee.gap_tolerance_months": count,
    "contribution.base_floor": money,
    "contribution.base_ceiling": money,
    "resident.collection_window": window,
    "resident.premium": money,
    "account.preallocation": one_of("none", "annual"),
    "offsite.ratio_reduction": offsite_map,
}

# Keys whose one value is itself a mapping (not one value per ``by`` dimension).
MAPPING_KEYS = {
    "settlement.med_type_category",
    "settlement.registration_lookback_hours",
    "settlement.claim_lookback_days",
    "settlement.max_fee_lines",
    "offsite.ratio_reduction",
    "resident.collection_window",
}

BENEFIT_FIELDS: dict[str, Reader] = {
    "deductible": money,
    "deductible_scope": one_of("year", "visit"),
    "ratio": ratio,
    "cap": money,
    # Shanghai's 当年账户段: the in-scope amount is first paid from these own-account buckets, outside
    # the deductible and the pooled fund; only what the buckets cannot cover reaches 起付段/共付段.
    "account_segment": subset_of(*BUCKETS, non_empty=True),
}

# What a parameter a region does not set means, in program form: the one place a default is written
# (``Policy.setting`` reads it). A key listed in REQUIRED has no default: a region installed without
# it is refused, naming the file and the key.
DEFAULTS: dict[str, Any] = {
    "account.year_start": (1, 1),
    "account.inservice_credit_rate": 0,
    "account.retiree_credit": 0,
    "account.bucket_order": BUCKETS,
    "account.payable_parts": PAYABLE_PARTS,
    "account.allow_negative": False,
    "mutual_aid.enabled": False,
    "mutual_aid.relations": (),
    "mutual_aid.order": "binding_order",
    "mutual_aid.buckets": BUCKETS,
    "mutual_aid.uses": (),
    "proxy.max_members": 5,
    "proxy.face_verification_age": 16,
    "credential.max_failures": 5,
    "credential.lock_minutes": 1440,
    "settlement.registration_lookback_hours": REGISTRATION_LOOKBACK_HOURS,
    "settlement.claim_lookback_days": CLAIM_LOOKBACK_DAYS,
    "settlement.max_fee_lines": MAX_FEE_LINES,
    "waiting.resident.fixed_months": 0,
    "waiting.resident.per_break_year_months": 0,
    "waiting.resident.break_offset_years": 0,
    "waiting.resident.long_break_years": 0,
    "waiting.resident.long_break_floor_months": 0,
    "waiting.employee.first_enrol_months": 0,
    "waiting.employee.gap_tolerance_months": 3,
    "contribution.base_floor": None,  # no floor
    "contribution.base_ceiling": None,  # no ceiling
    "resident.collection_window": None,  # premiums are in the window all year
    "offsite.ratio_reduction": {},
}
BENEFIT_DEFAULTS: dict[str, Any] = {
    "deductible": 0,
    "deductible_scope": "year",
    "ratio": None,  # no ratio: the pooled fund pays nothing in this cell
    "cap": None,  # no annual cap
    "account_segment": (),
}
REQUIRED = ("settlement.med_type_category",)


def default_of(key: str) -> tuple[bool, Any]:
    """(True, the default) for a key the schema gives one; (False, None) otherwise."""
    if key in DEFAULTS:
        return True, DEFAULTS[key]
    m = _BENEFIT_KEY.fullmatch(key)
    if m and m["field"] in BENEFIT_DEFAULTS:
        return True, BENEFIT_DEFAULTS[m["field"]]
    return False, None


STRICT_FAMILIES = ("mutual_aid", "proxy", "credential")

_BENEFIT_KEY = re.compile(r"benefit\.(?P<scheme>[a-z_]+)\.(?P<category>[a-z_]+)\.(?P<field>[a-z_]+)")


def reader_for(key: str) -> Reader | None:
    """The reader of a known key, ``None`` for a region's own key; ``ValueError`` for a misspelt one."""
    if key in FIXED:
        return FIXED[key]
    m = _BENEFIT_KEY.fullmatch(key)
    if m:
        if m["scheme"] not in SCHEMES:
            raise ValueError(f"险种 {m['scheme']!r} 不在 {'/'.join(SCHEMES)} 之中")
        if m["category"] not in CATEGORIES:
            raise ValueError(f"类别 {m['category']!r} 不在 {'/'.join(CATEGORIES)} 之中")
        if m["field"] not in BENEFIT_FIELDS:
            raise ValueError(f"待遇参数 {m['field']!r} 不在 {'/'.join(BENEFIT_FIELDS)} 之中")
        return BENEFIT_FIELDS[m["field"]]
    family = key.split(".", 1)[0]
    if family in STRICT_FAMILIES:
        # These families are fully enumerated by the spec: an unknown member is a typo.
        known = ", ".join(k for k in FIXED if k.startswith(family + "."))
        raise ValueError(f"未知参数（本组已知参数：{known}）")
    return None


def read_dimension_key(dim: str, raw: Any) -> Any:
    if dim == "person_class":
        if raw not in PERSON_CLASSES:
            raise ValueError(f"人员类别 {raw!r} 不在 {'/'.join(PERSON_CLASSES)} 之中")
        return raw
    if dim == "hospital_level":
        try:
            level = int(raw)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"医院等级 {raw!r} 应为 0–3") from exc
        if level not in HOSPITAL_LEVELS or str(level) != str(raw).strip():
            raise ValueError(f"医院等级 {raw!r} 应为 0–3")
        return level
    if dim == "age":
        if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).strip().isdigit():
            raise ValueError(f"年龄 {raw!r} 应为 0–{MAX_AGE} 的整数（表示“该年龄及以上”）")
        age = int(str(raw).strip())
        if age > MAX_AGE:
            raise ValueError(f"年龄 {raw!r} 应为 0–{MAX_AGE} 的整数")
        return age
    raise ValueError(f"未知维度 {dim!r}（可用：{', '.join(DIMENSIONS)}）")
