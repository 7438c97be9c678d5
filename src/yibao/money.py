"""Money and ratios at the boundary: decimal text in, integer fen and basis points inside.

Amounts travel as strings ("300.00") or JSON numbers; they are parsed through ``Decimal`` from their
text form, never through a binary float, and become integer fen. Ratios (支付比例, 自付比例) become
integer parts per ten thousand, so every calculation inside is integer arithmetic with one explicit
half-up rounding.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

_PLAIN = re.compile(r"[+-]?\d{1,30}(\.\d{1,30})?")
RATIO_SCALE = 10_000  # a ratio is stored as parts per ten thousand: 0.6000 -> 6000


class MoneyFormatError(ValueError):
    """A value that is not a well-formed amount, ratio or quantity."""


def to_decimal(value: object, what: str = "金额") -> Decimal:
    """Read a decimal from text, an int, or a Decimal.

    Floats are refused: by the time a value is a binary float its decimal text is already lost, so
    every parser in yibao (JSON, YAML) hands numbers over as ``Decimal``.
    """
    if isinstance(value, bool):
        raise MoneyFormatError(f"{what}不能是布尔值")
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if not _PLAIN.fullmatch(text):  # no "1_000", "1e2", "NaN": a decimal as people write it
            raise MoneyFormatError(f"{what}格式错误: {value!r}")
        try:
            d = Decimal(text)
        except InvalidOperation as exc:
            raise MoneyFormatError(f"{what}格式错误: {value!r}") from exc
    else:
        raise MoneyFormatError(f"{what}格式错误: {value!r}")
    if not d.is_finite():
        raise MoneyFormatError(f"{what}格式错误: {value!r}")
    return d


def _scale(d: Decimal) -> int:
    """Decimal places that matter: trailing zeros do not count ("1.500" has 1), at any precision."""
    _, digits, exp = d.as_tuple()
    if not isinstance(exp, int) or exp >= 0 or not any(digits):
        return 0
    zeros = 0
    while zeros < len(digits) and digits[len(digits) - 1 - zeros] == 0 and exp + zeros < 0:
        zeros += 1
    return -(exp + zeros)


def parse_fen(value: object, what: str = "金额", *, allow_negative: bool = False) -> int:
    """Parse yuan with at most two decimals into integer fen."""
    d = to_decimal(value, what)
    if _scale(d) > 2:
        raise MoneyFormatError(f"{what}最多两位小数: {value!r}")
    if d < 0 and not allow_negative:
        raise MoneyFormatError(f"{what}不能为负数: {value!r}")
    if abs(d) >= Decimal("1e13"):
        raise MoneyFormatError(f"{what}超出范围: {value!r}")
    return int(d * 100)


def parse_ratio(value: object, what: str = "比例") -> int:
    """Parse a ratio in [0, 1] with at most four decimals into parts per ten thousand."""
    d = to_decimal(value, what)
    if _scale(d) > 4:
        raise MoneyFormatError(f"{what}最多四位小数: {value!r}")
    if d < 0 or d > 1:
        raise MoneyFormatError(f"{what}必须在0到1之间: {value!r}")
    return int(d * RATIO_SCALE)


def parse_quantity(value: object, what: str, *, places: int, allow_negative: bool = False) -> Decimal:
    """Parse a unit price (6 places) or a count (4 places) as an exact Decimal."""
    d = to_decimal(value, what)
    if _scale(d) > places:
        raise MoneyFormatError(f"{what}最多{places}位小数: {value!r}")
    if d < 0 and not allow_negative:
        raise MoneyFormatError(f"{what}不能为负数: {value!r}")
    if abs(d) >= Decimal("1e12"):
        raise MoneyFormatError(f"{what}超出范围: {value!r}")
    return d


def round_half_up_fen(yuan: Decimal) -> int:
    """Round an exact yuan amount half-up (away from zero on a tie) to integer fen."""
    return int((yuan * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def apply_ratio(fen: int, ratio: int) -> int:
    """``round(fen × ratio)`` half-up, all in integers (ratio in parts per ten thousand)."""
    product = fen * ratio
    if product >= 0:
        return (product + RATIO_SCALE // 2) // RATIO_SCALE
    return -((-product + RATIO_SCALE // 2) // RATIO_SCALE)


def fen_to_decimal(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2).quantize(Decimal("0.01"))


def fmt_yuan(fen: int) -> str:
    """Integer fen as a two-decimal string: 12345 -> "123.45", -5 -> "-0.05"."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def fmt_ratio(ratio: int) -> str:
    """Parts per ten thousand as a four-decimal string: 6000 -> "0.6000"."""
    return f"{ratio // RATIO_SCALE}.{ratio % RATIO_SCALE:04d}"


def fmt_percent(ratio: int) -> str:
    """A ratio for people: 6000 -> "60%", 6550 -> "65.5%"."""
    whole, rest = divmod(ratio, 100)
    return f"{whole}%" if rest == 0 else f"{whole}.{rest:02d}".rstrip("0") + "%"
