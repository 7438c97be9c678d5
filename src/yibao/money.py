"""Money and ratios at the boundary: decimal text in, integer fen and basis points inside.

Amounts travel as strings ("300.00") or JSON numbers; they are parsed through ``Decimal`` from their
text form, never through a binary float, and become integer fen. Ratios (支付比例, 自付比例) become
integer parts per ten thousand, so every calculation inside is integer arithmetic with one explicit
half-up rounding.

Digits are ASCII only: ``Decimal`` and ``int`` would read full-width digits ("１.００") as well, and a
value an HIS operator typed in a full-width input method is refused with a sentence saying so. The
bounds (``yibao.limits``) are checked here, so every parser that reads money through this module
refuses an oversized value the same way (``E0000-009``).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from yibao.limits import COUNT_PLACES, MAX_AMOUNT_FEN, MAX_COUNT, MAX_PRICE, PRICE_PLACES, OutOfRange

_PLAIN = re.compile(r"[+-]?[0-9]{1,30}(\.[0-9]{1,30})?")
RATIO_SCALE = 10_000  # a ratio is stored as parts per ten thousand: 0.6000 -> 6000


class MoneyFormatError(ValueError):
    """A value that is not a well-formed amount, ratio or quantity."""


class MoneyOutOfRange(MoneyFormatError, OutOfRange):
    """A well-formed amount, price or count beyond its documented bound (``yibao.limits``)."""


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
        if not _PLAIN.fullmatch(text):  # no "1_000", "1e2", "NaN", "１.００": a decimal as people write it
            if any(c.isdigit() and not c.isascii() for c in text):
                raise MoneyFormatError(f"{what}须使用半角数字（0–9）: {value!r}")
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
    """Parse yuan with at most two decimals into integer fen, at most ``MAX_AMOUNT_FEN`` either way."""
    d = to_decimal(value, what)
    if _scale(d) > 2:
        raise MoneyFormatError(f"{what}最多两位小数: {value!r}")
    if d < 0 and not allow_negative:
        raise MoneyFormatError(f"{what}不能为负数: {value!r}")
    if abs(d) * 100 > MAX_AMOUNT_FEN:
        raise MoneyOutOfRange(f"{what}超出上限{fmt_yuan(MAX_AMOUNT_FEN)}元: {value!r}")
    return int(d * 100)


def check_fen(fen: int, what: str = "金额") -> int:
    """``fen`` if its size is within ``MAX_AMOUNT_FEN``, else ``MoneyOutOfRange``."""
    if abs(fen) > MAX_AMOUNT_FEN:
        raise MoneyOutOfRange(f"{what}超出上限{fmt_yuan(MAX_AMOUNT_FEN)}元")
    return fen


def parse_ratio(value: object, what: str = "比例") -> int:
    """Parse a ratio in [0, 1] with at most four decimals into parts per ten thousand."""
    d = to_decimal(value, what)
    if _scale(d) > 4:
        raise MoneyFormatError(f"{what}最多四位小数: {value!r}")
    if d < 0 or d > 1:
        raise MoneyFormatError(f"{what}必须在0到1之间: {value!r}")
    return int(d * RATIO_SCALE)


def parse_quantity(value: object, what: str, *, places: int, limit: Decimal, allow_negative: bool = False) -> Decimal:
    """Parse an exact Decimal with at most ``places`` decimals and a size of at most ``limit``."""
    d = to_decimal(value, what)
    if _scale(d) > places:
        raise MoneyFormatError(f"{what}最多{places}位小数: {value!r}")
    if d < 0 and not allow_negative:
        raise MoneyFormatError(f"{what}不能为负数: {value!r}")
    if abs(d) > limit:
        raise MoneyOutOfRange(f"{what}超出上限{limit}")
    return d


def parse_price(value: object, what: str = "单价") -> Decimal:
    """A unit price in yuan (``pric``, ``pric_uplmt``): 6 decimals, not negative, at most ``MAX_PRICE``."""
    return parse_quantity(value, what, places=PRICE_PLACES, limit=MAX_PRICE)


def parse_count(value: object, what: str = "数量", *, allow_negative: bool = False) -> Decimal:
    """A line's count (``cnt``): 4 decimals, at most ``MAX_COUNT`` either way (negative for a refund)."""
    return parse_quantity(value, what, places=COUNT_PLACES, limit=MAX_COUNT, allow_negative=allow_negative)


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
