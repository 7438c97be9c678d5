"""The integer arithmetic of steps 4–9, one definition each.

These are plain functions of integers (fen, parts per ten thousand) with no Python objects in
them, so the per-claim calculation calls them and the simulator's compiled kernel compiles these
very functions (``numba.njit``): the two cannot drift apart. Amounts are bounded well below 2**63
by construction (an amount below 10**13 fen times a ratio of at most 10**4).
"""

from __future__ import annotations


def deductible_due(inscp: int, deductible: int, used: int) -> int:
    """Step 4: ``act_pay_dedc = min(I, max(deductible − used, 0))``."""
    return min(inscp, max(deductible - used, 0))


def within_cap(fund: int, cap: int, paid: int) -> int:
    """Step 6: ``hifp_pay = min(F, max(cap − paid this year, 0))``."""
    return min(fund, max(cap - paid, 0))


def take(want: int, balance: int) -> int:
    """Steps 8–9: what one bucket gives towards ``want``; never below zero (a negative balance gives 0)."""
    return min(want, max(balance, 0))


def reduced_ratio(ratio: int, cut: int) -> int:
    """Step 5: the ratio after an off-site reduction, not below 0."""
    return max(ratio - cut, 0)


def account_segment(inscp: int, current: int, historical: int, from_current: bool, from_historical: bool) -> int:
    """Step 4′ (当年账户段): the part of the in-scope amount the listed own buckets pay first, outside
    the deductible and the fund: ``min(I, Σ max(balance, 0) of the listed buckets)``."""
    available = (max(current, 0) if from_current else 0) + (max(historical, 0) if from_historical else 0)
    return min(max(inscp, 0), available)
