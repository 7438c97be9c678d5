"""A policy, read into small arrays for the kernel: one row per stretch of days on which no parameter changes.

Every figure comes from the same ``Policy`` object and the same lookups the settlement makes
(``benefit_terms``, ``category_of``'s mapping, ``policy.setting`` with the schema's defaults), and
the calendar (month ends, medical-year starts, rollovers) from the same functions the scheduled jobs
use. Nothing here decides a rule; it only tabulates what the policy says on each day — and along the
age bands the policy's ``age`` keys make. A policy with anything the kernel does not model is refused
first (``modelled.check_policy``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from yibao.family.model import RELATIONS
from yibao.lifecycle.model import medical_year_of, year_starts_between
from yibao.policy import Policy
from yibao.policy.schema import CATEGORIES, PERSON_CLASSES
from yibao.services.jobs import month_ends_between
from yibao.settlement.calculate import PARTS, benefit_terms, med_type_categories
from yibao.settlement.mutual_aid import terms_on
from yibao.simulate.data import OFFSITE_KINDS
from yibao.simulate.modelled import check_policy

SCHEMES = ("employee", "resident")
BUCKETS = ("current", "historical")
LEVELS = 4
NO_CAP = -1
NO_CEILING = 2**62
# Columns of ``terms``: whether the fund pays, whether the deductible accumulates over the medical
# year, the deductible (fen), the ratio (parts per ten thousand), the cap (fen, NO_CAP for none), and
# the 当年账户段's buckets in order (bucket codes, -1 ends).
T_IN_FORCE, T_YEAR_SCOPE, T_DEDUCTIBLE, T_RATIO, T_CAP, T_SEGMENT = 0, 1, 2, 3, 4, 5
TERMS = T_SEGMENT + 2
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
    age_starts: np.ndarray  # int64: lower bounds of the age bands the policy's ``age`` keys make (0 first)
    terms: np.ndarray  # int64[S, scheme, category, class, age band, level, TERMS]: see T_*
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
    day_ymd: np.ndarray  # int32[days, 3]: year, month, day of each day of the period (for ages)
    base_floor: int  # the highest contribution.base_floor on a month start of the period (0: none)
    base_ceiling: int  # the lowest contribution.base_ceiling on a month start (NO_CEILING: none)

    @property
    def months(self) -> list[str]:
        return [f"{d:%Y-%m}" for d in _months(self.start, self.end)]


def seconds(moment: datetime | date) -> int:
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, datetime.min.time())
    return int((moment - datetime(1970, 1, 1)).total_seconds())


def _buckets(names) -> list[int]:
    codes = [BUCKETS.index(b) for b in names][:2]
    return codes + [-1] * (2 - len(codes))


def build_tables(policy: Policy, start: date, end: date, name: str) -> PolicyTables:
    check_policy(policy, start, end)
    days = [start + timedelta(d) for d in range((end - start).days)]
    changes = {v.since for p in policy.parameters.values() for v in p.values if start < v.since < end}
    seg_starts = [start, *sorted(changes)]
    day_seg = (
        np.searchsorted(
            np.array(seg_starts, dtype="datetime64[D]"), np.array(days, dtype="datetime64[D]"), side="right"
        )
        - 1
    )
    year_of = [medical_year_of(policy, d) for d in days]
    years = sorted(set(year_of))
    day_year = np.array([years.index(y) for y in year_of], dtype=np.int16)
    s_n = len(seg_starts)
    age_starts = age_bands(policy)
    terms = np.zeros(
        (s_n, len(SCHEMES), len(CATEGORIES), len(PERSON_CLASSES), len(age_starts), LEVELS, TERMS), dtype=np.int64
    )
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
                    for a, age in enumerate(age_starts.tolist()):
                        for level in range(LEVELS):
                            b = benefit_terms(policy, day, scheme, category, cls, level, age)
                            terms[s, i, j, k, a, level] = _terms(b)
        reductions = policy.setting("offsite.ratio_reduction", day)
        cut[s] = [0] + [reductions.get(kind, 0) for kind in OFFSITE_KINDS[1:]]
        parts = policy.setting("account.payable_parts", day)
        payable[s] = [p in parts for p in PARTS]
        own_order[s] = _buckets(policy.setting("account.bucket_order", day))
        aid = terms_on(policy, day)
        ma_enabled[s] = aid.enabled
        ma_uses[s] = [c in aid.uses for c in CATEGORIES]
        ma_relations[s] = [aid.allows(r) for r in RELATIONS]
        ma_balance_desc[s] = aid.order == "balance_desc"
        ma_buckets[s] = _buckets(aid.buckets)
        mapping_by_seg.append(med_type_categories(policy, day))
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
    day_ymd = np.array([(d.year, d.month, d.day) for d in days], dtype=np.int32).reshape(len(days), 3)
    tables = PolicyTables(
        name, start, end, seg_starts, day_seg.astype(np.int16), day_year, day_month, day_evt, years, med_types,
        age_starts, terms, cut, payable, own_order, ma_enabled, ma_uses,
        ma_relations, ma_balance_desc, ma_buckets, *events, day_ymd, *contribution_bounds(policy, start, end),
    )  # fmt: skip
    return tables


def contribution_bounds(policy: Policy, start: date, end: date) -> tuple[int, int]:
    """The monthly contribution bases the service accepts on every month start of the period: the
    highest ``contribution.base_floor`` (0 when none) and the lowest ``base_ceiling`` (NO_CEILING)."""
    floors = [policy.setting("contribution.base_floor", m) for m in _months(start, end)]
    ceilings = [policy.setting("contribution.base_ceiling", m) for m in _months(start, end)]
    return (
        max([f for f in floors if f is not None], default=0),
        min([c for c in ceilings if c is not None], default=NO_CEILING),
    )


def age_bands(policy: Policy) -> np.ndarray:
    """Every age at which some value of the policy changes band (``age`` keys mean "from this age on"),
    with 0: between two of them every age-banded lookup gives the same value, so the terms looked up
    at a band's lower bound hold for the whole band."""
    starts = {0}
    for p in policy.parameters.values():
        if "age" not in p.by:
            continue
        depth = p.by.index("age")
        for entry in p.values:
            if entry.value is not None:
                starts |= _keys_at(entry.value, depth)
    return np.array(sorted(starts), dtype=np.int64)


def _keys_at(value, depth: int) -> set[int]:
    if depth == 0:
        return set(value)
    return {k for v in value.values() for k in _keys_at(v, depth - 1)}


def _terms(b) -> list[int]:
    if not b.in_force:
        return [0] * TERMS
    return [
        1,
        int(b.scope == "year"),
        b.deductible,
        b.ratio_bp,
        NO_CAP if b.cap is None else b.cap,
        *_buckets(b.segment),
    ]


def _months(start: date, end: date) -> list[date]:
    out, d = [], start
    while d < end:
        out.append(d)
        d = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return out


def _events(policy: Policy, start: date, end: date):
    months = _months(start, end)
    index = {m: i for i, m in enumerate(months)}
    events = []  # (time, kind, month index, amount, rate)
    for first in month_ends_between(start, end):
        last = first - timedelta(days=1)
        month = index[date(last.year, last.month, 1)]
        amount = policy.setting("account.retiree_credit", last, person_class="retired")
        events.append((seconds(first), RETIREE_CREDIT, month, amount, 0))
    for first in year_starts_between(policy, start, end):
        events.append((seconds(first), ROLLOVER, index.get(date(first.year, first.month, 1), len(months)), 0, 0))
    for first in months:
        rate = policy.setting("account.inservice_credit_rate", first)
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
