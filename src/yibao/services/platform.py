"""The platform: a store, a clock, the policies in force, and the mode it runs in.

Every adapter (gateway, REST API, portal, CLI, case runner) holds one ``Platform`` and calls the
service functions with it. The clock is injected so that case files and jobs can move time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from yibao.errors import refuse
from yibao.family.proxy import OperatorVerifier, SandboxVerifier, Verifier, verifier_from_setting
from yibao.policy import Policy, apply_overrides, load_policy_text
from yibao.storage.config_repo import policy_changes
from yibao.storage.uow import Store, Tx
from yibao.yamlio import load_yaml_text

CHINA = ZoneInfo("Asia/Shanghai")
# How long a cached policy is used before its region's version is read again (changes made in this
# process are seen at once; see ``Platform.policy``).
POLICY_RECHECK_SECONDS = 1.0


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


@dataclass(frozen=True)
class SignInLimits:
    """How many failed portal sign-ins one client address may make in a window (documented in
    docs/web.md; ``YIBAO_PORTAL_CLIENT_MAX_FAILURES`` / ``YIBAO_PORTAL_CLIENT_WINDOW_MINUTES``)."""

    client_max_failures: int = 20
    client_window_minutes: int = 15

    def __post_init__(self) -> None:
        if not (1 <= self.client_max_failures <= 1_000_000 and 1 <= self.client_window_minutes <= 7 * 24 * 60):
            raise ValueError("门户登录限制应为 1–1000000 次、1–10080 分钟")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SignInLimits:
        names = {"client_max_failures": "YIBAO_PORTAL_CLIENT_MAX_FAILURES"}
        names["client_window_minutes"] = "YIBAO_PORTAL_CLIENT_WINDOW_MINUTES"
        values = {}
        for field_name, var in names.items():
            if env.get(var):
                if not env[var].strip().isdigit():
                    raise ValueError(f"{var} 应为正整数：{env[var]!r}")
                values[field_name] = int(env[var])
        return cls(**values)


def platform_settings(env: Mapping[str, str]) -> dict:
    """What ``yibao serve`` reads from its environment besides its options (docs/web.md):
    the portal's per-client sign-in limits and the 亲情账户 verifier. ``ValueError`` names a bad one."""
    spec = env.get("YIBAO_PROXY_VERIFIER", "").strip()
    return {
        "sign_in_limits": SignInLimits.from_env(env),
        "proxy_verifier": verifier_from_setting(spec) if spec else None,
    }


class _Given:
    """``with platform.unit(tx)`` when the caller has its transaction: that one, nothing else done."""

    __slots__ = ("tx",)

    def __init__(self, tx: Tx):
        self.tx = tx

    def __enter__(self) -> Tx:
        return self.tx

    def __exit__(self, *exc: object) -> None:
        return None


@dataclass
class Platform:
    store: Store
    clock: SystemClock | FixedClock | SandboxClock = field(default_factory=SystemClock)
    sandbox: bool = False
    require_sign_in: bool = False  # the HTTP server turns this on unless started with --sandbox or --sign-in optional
    strict_fields: bool = False  # refuse absent spec-required fields even where yibao does not need them
    sign_in_limits: SignInLimits = field(default_factory=SignInLimits)
    # Who confirms a 亲情账户 member's identity; None: the sandbox takes the caller's word, production
    # waits for an agency operator (or the verification service set with YIBAO_PROXY_VERIFIER).
    proxy_verifier: Verifier | None = None
    # The pooling region this instance runs (``yibao serve --region 310000``): its policy, its admdvs
    # in the ids it answers with, its catalogue and institutions. ``None`` is the single-database
    # behaviour every earlier release had: any number of regions side by side in one store.
    region: str | None = None
    # The link to peer regions (``services.crossregion.PeerLink``) when the server runs one
    # (``yibao serve --nats``); without it another region's insured cannot be settled here.
    link: object | None = None
    # The cross-region settlement service (``services.crossregion``), attached with the link
    # (``crossregion.attach``): settlement and cancellation hand another region's insured to it.
    cross: object | None = None
    _policies: dict[str, tuple[int, Policy, int, float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _rsa_key: object = field(default=None, repr=False)

    def now(self) -> datetime:
        return self.clock.now()

    def verifier(self) -> Verifier:
        if self.proxy_verifier is not None:
            return self.proxy_verifier
        return SandboxVerifier() if self.sandbox else OperatorVerifier()

    def __post_init__(self) -> None:
        if self.region is not None and not (len(self.region) == 6 and self.region.isdigit()):
            raise ValueError(f"统筹区医保区划应为6位数字：{self.region!r}")

    def unit(self, tx: Tx | None = None, *, read_only: bool = False) -> AbstractContextManager[Tx]:
        """The caller's transaction when it has one (the gateway's, which also records the
        message), otherwise a unit of work of this job's own. (A plain context manager, not a
        generator: a settlement passes its transaction through a dozen of these.)"""
        if tx is not None:
            return _Given(tx)
        return self.store.uow(read_only=read_only)

    def policy_for_admdvs(self, admdvs: str) -> Policy:
        with self.store.uow() as tx:
            return self.policy(tx, admdvs)

    def policy(self, tx: Tx, admdvs: str) -> Policy:
        """The policy of a region as stored (file text plus overrides), parsed once per version.

        Cached in the process: a change made by this process (any ``Platform`` on the same
        database) drops it at once; one made by another process (a CLI next to ``yibao serve``) is
        seen within ``POLICY_RECHECK_SECONDS``, when the cache reads the region's version again. So a
        settlement does not read the version every call."""
        seen = tx.__dict__.setdefault("_policies", {})
        if admdvs not in seen:
            seen[admdvs] = self._policy(tx, admdvs)
        return seen[admdvs]

    def _policy(self, tx: Tx, admdvs: str) -> Policy:
        changes = policy_changes(tx.conn)
        with self._lock:
            cached = self._policies.get(admdvs)
            if cached and cached[2] == changes and time.monotonic() - cached[3] < POLICY_RECHECK_SECONDS:
                return cached[1]
        checked = time.monotonic()
        version = tx.config.region_version(admdvs)
        if version is None:
            raise refuse("E2207-006", detail=f"医保区划 {admdvs} 没有政策")
        with self._lock:
            cached = self._policies.get(admdvs)
            if cached and cached[0] == version:
                self._policies[admdvs] = (version, cached[1], changes, checked)
                return cached[1]
        row = tx.config.region(admdvs)
        policy = load_policy_text(row.policy_text, row.region_id)
        overrides = load_yaml_text(row.overrides) if row.overrides else None
        if overrides:
            policy = apply_overrides(policy, overrides)
        with self._lock:
            self._policies[admdvs] = (row.version, policy, changes, checked)
        return policy
