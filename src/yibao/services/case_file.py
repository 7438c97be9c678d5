"""Case files (``spec/case-format.md``): parsing and validation, strict about every key.

A case that cannot be loaded fails with the file, the place and the reason; it never passes.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from yibao.errors import DomainError
from yibao.services.platform import CHINA
from yibao.yamlio import load_yaml_text

Num = str | int | Decimal


TIME_FORMS = "2026-01-01、2026-01-01T09:00:00 或 2026-01-01 09:00:00（可加时区，如 +08:00）"


def case_time(value: Any) -> datetime:
    """The one reader of times in a case file (``date``, ``clock`` and action dates alike): a YAML
    timestamp or date, or the same text quoted; a time with a zone becomes Beijing time.
    Raises ``ValueError`` naming the accepted forms."""
    if isinstance(value, datetime):
        at = value
    elif isinstance(value, date):
        at = datetime.combine(value, datetime.min.time())
    elif isinstance(value, str):
        try:
            at = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"时间 {value!r} 无法识别，应为 {TIME_FORMS}") from None
    else:
        raise ValueError(f"时间 {value!r} 无法识别，应为 {TIME_FORMS}")
    if at.tzinfo is not None:
        at = at.astimezone(CHINA).replace(tzinfo=None)
    return at


class CaseError(DomainError):
    def __init__(self, origin: str, where: str, reason: str):
        super().__init__(
            "E8001-002",
            f"案例文件错误：{origin}：{where}：{reason}" if where else f"案例文件错误：{origin}：{reason}",
        )


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InstitutionSpec(Strict):
    code: str
    name: str
    kind: Literal["hospital", "pharmacy"]
    level: int = Field(ge=0, le=3)
    admdvs: str | None = None


class CatalogSpec(Strict):
    code: str
    name: str
    chrgitm_lv: Literal["01", "02", "03"]
    selfpay_prop: Num | None = None
    pric_uplmt: Num | None = None


class AccountSpec(Strict):
    current: Num = "0.00"
    historical: Num = "0.00"


class PersonSpec(Strict):
    id: str
    name: str
    birth: date
    gender: Literal["0", "1", "2", "9"]
    insutype: Literal["310", "390"] | None = None
    psn_type: str | None = None
    insured_since: date | None = None
    insured_until: date | None = None
    account: AccountSpec | None = None
    password: str | None = None
    certno: str | None = None
    card_no: str | None = None
    card_sn: str | None = None
    ec_token: str | None = None
    admdvs: str | None = None
    emp_name: str | None = None

    @field_validator("password", "certno", "card_no", "card_sn", "psn_type", mode="before")
    @classmethod
    def _as_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int | Decimal) and not isinstance(v, bool) else v


class RelationSpec(Strict):
    of: str
    to: str
    relation: str


class MutualAidSpec(Strict):
    payer: str
    beneficiary: str
    order: int | None = None


class ProxySpec(Strict):
    holder: str
    member: str
    face_verified: bool = True
    commitment_letter: bool = False


class AccumulatorSpec(Strict):
    person: str
    category: Literal["outpatient", "chronic", "inpatient", "pharmacy"]
    deductible_used: Num = "0.00"
    fund_paid: Num = "0.00"
    year: int | None = None


class Case(Strict):
    name: str
    source: str | None = None
    date: datetime
    policy: str | dict
    policy_overrides: dict[str, Any] | None = None
    institutions: list[InstitutionSpec] = []
    catalog: list[CatalogSpec] = []
    people: list[PersonSpec] = []
    relations: list[RelationSpec] = []
    mutual_aid: list[MutualAidSpec] = []
    proxy_bindings: list[ProxySpec] = []
    accumulators: list[AccumulatorSpec] = []
    steps: list[dict[str, Any]] = []

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, v: Any) -> Any:
        return case_time(v)


STEP_KINDS = ("nhsa", "balances", "accumulators", "clock", "action")
ACTIONS = {
    "authorize_mutual_aid": {"payer", "beneficiary"},
    "revoke_mutual_aid": {"payer", "beneficiary"},
    "set_mutual_aid_order": {"beneficiary", "payers"},
    "bind_proxy": {"holder", "member", "face_verified", "commitment_letter"},
    "unbind_proxy": {"holder", "member"},
    "report_card_lost": {"person", "kind"},
    "replace_card": {"person"},
    "set_password": {"person", "password"},
    "enroll": {"person", "insutype", "psn_type", "date", "in_collection_window", "exempt"},
    "contribute": {"person", "month", "base", "year", "amount", "paid_on", "paid_by"},
    "file_offsite": {"person", "kind", "from", "to"},
}
NHSA_KEYS = {"nhsa", "fixmedins_code", "input", "password", "msgid", "expect", "save", "cainfo"}


def check_step(step: Any, index: int) -> str:
    """The step's kind; raises ``ValueError`` naming what is wrong with it."""
    if not isinstance(step, dict):
        raise ValueError("每一步应为映射")
    kinds = [k for k in STEP_KINDS if k in step]
    if len(kinds) != 1:
        raise ValueError(f"每一步须且只须包含 {'/'.join(STEP_KINDS)} 之一，实际为 {sorted(step)}")
    kind = kinds[0]
    if kind == "nhsa":
        extra = set(step) - NHSA_KEYS
        if extra:
            raise ValueError(f"nhsa 步骤有未知键 {sorted(extra)}")
        if not isinstance(step.get("input", {}), dict):
            raise ValueError("input 应为映射")
    elif kind == "action":
        name = step["action"]
        if name not in ACTIONS:
            raise ValueError(f"未知动作 {name!r}（可用：{', '.join(ACTIONS)}）")
        extra = set(step) - ACTIONS[name] - {"action", "expect", "save"}
        if extra:
            raise ValueError(f"动作 {name} 有未知键 {sorted(extra)}")
    elif kind in ("balances", "accumulators"):
        extra = set(step) - {kind, "expect"}
        if extra or not isinstance(step[kind], dict):
            raise ValueError(f"{kind} 步骤应为 {{人员: {{...}}}}，未知键 {sorted(extra)}")
    elif kind == "clock":
        if set(step) - {"clock"}:
            raise ValueError(f"clock 步骤只有一个时间，未知键 {sorted(set(step) - {'clock'})}")
        case_time(step["clock"])
    if "expect" in step and not isinstance(step["expect"], dict):
        raise ValueError("expect 应为映射")
    return kind


