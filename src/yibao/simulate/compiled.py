"""The settlement's integer rules, compiled: the very functions of ``money`` and ``settlement.amounts``.

``numba.njit`` compiles the Python source of each function as it is, so the kernel and the per-claim
calculation share one definition of rounding, deductible, cap and draw. Nothing here restates a rule.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from yibao import money
from yibao.settlement import amounts

_jit = njit(cache=True, nogil=True)

apply_ratio = _jit(money.apply_ratio)
deductible_due = _jit(amounts.deductible_due)
within_cap = _jit(amounts.within_cap)
take = _jit(amounts.take)
reduced_ratio = _jit(amounts.reduced_ratio)


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
