"""待遇等待期: when benefits start after an enrolment, from the dated regional policy.

Residents (国办发〔2024〕38号, from 2025): enrolling outside the collection window, or after a break,
waits ``fixed_months``; each year of break beyond ``break_offset_years`` adds
``per_break_year_months``; each extra year paid repairs one of those months; a break of
``long_break_years`` or more waits at least ``long_break_floor_months`` in all. Newborns and assisted
groups do not wait. A first enrolment counts no break years (the text counts breaks in coverage).

Employees: a first enrolment (or a return after more than ``gap_tolerance_months``) waits
``first_enrol_months`` counted in calendar months from the enrolment month: 1 means "from the
first day of next month", 0 means at once. Flexible workers may have a longer wait of their own.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from yibao.policy.model import Policy

NEWBORN_PSN_TYPES = ("1401",)
FLEXIBLE_PSN_TYPES = ("1103", "1203")


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's last day (3-31 + 1 month → 4-30)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def first_of_month_after(day: date, months: int) -> date:
    index = day.month - 1 + months
    return date(day.year + index // 12, index % 12 + 1, 1)


def full_years_between(start: date, end: date) -> int:
    """Whole years from ``start`` to ``end`` (a break from 2021-07-01 to 2023-06-30 is 1 year)."""
    if end <= start:
        return 0
    years = end.year - start.year - ((end.month, end.day) < (start.month, start.day))
    return max(years, 0)


@dataclass(frozen=True)
class Wait:
    months: int
    benefit_start: date
    reason: str  # in Chinese, for the enrolment answer and the explanation


def resident_wait(
    policy: Policy,
    day: date,
    *,
    in_window: bool,
    previous_end: date | None,
    repaired_years: int = 0,
    exempt: bool = False,
    psn_type: str = "1501",
) -> Wait:
    """The waiting period of a resident enrolling on ``day``; ``previous_end`` is the last insured day."""
    if exempt or psn_type in NEWBORN_PSN_TYPES:
        return Wait(0, day, "新生儿、困难群体等特殊人群不设待遇等待期")
    if not policy.has("waiting.resident.fixed_months", day):
        return Wait(0, day, "本统筹区当日未设居民待遇等待期")
    v = lambda key: policy.setting(f"waiting.resident.{key}", day)  # noqa: E731
    break_years = full_years_between(previous_end, day) if previous_end is not None else 0
    continuous = previous_end is not None and (day - previous_end).days <= 1
    if in_window and (previous_end is None or continuous or break_years == 0):
        return Wait(0, day, "在集中参保期内参保且连续参保，不设待遇等待期")
    fixed = v("fixed_months")
    extra_years = max(break_years - v("break_offset_years"), 0)
    variable = max(extra_years * v("per_break_year_months") - repaired_years, 0)
    total = fixed + variable
    floor_note = ""
    if break_years >= v("long_break_years") > 0:
        floor = v("long_break_floor_months")
        if total < floor:
            total, floor_note = floor, f"，连续断保{break_years}年，合计不少于{floor}个月"
    why = "未在集中参保期内参保" if not in_window else "未连续参保"
    parts = [f"固定等待期{fixed}个月"]
    if break_years:
        parts.append(f"断保{break_years}年，变动等待期{extra_years * v('per_break_year_months')}个月")
    if repaired_years:
        parts.append(f"补缴修复{min(repaired_years, extra_years * v('per_break_year_months'))}个月")
    return Wait(total, add_months(day, total), f"{why}：{'，'.join(parts)}{floor_note}，共{total}个月")


def employee_wait(policy: Policy, day: date, *, person_class: str, psn_type: str, previous_end: date | None) -> Wait:
    """The waiting period of an employee enrolling on ``day``."""
    tolerance = policy.setting("waiting.employee.gap_tolerance_months", day)
    if previous_end is not None and add_months(previous_end, tolerance) >= day:
        return Wait(0, day, f"中断不超过{tolerance}个月，视为连续参保，待遇不中断")
    months = policy.setting("waiting.employee.first_enrol_months", day, person_class=person_class)
    if psn_type in FLEXIBLE_PSN_TYPES:
        # Flexible employment falls back to the general first-enrolment wait (a rule, not a default).
        months = policy.value("waiting.employee.flexible_first_enrol_months", day, default=months)
    if months == 0:
        return Wait(0, day, "参保即享受待遇")
    start = first_of_month_after(day, months)
    return Wait(months, start, f"首次参保（或中断超过{tolerance}个月）：自{start}起享受待遇")
