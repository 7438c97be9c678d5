"""The portal for insured people (/portal/): balances, settlements explained, mutual aid, 亲情账户.

Every page calls the same service functions as the gateway and the REST API. A person sees their
own pages and those of the members of their 亲情账户, nobody else's: each route that names a
person or a settlement checks that first.
"""

from __future__ import annotations

from typing import Annotated, Literal

import segno
from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from yibao.errors import DomainError
from yibao.services import claimback, family, proxy, views
from yibao.services.platform import Platform
from yibao.services.sessions import PORTAL
from yibao.services.signin import sign_in_person
from yibao.web import claims as claims_form
from yibao.web.charts import month_bars
from yibao.web.render import page
from yibao.web.security import (
    Forbidden,
    begin_session,
    check_csrf,
    client_address,
    end_session,
    signed_in_person,
)
from yibao.web.slips import slip_response

router = APIRouter(prefix="/portal", include_in_schema=False)
# What a finished form says. A page shows a message only by its code from this table, never text
# that came with the URL (``?done=`` is a code; refusals re-render the page, nothing travels in a URL).
DONE = {
    "granted": "已授权",
    "revoked": "已解除授权",
    "reordered": "已调整顺序",
    "bound": "已绑定",
    "unbound": "已解除绑定",
    "pending": "已提交绑定申请：经办机构核验家庭成员本人身份后生效",
}


def _p(request: Request) -> Platform:
    return request.app.state.platform


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _act(request: Request, action, page_again, done):
    """Run one service call for a form; a refusal re-renders the form's page with the Chinese message,
    success redirects (303) so a browser refresh does not post twice. ``done``: where to, or a function
    of the call's result that says where to."""
    try:
        result = action(_p(request))
    except DomainError as exc:
        return page_again(request, error=exc.err_msg)
    return _see_other(done(result) if callable(done) else done)


def _pair(account) -> tuple[int, int] | None:
    return (account.current, account.historical) if account else None


# Sign-in ------------------------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request):
    demo = []
    if _p(request).sandbox:
        demo = views.search_people(_p(request), None, 8)
    return page(request, "portal/login.html", demo=demo)


@router.post("/login")
def login(request: Request, certno: str = Form(""), password: str = Form(""), csrf: str = Form("")):
    check_csrf(request, csrf)
    try:
        person = sign_in_person(_p(request), certno, password, client_address(request))
    except DomainError as exc:
        status = 429 if exc.code == "E7301-014" else 401
        return page(request, "portal/login.html", status_code=status, error=exc.message, certno=certno, demo=[])
    begin_session(request, PORTAL, person.psn_no)
    return _see_other("/portal/")


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")):
    check_csrf(request, csrf)
    end_session(request, PORTAL)
    return _see_other("/portal/login")


# Home and settlements -----------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request):
    me = signed_in_person(request)
    p = _p(request)
    home = views.portal_home(p, me)
    return page(
        request,
        "portal/home.html",
        filed=home["filed"],
        person=home["person"],
        insurances=home["insurances"],
        balances=_pair(home["account"]),
        recent=home["recent"],
        movements=home["movements"],
        today=p.now().date(),
    )


def _visible_settlement(request: Request, setl_id: str):
    """A settlement of mine or of a member of my 亲情账户 — nobody else's, whatever the URL says."""
    me = signed_in_person(request)
    view = proxy.visible_settlement(_p(request), me, setl_id)
    if view is None:
        raise Forbidden("这笔结算不属于您或您的亲情账户成员")
    return me, view


@router.get("/settlements/{setl_id}", response_class=HTMLResponse)
def settlement(request: Request, setl_id: str):
    me, view = _visible_settlement(request, setl_id)
    return page(request, "portal/settlement.html", v=view, me=me)


@router.get("/slips/{setl_id}.{kind}")
def slip(request: Request, setl_id: str, kind: Literal["html", "pdf"]):
    return slip_response(_visible_settlement(request, setl_id)[1], kind)


# Mutual aid -----------------------------------------------------------------------------------------------


@router.get("/mutual-aid", response_class=HTMLResponse)
def mutual_aid(request: Request, done: str | None = None):
    return _mutual_aid_page(request, done=DONE.get(done or ""))


def _mutual_aid_page(request: Request, *, error: str | None = None, done: str | None = None):
    me = signed_in_person(request)
    p = _p(request)
    view = family.grants_view(p, me)
    paid = family.paid_for_others(p, me, p.now().year)
    person = views.person_of(p, me)
    relatives = family.relatives_of(p, me)
    granted = {x["person"].psn_no for x in paid if x["active"]}
    return page(
        request,
        "portal/mutual_aid.html",
        person=person,
        payers=view["payers"],
        paid=paid,
        candidates=[r for r in relatives if r["person"].psn_no not in granted],
        error=error,
        done=done,
    )


@router.post("/mutual-aid/grants")
def grant(request: Request, beneficiary: str = Form(...), csrf: str = Form("")):
    check_csrf(request, csrf)
    me = signed_in_person(request)
    return _act(
        request,
        lambda p: family.authorize_mutual_aid(p, me, beneficiary),
        _mutual_aid_page,
        "/portal/mutual-aid?done=granted",
    )


@router.post("/mutual-aid/revoke")
def revoke(request: Request, beneficiary: str = Form(...), csrf: str = Form("")):
    check_csrf(request, csrf)
    me = signed_in_person(request)
    return _act(
        request,
        lambda p: family.revoke_mutual_aid(p, me, beneficiary),
        _mutual_aid_page,
        "/portal/mutual-aid?done=revoked",
    )


