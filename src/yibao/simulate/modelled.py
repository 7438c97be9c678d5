"""What the simulator models of a policy, key by key — and the refusal of anything else.

The kernel is exact only for what it reads. Every key a region file may hold is in one of two lists:

* ``READ`` — the kernel's tables read it (``tables.build_tables``), along the ``by`` dimensions
  given here (the same lookups the settlement services make);
* ``NO_EFFECT`` — it decides nothing a simulation computes, for the reason given (sign-in rules, the
  time windows of a live claim, enrolment and premiums, which a dataset does not contain).

``check_policy`` refuses a policy with a key in neither list (a region's own key, or a key a future
schema adds), or with a key banded along a dimension the kernel does not look it up by, naming each
parameter: never a silent approximation. ``tests/test_simulate.py`` checks that the whole schema
vocabulary is classified and that the tables read exactly the ``READ`` keys.
"""

from __future__ import annotations

from datetime import date

from yibao.policy import Policy
from yibao.policy.schema import DIMENSIONS
from yibao.simulate.data import SimulationInputError

READ: dict[str, tuple[str, ...]] = {
    "account.year_start": (),
    "account.inservice_credit_rate": (),
    "account.retiree_credit": ("person_class",),
    "account.bucket_order": (),
    "account.payable_parts": (),
    "mutual_aid.enabled": (),
    "mutual_aid.relations": (),
    "mutual_aid.order": (),
    "mutual_aid.buckets": (),
    "mutual_aid.uses": (),
    "settlement.med_type_category": (),
    "offsite.ratio_reduction": (),
    # The dataset's contribution bases are checked against these (a base the service would refuse is refused).
    "contribution.base_floor": (),
    "contribution.base_ceiling": (),
}
# benefit.<scheme>.<category>.<field>: the fields ``benefit_terms`` reads, and along what.
BENEFIT_READ: dict[str, tuple[str, ...]] = {
    "deductible": DIMENSIONS,
    "ratio": DIMENSIONS,
    "cap": DIMENSIONS,
    "deductible_scope": (),
    "account_segment": (),
}

_NO_AMOUNT = "只影响身份核验或亲情账户绑定，不影响结算金额"
_LIVE_CLAIM = "只约束实时结算的受理（时间窗、明细条数）；数据集中的结算都是已受理的"
_ENROLMENT = "待遇等待期：数据集中的人员都在模拟开始前参保并享受待遇，期间内没有新参保或断保"
_PREMIUM = "居民缴费：数据集中没有居民缴费（包括共济代缴）"
NO_EFFECT: dict[str, str] = {
    "account.allow_negative": "只在预划账户清退时使用；数据集中没有预划和清退",
    "account.preallocation": "预划是经办操作；数据集中没有预划",
    "proxy.max_members": _NO_AMOUNT,
    "proxy.face_verification_age": _NO_AMOUNT,
    "credential.max_failures": _NO_AMOUNT,
    "credential.lock_minutes": _NO_AMOUNT,
    "settlement.registration_lookback_hours": _LIVE_CLAIM,
    "settlement.claim_lookback_days": _LIVE_CLAIM,
    "settlement.max_fee_lines": _LIVE_CLAIM,
    "waiting.resident.fixed_months": _ENROLMENT,
    "waiting.resident.per_break_year_months": _ENROLMENT,
    "waiting.resident.break_offset_years": _ENROLMENT,
    "waiting.resident.long_break_years": _ENROLMENT,
    "waiting.resident.long_break_floor_months": _ENROLMENT,
    "waiting.employee.first_enrol_months": _ENROLMENT,
    "waiting.employee.flexible_first_enrol_months": _ENROLMENT,
    "waiting.employee.gap_tolerance_months": _ENROLMENT,
    "resident.collection_window": _PREMIUM,
    "resident.premium": _PREMIUM,
}
DIMENSION_NAMES = {"person_class": "人员类别", "age": "年龄", "hospital_level": "医院等级"}


class PolicyNotModelled(SimulationInputError):
    """A policy with parameters the kernel cannot compute exactly; ``keys`` names them."""

    def __init__(self, policy: Policy, problems: dict[str, str]):
        self.keys = sorted(problems)
        lines = "".join(f"\n  · {key}：{problems[key]}" for key in self.keys)
        super().__init__(
            f"政策 {policy.name}（{policy.origin or policy.region_id}）含有模拟内核不能精确计算的参数，"
            f"拒绝模拟（不做近似）：{lines}"
        )


def read_dims(key: str) -> tuple[str, ...] | None:
    """The dimensions the kernel looks ``key`` up along, or ``None`` when it does not read it."""
    if key in READ:
        return READ[key]
    parts = key.split(".")
    if len(parts) == 4 and parts[0] == "benefit":
        return BENEFIT_READ.get(parts[3])
    return None


def kernel_keys(policy: Policy) -> set[str]:
    """The keys of this policy the kernel reads."""
    return {k for k in policy.parameters if read_dims(k) is not None}


def problems_of(policy: Policy, start: date, end: date) -> dict[str, str]:
    """Each parameter in force during ``[start, end)`` that the kernel cannot model, with the reason."""
    out = {}
    for key, p in policy.parameters.items():
        if not _in_force_during(p, start, end):
            continue
        dims = read_dims(key)
        if dims is None:
            if key not in NO_EFFECT:
                out[key] = "模拟内核不读取这个参数，无法确定它对结算金额的影响"
            continue
        extra = [d for d in p.by if d not in dims]
        if extra:
            along = "、".join(DIMENSION_NAMES[d] for d in dims) if dims else "不分档"
            out[key] = (
                f"按{'、'.join(DIMENSION_NAMES.get(d, d) for d in extra)}分档，"
                f"而结算与模拟内核读取它时{'按' + along if dims else along}"
            )
    return out


def check_policy(policy: Policy, start: date, end: date) -> None:
    problems = problems_of(policy, start, end)
    if problems:
        raise PolicyNotModelled(policy, problems)


def _in_force_during(p, start: date, end: date) -> bool:
    entries = p.values
    for i, entry in enumerate(entries):
        until = entries[i + 1].since if i + 1 < len(entries) else date.max
        if entry.value is not None and entry.since < end and until > start:
            return True
    return False
