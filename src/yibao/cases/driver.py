"""How the case runner reaches a platform: in-process here; over HTTP in ``cases.http_driver``.

A driver loads a case's world, sends gateway envelopes, reads balances and accumulators, moves
the clock and performs family and lifecycle actions. The runner only talks to this interface, so
the same case file checks the in-process engine and a live server alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from yibao.errors import DomainError, refuse
from yibao.family.proxy import SandboxVerifier
from yibao.gateway.dispatcher import dispatch
from yibao.money import fmt_yuan, parse_fen
from yibao.services import credentials, family, jobs, lifecycle, proxy, queries, views
from yibao.services.case_file import Case, case_time
from yibao.services.case_world import Handle, load_world
from yibao.services.identity import public_key_pem
from yibao.services.platform import FixedClock, Platform
from yibao.storage.uow import Store


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    err_code: str | None = None
    fields: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "err_code": self.err_code}
        out.update(self.fields or {})
        return out


class Driver(Protocol):
    def load(self, case: Case, base: Path, origin: str) -> dict[str, Handle]: ...
    def now(self) -> datetime: ...
    def region(self) -> str: ...
    def public_key(self) -> str: ...
    def call(self, envelope: dict[str, Any]) -> dict[str, Any]: ...
    def balances(self, psn_no: str) -> tuple[int, int]: ...
    def accumulators(self, psn_no: str) -> dict[str, tuple[int, int]]: ...
    def clock(self, to: datetime) -> None: ...
    def action(self, name: str, args: dict[str, Any]) -> ActionResult: ...
    def close(self) -> None: ...


class InProcessDriver:
    """A fresh in-memory SQLite world per case, driven through the dispatcher and the services."""

    def __init__(self, url: str = "sqlite://", *, create: bool = True):
        self.store = Store.open(url, create=create, migrate=not create)
        self.platform: Platform | None = None

    @property
    def p(self) -> Platform:
        assert self.platform is not None, "load() first"
        return self.platform

    def load(self, case: Case, base: Path, origin: str) -> dict[str, Handle]:
        # A case file states the face check's outcome (face_verified: true); the runner takes it, as a
        # sandbox does. Production waits for an operator instead (family.proxy.OperatorVerifier).
        self.platform = Platform(self.store, FixedClock(case.date), proxy_verifier=SandboxVerifier())
        return load_world(self.platform, case, base, origin)

    def now(self) -> datetime:
        return self.p.now()

    def region(self) -> str:
        regions = views.regions(self.p)
        return regions[0].admdvs if regions else "000000"

    def public_key(self) -> str:
        return public_key_pem(self.p)

    def call(self, envelope: dict[str, Any]) -> dict[str, Any]:
        return dispatch(self.p, envelope)

    def balances(self, psn_no: str) -> tuple[int, int]:
        account = views.balances_of(self.p, psn_no)
        return (account.current, account.historical) if account else (0, 0)

    def accumulators(self, psn_no: str) -> dict[str, tuple[int, int]]:
        _, accumulators, _ = queries.year_to_date(self.p, psn_no, self.p.now().date())
        return accumulators

    def clock(self, to: datetime) -> None:
        clock = self.p.clock
        assert isinstance(clock, FixedClock)
        if to < clock.now():
            raise ValueError(f"时钟只能向前：{clock.now()} → {to}")
        clock.set(to)
        jobs.run_until(self.p, to)

    def action(self, name: str, args: dict[str, Any]) -> ActionResult:
        try:
            fields = ACTIONS[name](self.p, args)
        except DomainError as exc:
            return ActionResult(False, exc.code)
        return ActionResult(True, None, fields or {})

    def close(self) -> None:
        self.store.dispose()


def _not_yet(what: str):
    def run(p: Platform, args: dict[str, Any]) -> None:
        raise refuse("E8001-003", detail=what)

    return run


ACTIONS = {
    "authorize_mutual_aid": lambda p, a: {"order": family.authorize_mutual_aid(p, a["payer"], a["beneficiary"])},
    "revoke_mutual_aid": lambda p, a: family.revoke_mutual_aid(p, a["payer"], a["beneficiary"]),
    "set_mutual_aid_order": lambda p, a: family.set_mutual_aid_order(p, a["beneficiary"], list(a["payers"])),
    "bind_proxy": lambda p, a: {
        "status": proxy.bind(
            p,
            a["holder"],
            a["member"],
            face_verified=a.get("face_verified", False),
            commitment_letter=a.get("commitment_letter", False),
        ).status
    },
    "unbind_proxy": lambda p, a: proxy.unbind(p, a["holder"], a["member"]),
    "report_card_lost": lambda p, a: {
        "card_no": credentials.report_card_lost(p, a["person"], a.get("kind", "temporary"))
    },
    "replace_card": lambda p, a: dict(
        zip(("card_no", "card_sn"), credentials.replace_card(p, a["person"]), strict=True)
    ),
    "set_password": lambda p, a: credentials.set_password(p, a["person"], str(a["password"]), reset=True),
    "enroll": lambda p, a: _enroll(p, a),
    "contribute": lambda p, a: _contribute(p, a),
    "file_offsite": lambda p, a: _file_offsite(p, a),
}


def _day(value: Any, what: str) -> date:
    try:
        return case_time(value).date()
    except ValueError as exc:
        raise refuse("E7401-005", detail=f"{what}：{exc}") from None


def _enroll(p: Platform, a: dict[str, Any]) -> dict[str, Any]:
    wait = lifecycle.enroll(
        p,
        a["person"],
        str(a["insutype"]),
        str(a["psn_type"]),
        _day(a["date"], "date"),
        in_window=a.get("in_collection_window"),
        exempt=bool(a.get("exempt", False)),
    )
    return {"benefit_start": wait.benefit_start.isoformat(), "waiting_months": wait.months, "reason": wait.reason}


def _contribute(p: Platform, a: dict[str, Any]) -> dict[str, Any]:
    if "month" in a:
        credited = lifecycle.contribute_employee(p, a["person"], str(a["month"]), parse_fen(a["base"], "缴费基数"))
        return {"credited": fmt_yuan(credited)}
    out = lifecycle.contribute_resident(
        p,
        a["person"],
        int(a["year"]),
        parse_fen(a["amount"], "缴费金额"),
        paid_on=_day(a.get("paid_on", p.now()), "paid_on"),
        paid_by=a.get("paid_by"),
    )
    return {"credited": "0.00", **out}


def _file_offsite(p: Platform, a: dict[str, Any]) -> dict[str, Any]:
    end = a.get("to")
    lifecycle.file_offsite(p, a["person"], str(a["kind"]), _day(a["from"], "from"), _day(end, "to") if end else None)
    return {}
