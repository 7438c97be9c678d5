"""Words for people: every Chinese name a page, a slip or an explanation shows for an internal code.

One place for the vocabulary (explanations, the portal, the console and the slips all read it), and
the few functions that turn values into what people read: money as ``2,000.00元``, flags as 是/否,
a policy parameter's value along its dimensions. No Python repr and no internal code reaches a page.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from yibao.lifecycle.model import INSUTYPE_NAMES, PSN_TYPE_NAMES
from yibao.money import fmt_percent, fmt_yuan
from yibao.policy import schema

__all__ = ["INSUTYPE_NAMES", "PSN_TYPE_NAMES"]  # re-exported: the national code tables live with the rules

CATEGORY_NAMES = {
    "outpatient": "普通门诊",
    "chronic": "门诊慢特病",
    "inpatient": "住院",
    "pharmacy": "定点药店购药",
    "resident_premium": "居民医保缴费",
}
SCHEME_NAMES = {"employee": "职工医保", "resident": "居民医保"}
CLASS_NAMES = {"in_service": "在职", "retired": "退休", "resident": "居民"}
LEVEL_NAMES = {0: "基层医疗机构/药店", 1: "一级医疗机构", 2: "二级医疗机构", 3: "三级医疗机构"}
BUCKET_NAMES = {"current": "当年账户", "historical": "历年账户"}
OFFSITE_NAMES = {"filed": "异地长期居住已备案", "temporary": "异地临时外出就医", "unfiled": "异地未备案就医"}
PART_NAMES = {
    "account_segment": "当年账户段",
    "ownpay": "全自费",
    "overlimit": "超限价",
    "preselfpay": "乙类先行自付",
    "deductible": "起付线",
    "coinsurance": "按比例自付",
    "over_cap": "超年度限额",
}
MED_TYPES = {
    "11": "普通门诊",
    "12": "门诊挂号",
    "13": "急诊",
    "14": "门诊慢特病",
    "21": "普通住院",
    "22": "外伤住院",
    "24": "急诊转住院",
    "41": "定点药店购药",
}
STATUS = {"settled": "已结算", "cancelled": "已撤销"}
ITEM_CLASSES = {"01": "甲类", "02": "乙类", "03": "自费"}
GENDER_NAMES = {"1": "男", "2": "女"}
CARD_STATUS = {"active": "正常", "temp_lost": "临时挂失", "lost": "正式挂失", "replaced": "已换卡"}
INSURANCE_STATUS = {"0": "未开始", "1": "参保缴费", "2": "暂停", "4": "终止"}
ROLE_NAMES = {"operator": "经办", "viewer": "查询"}
VERIFIED_BY = {"face": "人脸认证", "commitment_letter": "承诺书"}
VERIFICATION_STATUS = {"pending": "待核验", "confirmed": "已确认", "rejected": "未通过"}
VERIFIED_VIA = {"console": "经办控制台", "service": "身份核验服务", "api": "经办系统接口"}
DIMENSION_NAMES = {"person_class": "人员类别", "hospital_level": "医院等级"}

# Policy choices (one_of / subset_of values), in one table: the names never collide.
CHOICE_NAMES = {
    **BUCKET_NAMES,
    **PART_NAMES,
    **CATEGORY_NAMES,
    "binding_order": "按授权人设置的顺序",
    "balance_desc": "按余额从多到少",
    "year": "按年度累计",
    "visit": "按次计算",
    "none": "不预划",
    "annual": "按年度预划",
}
COUNT_UNITS = {"minutes": "分钟", "months": "个月", "years": "年", "age": "周岁", "members": "人", "failures": "次"}

# How a relative relates to someone, by the relative's gender ("1" male, "2" female).
_RELATION_WORDS = {
    "spouse": ("丈夫", "妻子", "配偶"),
    "parent": ("父亲", "母亲", "父母"),
    "child": ("儿子", "女儿", "子女"),
    "sibling": ("兄弟", "姐妹", "兄弟姐妹"),
    "grandparent": ("祖父/外祖父", "祖母/外祖母", "祖父母"),
    "grandchild": ("孙子/外孙", "孙女/外孙女", "孙子女"),
}
RELATION_NAMES = {k: v[2] for k, v in _RELATION_WORDS.items()}
CHOICE_NAMES.update(RELATION_NAMES)

# What moved money in or out of a personal account (ledger transfer codes and entry kinds).
MOVEMENT_NAMES = {
    "opening": "期初余额",
    "credit": "个人账户划入",
    "rollover": "年度结转",
    "clawback": "预划资金收回",
    "acct_pay": "本人就医购药支付",
    "mutual_aid": "家庭共济支付",
    "premium": "代缴居民医保",
    "fund_pay": "统筹基金支付",
    "cash_pay": "个人现金支付",
}
# National field names of the settlement output (setlinfo, setldetail), labelled as the national
# interface document labels them, for the console's view of what an HIS received.
NHSA_FIELD_LABELS = {
    "mdtrt_id": "就诊ID",
    "setl_id": "结算ID",
    "psn_no": "人员编号",
    "psn_name": "人员姓名",
    "psn_cert_type": "人员证件类型",
    "certno": "证件号码",
    "gend": "性别",
    "naty": "民族",
    "brdy": "出生日期",
    "age": "年龄",
    "insutype": "险种类型",
    "psn_type": "人员类别",
    "cvlserv_flag": "公务员标志",
    "setl_time": "结算时间",
    "mdtrt_cert_type": "就诊凭证类型",
    "med_type": "医疗类别",
    "medfee_sumamt": "医疗费总额",
    "fulamt_ownpay_amt": "全自费金额",
    "overlmt_selfpay": "超限价自费费用",
    "preselfpay_amt": "先行自付金额",
    "inscp_scp_amt": "符合政策范围金额",
    "act_pay_dedc": "实际支付起付线",
    "hifp_pay": "基本医疗保险统筹基金支出",
    "pool_prop_selfpay": "基本医疗保险统筹基金支付比例",
    "cvlserv_pay": "公务员医疗补助资金支出",
    "hifes_pay": "企业补充医疗保险基金支出",
    "hifmi_pay": "居民大病保险资金支出",
    "hifob_pay": "职工大额医疗费用补助基金支出",
    "maf_pay": "医疗救助基金支出",
    "hifdm_pay": "伤残人员医疗保障基金支出",
    "oth_pay": "其他支出",
    "fund_pay_sumamt": "基金支付总额",
    "psn_part_amt": "个人负担总金额",
    "acct_pay": "个人账户支出",
    "psn_cash_pay": "个人现金支出",
    "hosp_part_amt": "医院负担金额",
    "balc": "余额",
    "acct_mulaid_pay": "个人账户共济支付金额",
    "medins_setl_id": "医药机构结算ID",
    "clr_optins": "清算经办机构",
    "clr_way": "清算方式",
    "clr_type": "清算类别",
    "exp_content": "字段扩展",
    "setl_proc_info": "结算过程信息",
    "setl_status": "结算状态",
    "fund_pay_type": "基金支付类型",
    "crt_payb_lmt_amt": "本次可支付限额金额",
    "fund_payamt": "基金支付金额",
    "fund_pay_type_name": "基金支付类型名称",
}
END_REASONS = {"insurance_ended": "参保关系终止"}


def relation_word(relation: str, gender: str) -> str:
    male, female, neutral = _RELATION_WORDS.get(relation, (relation, relation, relation))
    return male if gender == "1" else female if gender == "2" else neutral


def mask_name(name: str) -> str:
    """张大山 → 张*山, 李四 → 李*: enough for a family to recognise, not enough to identify."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def money_text(fen: int) -> str:
    """Integer fen as people write money: 200000 → "2,000.00元", -27000 → "-270.00元"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}元"


def flag_text(value: bool) -> str:
    return "是" if value else "否"


# A policy parameter's value ------------------------------------------------------------------------


def policy_value_text(key: str, value: Any, by: tuple[str, ...] = (), *, _inner: bool = False) -> str:
    """A parameter's value in force (program form: fen, parts per ten thousand, tuples) as a sentence
    fragment, resolved along its dimensions: "在职：2,000.00元；退休：3,000.00元"."""
    if by and isinstance(value, Mapping):
        dim, rest = by[0], by[1:]
        parts = []
        for k, v in value.items():
            name = dimension_value_name(dim, k)
            inner = policy_value_text(key, v, rest, _inner=True)
            parts.append(f"{name}（{inner}）" if rest else f"{name}：{inner}")
        return ("，" if _inner else "；").join(parts) or "（无）"
    try:
        reader = schema.reader_for(key)
    except ValueError:
        reader = None
    return _value_text(key, reader, value)


def dimension_value_name(dim: str, value: Any) -> str:
    if dim == "person_class":
        return CLASS_NAMES.get(value, str(value))
    if dim == "hospital_level":
        return LEVEL_NAMES.get(value, f"{value}级医疗机构")
    return str(value)


def _value_text(key: str, reader, value: Any) -> str:
    if reader is schema.money:
        return money_text(value)
    if reader is schema.ratio:
        return fmt_percent(value)
    if reader is schema.boolean:
        return flag_text(value)
    if reader is schema.count:
        unit = COUNT_UNITS.get(key.rsplit(".", 1)[-1].rsplit("_", 1)[-1], "")
        return f"{value}{unit}"
    if reader is schema.month_day:
        return _month_day(value)
    if reader is schema.window:
        start, end = value
        return f"{_month_day(start)}至{'次年' if end < start else ''}{_month_day(end)}"
    if reader is schema.offsite_map:
        return "；".join(f"{OFFSITE_NAMES[k]}：降低{fmt_percent(v)}" for k, v in value.items())
    if reader is schema.med_type_map:
        return "；".join(f"{MED_TYPES.get(k, k)}（{k}）：{CATEGORY_NAMES.get(c, c)}" for k, c in value.items())
    if getattr(reader, "choices", None) is not None:
        items = value if isinstance(value, tuple | list) else (value,)
        return "、".join(CHOICE_NAMES.get(v, str(v)) for v in items) or "（无）"
    return _plain(value)


def _month_day(md: tuple[int, int]) -> str:
    return f"{md[0]}月{md[1]}日"


def _plain(value: Any) -> str:
    """A region's own parameter, kept as written: numbers, text, lists and mappings without reprs."""
    if isinstance(value, bool):
        return flag_text(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    if isinstance(value, Mapping):
        return "；".join(f"{_plain(k)}：{_plain(v)}" for k, v in value.items()) or "（无）"
    if isinstance(value, list | tuple):
        return "、".join(_plain(v) for v in value) or "（无）"
    if value is None:
        return "（无）"
    return CHOICE_NAMES.get(value, str(value)) if isinstance(value, str) else str(value)


def yuan(fen: int) -> str:
    return f"{fmt_yuan(fen)}元"
