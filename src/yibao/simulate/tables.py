"""A policy, read into small arrays for the kernel: one row per stretch of days on which no parameter changes.

Every figure comes from the same ``Policy`` object and the same lookups the settlement makes
(``benefit_terms``, ``category_of``'s mapping, ``policy.value`` with the settlement's defaults), and
the calendar (month ends, medical-year starts, rollovers) from the same functions the scheduled jobs
use. Nothing here decides a rule; it only tabulates what the policy says on each day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from yibao.lifecycle.model import medical_year
from yibao.policy import Policy
from yibao.policy.schema import CATEGORIES, PERSON_CLASSES, RELATIONS
from yibao.services.jobs import month_ends_between, year_starts_between
from yibao.settlement.calculate import PARTS, benefit_terms
from yibao.simulate.data import OFFSITE_KINDS

SCHEMES = ("employee", "resident")
BUCKETS = ("current", "historical")
LEVELS = 4
NO_CAP = -1
# Calendar events, in the order the platform applies them at one instant: a retiree's credit for the
# month just ended lands in the old year's 当年账户, then the year rolls over, then the new month's
# in-service contribution is credited.
RETIREE_CREDIT, ROLLOVER, INSERVICE_CREDIT = 0, 1, 2


@dataclass
class PolicyTables:
    name: str
    start: date
    end: date
    seg_starts: list[date]
    day_seg: np.ndarray  # int16[days]
    day_year: np.ndarray  # int16[days]: index into ``years``
    day_month: np.ndarray  # int16[days]: index into ``months``
    day_evt: np.ndarray  # int32[days]: calendar events due by the start of that day (all fall at midnight)
    years: list[int]
    med_types: dict[str, np.ndarray]  # med_type → category index per segment (-1: unknown)
    in_force: np.ndarray  # bool[S, scheme, category, class, level]
    deductible: np.ndarray  # int64, fen
    year_scope: np.ndarray  # bool: deductible accumulates over the medical year
    ratio: np.ndarray  # int64, parts per ten thousand
    cap: np.ndarray  # int64 fen, NO_CAP for none
    cut: np.ndarray  # int64[S, 4]: off-site reduction by OFFSITE_KINDS
    payable: np.ndarray  # bool[S, 6]: PARTS account money may pay
    own_order: np.ndarray  # int8[S, 2]: bucket codes, -1 ends
    ma_enabled: np.ndarray  # bool[S]
    ma_uses: np.ndarray  # bool[S, 4]
    ma_relations: np.ndarray  # bool[S, 6]
    ma_balance_desc: np.ndarray  # bool[S]
    ma_buckets: np.ndarray  # int8[S, 2]
    e_time: np.ndarray  # int64 seconds (naive Beijing time since 1970)
    e_kind: np.ndarray  # int8
    e_month: np.ndarray  # int16: month index the event belongs to (months: the period's months; +1 = after)
    e_amount: np.ndarray  # int64: retiree credit in fen
    e_rate: np.ndarray  # int64: in-service credit rate, parts per ten thousand

    @property
    def months(self) -> list[str]:
        out, d = [], self.start
        while d < self.end:
            out.append(f"{d:%Y-%m}")
            d = date(d.year + d.month // 12, d.month % 12 + 1, 1)
        return out


def seconds(moment: datetime | date) -> int:
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, datetime.min.time())
    return int((moment - datetime(1970, 1, 1)).total_seconds())


def _buckets(names) -> list[int]:
    codes = [BUCKETS.index(b) for b in names][:2]
    return codes + [-1] * (2 - len(codes))


def build_tables(policy: Policy, start: date, end: date, name: str) -> PolicyTables:
    days = [start + timedelta(d) for d in range((end - start).days)]
    changes = {v.since for p in policy.parameters.values() for v in p.values if start < v.since < end}
    seg_starts = [start, *sorted(changes)]
    day_seg = (
        np.searchsorted(
            np.array(seg_starts, dtype="datetime64[D]"), np.array(days, dtype="datetime64[D]"), side="right"
        )
        - 1
    )
    year_of = [medical_year(d, policy.value("account.year_start", d, default=(1, 1))) for d in days]
    years = sorted(set(year_of))
    day_year = np.array([years.index(y) for y in year_of], dtype=np.int16)
    s_n = len(seg_starts)
    shape = (s_n, len(SCHEMES), len(CATEGORIES), len(PERSON_CLASSES), LEVELS)
    in_force = np.zeros(shape, dtype=np.bool_)
    deductible = np.zeros(shape, dtype=np.int64)
    year_scope = np.zeros(shape, dtype=np.bool_)
    ratio = np.zeros(shape, dtype=np.int64)
    cap = np.full(shape, NO_CAP, dtype=np.int64)
    cut = np.zeros((s_n, len(OFFSITE_KINDS)), dtype=np.int64)
    payable = np.zeros((s_n, len(PARTS)), dtype=np.bool_)
    own_order = np.full((s_n, 2), -1, dtype=np.int8)
    ma_enabled = np.zeros(s_n, dtype=np.bool_)
    ma_uses = np.zeros((s_n, len(CATEGORIES)), dtype=np.bool_)
    ma_relations = np.zeros((s_n, len(RELATIONS)), dtype=np.bool_)
    ma_balance_desc = np.zeros(s_n, dtype=np.bool_)
    ma_buckets = np.full((s_n, 2), -1, dtype=np.int8)
    mapping_by_seg = []
    for s, day in enumerate(seg_starts):
        for i, scheme in enumerate(SCHEMES):
            for j, category in enumerate(CATEGORIES):
                for k, cls in enumerate(PERSON_CLASSES):
                    for level in range(LEVELS):
                        b = benefit_terms(policy, day, scheme, category, cls, level)
                        if b.in_force:
                            in_force[s, i, j, k, level] = True
                            deductible[s, i, j, k, level] = b.deductible
                            year_scope[s, i, j, k, level] = b.scope == "year"
                            ratio[s, i, j, k, level] = b.ratio
                            cap[s, i, j, k, level] = NO_CAP if b.cap is None else b.cap
        reductions = policy.value("offsite.ratio_reduction", day, default={})
        cut[s] = [0] + [reductions.get(kind, 0) for kind in OFFSITE_KINDS[1:]]
        parts = policy.value("account.payable_parts", day, default=PARTS)
        payable[s] = [p in parts for p in PARTS]
        own_order[s] = _buckets(policy.value("account.bucket_order", day, default=BUCKETS))
        ma_enabled[s] = bool(policy.value("mutual_aid.enabled", day, default=False))
        uses = policy.value("mutual_aid.uses", day, default=())
        ma_uses[s] = [c in uses for c in CATEGORIES]
        allowed = policy.value("mutual_aid.relations", day, default=())
        ma_relations[s] = [r in allowed for r in RELATIONS]
        ma_balance_desc[s] = policy.value("mutual_aid.order", day, default="binding_order") == "balance_desc"
        ma_buckets[s] = _buckets(policy.value("mutual_aid.buckets", day, default=BUCKETS))
        mapping_by_seg.append(policy.value("settlement.med_type_category", day, default={}))
    all_types = sorted({m for mapping in mapping_by_seg for m in mapping})
    med_types = {
        m: np.array([CATEGORIES.index(mp[m]) if m in mp else -1 for mp in mapping_by_seg], dtype=np.int8)
        for m in all_types
    }
    events = _events(policy, start, end)
    midnights = np.array([seconds(d) for d in days], dtype=np.int64)
    assert (events[0] % 86400 == seconds(start) % 86400).all(), "calendar events fall at midnight"
    day_evt = np.searchsorted(events[0], midnights, side="right").astype(np.int32)
    month_of = np.array(days, dtype="datetime64[D]").astype("datetime64[M]").astype(np.int64)
    day_month = (month_of - np.datetime64(start, "M").astype(np.int64)).astype(np.int16)
    tables = PolicyTables(
        name, start, end, seg_starts, day_seg.astype(np.int16), day_year, day_month, day_evt, years, med_types,
        in_force, deductible, year_scope, ratio, cap, cut, payable, own_order, ma_enabled, ma_uses,
        ma_relations, ma_balance_desc, ma_buckets, *events,
    )  # fmt: skip
    return tables


def _events(policy: Policy, start: date, end: date):
    months = []
    d = start
    while d < end:
        months.append(d)
        d = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    index = {m: i for i, m in enumerate(months)}
    events = []  # (time, kind, month index, amount, rate)
    for first in month_ends_between(start, end):
        last = first - timedelta(days=1)
        month = index[date(last.year, last.month, 1)]
        amount = policy.value("account.retiree_credit", last, default=0, person_class="retired")
        events.append((seconds(first), RETIREE_CREDIT, month, amount, 0))
    for first in year_starts_between(policy, start, end):
        events.append((seconds(first), ROLLOVER, index.get(date(first.year, first.month, 1), len(months)), 0, 0))
    for first in months:
        rate = policy.value("account.inservice_credit_rate", first, default=0)
        events.append((seconds(first), INSERVICE_CREDIT, index[first], 0, rate))
    events.sort(key=lambda e: (e[0], e[1]))
    cols = list(zip(*events, strict=True)) if events else [[], [], [], [], []]
    return (
        np.array(cols[0], dtype=np.int64),
        np.array(cols[1], dtype=np.int8),
        np.array(cols[2], dtype=np.int16),
        np.array(cols[3], dtype=np.int64),
        np.array(cols[4], dtype=np.int64),
    )
