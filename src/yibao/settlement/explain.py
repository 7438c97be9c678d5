"""Words for people: Chinese labels and the masked names used in explanations."""

from __future__ import annotations

from yibao.money import fmt_percent, fmt_yuan

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

# How the payer relates to the patient, by the payer's gender ("1" male, "2" female).
_RELATION_WORDS = {
    "spouse": ("丈夫", "妻子", "配偶"),
    "parent": ("父亲", "母亲", "父母"),
    "child": ("儿子", "女儿", "子女"),
    "sibling": ("兄弟", "姐妹", "兄弟姐妹"),
    "grandparent": ("祖父/外祖父", "祖母/外祖母", "祖父母"),
    "grandchild": ("孙子/外孙", "孙女/外孙女", "孙子女"),
}
RELATION_NAMES = {k: v[2] for k, v in _RELATION_WORDS.items()}


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


def yuan(fen: int) -> str:
    return f"{fmt_yuan(fen)}元"


def pct(ratio: int) -> str:
    return fmt_percent(ratio)
