"""The agency console (/console/): people, accounts and ledger entries, settlements with cancel,
亲情账户 bindings waiting for an operator's identity check, the policy in force on a chosen date, an
institution's daily totals as 3201 reconciles them.

Who is signed in, and with which role, is read from the database on every request
(``web.security.signed_in_staff``): a demoted operator cannot cancel, a removed account is out."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from yibao.errors import DomainError
from yibao.gateway.output import FUND_NAMES, setldetail, setlinfo
from yibao.ledger.model import person_bucket
from yibao.services import clearing, family, proxy, queries
from yibao.services.care import person_or_refuse
from yibao.services.credentials import credentials_of
from yibao.services.platform import Platform
from yibao.services.sessions import CONSOLE
from yibao.services.settle import cancel_settlement, settlement_or_refuse, view_of
from yibao.services.signin import Staff, portal_lock, sign_in_staff
from yibao.services.statements import account_movements
from yibao.web.render import page
from yibao.web.security import Forbidden, begin_session, check_csrf, end_session, signed_in_staff
from yibao.web.slips import slip_response
from yibao.words import BUCKET_NAMES, MOVEMENT_NAMES

router = APIRouter(prefix="/console", include_in_schema=False)
CANCEL_INFNO = {"2207": "2208", "2102": "2103", "2304": "2305"}


def _p(request: Request) -> Platform:
    return request.app.state.platform


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request):
    return page(request, "console/login.html")


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""), csrf: str = Form("")):
    check_csrf(request, csrf)
    try:
        staff = sign_in_staff(_p(request), username, password)
    except DomainError as exc:
        return page(request, "console/login.html", status_code=401, error=exc.message, username=username)
    begin_session(request, CONSOLE, staff.username)
    return RedirectResponse("/console/", status_code=303)


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")):
    check_csrf(request, csrf)
    end_session(request, CONSOLE)
    return RedirectResponse("/console/login", status_code=303)


def _operator(request: Request, what: str) -> Staff:
    staff = signed_in_staff(request)
    if staff.role != "operator":
        raise Forbidden(f"只有经办角色可以{what}")
    return staff


@router.get("/", response_class=HTMLResponse)
def search(request: Request, q: str | None = None):
    staff = signed_in_staff(request)
    with _p(request).store.uow(read_only=True) as tx:
        found = tx.people.search(q.strip() if q else None, limit=50)
        institutions = tx.care.institutions()
        regions = tx.config.regions()
    return page(
        request, "console/search.html", staff=staff, q=q or "", found=found, institutions=institutions, regions=regions
    )


@router.get("/people/{psn_no}", response_class=HTMLResponse)
def person(request: Request, psn_no: str):
    staff = signed_in_staff(request)
    p = _p(request)
    with p.store.uow(read_only=True) as tx:
        who = person_or_refuse(tx, psn_no)
        insurances = tx.people.insurances(who.id)
        codes = [person_bucket(psn_no, b) for b in ("current", "historical")]
        has_account = tx.ledger.account(codes[0]) is not None
        balances = tx.ledger.balances(codes)
        ledger = account_movements(p, psn_no, 100, masked=False, tx=tx)
        settlements = [view_of(tx, r) for r in tx.care.settlements_of_person(who.id, 30)]
    events = family.grant_history(p, psn_no)
    checks = proxy.verifications(p, psn_no=psn_no)
    grants = family.grants_view(p, psn_no)
    creds = credentials_of(p, psn_no)
    members = proxy.members(p, psn_no)
    return page(
        request,
        "console/person.html",
        staff=staff,
        who=who,
        insurances=insurances,
        has_account=has_account,
        current=balances[person_bucket(psn_no, "current")],
        historical=balances[person_bucket(psn_no, "historical")],
        ledger=ledger,
        settlements=settlements,
        grants=grants,
        creds=creds,
        members=members,
        events=events,
        checks=checks,
        portal_locked_until=portal_lock(p, psn_no),
        today=p.now().date(),
    )


@router.get("/settlements/{setl_id}", response_class=HTMLResponse)
def settlement(request: Request, setl_id: str):
    return _settlement_page(request, setl_id)


def _settlement_page(request: Request, setl_id: str, *, error: str | None = None):
    staff = signed_in_staff(request)
    with _p(request).store.uow(read_only=True) as tx:
        row = settlement_or_refuse(tx, setl_id)
        view = view_of(tx, row)
        entry = tx.ledger.entry(f"setl:{setl_id}")
    return page(
        request,
        "console/settlement.html",
        staff=staff,
        v=view,
        info=setlinfo(view),
        detail=setldetail(view),
        entry=_entry_in_words(entry, view) if entry else None,
        error=error,
    )


def _entry_in_words(entry, view) -> list[dict]:
    """The settlement's ledger entry, each side named as people name it (张伟 当年账户, the fund, the
    institution) instead of the ledger's account codes."""
    names = {view.person.psn_no: view.person.name} | {m.psn_no: m.name for m in view.result.mutual_aid}

    def account(code: str) -> str:
        kind, _, rest = code.partition(":")
        if kind == "P":
            psn_no, _, bucket = rest.rpartition(":")
            return f"{names.get(psn_no, psn_no)} {BUCKET_NAMES.get(bucket, '')}"
        if kind == "F":
            return FUND_NAMES.get(rest.rpartition(":")[2], "统筹基金")
        if kind == "I":
            return view.institution.name
        if kind == "C":
            return f"{view.person.name} 现金"
        return "外部来源"

    return [
        {
            "debit": account(t.debit),
            "credit": account(t.credit),
            "amount": t.amount,
            "what": MOVEMENT_NAMES.get(t.code, ""),
        }
        for t in entry.transfers
    ]