@router.post("/mutual-aid/order")
def reorder(request: Request, payer: str = Form(...), move: str = Form(...), csrf: str = Form("")):
    """Move one payer up or down in the order my payers are drawn in."""
    check_csrf(request, csrf)
    me = signed_in_person(request)
    p = _p(request)
    order = [x.psn_no for x, _ in family.grants_view(p, me)["payers"]]
    if payer in order:
        i = order.index(payer)
        j = i - 1 if move == "up" else i + 1
        if 0 <= j < len(order):
            order[i], order[j] = order[j], order[i]
        family.set_mutual_aid_order(p, me, order)
    if request.headers.get("hx-request"):
        view = family.grants_view(p, me)
        return page(request, "portal/_payers.html", payers=view["payers"])
    return _see_other("/portal/mutual-aid?done=reordered")


# 亲情账户 -----------------------------------------------------------------------------------------------------


@router.get("/family", response_class=HTMLResponse)
def family_page(request: Request, done: str | None = None):
    return _family_page(request, done=DONE.get(done or ""))


def _family_page(request: Request, *, error: str | None = None, done: str | None = None):
    me = signed_in_person(request)
    p = _p(request)
    members = proxy.members(p, me)
    waiting = [w for w in proxy.verifications(p, status="pending", psn_no=me) if w["holder"].psn_no == me]
    person = views.person_of(p, me)
    taken = {m["person"].psn_no for m in members} | {w["member"].psn_no for w in waiting}
    candidates, face_age = proxy.binding_candidates(p, me, exclude=taken)
    return page(
        request,
        "portal/family.html",
        person=person,
        members=members,
        waiting=waiting,
        candidates=candidates,
        face_age=face_age,
        verifier=p.verifier().name,
        error=error,
        done=done,
    )


@router.post("/family/bind")
def bind(
    request: Request,
    member: str = Form(...),
    face_verified: str = Form(""),
    face_token: str = Form(""),
    commitment_letter: str = Form(""),
    csrf: str = Form(""),
):
    """The form's face check is evidence for the platform's verifier, never the decision: the sandbox
    takes the tick, production records the request until the member's identity is confirmed."""
    check_csrf(request, csrf)
    me = signed_in_person(request)
    return _act(
        request,
        lambda p: proxy.bind(
            p,
            me,
            member,
            face_verified=face_token or face_verified == "yes",
            commitment_letter=commitment_letter == "yes",
        ),
        _family_page,
        lambda outcome: f"/portal/family?done={outcome.status}",
    )


@router.post("/family/unbind")
def unbind(request: Request, member: str = Form(...), csrf: str = Form("")):
    check_csrf(request, csrf)
    me = signed_in_person(request)
    return _act(request, lambda p: proxy.unbind(p, me, member), _family_page, "/portal/family?done=unbound")


@router.get("/family/{member}", response_class=HTMLResponse)
def member_page(request: Request, member: str, year: int | None = None):
    me = signed_in_person(request)
    p = _p(request)
    year = year or p.now().year
    record = proxy.member_record(p, me, member, year)
    if record is None:
        raise Forbidden("该人员不是您亲情账户中的家庭成员")
    target, qr, expenses = record["target"], record["qr"], record["expenses"]
    chart = month_bars(expenses["months"], title=f"{target.name}{year}年每月医疗费用（元）")
    return page(
        request,
        "portal/member.html",
        filed=record["filed"],
        target=target,
        qr=_qr_svg(qr),
        qr_text=qr,
        expenses=expenses,
        chart=chart,
        recent=record["recent"],
        year=year,
        balances=_pair(record["balances"]),
    )


@router.get("/family/{member}/qr", response_class=HTMLResponse)
def member_qr(request: Request, member: str):
    """A fresh QR code (the page refreshes it every minute; a drawn code expires after five)."""
    me = signed_in_person(request)
    p = _p(request)
    qr = proxy.member_qr(p, me, member)
    if qr is None:
        raise Forbidden("该人员不是您亲情账户中的家庭成员")
    return HTMLResponse(_qr_svg(qr))


# Pay first, claim back (手工报销) ---------------------------------------------------------------------------


@router.get("/claims", response_class=HTMLResponse)
def claims(request: Request):
    return _claims_page(request)


def _claims_page(request: Request, *, error: str | None = None, form: dict | None = None, rows=None):
    me = signed_in_person(request)
    p = _p(request)
    return page(
        request,
        "portal/claims.html",
        person=views.person_of(p, me),
        claims=claimback.claims_of(p, me),
        form=form or claims_form.blank_form(p.now().date()),
        rows=rows or [],
        CASE_NAMES=claimback.CASE_NAMES,
        error=error,
    )


@router.post("/claims")
def file_claim(
    request: Request,
    filed: Annotated[claims_form.Filed, Depends(claims_form.posted)],
    csrf: str = Form(""),
):
    """The insured person files a claim with the receipt's data; the result page explains it."""
    check_csrf(request, csrf)
    me = signed_in_person(request)
    form, rows = filed.form, filed.rows
    return _act(
        request,
        lambda p: claimback.file_claim(p, psn_no=me, **form, rows=rows, filed_by=f"portal:{me}"),
        lambda request, error: _claims_page(request, error=error, form=form, rows=rows),
        lambda paid: f"/portal/claims/{paid.claim_id}",
    )


@router.get("/claims/{claim_id}", response_class=HTMLResponse)
def claim(request: Request, claim_id: Annotated[int, Path(ge=1, le=2**31 - 1)]):
    me = signed_in_person(request)
    record = claimback.claim_of(_p(request), claim_id)
    if record is None or record.psn_no != me:
        raise Forbidden("这笔报销不属于您")  # the same answer whether it exists or not
    return page(request, "portal/claim.html", c=record)


def _qr_svg(content: str) -> str:
    return segno.make(content, error="m").svg_inline(scale=4, dark="#111", light="#fff", title="医保电子凭证二维码")
