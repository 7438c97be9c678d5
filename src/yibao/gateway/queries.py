"""【1162】电子凭证解码, 【3201】对总账, 【5206】人员累计信息查询."""

from __future__ import annotations

from yibao.gateway.registry import Call, transaction
from yibao.limits import parse_month
from yibao.money import fmt_yuan
from yibao.nhsa.output import money
from yibao.services.credentials import decode_voucher
from yibao.services.platform import Platform
from yibao.services.queries import institution_totals, record_reconciliation, year_to_date


@transaction("1162", "电子凭证解码")
def decode(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    person, token = decode_voucher(p, d.ecQrCode, tx=tx)
    return {
        "data": {
            "ecToken": token.token,
            "psn_no": person.psn_no,
            "userName": person.name,
            "idNo": person.certno,
            "idType": person.psn_cert_type,
            "insuOrg": person.admdvs,
            "ecIndexNo": person.psn_no,
            "gender": person.gender,
            "birthday": person.birth,
            "nationality": person.naty,
            "expire_time": token.expires_at,
        }
    }


@transaction("3201", "医药机构费用结算对总账")
def reconcile(p: Platform, call: Call, tx) -> dict:
    """Totals compared and the statement kept (with both refund flags) for audit and clearing."""
    d = call.read("data")
    ours = institution_totals(p, call.institution, d.insutype, d.clr_type, d.stmt_begndate, d.stmt_enddate, tx=tx)
    count = d.fixmedins_setl_cnt
    theirs = (d.medfee_sumamt, d.fund_pay_sumamt, d.acct_pay, count)
    mine = (ours.medfee, ours.fund, ours.acct, ours.count)
    if theirs == mine:
        result, words = "0", "对平"
    elif (ours.medfee, ours.count) >= (d.medfee_sumamt, count):
        result, words = "1", "中心多"
    else:
        result, words = "2", "医药机构多"
    record_reconciliation(
        p,
        institution=call.institution,
        msgid=call.msgid,
        row=d.record(),
        insutype=d.insutype,
        clr_type=d.clr_type,
        setl_optins=d.setl_optins,
        begin=d.stmt_begndate,
        end=d.stmt_enddate,
        theirs=theirs,
        ours=mine,
        result=result,
        tx=tx,
    )
    detail = f"{words}：中心{fmt_yuan(ours.medfee)}元/{ours.count}笔，机构{fmt_yuan(d.medfee_sumamt)}元/{count}笔"
    return {
        "stmtinfo": {"setl_optins": d.setl_optins, "stmt_rslt": result, "stmt_rslt_dscr": detail},
        "exp_content": {
            "medfee_sumamt": money(ours.medfee),
            "fund_pay_sumamt": money(ours.fund),
            "acct_pay": money(ours.acct),
            "acct_mulaid_pay": money(ours.mulaid),
            "fixmedins_setl_cnt": ours.count,
            "detail": (
                f"{words}：中心 医疗费总额{fmt_yuan(ours.medfee)}元、基金支付{fmt_yuan(ours.fund)}元、"
                f"个人账户支付{fmt_yuan(ours.acct)}元（另有共济支付{fmt_yuan(ours.mulaid)}元）、结算{ours.count}笔；"
                f"机构 医疗费总额{fmt_yuan(d.medfee_sumamt)}元、基金支付{fmt_yuan(d.fund_pay_sumamt)}元、"
                f"个人账户支付{fmt_yuan(d.acct_pay)}元、结算{count}笔"
            ),
        },
    }


# cum_type_code is 10 long in the spec: a kind letter, "0000", "_" and the national med_type code of
# the category (11 门诊, 14 门诊慢特病, 21 住院, 41 药店购药).
CUM_TYPES = (("Q", 0), ("F", 1))
CATEGORY_CODES = {"outpatient": "11", "chronic": "14", "inpatient": "21", "pharmacy": "41"}


@transaction("5206", "人员累计信息查询", writes=False)
def cumulative(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    day = p.now().date()
    if d.cum_ym and len(d.cum_ym) == 6 and d.cum_ym.isascii() and d.cum_ym.isdigit():
        day = parse_month(f"{d.cum_ym[:4]}-{max(1, min(12, int(d.cum_ym[4:]))):02d}", "data.cum_ym")
    year, acc, settled, insutype = year_to_date(p, d.psn_no, day, tx=tx, with_insutype=True)
    cum_ym = d.cum_ym or f"{day:%Y%m}"

    def row(kind: str, category: str, value) -> dict:
        code = f"{kind}0000_{CATEGORY_CODES.get(category, category[:2])}"
        return {"insutype": insutype, "year": str(year), "cum_ym": cum_ym, "cum_type_code": code, "cum": value}

    rows = []
    for category, pair in sorted(acc.items()):
        rows += [row(kind, category, money(pair[i])) for kind, i in CUM_TYPES]
    for category, (medfee, count) in sorted(settled.items()):
        rows += [row("S", category, money(medfee)), row("C", category, money(count * 100))]
    return {"cuminfo": rows}
