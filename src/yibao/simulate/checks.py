"""Per-claim input checks in one compiled pass (a city's claims are read every run)."""

from __future__ import annotations

from numba import njit

CLAIM_PROBLEMS = {
    1: ("ownpay_fen", "金额须在 0 与 {yuan} 元之间"),
    2: ("time", "须在模拟期间 {start} 至 {end} 之内"),
    3: ("hospital_level", "应为 0–3"),
    4: ("inscp_fen", "医疗费总额须大于0（0元结算会被拒绝）"),
}


@njit(cache=True, nogil=True)
def claim_problem(own, overlimit, preselfpay, inscp, time, level, start, end, max_amount):
    """0 when every claim is acceptable, else the code of the first problem found (``CLAIM_PROBLEMS``)."""
    for i in range(own.shape[0]):
        a, b, c, d = own[i], overlimit[i], preselfpay[i], inscp[i]
        if min(min(a, b), min(c, d)) < 0 or max(max(a, b), max(c, d)) >= max_amount:
            return 1
        if time[i] < start or time[i] >= end:
            return 2
        if level[i] < 0 or level[i] > 3:
            return 3
        if a + b + c + d <= 0:
            return 4
    return 0
