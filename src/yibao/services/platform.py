"""The platform: a store, a clock, the policies in force, and the mode it runs in.

Every adapter (gateway, REST API, portal, CLI, case runner) holds one ``Platform`` and calls the
service functions with it. The clock is injected so that case files and jobs can move time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from yibao.errors import refuse
from yibao.policy import Policy, apply_overrides, load_policy_text
from yibao.storage.uow import Store, Tx
from yibao.yamlio import load_yaml_text

CHINA = ZoneInfo("Asia/Shanghai")


class SystemClock:
    """Beijing time, naive (the national interface carries local times without a zone)."""

    def now(self) -> datetime:
        return datetime.now(CHINA).replace(tzinfo=None, microsecond=0)


class FixedClock:
    """A clock that only moves when told to (case files, tests)."""

    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at


class SandboxClock:
    """Beijing time that a sandbox may move: it keeps running from wherever it was set."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return SystemClock().now() + self.offset

    def set(self, at: datetime) -> None:
        self.offset = at - SystemClock().now()


@dataclass
class Platform:
    store: Store
    clock: SystemClock | FixedClock | SandboxClock = field(default_factory=SystemClock)
    sandbox: bool = False
    require_sign_in: bool = False  # the HTTP server turns this on unless started with --sandbox or --sign-in optional
    strict_fields: bool = False  # refuse absent spec-required fields even where yibao does not need them
    _policies: dict[str, tuple[int, Policy]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _rsa_key: object = field(default=None, repr=False)

    def now(self) -> datetime:
        return self.clock.now()

    @contextmanager
    def unit(self, tx: Tx | None = None, *, read_only: bool = False) -> Iterator[Tx]:
        """The caller's transaction when it has one (the gateway's, which also records the
        message), otherwise a unit of work of this job's own."""
        if tx is not None:
            yield tx
        else:
            with self.store.uow(read_only=read_only) as own:
                yield own

    def policy_for_admdvs(self, admdvs: str) -> Policy:
        with self.store.uow() as tx:
            return self.policy(tx, admdvs)

    def policy(self, tx, admdvs: str) -> Policy:
        """The policy of a region as stored (file text plus overrides), parsed once per version and
        looked up once per transaction."""
        seen = tx.__dict__.setdefault("_policies", {})
        if admdvs not in seen:
            seen[admdvs] = self._policy(tx, admdvs)
        return seen[admdvs]

    def _policy(self, tx, admdvs: str) -> Policy:
        version = tx.config.region_version(admdvs)
        if version is None:
            raise refuse("E2207-006", detail=f"医保区划 {admdvs} 没有政策")
        with self._lock:
            cached = self._policies.get(admdvs)
            if cached and cached[0] == version:
                return cached[1]
        row = tx.config.region(admdvs)
        policy = load_policy_text(row.policy_text, row.region_id)
        overrides = load_yaml_text(row.overrides) if row.overrides else None
        if overrides:
            policy = apply_overrides(policy, overrides)
        with self._lock:
            self._policies[admdvs] = (row.version, policy)
        return policy