@router.post("/settlements/{setl_id}/cancel")
def cancel(request: Request, setl_id: str, csrf: str = Form("")):
    check_csrf(request, csrf)
    _operator(request, "撤销结算")
    p = _p(request)
    with p.store.uow(read_only=True) as tx:
        row = settlement_or_refuse(tx, setl_id)
        who = tx.people.by_id(row.person_id)
    try:
        cancel_settlement(
            p,
            institution=row.institution_code,
            setl_id=setl_id,
            mdtrt_id=None,
            psn_no=who.psn_no,
            infno=CANCEL_INFNO.get(row.infno, "2208"),
        )
    except DomainError as exc:
        return _settlement_page(request, setl_id, error=exc.err_msg)
    return RedirectResponse(f"/console/settlements/{setl_id}", status_code=303)


@router.get("/slips/{setl_id}.{kind}")
def slip(request: Request, setl_id: str, kind: Literal["html", "pdf"]):
    signed_in_staff(request)
    with _p(request).store.uow(read_only=True) as tx:
        view = view_of(tx, settlement_or_refuse(tx, setl_id))
    return slip_response(view, kind)


@router.get("/policies", response_class=HTMLResponse)
def policies(request: Request, region: str | None = None, on: str | None = None):
    staff = signed_in_staff(request)
    p = _p(request)
    with p.store.uow(read_only=True) as tx:
        regions = tx.config.regions()
    try:
        day = date.fromisoformat(on) if on else p.now().date()
    except ValueError:
        day = p.now().date()
    known = [r.admdvs for r in regions]
    admdvs = region if region in known else (known[0] if known else None)  # never echo a made-up region
    rows, policy = [], None
    if admdvs:
        policy = p.policy_for_admdvs(admdvs)
        rows = policy.in_force(day)
    return page(
        request, "console/policies.html", staff=staff, regions=regions, admdvs=admdvs, day=day, rows=rows, policy=policy
    )


@router.get("/institutions/{code}/daily", response_class=HTMLResponse)
def daily(request: Request, code: str, on: str | None = None):
    staff = signed_in_staff(request)
    p = _p(request)
    try:
        day = date.fromisoformat(on) if on else p.now().date()
    except ValueError:
        day = p.now().date()
    with p.store.uow(read_only=True) as tx:
        inst = tx.care.institution(code)
        if inst is None:
            raise DomainError("E0000-004", f"定点医药机构不存在：{code}")
    lines = []
    for insutype in ("310", "390"):
        for clr_type, label in (("11", "门诊"), ("21", "住院"), ("41", "药店购药")):
            t = queries.institution_totals(p, code, insutype, clr_type, day, day)
            if t.count or t.medfee:
                lines.append({"insutype": insutype, "clr_type": clr_type, "label": label, "t": t})
    return page(request, "console/daily.html", staff=staff, inst=inst, day=day, lines=lines)


# Detail reconciliation and clearing (3202, 3203) -------------------------------------------------------


@router.get("/clearing", response_class=HTMLResponse)
def clearing_page(request: Request):
    staff = signed_in_staff(request)
    runs, applications = clearing.console_view(_p(request))
    return page(request, "console/clearing.html", staff=staff, runs=runs, clearings=applications)


# 亲情账户 verifications --------------------------------------------------------------------------------


@router.get("/proxy-verifications", response_class=HTMLResponse)
def verifications(request: Request):
    staff = signed_in_staff(request)
    p = _p(request)
    every = proxy.verifications(p)
    return page(
        request,
        "console/verifications.html",
        staff=staff,
        pending=[x for x in every if x["v"].status == "pending"],
        decided=[x for x in every if x["v"].status != "pending"][:30],
    )


@router.post("/proxy-verifications/{vid}/confirm")
def confirm(request: Request, vid: Annotated[int, Path(ge=1, le=2**31 - 1)], csrf: str = Form("")):
    """The operator has seen the member (or their face check on record): the binding is made."""
    check_csrf(request, csrf)
    staff = _operator(request, "确认亲情账户绑定")
    proxy.confirm_verification(_p(request), vid, via="console", by=staff.signature)
    return RedirectResponse("/console/proxy-verifications", status_code=303)


@router.post("/proxy-verifications/{vid}/reject")
def reject(request: Request, vid: Annotated[int, Path(ge=1, le=2**31 - 1)], note: str = Form(""), csrf: str = Form("")):
    check_csrf(request, csrf)
    staff = _operator(request, "驳回亲情账户绑定")
    proxy.reject_verification(_p(request), vid, via="console", by=staff.signature, note=note.strip()[:200] or None)
    return RedirectResponse("/console/proxy-verifications", status_code=303)
