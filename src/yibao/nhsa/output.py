"""National output nodes: ``setlinfo``, ``setldetail[]``, per-line splits, ``baseinfo``/``insuinfo``.

Amounts leave as ``Decimal`` with two places, ``pool_prop_selfpay`` with four and ``age`` with one.
A cancellation answers the same structure with every amount negated (``view.sign`` = −1).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from yibao.care.model import SettlementView
from yibao.lifecycle.model import ACCOUNT_FUND_PAY_TYPE, INSUTYPE_NAMES, age_on
from yibao.money import RATIO_SCALE, fmt_ratio, fmt_yuan
from yibao.settlement.explain import BUCKET_NAMES, mask_name, relation_word
from yibao.settlement.model import ITEM_CLASS_B, ITEM_SELF_PAY, LineSplit

FUND_NAMES = {"310100": "城镇职工基本医疗保险统筹基金", "390100": "城乡居民基本医疗保险基金"}
ACCOUNT_NAME = "城镇职工基本医疗保险个人账户基金"
ZERO = Decimal("0.00")


def money(fen: int) -> Decimal:
    """Integer fen as yuan with two places (``Decimal(fmt_yuan(fen))``, without the text between)."""
    return Decimal(fen).scaleb(-2) if type(fen) is int else Decimal(fmt_yuan(fen))


def ratio(parts: int) -> Decimal:
    """Parts per ten thousand with four places (``Decimal(fmt_ratio(parts))``, likewise)."""
    return Decimal(parts).scaleb(-4) if type(parts) is int and parts >= 0 else Decimal(fmt_ratio(parts))


_ONE_PLACE = Decimal("0.0")


def age(birth: date, day: date) -> Decimal:
    return Decimal(age_on(birth, day)).quantize(_ONE_PLACE)


def line_split(s: LineSplit, *, sign: int = 1) -> dict:
    """One row of 2204 ``result[]`` / 2301 ``result[]`` / 2101 ``detlcutinfo[]``."""
    item = s.item
    prop = (
        RATIO_SCALE if item.chrgitm_lv == ITEM_SELF_PAY else item.selfpay_bp if item.chrgitm_lv == ITEM_CLASS_B else 0
    )
    return {
        "feedetl_sn": s.sn,
        "det_item_fee_sumamt": money(sign * s.amount),
        "cnt": s.count * sign,
        "pric": s.price,
        "pric_uplmt_amt": item.price_ceiling if item.price_ceiling is not None else ZERO,
        "selfpay_prop": ratio(prop),
        "fulamt_ownpay_amt": money(sign * s.ownpay),
        "overlmt_amt": money(sign * s.overlimit),
        "preselfpay_amt": money(sign * s.preselfpay),
        "inscp_scp_amt": money(sign * s.in_scope),
        "chrgitm_lv": item.chrgitm_lv,
        "med_chrgitm_type": "",
        "bas_medn_flag": "0",
        "hi_nego_drug_flag": "0",
        "chld_medc_flag": "0",
        "list_sp_item_flag": "0",
        "lmt_used_flag": "0",
        "drt_reim_flag": "0",
        "memo": "",
        "hosp_part_amt": ZERO,  # 2101 detlcutinfo lists it; given everywhere so pre-settlement = settlement
    }


def setlinfo(v: SettlementView) -> dict:
    r, k, p = v.result, v.sign, v.person
    return {
        "mdtrt_id": v.mdtrt_id,
        "setl_id": v.setl_id,
        "psn_no": p.psn_no,
        "psn_name": p.name,
        "psn_cert_type": p.psn_cert_type,
        "certno": p.certno,
        "gend": p.gender,
        "naty": p.naty,
        "brdy": p.birth.isoformat(),
        "age": age(p.birth, v.setl_time.date()),
        "insutype": v.insutype,
        "psn_type": v.psn_type,
        "cvlserv_flag": "0",
        "setl_time": f"{v.setl_time:%Y-%m-%d %H:%M:%S}",
        "mdtrt_cert_type": v.cert_type or "",
        "med_type": v.med_type,
        "medfee_sumamt": money(k * r.medfee),
        "fulamt_ownpay_amt": money(k * r.ownpay),
        "overlmt_selfpay": money(k * r.overlimit),
        "preselfpay_amt": money(k * r.preselfpay),
        "inscp_scp_amt": money(k * r.in_scope),
        "act_pay_dedc": money(k * r.deductible),
        "hifp_pay": money(k * r.fund_pay),
        "pool_prop_selfpay": ratio(r.ratio_bp),
        "cvlserv_pay": ZERO,
        "hifes_pay": ZERO,
        "hifmi_pay": ZERO,
        "hifob_pay": ZERO,
        "maf_pay": ZERO,
        "hifdm_pay": ZERO,
        "oth_pay": ZERO,
        "fund_pay_sumamt": money(k * r.fund_pay),
        "psn_part_amt": money(k * r.patient_share),
        "acct_pay": money(k * r.own_account_pay),
        "psn_cash_pay": money(k * r.cash),
        "hosp_part_amt": ZERO,
        "balc": money(v.balance_now if v.balance_now is not None else (r.own_balance_after or 0)),
        "acct_mulaid_pay": money(k * r.mutual_aid_pay),
        "medins_setl_id": v.msgid or "",
        "clr_optins": p.admdvs,
        "clr_way": "1",
        "clr_type": v.clr_type,
        # 字段扩展 is 字符型 (4000): the explanation travels as JSON text
        "exp_content": explanation_text(r.explanation, v.status),
    }


def explanation_text(explanation: str, status: str, limit: int = 4000) -> str:
    """``{"setl_proc_info": …, "setl_status": …}`` as JSON text within the spec's 4000 characters."""
    text = json.dumps({"setl_proc_info": explanation, "setl_status": status}, ensure_ascii=False)
    if len(text) > limit:
        keep = limit - (len(text) - len(explanation)) - 1
        text = json.dumps({"setl_proc_info": explanation[:keep] + "…", "setl_status": status}, ensure_ascii=False)
    return text


