"""The settlement's integer rules, compiled: the very functions of ``money``, ``settlement.amounts`` and
``lifecycle.model``.

``numba.njit`` compiles the Python source of each function as it is, so the kernel and the per-claim
calculation share one definition of rounding, deductible, cap, draw, the 当年账户段 and a patient's
age. Nothing here restates a rule.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from yibao import money
from yibao.lifecycle import model as lifecycle
from yibao.settlement import amounts

_jit = njit(cache=True, nogil=True)

apply_ratio = _jit(money.apply_ratio)
deductible_due = _jit(amounts.deductible_due)
within_cap = _jit(amounts.within_cap)
take = _jit(amounts.take)
reduced_ratio = _jit(amounts.reduced_ratio)
account_segment = _jit(amounts.account_segment)
whole_years = _jit(lifecycle.whole_years)


@_jit
def _ratio_of_each(values: np.ndarray, ratio: int, out: np.ndarray) -> None:
    for i in range(values.shape[0]):
        out[i] = apply_ratio(values[i], ratio)


def ratio_of_each(values: np.ndarray, ratio: int) -> np.ndarray:
    """``apply_ratio`` of every amount (e.g. 乙类先行自付 of each line)."""
    values = np.ascontiguousarray(values, dtype=np.int64)
    out = np.empty_like(values)
    _ratio_of_each(values, np.int64(ratio), out)
    return out


@_jit
def _ages_of(ymd: np.ndarray, year: int, month: int, day: int, out: np.ndarray) -> None:
    for i in range(ymd.shape[0]):
        out[i] = whole_years(ymd[i, 0], ymd[i, 1], ymd[i, 2], year, month, day)


def ages_of(ymd: np.ndarray, year: int, month: int, day: int) -> np.ndarray:
    """``whole_years`` from each birth (rows of year, month, day) to one day."""
    out = np.empty(ymd.shape[0], dtype=np.int64)
    _ages_of(np.ascontiguousarray(ymd, dtype=np.int32), np.int64(year), np.int64(month), np.int64(day), out)
    return out
