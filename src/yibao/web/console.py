"""The agency console (/console/): people, accounts and ledger entries, settlements with cancel,
亲情账户 bindings waiting for an operator's identity check, the policy in force on a chosen date, an
institution's daily totals as 3201 reconciles them.

Who is signed in, and with which role, is read from the database on every request
(``web.security.signed_in_staff``): a demoted operator cannot cancel, a removed account is out."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from yibao.errors import DomainError
from yibao.lifecycle.model import EMPLOYEE, RESIDENT
from yibao.nhsa.output import FUND_NAMES, setldetail, setlinfo
from yibao.services import claimback, clearing, crossregion, family, proxy, queries, reconciliation, views
from yibao.services.credentials import credentials_of
from yibao.services.platform import Platform
from yibao.services.sessions import CONSOLE
from yibao.services.settle import cancel_by_staff
from yibao.services.signin import Staff, portal_lock, sign_in_staff
from yibao.web import claims as claims_form
from yibao.web.render import page
from yibao.web.security import Forbidden, begin_session, check_csrf, end_session, signed_in_staff
from yibao.web.slips import slip_response
from yibao.words import BUCKET_NAMES, MOVEMENT_NAMES

router = APIRouter(prefix="/console", include_in_schema=False)


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
    p = _p(request)
    found = views.search_people(p, q.strip() if q else None, 50)
    institutions, regions = views.institutions(p), views.regions(p)
    return page(
        request, "console/search.html", staff=staff, q=q or "", found=found, institutions=institutions, regions=regions
    )


@router.get("/people/{psn_no}", response_class=HTMLResponse)
def person(request: Request, psn_no: str):
    staff = signed_in_staff(request)
    p = _p(request)
    record = views.person_record(p, psn_no)
    account = record["account"]
    events = family.grant_history(p, psn_no)
    checks = proxy.verifications(p, psn_no=psn_no)
    grants = family.grants_view(p, psn_no)
    creds = credentials_of(p, psn_no)
    members = proxy.members(p, psn_no)
    return page(
        request,
        "console/person.html",
        staff=staff,
        who=record["who"],
        insurances=record["insurances"],
        has_account=account is not None,
        current=account.current if account else 0,
        historical=account.historical if account else 0,
        ledger=record["ledger"],
        settlements=record["settlements"],
        grants=grants,
        creds=creds,
        members=members,
        events=events,
        checks=checks,
        portal_locked_until=portal_lock(p, psn_no),
        today=p.now().date(),
    )


# Pay first, claim back (手工报销): an operator files the receipts a person brought to the counter ----------


@router.get("/people/{psn_no}/claims", response_class=HTMLResponse)
def claims(request: Request, psn_no: str):
    return _claims_page(request, psn_no)


def _claims_page(request: Request, psn_no: str, *, error: str | None = None, form: dict | None = None, rows=None):
    staff = signed_in_staff(request)
    p = _p(request)
    record = views.person_record(p, psn_no)
    return page(
        request,
        "console/claims.html",
        staff=staff,
        who=record["who"],
        claims=claimback.claims_of(p, psn_no),
        form=form or claims_form.blank_form(p.now().date()),
        rows=rows or [],
        CASE_NAMES=claimback.CASE_NAMES,
        error=error,
    )


@router.post("/people/{psn_no}/claims")
def file_claim(
    request: Request,
    psn_no: str,
    filed: Annotated[claims_form.Filed, Depends(claims_form.posted)],
    csrf: str = Form(""),
):
    check_csrf(request, csrf)
    staff = _operator(request, "受理手工报销")
    form, rows = filed.form, filed.rows
    try:
        paid = claimback.file_claim(_p(request), psn_no=psn_no, **form, rows=rows, filed_by=f"console:{staff.username}")
    except DomainError as exc:
        return _claims_page(request, psn_no, error=exc.err_msg, form=form, rows=rows)
    return RedirectResponse(f"/console/claims/{paid.claim_id}", status_code=303)


@router.get("/claims/{claim_id}", response_class=HTMLResponse)
def claim(request: Request, claim_id: Annotated[int, Path(ge=1, le=2**31 - 1)]):
    staff = signed_in_staff(request)
    record = claimback.claim_of(_p(request), claim_id)
    if record is None:
        raise HTTPException(404)
    return page(request, "console/claim.html", staff=staff, c=record)


@router.get("/settlements/{setl_id}", response_class=HTMLResponse)
def settlement(request: Request, setl_id: str):
    return _settlement_page(request, setl_id)


def _settlement_page(request: Request, setl_id: str, *, error: str | None = None):
    staff = signed_in_staff(request)
    view, entry = views.settlement_view(_p(request), setl_id, with_entry=True)
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
    try:
        cancel_by_staff(p, setl_id)
    except DomainError as exc:
        return _settlement_page(request, setl_id, error=exc.err_msg)
    return RedirectResponse(f"/console/settlements/{setl_id}", status_code=303)


@router.get("/slips/{setl_id}.{kind}")
def slip(request: Request, setl_id: str, kind: Literal["html", "pdf"]):
    signed_in_staff(request)
    return slip_response(views.settlement_view(_p(request), setl_id), kind)


@router.get("/policies", response_class=HTMLResponse)
def policies(request: Request, region: str | None = None, on: str | None = None):
    staff = signed_in_staff(request)
    p = _p(request)
    regions = views.regions(p)
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
    inst = views.institution(p, code)
    if inst is None:
        raise DomainError("E0000-004", f"定点医药机构不存在：{code}")
    lines = []
    for insutype in (EMPLOYEE, RESIDENT):
        for clr_type, label in (("11", "门诊"), ("21", "住院"), ("41", "药店购药")):
            t = queries.institution_totals(p, code, insutype, clr_type, day, day)
            if t.count or t.medfee:
                lines.append({"insutype": insutype, "clr_type": clr_type, "label": label, "t": t})
    return page(request, "console/daily.html", staff=staff, inst=inst, day=day, lines=lines)


# Detail reconciliation and clearing (3202, 3203) -------------------------------------------------------


@router.get("/clearing", response_class=HTMLResponse)
def clearing_page(request: Request):
    staff = signed_in_staff(request)
    runs, applications = reconciliation.console_view(_p(request))
    return page(request, "console/clearing.html", staff=staff, runs=runs, clearings=applications)


# 亲情账户 verifications --------------------------------------------------------------------------------


@router.get("/regions", response_class=HTMLResponse)
def regions(request: Request, month: str | None = None):
    """异地就医: the month's clearing with each peer (and its disagreements), the reservations this
    region holds as 参保地, the settlements it advanced as 就医地."""
    staff = signed_in_staff(request)
    p = _p(request)
    if month is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        month = None
    rows = crossregion.reservations(p)
    return page(
        request,
        "console/regions.html",
        staff=staff,
        month=month,
        clearings=clearing.clearings(p, month),
        reservations=[r for r in rows if r.person_id is not None][-200:],
        pending=[r for r in rows if r.status == "pending"],
        crosses=crossregion.cross_settlements(p)[-200:],
        STATES={"pending": "待入账", "posted": "已入账", "voided": "已作废", "reversed": "已撤销"},
        VOID_REASONS={
            "failed": "就医地结算失败",
            "timeout": "就医地等待超时",
            "cancelled_before_post": "入账前撤销",
            "expired": "到期作废",
        },
        CROSS_STATES={
            "awaiting_post": "待参保地确认入账",
            "posted": "已入账",
            "awaiting_cancel": "待参保地确认撤销",
            "cancelled": "已撤销",
            "refused": "参保地已到期作废，本方已冲回",
            "cancel_refused": "参保地拒绝撤销",
        },
    )


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