def setldetail(v: SettlementView) -> list[dict]:
    """One row per fund or account that paid: pooled fund, own account, each relative (masked)."""
    r, k = v.result, v.sign
    rows = []
    if r.fund_pay:
        rows.append(
            _row(
                v.fund_pay_type,
                FUND_NAMES.get(v.fund_pay_type, "统筹基金"),
                k * r.in_scope,
                k * r.fund_before_cap,
                k * r.fund_pay,
                r.fund_note,
            )
        )
    if r.own and r.own.total:
        rows.append(
            _row(ACCOUNT_FUND_PAY_TYPE, ACCOUNT_NAME, k * r.in_scope, k * r.payable, k * r.own.total, r.own_note)
        )
    for payer in r.mutual_aid:
        who = f"{relation_word(payer.relation or '', payer.gender)}{mask_name(payer.name)}"
        buckets = "，".join(f"{BUCKET_NAMES[d.bucket]}{fmt_yuan(d.amount)}元" for d in payer.draws)
        info = f"家庭共济：由{who}的职工医保个人账户支付{fmt_yuan(payer.total)}元（{buckets}）。"
        rows.append(
            _row(
                ACCOUNT_FUND_PAY_TYPE,
                f"{ACCOUNT_NAME}（家庭共济）",
                k * r.in_scope,
                k * r.payable,
                k * payer.total,
                info,
            )
        )
    return rows


def _row(fund_pay_type: str, name: str, inscp: int, limit: int, amount: int, info: str) -> dict:
    return {
        "fund_pay_type": fund_pay_type,
        "inscp_scp_amt": money(inscp),
        "crt_payb_lmt_amt": money(limit),
        "fund_payamt": money(amount),
        "fund_pay_type_name": name,
        "setl_proc_info": info,
    }


def settlement_output(v: SettlementView, *, with_lines: bool = False) -> dict:
    """2208 names the cash part ``pdn_cash_pay`` (sic): a cancellation gives both names."""
    out = {"setlinfo": setlinfo(v), "setldetail": setldetail(v)}
    if v.sign < 0:
        out["setlinfo"]["pdn_cash_pay"] = out["setlinfo"]["psn_cash_pay"]
    if with_lines:
        out["detlcutinfo"] = [line_split(s, sign=v.sign) for s in v.result.lines]
    return out


def insutype_name(insutype: str) -> str:
    return INSUTYPE_NAMES.get(insutype, insutype)
