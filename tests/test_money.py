"""Money at the boundary: decimal text in, integer fen and parts per ten thousand inside, no floats."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.limits import MAX_AMOUNT_FEN, MAX_COUNT, MAX_PRICE
from yibao.money import (
    RATIO_SCALE,
    MoneyFormatError,
    MoneyOutOfRange,
    apply_ratio,
    fmt_percent,
    fmt_ratio,
    fmt_yuan,
    parse_count,
    parse_fen,
    parse_price,
    parse_ratio,
    round_half_up_fen,
)

MAX_FEN = MAX_AMOUNT_FEN  # parse_fen refuses more than 10,000,000.00 yuan either way (yibao.limits)


# parse_fen ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "fen"),
    [
        ("300.00", 30000),
        ("300", 30000),
        ("0.1", 10),
        ("0.01", 1),
        ("4.52", 452),
        (" 12.30 ", 1230),
        ("1.000", 100),  # trailing zeros beyond two places are still exactly two decimals
        ("0", 0),
        ("-0.00", 0),
        (Decimal("12.34"), 1234),
        (Decimal("12.3400"), 1234),
        (7, 700),
        ("10000000.00", 1_000_000_000),  # the bound itself
    ],
)
def test_parse_fen_good(raw, fen):
    got = parse_fen(raw)
    assert got == fen
    assert type(got) is int


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (1.5, "格式错误"),  # a binary float has already lost its decimal text
        (0.1, "格式错误"),
        (True, "布尔"),
        (False, "布尔"),
        (None, "格式错误"),
        ([], "格式错误"),
        ({}, "格式错误"),
        ("", "格式错误"),
        ("   ", "格式错误"),
        ("abc", "格式错误"),
        ("12,34", "格式错误"),
        ("¥12", "格式错误"),
        ("NaN", "格式错误"),
        ("Infinity", "格式错误"),
        ("-Infinity", "格式错误"),
        (Decimal("NaN"), "格式错误"),
        ("1" * 41, "格式错误"),  # absurdly long text is refused before parsing
        ("12.345", "两位小数"),
        ("0.001", "两位小数"),
        (Decimal("0.005"), "两位小数"),
        ("-1.00", "负数"),
        (-1, "负数"),
        ("10000000.01", "超出上限10000000.00元"),  # one fen over the bound
        ("9999999999990.00", "超出上限"),  # the purchase of issue 9 item 3
        (10**13, "超出上限"),
        (Decimal("1E+20"), "超出上限"),
        ("１.００", "半角数字"),  # full-width digits (issue 9 item 4)
        ("1０", "半角数字"),
        ("٣", "半角数字"),  # Arabic-Indic digits read as 3 by Decimal
    ],
)
def test_parse_fen_refuses(raw, why):
    with pytest.raises(MoneyFormatError) as info:
        parse_fen(raw)
    assert why in str(info.value)


def test_parse_fen_names_what_it_parses():
    with pytest.raises(MoneyFormatError, match=r"^医疗费总额最多两位小数"):
        parse_fen("1.234", "医疗费总额")


def test_parse_fen_negative_when_allowed():
    assert parse_fen("-12.34", allow_negative=True) == -1234
    assert parse_fen(-5, allow_negative=True) == -500
    with pytest.raises(MoneyOutOfRange, match="超出上限"):
        parse_fen("-10000000.01", allow_negative=True)


@pytest.mark.parametrize("raw", ["1.00000000000000000000000000001", "12.340000000000000000000000000001"])
def test_parse_fen_refuses_long_fraction_instead_of_rounding_it(raw):
    # Regression: parse_fen once normalised with the 28-digit default context and rounded these to 100 / 1234.
    # Both strings are under the 40-character limit and have far more than two decimals.
    with pytest.raises(MoneyFormatError):
        parse_fen(raw)


# parse_ratio ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "parts"),
    [("0.65", 6500), ("0.6", 6000), ("1", 10000), ("1.0000", 10000), ("0", 0), ("0.0001", 1), (Decimal("0.55"), 5500)],
)
def test_parse_ratio_good(raw, parts):
    assert parse_ratio(raw) == parts


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (0.65, "格式错误"),
        ("0.12345", "四位小数"),
        ("1.0001", "0到1"),
        ("2", "0到1"),
        ("-0.1", "0到1"),
        ("abc", "格式错误"),
        (True, "布尔"),
    ],
)
def test_parse_ratio_refuses(raw, why):
    with pytest.raises(MoneyFormatError) as info:
        parse_ratio(raw)
    assert why in str(info.value)


# parse_price / parse_count ------------------------------------------------------------------------------------


def test_parse_quantity_keeps_exact_decimals():
    assert parse_price("1.123456") == Decimal("1.123456")
    assert parse_count("2.5000") == Decimal("2.5")
    assert parse_count("-2", allow_negative=True) == Decimal(-2)
    assert isinstance(parse_count(3), Decimal)
    assert parse_price(MAX_PRICE) == MAX_PRICE and parse_count(MAX_COUNT) == MAX_COUNT


@pytest.mark.parametrize(
    ("raw", "places", "neg", "why"),
    [
        ("1.1234567", 6, False, "最多6位小数"),
        ("1.12345", 4, False, "最多4位小数"),
        ("-1", 6, False, "不能为负数"),
        ("10000000.000001", 6, False, "超出上限"),
        ("-1000000.0001", 4, True, "超出上限"),
        ("１", 4, False, "半角数字"),
        (1.5, 6, False, "格式错误"),
        ("x", 4, False, "格式错误"),
    ],
)
def test_parse_quantity_refuses(raw, places, neg, why):
    with pytest.raises(MoneyFormatError) as info:
        if places == 6:
            parse_price(raw)
        else:
            parse_count(raw, allow_negative=neg)
    assert why in str(info.value)


# Rounding ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yuan", "fen"),
    [
        ("0.005", 1),
        ("0.0049999", 0),
        ("-0.005", -1),  # half away from zero
        ("0.015", 2),
        ("0.025", 3),  # not banker's rounding
        ("4.5200", 452),
        ("0.226", 23),
    ],
)
def test_round_half_up_fen(yuan, fen):
    assert round_half_up_fen(Decimal(yuan)) == fen


@pytest.mark.parametrize(
    ("fen", "ratio", "out"),
    [
        (452, 500, 23),  # the national 2204 sample: 4.52 × 0.05 → 0.23
        (45, 5000, 23),  # exactly half → up
        (-45, 5000, -23),  # exactly half → away from zero
        (70000, 5500, 38500),  # 700.00 × 0.55 = 385.00 (acceptance case 12)
        (60000, 6000, 36000),
        (1, 4999, 0),
        (1, 5000, 1),
        (0, 6500, 0),
        (12345, 10000, 12345),
        (12345, 0, 0),
    ],
)
def test_apply_ratio_examples(fen, ratio, out):
    assert apply_ratio(fen, ratio) == out


def _decimal_half_up(fen: int, ratio: int) -> int:
    exact = Decimal(fen) * Decimal(ratio) / Decimal(RATIO_SCALE)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@given(st.integers(min_value=-(10**15), max_value=10**15), st.integers(min_value=0, max_value=RATIO_SCALE))
def test_apply_ratio_matches_decimal_round_half_up(fen, ratio):
    assert apply_ratio(fen, ratio) == _decimal_half_up(fen, ratio)


@given(st.integers(min_value=-(10**12), max_value=10**12), st.integers(min_value=0, max_value=RATIO_SCALE))
def test_apply_ratio_is_symmetric_and_bounded(fen, ratio):
    out = apply_ratio(fen, ratio)
    assert apply_ratio(-fen, ratio) == -out
    assert abs(out) <= abs(fen)
    # A split by ratio and its complement never loses or creates a fen beyond one rounding.
    assert abs(out + apply_ratio(fen, RATIO_SCALE - ratio) - fen) <= 1


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=6, allow_nan=False, allow_infinity=False))
def test_round_half_up_fen_matches_decimal(yuan):
    assert round_half_up_fen(yuan) == int((yuan * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# Formatting and round trips ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fen", "text"), [(0, "0.00"), (5, "0.05"), (-5, "-0.05"), (12345, "123.45"), (-100, "-1.00"), (100000, "1000.00")]
)
def test_fmt_yuan(fen, text):
    assert fmt_yuan(fen) == text


def test_fmt_ratio_and_percent():
    assert fmt_ratio(6000) == "0.6000"
    assert fmt_ratio(10000) == "1.0000"
    assert fmt_ratio(1) == "0.0001"
    assert fmt_percent(6000) == "60%"
    assert fmt_percent(6550) == "65.5%"
    assert fmt_percent(6555) == "65.55%"


@given(st.integers(min_value=-MAX_FEN, max_value=MAX_FEN))
def test_fmt_yuan_then_parse_fen_is_identity(fen):
    text = fmt_yuan(fen)
    assert parse_fen(text, allow_negative=True) == fen
    whole, _, frac = text.lstrip("-").partition(".")
    assert len(frac) == 2 and whole.isdigit()


@given(st.integers(min_value=0, max_value=MAX_FEN))
def test_parse_fen_of_decimal_text_round_trips(fen):
    assert parse_fen(Decimal(fen).scaleb(-2)) == fen
    assert fmt_yuan(parse_fen(str(Decimal(fen).scaleb(-2)))) == fmt_yuan(fen)


@given(st.integers(min_value=0, max_value=RATIO_SCALE))
def test_fmt_ratio_then_parse_ratio_is_identity(parts):
    assert parse_ratio(fmt_ratio(parts)) == parts


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_no_float_is_ever_accepted(x):
    for parse in (parse_fen, parse_ratio):
        with pytest.raises(MoneyFormatError):
            parse(x)
    with pytest.raises(MoneyFormatError):
        parse_count(x)