def parse_case(doc: Any, origin: str) -> Case:
    if not isinstance(doc, dict):
        raise CaseError(origin, "", "文件内容应为映射")
    try:
        case = Case.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(x) for x in err["loc"])
        raise CaseError(origin, where, _why(err)) from None
    handles = {p.id for p in case.people}
    if len(handles) != len(case.people):
        raise CaseError(origin, "people", "人员 id 重复")
    for i, step in enumerate(case.steps):
        try:
            check_step(step, i)
        except ValueError as exc:
            raise CaseError(origin, f"steps[{i}]", str(exc)) from None
    for where, names in _handle_uses(case):
        for name in names:
            if name not in handles:
                raise CaseError(origin, where, f"未知人员 {name!r}")
    return case


def _why(err: dict) -> str:
    kind = err["type"]
    if kind == "missing":
        return "缺少必填键"
    if kind == "extra_forbidden":
        return "未知键"
    if kind == "literal_error":
        return f"取值应为 {err['ctx']['expected']}"
    return str(err["msg"])


def _handle_uses(case: Case):
    yield from ((f"relations[{i}]", (r.of, r.to)) for i, r in enumerate(case.relations))
    yield from ((f"mutual_aid[{i}]", (m.payer, m.beneficiary)) for i, m in enumerate(case.mutual_aid))
    yield from ((f"proxy_bindings[{i}]", (b.holder, b.member)) for i, b in enumerate(case.proxy_bindings))
    yield from ((f"accumulators[{i}]", (a.person,)) for i, a in enumerate(case.accumulators))
    for i, step in enumerate(case.steps):
        if "action" in step:
            names = [step[k] for k in ("payer", "beneficiary", "holder", "member", "person", "paid_by") if k in step]
            names += list(step.get("payers", []))
            yield f"steps[{i}]", names
        for kind in ("balances", "accumulators"):
            if kind in step:
                yield f"steps[{i}]", list(step[kind])


def load_case_file(path: str | Path) -> Case:
    p = Path(path)
    try:
        doc = load_yaml_text(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CaseError(str(p), "", f"无法读取：{exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise CaseError(str(p), "", f"YAML 语法错误：{exc}") from exc
    return parse_case(doc, str(p))


def case_files(paths: list[str | Path]) -> list[Path]:
    """Files named, and every ``*.yaml`` directly in a named folder (sorted)."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out += sorted(x for x in p.iterdir() if x.suffix in (".yaml", ".yml") and x.is_file())
        else:
            out.append(p)
    return out
