"""Calendar work that falls due as time passes: retirees' monthly credit and the year's rollover.

Jobs are idempotent and resumable: each person's part of a job is one ledger entry under a key
naming the job, the period and the person, so running a job twice, or again after a crash half-way,
posts nothing twice. ``jobs_done_until`` records how far the calendar has been worked through.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time

from yibao.ledger.model import CREDIT, ROLLOVER, Entry, Transfer, external_account, person_bucket
from yibao.lifecycle.model import EMPLOYEE, medical_year, year_starts_between
from yibao.services.platform import Platform

DONE_UNTIL = "jobs_done_until"

Progress = Callable[[str, int, int], None]


def done_until(platform: Platform) -> datetime | None:
    with platform.store.uow() as tx:
        value = tx.config.get(DONE_UNTIL)
    return datetime.fromisoformat(value) if value else None


def mark_done_until(platform: Platform, at: datetime) -> None:
    with platform.store.uow() as tx:
        tx.config.put(DONE_UNTIL, at.isoformat())


def run_until(platform: Platform, until: datetime, progress: Progress | None = None) -> list[str]:
    """Run every job falling due after ``jobs_done_until`` and up to ``until``; returns what ran."""
    since = done_until(platform)
    if since is None or until <= since:
        if since is None:
            mark_done_until(platform, until)
        return []
    ran = []
    with platform.store.uow() as tx:
        regions = [(r.admdvs, platform.policy(tx, r.admdvs)) for r in tx.config.regions()]
    for admdvs, policy in regions:
        # Month-ends and year starts in calendar order; on a day that is both, the month's credit
        # lands in the old year's 当年账户 before the year rolls it over.
        events = [(d, 0, "month_end", d) for d in month_ends_between(since.date(), until.date())]
        events += [(d, 1, "rollover", d) for d in year_starts_between(policy, since.date(), until.date())]
        for _, _, kind, day in sorted(events):
            if kind == "month_end":
                count = credit_retirees(platform, admdvs, day, progress)
                ran.append(f"{admdvs} {prev_month(day)}退休人员划账：{count}人")
            else:
                count = rollover(platform, admdvs, day, progress)
                ran.append(f"{admdvs} {day.year}年度结转：{count}人")
    mark_done_until(platform, until)
    return ran


def month_ends_between(since: date, until: date) -> list[date]:
    """First days of months in (since, until]: each closes the month before it."""
    out, day = [], date(since.year, since.month, 1)
    while day.year < 9999:
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        if day > until:
            return out
        if day > since:
            out.append(day)
    return out


def prev_month(first: date) -> str:
    last = date.fromordinal(first.toordinal() - 1)
    return f"{last:%Y-%m}"


def credit_retirees(platform: Platform, admdvs: str, first_of_next: date, progress: Progress | None = None) -> int:
    """A retiree's fixed monthly credit (``account.retiree_credit``) for the month just ended."""
    last = date.fromordinal(first_of_next.toordinal() - 1)
    month = f"{last:%Y-%m}"
    policy = platform.policy_for_admdvs(admdvs)
    amount = policy.setting("account.retiree_credit", last, person_class="retired")
    if not amount:
        return 0
    with platform.store.uow(read_only=True) as tx:
        rows = tx.people.of_region(admdvs)
    credited = 0
    for i, (pid, psn_no) in enumerate(rows, start=1):
        with platform.store.uow() as tx:
            retired = any(
                ins.insutype == EMPLOYEE and ins.person_class == "retired" and ins.covers(last)
                for ins in tx.people.insurances(pid)
            )
            key = f"credit:{psn_no}:{month}"
            if retired and not tx.ledger.has_entry(key):
                transfer = Transfer(
                    external_account(f"retiree_credit:{admdvs}"), person_bucket(psn_no, "current"), amount, CREDIT
                )
                tx.ledger.post(Entry(key, "credit", (transfer,), ref=psn_no), datetime.combine(last, time(23, 59, 59)))
                credited += 1
        if progress:
            progress("retiree_credit", i, len(rows))
    return credited


def rollover(platform: Platform, admdvs: str, start: date, progress: Progress | None = None) -> int:
    """当年账户 → 历年账户 for every person of the region, one idempotent entry each."""
    with platform.store.uow() as tx:
        rows = tx.people.with_current_bucket(admdvs)
    moved = 0
    year = medical_year(start, (start.month, start.day))
    for i, psn_no in enumerate(rows, start=1):
        with platform.store.uow() as tx:
            key = f"rollover:{year}:{psn_no}"
            current = person_bucket(psn_no, "current")
            balance = tx.ledger.balances([current], lock=True)[current]
            if balance > 0 and not tx.ledger.has_entry(key):
                transfer = Transfer(current, person_bucket(psn_no, "historical"), balance, ROLLOVER)
                tx.ledger.post(
                    Entry(key, "rollover", (transfer,), ref=psn_no),
                    datetime.combine(start, datetime.min.time()),
                )
                moved += 1
        if progress:
            progress("rollover", i, len(rows))
    return moved
