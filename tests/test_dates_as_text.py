"""nhsa.answer.dates_as_text: the one walker behind a case's HIS input and a kept settlement list."""

from datetime import date, datetime
from decimal import Decimal

from yibao.nhsa.answer import dates_as_text


def test_dates_and_times_become_national_text_at_any_depth():
    value = {"a": date(2025, 3, 1), "b": [datetime(2025, 3, 1, 8, 5, 9), {"c": None}], "d": Decimal("1.50")}
    assert dates_as_text(value) == {"a": "2025-03-01", "b": ["2025-03-01 08:05:09", {"c": None}], "d": Decimal("1.50")}


def test_leaf_and_drop_none_shape_what_is_kept():
    def scalar(v):
        return v if isinstance(v, str | int | bool) else str(v)

    value = {"a": None, "b": [None, Decimal("2.00"), True], "c": {"d": None, "e": 3}}
    assert dates_as_text(value, scalar, drop_none=True) == {"b": ["None", "2.00", True], "c": {"e": 3}}
