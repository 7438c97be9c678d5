"""The agency's REST API under ``/api/v1``: people, accounts, family, credentials, catalogue,
institutions, settlements and the policy in force. Each route calls one service function."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request

from yibao.api import schemas as s
from yibao.care.ids import settlement_public_id, visit_public_id
from yibao.errors import DomainError, refuse
from yibao.money import MoneyFormatError, fmt_ratio, fmt_yuan, parse_fen, parse_price, parse_ratio
from yibao.nhsa.output import setldetail, setlinfo
from yibao.services import credentials, family, lifecycle, proxy, queries, signin, views, world
from yibao.services.gateway_access import issue_credentials
from yibao.services.platform import Platform
from yibao.services.settle import cancel_by_staff, find_settlement
from yibao.settlement.model import CatalogItem

router = APIRouter(prefix="/api/v1")
VerificationId = Annotated[int, Path(ge=1, le=2**31 - 1, description="核验申请编号")]


def platform(request: Request) -> Platform:
    return request.app.state.platform


def _money(fen: int) -> str:
    return fmt_yuan(fen)


def _bad(exc: Exception):
    return exc if isinstance(exc, DomainError) else refuse("E0000-008", detail=str(exc))


# Regions and policy ------------------------------------------------------------------------------


@router.get("/regions", response_model=list[s.RegionOut], tags=["政策"], summary="统筹区列表")
def regions(request: Request):
    return [s.RegionOut(admdvs=r.admdvs, region_id=r.region_id, name=r.name) for r in views.regions(platform(request))]


@router.put("/regions", response_model=s.RegionOut, tags=["政策"], summary="安装或替换一个统筹区的政策文件")
def put_region(body: s.PolicyIn, request: Request):
    p = platform(request)
    admdvs = world.put_region(p, body.policy_text, "api", body.overrides)
    policy = p.policy_for_admdvs(admdvs)
    return s.RegionOut(admdvs=admdvs, region_id=policy.region_id, name=policy.name)


@router.get(
    "/regions/{admdvs}/policy", response_model=list[s.ParameterOut], tags=["政策"], summary="某日生效的政策参数"
)
def policy_in_force(request: Request, admdvs: str, on: date | None = Query(None, alias="date"), key: str | None = None):
    p = platform(request)
    policy = p.policy_for_admdvs(admdvs)
    day = on or p.now().date()
    out = []
    for r in policy.in_force(day):
        if key and not (r.key == key or r.key.startswith(key + ".")):
            continue
        out.append(
            s.ParameterOut(
                key=r.key,
                description=r.description,
                by=list(r.by),
                since=None if r.since == date.min else r.since,
                value=_jsonable(r.raw),
                source=s.SourceOut(
                    id=r.source.id,
                    title=r.source.title,
                    url=r.source.url,
                    grade=r.source.grade,
                    illustrative=r.source.illustrative,
                ),
            )
        )
    return out


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool | int | str) or value is None:
        return value
    return str(value)


# Institutions and catalogue ----------------------------------------------------------------------


@router.get("/institutions", response_model=list[s.InstitutionOut], tags=["机构与目录"])
def institutions(request: Request):
    return [s.InstitutionOut(**i.__dict__) for i in views.institutions(platform(request))]


@router.post("/institutions", response_model=s.InstitutionOut, status_code=201, tags=["机构与目录"])
def add_institution(body: s.InstitutionIn, request: Request):
    inst = world.add_institution(platform(request), body.code, body.name, body.kind, body.level, body.admdvs)
    return s.InstitutionOut(**inst.__dict__)


@router.post(
    "/institutions/{code}/credentials",
    response_model=s.CredentialsOut,
    status_code=201,
    tags=["机构与目录"],
    summary="签发机构的全部接入凭据（只显示一次）：API key、TIF 令牌、服务网关 AK/SK，SM 变体另有 SM4/SM2 密钥",
)
def institution_credentials(code: str, request: Request, body: s.CredentialsIn | None = None):
    body = body or s.CredentialsIn()
    return s.CredentialsOut(**issue_credentials(platform(request), code, variant=body.variant, sign_in=body.sign_in))


@router.get("/catalog", response_model=list[s.CatalogOut], tags=["机构与目录"], summary="医保目录")
def catalog(request: Request, limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10**9)):
    return [
        s.CatalogOut(
            code=r.code,
            name=r.name,
            chrgitm_lv=r.chrgitm_lv,
            selfpay_prop=fmt_ratio(r.selfpay_bp),
            pric_uplmt=None if r.price_ceiling is None else str(r.price_ceiling),
        )
        for r in views.catalog_page(platform(request), limit, offset)
    ]


@router.post("/catalog", response_model=s.CatalogOut, status_code=201, tags=["机构与目录"])
def add_catalog(body: s.CatalogIn, request: Request):
    try:
        item = CatalogItem(
            body.code,
            body.name,
            body.chrgitm_lv,
            parse_ratio(body.selfpay_prop) if body.selfpay_prop else 0,
            parse_price(body.pric_uplmt, "限价") if body.pric_uplmt else None,
        )
    except MoneyFormatError as exc:
        raise _bad(exc) from exc
    world.add_catalog_item(platform(request), item)
    return s.CatalogOut(
        code=item.code,
        name=item.name,
        chrgitm_lv=item.chrgitm_lv,
        selfpay_prop=fmt_ratio(item.selfpay_bp),
        pric_uplmt=body.pric_uplmt,
    )


# People and accounts ------------------------------------------------------------------------------


def _person_out(person, insurances, today: date) -> s.PersonOut:
    ins = [
        s.InsuranceOut(
            insutype=i.insutype,
            psn_type=i.psn_type,
            begin=i.begin,
            end=i.end,
            benefit_start=i.benefit_start,
            status=i.status_on(today),
        )
        for i in insurances
    ]
    return s.PersonOut(
        psn_no=person.psn_no,
        name=person.name,
        certno=person.certno,
        gender=person.gender,
        birth=person.birth,
        admdvs=person.admdvs,
        insurances=ins,
    )


@router.get(
    "/people", response_model=list[s.PersonOut], tags=["人员与账户"], summary="查找人员（姓名、人员编号或身份证号）"
)
def people(
    request: Request,
    q: str | None = Query(None, max_length=50),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10**9),
):
    p = platform(request)
    return [_person_out(x, ins, p.now().date()) for x, ins in views.people(p, q, limit, offset)]


@router.post("/people", response_model=s.CreatedPersonOut, status_code=201, tags=["人员与账户"])
def add_person(body: s.PersonIn, request: Request):
    p = platform(request)
    made = world.add_person(
        p,
        world.NewPerson(
            name=body.name,
            birth=body.birth,
            gender=body.gender,
            admdvs=body.admdvs,
            certno=body.certno,
            insutype=body.insutype,
            psn_type=body.psn_type,
            insured_since=body.insured_since,
            insured_until=body.insured_until,
            current=parse_fen(body.current),
            historical=parse_fen(body.historical),
            password=body.password,
            emp_name=body.emp_name,
        ),
    )
    out = _person_out(*views.person_with_insurances(p, made.person.psn_no), p.now().date())
    return s.CreatedPersonOut(**out.model_dump(), card_no=made.card_no, card_sn=made.card_sn, ec_token=made.ec_token)


@router.get("/people/{psn_no}", response_model=s.PersonOut, tags=["人员与账户"])
def person(psn_no: str, request: Request):
    p = platform(request)
    return _person_out(*views.person_with_insurances(p, psn_no), p.now().date())


@router.get("/people/{psn_no}/accounts", response_model=s.BalancesOut, tags=["人员与账户"], summary="个人账户余额")
def accounts(psn_no: str, request: Request):
    p = platform(request)
    views.person_of(p, psn_no)
    account = views.balances_of(p, psn_no)
    has = account is not None
    cur, hist = (account.current, account.historical) if account else (0, 0)
    return s.BalancesOut(
        psn_no=psn_no, current=_money(cur), historical=_money(hist), total=_money(cur + hist), has_account=has
    )


@router.get(
    "/people/{psn_no}/accumulators",
    response_model=s.AccumulatorsOut,
    tags=["人员与账户"],
    summary="本医疗年度累计（起付线、统筹基金支付）",
)
def accumulators(psn_no: str, request: Request, on: date | None = Query(None, alias="date")):
    p = platform(request)
    year, acc, _ = queries.year_to_date(p, psn_no, on or p.now().date())
    cats = {c: {"deductible_used": _money(d), "fund_paid": _money(f)} for c, (d, f) in acc.items()}
    return s.AccumulatorsOut(psn_no=psn_no, year=year, categories=cats)


@router.get("/people/{psn_no}/settlements", response_model=list[s.SettlementSummary], tags=["结算"])
def person_settlements(psn_no: str, request: Request, limit: int = Query(50, ge=1, le=500)):
    return [_summary(row, person) for row, person in views.settlements_of(platform(request), psn_no, limit)]


# Family ------------------------------------------------------------------------------------------------


@router.post(
    "/relations", response_model=s.OkOut, status_code=201, tags=["家庭"], summary="登记亲属关系（of 是 to 的 relation）"
)
def add_relation(body: s.RelationIn, request: Request):
    family.declare_relation(platform(request), body.of, body.to, body.relation)
    return s.OkOut()


@router.post("/mutual-aid/grants", response_model=s.OkOut, status_code=201, tags=["家庭"], summary="授权家庭共济")
def grant(body: s.GrantIn, request: Request):
    order = family.authorize_mutual_aid(platform(request), body.payer, body.beneficiary)
    return s.OkOut(detail={"order": order})


@router.post("/mutual-aid/revocations", response_model=s.OkOut, tags=["家庭"], summary="解除家庭共济授权")
def revoke(body: s.GrantIn, request: Request):
    family.revoke_mutual_aid(platform(request), body.payer, body.beneficiary)
    return s.OkOut()


@router.put("/people/{psn_no}/mutual-aid/order", response_model=s.OkOut, tags=["家庭"], summary="设置共济扣款顺序")
def set_order(psn_no: str, body: s.OrderIn, request: Request):
    family.set_mutual_aid_order(platform(request), psn_no, body.payers)
    return s.OkOut()


@router.get("/people/{psn_no}/mutual-aid", response_model=s.MutualAidOut, tags=["家庭"], summary="谁为我付、我为谁付")
def mutual_aid(psn_no: str, request: Request):
    view = family.grants_view(platform(request), psn_no)
    return s.MutualAidOut(
        psn_no=psn_no,
        payers=[s.PayerOut(psn_no=x.psn_no, name=x.name, order=o) for x, o in view["payers"]],
        beneficiaries=[s.PayerOut(psn_no=x.psn_no, name=x.name, order=0) for x in view["beneficiaries"]],
    )


@router.post(
    "/proxy-bindings",
    response_model=s.OkOut,
    status_code=201,
    tags=["家庭"],
    summary="亲情账户绑定（16周岁以上在生产环境须经核验：返回 status=pending 与核验申请 verification_id）",
)
def bind(body: s.ProxyIn, request: Request):
    outcome = proxy.bind(
        platform(request),
        body.holder,
        body.member,
        face_verified=body.face_verified,
        commitment_letter=body.commitment_letter,
    )
    return s.OkOut(detail={"status": outcome.status, "verification_id": outcome.verification_id})


@router.get(
    "/proxy-verifications", response_model=list[s.VerificationOut], tags=["家庭"], summary="亲情账户绑定核验申请"
)
def proxy_verifications(
    request: Request, status: Literal["pending", "confirmed", "rejected"] | None = None, psn_no: str | None = None
):
    return [_verification(x) for x in proxy.verifications(platform(request), status=status, psn_no=psn_no)]


def _verification(x: dict) -> s.VerificationOut:
    v = x["v"]
    return s.VerificationOut(
        id=v.id,
        holder=x["holder"].psn_no,
        holder_name=x["holder"].name,
        member=x["member"].psn_no,
        member_name=x["member"].name,
        relation=v.relation,
        status=v.status,
        requested_at=v.requested_at,
        decided_at=v.decided_at,
        decided_via=v.decided_via,
        decided_by=v.decided_by,
        note=v.note,
    )


@router.post(
    "/proxy-verifications/{vid}/confirm",
    response_model=s.OkOut,
    tags=["家庭"],
    summary="核验服务或经办系统确认家庭成员本人身份：绑定生效，记录核验人",
)
def confirm_verification(vid: VerificationId, body: s.VerificationDecisionIn, request: Request):
    proxy.confirm_verification(platform(request), vid, via="api", by=body.by)
    return s.OkOut()


@router.post("/proxy-verifications/{vid}/reject", response_model=s.OkOut, tags=["家庭"], summary="驳回绑定核验申请")
def reject_verification(vid: VerificationId, body: s.VerificationDecisionIn, request: Request):
    proxy.reject_verification(platform(request), vid, via="api", by=body.by, note=body.note)
    return s.OkOut()


@router.post("/proxy-bindings/unbind", response_model=s.OkOut, tags=["家庭"], summary="亲情账户解绑")
def unbind(body: s.ProxyPairIn, request: Request):
    proxy.unbind(platform(request), body.holder, body.member)
    return s.OkOut()


# Staff of the agency console -------------------------------------------------------------------------------


@router.get("/staff", response_model=list[s.StaffOut], tags=["经办人员"], summary="经办控制台的工作人员")
def staff_list(request: Request):
    return [s.StaffOut(username=x.username, name=x.name, role=x.role) for x in signin.all_staff(platform(request))]


@router.post("/staff", response_model=s.StaffOut, status_code=201, tags=["经办人员"], summary="新增工作人员")
def staff_add(body: s.StaffIn, request: Request):
    x = signin.add_staff(platform(request), body.username, body.name, body.role, body.password)
    return s.StaffOut(username=x.username, name=x.name, role=x.role)


@router.put(
    "/staff/{username}",
    response_model=s.StaffOut,
    tags=["经办人员"],
    summary="改变角色（下一次请求起生效，已登录的会话也按新角色）",
)
def staff_role(username: str, body: s.StaffRoleIn, request: Request):
    x = signin.set_staff_role(platform(request), username, body.role)
    return s.StaffOut(username=x.username, name=x.name, role=x.role)


@router.delete("/staff/{username}", response_model=s.OkOut, tags=["经办人员"], summary="删除工作人员（其会话随即失效）")
def staff_remove(username: str, request: Request):
    signin.remove_staff(platform(request), username)
    return s.OkOut()


# Credentials ---------------------------------------------------------------------------------------------


@router.post("/people/{psn_no}/card/loss", response_model=s.OkOut, tags=["凭证"], summary="社保卡挂失")
def card_loss(psn_no: str, body: s.CardLossIn, request: Request):
    return s.OkOut(detail={"card_no": credentials.report_card_lost(platform(request), psn_no, body.kind)})


@router.post("/people/{psn_no}/card/replacement", response_model=s.OkOut, tags=["凭证"], summary="社保卡补换")
def card_replacement(psn_no: str, request: Request):
    card_no, card_sn = credentials.replace_card(platform(request), psn_no)
    return s.OkOut(detail={"card_no": card_no, "card_sn": card_sn})


@router.post("/people/{psn_no}/card/found", response_model=s.OkOut, tags=["凭证"], summary="社保卡解挂（找回）")
def card_found(psn_no: str, request: Request):
    credentials.cancel_card_loss(platform(request), psn_no)
    return s.OkOut()


@router.put("/people/{psn_no}/password", response_model=s.OkOut, tags=["凭证"], summary="设置、修改或重置密码")
def password(psn_no: str, body: s.PasswordIn, request: Request):
    credentials.set_password(platform(request), psn_no, body.password, old=body.old, reset=body.reset)
    return s.OkOut()


@router.post("/people/{psn_no}/vouchers", response_model=s.OkOut, tags=["凭证"], summary="生成医保电子凭证二维码内容")
def voucher(psn_no: str, request: Request):
    return s.OkOut(detail={"qr": credentials.voucher_qr(platform(request), psn_no)})


@router.post(
    "/people/{psn_no}/tokens",
    response_model=s.OkOut,
    status_code=201,
    tags=["凭证"],
    summary="签发短期电子凭证令牌（ecToken）",
)
def issue_token(psn_no: str, request: Request, minutes: int = Query(30, ge=1, le=1440)):
    token = credentials.issue_token(platform(request), psn_no, minutes)
    return s.OkOut(detail={"ecToken": token.token, "expires_at": token.expires_at.isoformat()})


@router.post("/tokens/{token}/revoke", response_model=s.OkOut, tags=["凭证"], summary="吊销电子凭证令牌")
def revoke_token(token: str, request: Request):
    credentials.revoke_token(platform(request), token)
    return s.OkOut()


# Settlements ----------------------------------------------------------------------------------------------


def _summary(row, person) -> s.SettlementSummary:
    return s.SettlementSummary(
        setl_id=settlement_public_id(person.admdvs, row.id),
        mdtrt_id=visit_public_id(person.admdvs, row.visit_id),
        psn_no=person.psn_no,
        psn_name=person.name,
        institution=row.institution_code,
        infno=row.infno,
        med_type=row.med_type,
        setl_time=row.setl_time,
        status=row.status,
        medfee=_money(row.medfee),
        fund_pay=_money(row.fund_pay),
        acct_pay=_money(row.own_account_pay),
        mulaid_pay=_money(row.mutual_aid_pay),
        cash_pay=_money(row.cash),
    )


@router.get("/settlements", response_model=list[s.SettlementSummary], tags=["结算"], summary="查询结算")
def settlements(
    request: Request,
    institution: str | None = Query(None, max_length=30),
    psn_no: str | None = Query(None, max_length=30),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10**9),
):
    found = views.settlements(platform(request), institution=institution, psn_no=psn_no, limit=limit, offset=offset)
    return [_summary(row, person) for row, person in found]


@router.get("/settlements/{setl_id}", response_model=s.SettlementDetail, tags=["结算"], summary="结算详情与中文说明")
def settlement(setl_id: str, request: Request):
    view = find_settlement(platform(request), setl_id)
    return _detail(request, view)


def _detail(request: Request, view) -> s.SettlementDetail:
    summary = _summary(*views.settlement(platform(request), view.setl_id))
    info = json.loads(json.dumps(setlinfo(view), default=str))
    rows = json.loads(json.dumps(setldetail(view), default=str))
    return s.SettlementDetail(
        **summary.model_dump(), setlinfo=info, setldetail=rows, explanation=list(view.result.steps)
    )


@router.post(
    "/settlements/{setl_id}/cancel",
    response_model=s.SettlementDetail,
    tags=["结算"],
    summary="经办撤销结算（冲销分录，恢复余额与累计）",
)
def cancel(setl_id: str, request: Request):
    return _detail(request, cancel_by_staff(platform(request), setl_id))


# Lifecycle -----------------------------------------------------------------------------------------------


@router.post(
    "/enrolments", response_model=s.OkOut, status_code=201, tags=["参保与缴费"], summary="参保登记（返回待遇开始日）"
)
def enrol(body: s.EnrolIn, request: Request):
    wait = lifecycle.enroll(
        platform(request),
        body.person,
        body.insutype,
        body.psn_type,
        body.date,
        in_window=body.in_collection_window,
        exempt=body.exempt,
        repaired_years=body.repaired_years,
        emp_name=body.emp_name,
    )
    return s.OkOut(
        detail={"benefit_start": wait.benefit_start.isoformat(), "waiting_months": wait.months, "reason": wait.reason}
    )


@router.post("/people/{psn_no}/insurance/end", response_model=s.OkOut, tags=["参保与缴费"], summary="终止参保")
def end_insurance(psn_no: str, body: s.EndInsuranceIn, request: Request):
    out = lifecycle.end_insurance(platform(request), psn_no, body.insutype, body.last_day)
    return s.OkOut(detail={"grants_ended": out["grants_ended"], "clawed_back": _money(out["clawed_back"])})


@router.post(
    "/people/{psn_no}/insurance/suspend", response_model=s.OkOut, tags=["参保与缴费"], summary="暂停或恢复参保"
)
def suspend(psn_no: str, body: s.SuspendIn, request: Request):
    lifecycle.suspend_insurance(platform(request), psn_no, body.insutype, body.since)
    return s.OkOut()


@router.post(
    "/contributions",
    response_model=s.OkOut,
    status_code=201,
    tags=["参保与缴费"],
    summary="登记缴费：职工按月（month, base）或居民按年（year, amount, paid_by）",
)
def contribute(body: s.ContributionIn, request: Request):
    p = platform(request)
    if body.month is not None:
        if body.base is None:
            raise refuse("E0000-008", detail="职工缴费须给出 base")
        credited = lifecycle.contribute_employee(p, body.person, body.month, parse_fen(body.base), paid_on=body.paid_on)
        return s.OkOut(detail={"credited": _money(credited)})
    if body.year is None or body.amount is None:
        raise refuse("E0000-008", detail="缴费须给出 month+base（职工）或 year+amount（居民）")
    out = lifecycle.contribute_resident(
        p, body.person, body.year, parse_fen(body.amount), paid_on=body.paid_on or p.now().date(), paid_by=body.paid_by
    )
    return s.OkOut(detail={"credited": "0.00", **out})


@router.post(
    "/people/{psn_no}/preallocations",
    response_model=s.OkOut,
    status_code=201,
    tags=["参保与缴费"],
    summary="预划个人账户（离职时按实际月份清退）",
)
def preallocate(psn_no: str, body: s.PreallocationIn, request: Request):
    credited = lifecycle.preallocate(platform(request), psn_no, body.first_month, body.months, parse_fen(body.base))
    return s.OkOut(detail={"credited": _money(credited)})


@router.post("/offsite-filings", response_model=s.OkOut, status_code=201, tags=["参保与缴费"], summary="异地就医备案")
def file_offsite(body: s.FilingIn, request: Request):
    lifecycle.file_offsite(platform(request), body.person, body.kind, body.valid_from, body.valid_to, body.admdvs)
    return s.OkOut()


# 亲情账户 views and what I pay for ------------------------------------------------------------------------


@router.get(
    "/people/{psn_no}/proxy-members", response_model=list[s.ProxyMemberOut], tags=["家庭"], summary="亲情账户成员"
)
def proxy_members(psn_no: str, request: Request):
    return [
        s.ProxyMemberOut(
            psn_no=m["person"].psn_no,
            name=m["person"].name,
            relation=m["relation"],
            verified_by=m["verified_by"],
            bound_at=m["bound_at"],
        )
        for m in proxy.members(platform(request), psn_no)
    ]


@router.get(
    "/people/{holder}/proxy-members/{member}/voucher",
    response_model=s.OkOut,
    tags=["家庭"],
    summary="代为出示家庭成员的电子凭证二维码",
)
def proxy_voucher(holder: str, member: str, request: Request):
    return s.OkOut(detail={"qr": proxy.member_voucher(platform(request), holder, member)})


@router.get(
    "/people/{holder}/proxy-members/{member}/settlements",
    response_model=list[s.SettlementSummary],
    tags=["家庭"],
    summary="家庭成员的结算记录",
)
def proxy_settlements(holder: str, member: str, request: Request):
    p = platform(request)
    return [_summary(*views.settlement(p, v.setl_id)) for v in proxy.member_settlements(p, holder, member)]


@router.get(
    "/people/{holder}/proxy-members/{member}/expenses",
    response_model=s.ExpensesOut,
    tags=["家庭"],
    summary="家庭成员的年度医疗费用",
)
def proxy_expenses(holder: str, member: str, request: Request, year: int = Query(..., ge=2000, le=2100)):
    got = proxy.member_expenses(platform(request), holder, member, year)
    return s.ExpensesOut(
        psn_no=member,
        year=year,
        count=got["count"],
        months={f"{m:02d}": _money(v) for m, v in got["months"].items()},
        categories={k: _money(v) for k, v in got["categories"].items()},
        totals={k: _money(v) for k, v in got["totals"].items()},
    )


@router.get(
    "/people/{psn_no}/mutual-aid/paid",
    response_model=list[s.PaidForOut],
    tags=["家庭"],
    summary="我为谁共济、今年为每人支付了多少",
)
def paid_for(psn_no: str, request: Request, year: int = Query(..., ge=2000, le=2100)):
    return [
        s.PaidForOut(
            psn_no=x["person"].psn_no,
            name=x["person"].name,
            active=x["active"],
            settlements=_money(x["settlements"]),
            premiums=_money(x["premiums"]),
        )
        for x in family.paid_for_others(platform(request), psn_no, year)
    ]
