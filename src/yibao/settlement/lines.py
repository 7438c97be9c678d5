"""Steps 1–3: split one fee line into 全自费, 超限价, 先行自付 and 符合政策范围.

Rounding is half-up to the fen and happens per line, as the national split does (the 2204 sample
shows 4.52 × 0.05 → 0.23 先行自付, 4.29 符合范围).
"""

from __future__ import annotations

from yibao.money import apply_ratio, round_half_up_fen
from yibao.settlement.model import ITEM_CLASS_B, ITEM_SELF_PAY, FeeLine, LineSplit


def split_line(line: FeeLine) -> LineSplit:
    item = line.item
    a = line.amount
    if item.chrgitm_lv == ITEM_SELF_PAY:
        return LineSplit(line.sn, item, a, line.price, line.count, ownpay=a, overlimit=0, preselfpay=0, in_scope=0)
    overlimit = 0
    if item.price_ceiling is not None and line.price > item.price_ceiling:
        overlimit = round_half_up_fen((line.price - item.price_ceiling) * line.count)
        # Never more than the line itself (a line priced inconsistently with its total).
        overlimit = min(overlimit, a) if a >= 0 else max(overlimit, a)
    rest = a - overlimit
    preselfpay = apply_ratio(rest, item.selfpay_bp) if item.chrgitm_lv == ITEM_CLASS_B else 0
    return LineSplit(
        line.sn,
        item,
        a,
        line.price,
        line.count,
        ownpay=0,
        overlimit=overlimit,
        preselfpay=preselfpay,
        in_scope=rest - preselfpay,
    )


def split_lines(lines: tuple[FeeLine, ...] | list[FeeLine]) -> tuple[LineSplit, ...]:
    return tuple(split_line(line) for line in lines)
