"""What a claim must satisfy before any money rule uses it — one home for each rule, every caller
(registration, fee upload, pre-settlement, settlement) goes through these functions.

- **Times.** The start of a visit, an admission or a purchase is sent by the HIS; its *day* decides
  the policy in force, the insurance that covers it and the medical year whose deductible and cap
  apply. So it is checked against the platform's own clock: its day not later than the platform's
  day (``now + CLOCK_SKEW``: a client clock a few minutes fast at midnight is not refused), and not
  earlier than the look-back the policy allows for its category — a short one when it is registered
  (2201, 2401, a purchase), a longer one when it is settled (an inpatient stay may be long). A later
  hour of today is tolerated: it changes no money, and HIS systems (and the acceptance cases, whose
  clock stands still) stamp orders and purchases for later the same day. Fee times and a discharge
  lie within the visit's days, up to today.
- **The medical year** is the one the accepted start falls in (``account.year_start``).
- **Fee lines.** A count of zero is no line; ``det_item_fee_sumamt`` may differ from
  round(``pric`` × ``cnt``) by one fen a line, and those differences may add up to one fen a claim;
  a claim has at most ``settlement.max_fee_lines`` lines for its category.
- **Totals.** A claim of 0.00 settles nothing.

Pure functions of their arguments (the policy, the times, the lines); no clock, no database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from yibao.errors import refuse
from yibao.limits import (
    CLAIM_ROUNDING_FEN,
    CLOCK_SKEW,
    LINE_ROUNDING_FEN,
)
from yibao.money import fmt_yuan, round_half_up_fen
from yibao.policy.model import Policy
from yibao.settlement.explain import CATEGORY_NAMES
from yibao.settlement.model import FeeLine

REGISTRATION, SETTLEMENT = "registration", "settlement"


def lookback(policy: Policy, category: str, stage: str, today: date) -> timedelta:
    """How long before the platform's clock a claim's start may lie at this stage, by the policy in
    force today (``yibao.limits`` when the policy does not say)."""
    if stage == REGISTRATION:
        hours = policy.setting("settlement.registration_lookback_hours", today)
        return timedelta(hours=hours[category])
    days = policy.setting("settlement.claim_lookback_days", today)
    return timedelta(days=days[category])


def check_start(policy: Policy, category: str, start: datetime, now: datetime, *, stage: str, field: str) -> None:
    """Refuse a claim start the platform's clock does not allow (``E2201-008`` / ``E2201-009``)."""
    check_not_future(start, now, field=field)
    allowed = lookback(policy, category, stage, now.date())
    if start < now - allowed:
        when = "登记" if stage == REGISTRATION else "结算"
        rule = f"{CATEGORY_NAMES[category]}{when}时最多回溯{_span(allowed)}"
        raise refuse("E2201-009", field=field, rule=rule, now=_fmt(now), when=_fmt(start))


def check_not_future(when: datetime, now: datetime, *, field: str) -> None:
    """Refuse a time on a later day than the platform's clock (allowing ``CLOCK_SKEW``) has reached."""
    if when.date() > (now + CLOCK_SKEW).date():
        skew = int(CLOCK_SKEW.total_seconds() // 60)
        raise refuse("E2201-008", field=field, now=_fmt(now), skew=skew, when=_fmt(when))


def check_fee_time(start: datetime, fee_time: datetime | None, now: datetime, sn: str) -> None:
    """A fee happens on a day of its visit: not before the visit's first day, not after today (a day's
    bed fee or an order for later today may carry a later hour; the start itself is checked above)."""
    if fee_time is not None and not start.date() <= fee_time.date() <= now.date():
        raise refuse("E2204-011", start=start.date(), feedetl_sn=sn, when=_fmt(fee_time))


def max_fee_lines(policy: Policy, category: str, today: date) -> int:
    return policy.setting("settlement.max_fee_lines", today)[category]


def check_line_count(policy: Policy, category: str, count: int, today: date) -> None:
    most = max_fee_lines(policy, category, today)
    if count > most:
        raise refuse("E2204-009", count=count, category=CATEGORY_NAMES[category], max=most)


def check_lines(lines: Sequence[FeeLine]) -> None:
    """Each line: a count, and an amount within one fen of round(price × count); the claim (or the
    batch): those differences add up to at most one fen, so no rounding is charged twice."""
    excess = 0
    for line in lines:
        if line.count == 0:
            raise refuse("E2204-008", feedetl_sn=line.sn)
        diff = line.amount - round_half_up_fen(line.price * line.count)
        if abs(diff) > LINE_ROUNDING_FEN:
            raise refuse("E2204-003", feedetl_sn=line.sn)
        excess += diff
    if excess > CLAIM_ROUNDING_FEN:
        raise refuse("E2204-010", excess=fmt_yuan(excess))


def check_total(medfee: int) -> None:
    if medfee == 0:
        raise refuse("E2207-009")


def _fmt(t: datetime) -> str:
    return f"{t:%Y-%m-%d %H:%M:%S}"


def _span(d: timedelta) -> str:
    hours = int(d.total_seconds() // 3600)
    return f"{hours // 24}天" if hours % 24 == 0 else f"{hours}小时"
