"""【1162】电子凭证解码, 【3201】对总账, 【5206】人员累计信息查询."""

from __future__ import annotations

from yibao.gateway.dispatcher import Call, transaction
from yibao.gateway.inputs import Money, Node, When, code, opt_code, read
from yibao.gateway.output import money
from yibao.limits import parse_month
from yibao.money import fmt_yuan
from yibao.services.credentials import decode_voucher
from yibao.services.platform import Platform
from yibao.services.queries import institution_totals, year_to_date


class VoucherIn(Node):  # 1162 data
    ecQrCode: code(512)
    orgId: opt_code(30) = None
    businessType: opt_code(10) = None
    operatorId: opt_code(30) = None
    operatorName: opt_code(50) = None


class ReconcileIn(Node):  # 3201 data
    insutype: code(6)
    clr_type: code(6)
    setl_optins: code(6)
    stmt_begndate: When
    stmt_enddate: When
    medfee_sumamt: Money
    fund_pay_sumamt: Money
    acct_pay: Money
    fixmedins_setl_cnt: code(10)
    refd_setl_flag: opt_code(3) = None


class CumulativeIn(Node):  # 5206 data
    psn_no: code(30)
    cum_ym: opt_code(6) = None


@transaction("1162", "电子凭证解码")
def decode(p: Platform, call: Call, tx) -> dict:
    d = read(VoucherIn, call.node("data"), "data")
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
            "birthday": person.birth.isoformat(),
            "nationality": person.naty,
            "expire_time": f"{token.expires_at:%Y-%m-%d %H:%M:%S}",
        }
    }


@transaction("3201", "医药机构费用结算对总账", writes=False)
def reconcile(p: Platform, call: Call, tx) -> dict:
    d = read(ReconcileIn, call.node("data"), "data")
    ours = institution_totals(
        p, call.institution, d.insutype, d.clr_type, d.stmt_begndate.date(), d.stmt_enddate.date(), tx=tx
    )
    try:
        count = int(d.fixmedins_setl_cnt)
    except ValueError:
        count = -1
    theirs = (d.medfee_sumamt, d.fund_pay_sumamt, d.acct_pay, count)
    mine = (ours.medfee, ours.fund, ours.acct, ours.count)
    if theirs == mine:
        result, words = "0", "对平"
    elif (ours.medfee, ours.count) >= (d.medfee_sumamt, count):
        result, words = "1", "中心多"
    else:
        result, words = "2", "医药机构多"
    detail = (
        f"{words}：中心 医疗费总额{fmt_yuan(ours.medfee)}元、基金支付{fmt_yuan(ours.fund)}元、"
        f"个人账户支付{fmt_yuan(ours.acct)}元（另有共济支付{fmt_yuan(ours.mulaid)}元）、结算{ours.count}笔；"
        f"机构 医疗费总额{fmt_yuan(d.medfee_sumamt)}元、基金支付{fmt_yuan(d.fund_pay_sumamt)}元、"
        f"个人账户支付{fmt_yuan(d.acct_pay)}元、结算{d.fixmedins_setl_cnt}笔"
    )
    return {
        "stmtinfo": {"setl_optins": d.setl_optins, "stmt_rslt": result, "stmt_rslt_dscr": detail},
        "exp_content": {
            "medfee_sumamt": money(ours.medfee),
            "fund_pay_sumamt": money(ours.fund),
            "acct_pay": money(ours.acct),
            "acct_mulaid_pay": money(ours.mulaid),
            "fixmedins_setl_cnt": ours.count,
        },
    }


CUM_TYPES = (("Q", "起付线累计", 0), ("F", "统筹基金支付累计", 1))


@transaction("5206", "人员累计信息查询", writes=False)
def cumulative(p: Platform, call: Call, tx) -> dict:
    d = read(CumulativeIn, call.node("data"), "data")
    day = p.now().date()
    if d.cum_ym and len(d.cum_ym) == 6 and d.cum_ym.isascii() and d.cum_ym.isdigit():
        day = parse_month(f"{d.cum_ym[:4]}-{max(1, min(12, int(d.cum_ym[4:]))):02d}", "data.cum_ym")
    year, acc, settled = year_to_date(p, d.psn_no, day, tx=tx)
    rows = []
    for category, (deductible, fund) in sorted(acc.items()):
        for prefix, _, i in CUM_TYPES:
            rows.append(
                {
                    "insutype": "",
                    "year": str(year),
                    "cum_ym": d.cum_ym or f"{day:%Y%m}",
                    "cum_type_code": f"{prefix}0000_{category}",
                    "cum": money((deductible, fund)[i]),
                }
            )
    for category, (medfee, count) in sorted(settled.items()):
        rows.append(
            {
                "insutype": "",
                "year": str(year),
                "cum_ym": d.cum_ym or f"{day:%Y%m}",
                "cum_type_code": f"S0000_{category}",
                "cum": money(medfee),
            }
        )
        rows.append(
            {
                "insutype": "",
                "year": str(year),
                "cum_ym": d.cum_ym or f"{day:%Y%m}",
                "cum_type_code": f"C0000_{category}",
                "cum": money(count * 100),
            }
        )
    return {"cuminfo": rows}
