"""Dated, sourced parameters: what a region's policy says on a given day.

A ``Policy`` is immutable data. ``value(key, day, ...)`` returns the value in force on ``day`` (the
entry with the latest start ≤ day; an entry of ``None`` ends the parameter), picked along the
``by`` dimensions. Nothing here reads a clock or a file.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from yibao.policy.schema import DIMENSIONS, REQUIRED, default_of


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    url: str | None
    grade: str  # A–D; D is illustrative only

    @property
    def illustrative(self) -> bool:
        return self.grade == "D"


@dataclass(frozen=True)
class DatedValue:
    since: date
    value: Any  # already in program form (fen, parts per ten thousand, tuples...); None ends it
    source: str
    raw: Any = None  # the value as written, for display


@dataclass(frozen=True)
class Parameter:
    key: str
    description: str
    by: tuple[str, ...]
    values: tuple[DatedValue, ...]  # sorted by ``since``
    _starts: tuple[date, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_starts", tuple(v.since for v in self.values))

    def entry_on(self, day: date) -> DatedValue | None:
        i = bisect.bisect_right(self._starts, day)
        if i == 0:
            return None
        entry = self.values[i - 1]
        return None if entry.value is None else entry


@dataclass(frozen=True)
class InForce:
    """One parameter as it stands on a day, for display (``yibao policy show``)."""

    key: str
    description: str
    by: tuple[str, ...]
    since: date
    raw: Any  # as written in the file
    source: Source
    value: Any = None  # in program form (fen, parts per ten thousand, tuples), for showing in words


_MISSING = object()


def _pick(value: Mapping, dim: str, want: Any) -> Any:
    """The entry for ``want`` along ``dim``: exact for classes and levels; for ``age`` the band that
    starts at the largest age not above ``want`` (keys mean "from this age on")."""
    if dim != "age":
        return value.get(want, _MISSING)
    if not isinstance(want, int) or isinstance(want, bool) or want < 0:
        return _MISSING
    starts = [k for k in value if k <= want]
    return value[max(starts)] if starts else _MISSING


@dataclass(frozen=True)
class Policy:
    region_id: str
    admdvs: str
    name: str
    sources: Mapping[str, Source]
    parameters: Mapping[str, Parameter]
    origin: str = ""  # the file it came from, for messages

    def has(self, key: str, day: date) -> bool:
        p = self.parameters.get(key)
        return p is not None and p.entry_on(day) is not None

    def value(self, key: str, day: date, default: Any = _MISSING, **dims: Any) -> Any:
        """The value of ``key`` on ``day``, resolved along the parameter's ``by`` dimensions.

        ``dims`` may name more dimensions than the parameter uses (callers pass everything they
        know). A missing parameter, an ended one, or a mapping without the asked entry returns
        ``default``, or raises ``KeyError`` when no default is given.
        """
        p = self.parameters.get(key)
        entry = p.entry_on(day) if p else None
        if entry is None:
            if default is _MISSING:
                raise KeyError(f"{key} 在 {day} 未生效")
            return default
        value = entry.value
        for dim in p.by:
            pick = _pick(value, dim, dims.get(dim)) if dim in dims and isinstance(value, Mapping) else _MISSING
            if pick is _MISSING:
                if default is _MISSING:
                    raise KeyError(f"{key} 在 {day} 没有 {dim}={dims.get(dim)!r} 的取值")
                return default
            value = pick
        return value

    def setting(self, key: str, day: date, **dims: Any) -> Any:
        """``value`` with the schema's default (``policy.schema.DEFAULTS``) where the region sets none;
        ``KeyError`` for a key without one."""
        known, default = default_of(key)
        return self.value(key, day, default if known else _MISSING, **dims)

    def missing_required(self) -> list[str]:
        """Required keys the policy never sets."""
        return [key for key in REQUIRED if key not in self.parameters]

    def in_force(self, day: date) -> list[InForce]:
        out = []
        for key in sorted(self.parameters):
            p = self.parameters[key]
            entry = p.entry_on(day)
            if entry is not None:
                out.append(
                    InForce(key, p.description, p.by, entry.since, entry.raw, self.sources[entry.source], entry.value)
                )
        return out

    def with_values(self, values: Mapping[str, DatedValue], extra_source: Source | None = None) -> Policy:
        """A reform: each named key holds the given entry for every day (``policy_overrides``)."""
        params = dict(self.parameters)
        for key, entry in values.items():
            old = params.get(key)
            by = old.by if old else ()
            params[key] = Parameter(key, old.description if old else key, by, (entry,))
        sources = dict(self.sources)
        if extra_source is not None:
            sources[extra_source.id] = extra_source
        return replace(self, parameters=params, sources=sources)


__all__ = ["DIMENSIONS", "DatedValue", "InForce", "Parameter", "Policy", "Source"]


@dataclass(frozen=True)
class RegionRow:
    """A region as the platform keeps it: its policy text in force and the operator's overrides."""

    admdvs: str
    region_id: str
    name: str
    policy_text: str
    overrides: str
    updated_at: datetime
    version: int = 1


@dataclass(frozen=True)
class Peer:
    """Another region's instance this one is linked to (``yibao serve --nats``)."""

    admdvs: str
    name: str
    added_at: datetime
    last_seen_at: datetime | None
    active: bool


@dataclass(frozen=True)
class Applied:
    """A message from a peer region, applied once: a redelivery is answered with ``answer``."""

    msg_id: str
    from_region: str
    kind: str
    received_at: datetime
    answer: str
    deliveries: int
