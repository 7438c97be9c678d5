"""The compiled kernel: a period of claims, family by family, in time order, to the fen.

Per family the claims are settled in time order with the calendar in between (retiree credit at
month end, the medical-year rollover, the in-service credit at month start). Per person and medical
year it keeps the deductible and fund accumulators by category; the terms are those of the
patient's age band on the claim day; the 当年账户段 (where the policy has one) is paid from the own
account before the deductible; the personal burden is paid from the own account, then by relatives
through mutual aid in the policy's order, then in cash — steps 4–10 of ``spec/policy-format.md``.
Every piece of arithmetic (and the age) is a call to the settlement's own functions (``compiled``);
the sequence is checked claim by claim against the real services by ``verify``. Families are
independent, so chunks of them run on all cores (``prange``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from yibao.simulate.compiled import (
    account_segment,
    apply_ratio,
    deductible_due,
    reduced_ratio,
    take,
    whole_years,
    within_cap,
)
from yibao.simulate.tables import T_CAP, T_DEDUCTIBLE, T_IN_FORCE, T_RATIO, T_SEGMENT, T_YEAR_SCOPE, TERMS

# Measures aggregated per dimension.
(
    M_CLAIMS, M_MEDFEE, M_INSCP, M_DEDUCTIBLE, M_FUND, M_OWN, M_MUTUAL_AID, M_CASH, M_OVER_CAP, M_SEGMENT,
) = range(10)  # fmt: skip
MEASURES = 10
# Per-claim columns (``out_claims``).
(
    C_MEDFEE, C_OWNPAY, C_OVERLIMIT, C_PRESELFPAY, C_INSCP, C_DEDUCTIBLE, C_FUND_BEFORE_CAP, C_FUND,
    C_COINSURANCE, C_OVER_CAP, C_PAYABLE, C_OWN_CURRENT, C_OWN_HISTORICAL, C_MUTUAL_AID, C_CASH, C_RATIO,
    C_SEGMENT,
) = range(17)  # fmt: skip
CLAIM_COLUMNS = 17
# Per-family columns (``fam_out``).
F_MEDFEE, F_FUND, F_OWN, F_MUTUAL_AID, F_CASH = range(5)
FAMILY_COLUMNS = 5
# Calendar flows (``credits``).
K_INSERVICE, K_RETIREE, K_ROLLOVER = range(3)


@njit(cache=True, nogil=True)
def claims_in_order(fam, time, ids):
    """Whether claims are already ordered by family, time, id (generated and exported data are)."""
    for i in range(1, fam.shape[0]):
        if fam[i] < fam[i - 1]:
            return False
        same = fam[i] == fam[i - 1]
        if same and (time[i] < time[i - 1] or (time[i] == time[i - 1] and ids[i] <= ids[i - 1])):
            return False
    return True


@njit(cache=True, nogil=True, inline="always")
def _events(f0, f1, upto, cursor, t, p_scheme, p_cls, p_base, cur, hist, e_kind, e_month, e_amount, e_rate, credits):
    """Apply calendar events ``cursor`` … ``upto``-1 to the people ``f0`` … ``f1``-1."""
    for e in range(cursor, upto):
        kind, month = e_kind[e], e_month[e]
        for p in range(f0, f1):
            if p_scheme[p] != 0:
                continue
            if kind == 0:
                if p_cls[p] == 1 and e_amount[e] != 0:
                    cur[p] += e_amount[e]
                    credits[t, month, 1] += e_amount[e]
            elif kind == 1:
                if cur[p] > 0:
                    hist[p] += cur[p]
                    credits[t, month, 2] += cur[p]
                    cur[p] = 0
            elif p_cls[p] == 0:
                amount = apply_ratio(p_base[p], e_rate[e])
                if amount != 0:
                    cur[p] += amount
                    credits[t, month, 0] += amount
    return upto


@njit(cache=True, nogil=True, inline="always")
def _draw(p, order, want, cur, hist):
    """Take up to ``want`` from person ``p``'s buckets in ``order`` (0 current, 1 historical)."""
    got_cur = 0
    got_hist = 0
    left = want
    for i in range(order.shape[0]):
        b = order[i]
        if b < 0 or left <= 0:
            break
        if b == 0:
            got = take(left, cur[p])
            cur[p] -= got
            got_cur += got
        else:
            got = take(left, hist[p])
            hist[p] -= got
            got_hist += got
        left -= got
    return got_cur, got_hist


@njit(cache=True, nogil=True, inline="always")
def _add(agg, t, i, medfee, inscp, ded, fund, own, aid, cash, over_cap, segment):
    agg[t, i, 0] += 1
    agg[t, i, 1] += medfee
    agg[t, i, 2] += inscp
    agg[t, i, 3] += ded
    agg[t, i, 4] += fund
    agg[t, i, 5] += own
    agg[t, i, 6] += aid
    agg[t, i, 7] += cash
    agg[t, i, 8] += over_cap
    agg[t, i, 9] += segment


@njit(cache=True, nogil=True)
def _chunk(

    chunk_f0, fam_p0, fam_c0,
    p_scheme, p_cls, p_band, p_decile, p_base, p_birth, cur, hist,
    g0, g_payer, g_rel,
    c_person, c_day, c_mt, c_level, c_acct, c_off, c_own, c_ol, c_pre, c_ins,
    day_seg, day_year, day_month, day_evt, day_ymd, seg_mt_cat,
    age_starts, t_cut, t_payable, t_own_order,
    t_ma_enabled, t_ma_uses, t_ma_rel, t_ma_desc, t_ma_buckets,
    e_kind, e_month, e_amount, e_rate,
    out_claims, ma_offset, out_ma,
    cube, credits, flow_rel, flow_cls, fam_out,
    t, flat, acc_ded, acc_fund, acc_year, max_grants, n_events, want_claims, want_ma,
    n_sch, n_cat, n_cls, n_age, n_lv,
):  # fmt: skip
    """The families of chunk ``t``, in order (see ``run``)."""
    n_band = 7
    n_dec = 10
    cand = np.empty(max_grants, dtype=np.int64)
    cand_key = np.empty(max_grants, dtype=np.int64)
    for f in range(chunk_f0[t], chunk_f0[t + 1]):
        f0, f1 = fam_p0[f], fam_p0[f + 1]
        cursor = 0
        f_medfee = 0
        f_fund = 0
        f_own = 0
        f_aid = 0
        f_cash = 0
        for c in range(fam_c0[f], fam_c0[f + 1]):
            day = c_day[c]
            if day_evt[day] > cursor:  # a month end, year start or month start has passed
                cursor = _events(
                    f0, f1, day_evt[day], cursor, t, p_scheme, p_cls, p_base, cur, hist,
                e_kind, e_month, e_amount, e_rate, credits,
                )  # fmt: skip
            p = c_person[c]
            s = day_seg[day]
            cat = seg_mt_cat[s, c_mt[c]]
            year = day_year[day]
            sch = p_scheme[p]
            cl = p_cls[p]
            lv = c_level[c]
            if acc_year[p] != year:
                acc_year[p] = year
                for k in range(n_cat):
                    acc_ded[p, k] = 0
                    acc_fund[p, k] = 0
            ownpay, overlimit, preselfpay, inscp = c_own[c], c_ol[c], c_pre[c], c_ins[c]
            medfee = ownpay + overlimit + preselfpay + inscp
            ded = 0
            fund = 0
            hifp = 0
            ratio = 0
            segment = 0
            # The terms of the patient's age band on the claim day (one band when nothing is banded by age).
            band = 0
            if n_age > 1:
                age = whole_years(
                    p_birth[p, 0], p_birth[p, 1], p_birth[p, 2], day_ymd[day, 0], day_ymd[day, 1], day_ymd[day, 2]
                )
                while band + 1 < n_age and age_starts[band + 1] <= age:
                    band += 1
            k = ((((s * n_sch + sch) * n_cat + cat) * n_cls + cl) * n_age + band) * n_lv + lv
            own_account = c_acct[c] and sch == 0
            # Steps 4′, 4–6: the 当年账户段, deductible, ratio, cap.
            if flat[k, T_IN_FORCE] != 0:
                seg_a, seg_b = flat[k, T_SEGMENT], flat[k, T_SEGMENT + 1]
                if own_account and seg_a >= 0:
                    segment = account_segment(
                        inscp, cur[p], hist[p], seg_a == 0 or seg_b == 0, seg_a == 1 or seg_b == 1
                    )
                pooled = inscp - segment
                used = acc_ded[p, cat] if flat[k, T_YEAR_SCOPE] != 0 else 0
                ded = deductible_due(pooled, flat[k, T_DEDUCTIBLE], used)
                ratio = flat[k, T_RATIO]
                if c_off[c] > 0:
                    ratio = reduced_ratio(ratio, t_cut[s, c_off[c]])
                fund = apply_ratio(pooled - ded, ratio)
                cap = flat[k, T_CAP]
                hifp = fund if cap < 0 else within_cap(fund, cap, acc_fund[p, cat])
                acc_ded[p, cat] += ded
                acc_fund[p, cat] += hifp
            coinsurance = inscp - segment - ded - fund
            over_cap = fund - hifp
            psn_part = medfee - hifp
            # Step 8: what account money may pay (the segment always), then the own account: the
            # segment from its buckets first, the rest in the account's order.
            payable = segment + (
                ownpay * t_payable[s, 0] + overlimit * t_payable[s, 1] + preselfpay * t_payable[s, 2]
                + ded * t_payable[s, 3] + coinsurance * t_payable[s, 4] + over_cap * t_payable[s, 5]
            )  # fmt: skip
            own_cur = 0
            own_hist = 0
            if own_account:
                if segment > 0:
                    own_cur, own_hist = _draw(p, flat[k, T_SEGMENT : T_SEGMENT + 2], segment, cur, hist)
                rest_cur, rest_hist = _draw(p, t_own_order[s], payable - segment, cur, hist)
                own_cur += rest_cur
                own_hist += rest_hist
            own = own_cur + own_hist
            # Step 9: relatives who granted mutual aid, in the policy's order.
            remainder = payable - own
            aid = 0
            if c_acct[c] and remainder > 0 and t_ma_enabled[s] and t_ma_uses[s, cat]:
                n = 0
                for g in range(g0[p], g0[p + 1]):
                    payer = g_payer[g]
                    if payer != p and t_ma_rel[s, g_rel[g]] and p_scheme[payer] == 0:
                        cand[n] = g
                        n += 1
                if t_ma_desc[s]:
                    for i in range(n):  # shareable balance, largest first; ties keep binding order
                        q = g_payer[cand[i]]
                        shareable = 0
                        for j in range(t_ma_buckets.shape[1]):
                            b = t_ma_buckets[s, j]
                            if b == 0:
                                shareable += max(cur[q], 0)
                            elif b == 1:
                                shareable += max(hist[q], 0)
                        cand_key[i] = -shareable
                    for i in range(1, n):
                        g_i, k_i = cand[i], cand_key[i]
                        j = i - 1
                        while j >= 0 and cand_key[j] > k_i:
                            cand[j + 1] = cand[j]
                            cand_key[j + 1] = cand_key[j]
                            j -= 1
                        cand[j + 1] = g_i
                        cand_key[j + 1] = k_i
                written = 0
                for i in range(n):
                    if remainder <= 0:
                        break
                    g = cand[i]
                    q = g_payer[g]
                    got_cur, got_hist = _draw(q, t_ma_buckets[s], remainder, cur, hist)
                    paid = got_cur + got_hist
                    if paid > 0:
                        remainder -= paid
                        aid += paid
                        flow_rel[t, g_rel[g], 0] += paid
                        flow_rel[t, g_rel[g], 1] += 1
                        flow_cls[t, p_cls[q], cl] += paid
                        if want_ma:
                            r = ma_offset[c] + written
                            out_ma[r, 0] = c
                            out_ma[r, 1] = q
                            out_ma[r, 2] = got_cur
                            out_ma[r, 3] = got_hist
                            written += 1
            # Step 10: cash.
            cash = psn_part - own - aid
            cell = (((day_month[day] * n_band + p_band[p]) * n_cls + cl) * n_dec + p_decile[p]) * n_cat + cat
            _add(cube, t, cell, medfee, inscp, ded, hifp, own, aid, cash, over_cap, segment)
            f_medfee += medfee
            f_fund += hifp
            f_own += own
            f_aid += aid
            f_cash += cash
            if want_claims:
                o = out_claims[c]
                o[0], o[1], o[2], o[3], o[4] = medfee, ownpay, overlimit, preselfpay, inscp
                o[5], o[6], o[7], o[8], o[9] = ded, fund, hifp, coinsurance, over_cap
                o[10], o[11], o[12], o[13], o[14], o[15] = payable, own_cur, own_hist, aid, cash, ratio
                o[16] = segment
        fam_out[f, 0] = f_medfee
        fam_out[f, 1] = f_fund
        fam_out[f, 2] = f_own
        fam_out[f, 3] = f_aid
        fam_out[f, 4] = f_cash
        _events(
            f0, f1, n_events, cursor, t, p_scheme, p_cls, p_base, cur, hist,
            e_kind, e_month, e_amount, e_rate, credits,
        )  # fmt: skip


@njit(cache=True, parallel=True, nogil=True)
def run(
    chunk_f0, fam_p0, fam_c0,
    p_scheme, p_cls, p_band, p_decile, p_base, p_birth, cur, hist,
    g0, g_payer, g_rel,
    c_person, c_day, c_mt, c_level, c_acct, c_off, c_own, c_ol, c_pre, c_ins,
    day_seg, day_year, day_month, day_evt, day_ymd, seg_mt_cat,
    terms, age_starts, t_cut, t_payable, t_own_order,
    t_ma_enabled, t_ma_uses, t_ma_rel, t_ma_desc, t_ma_buckets,
    e_kind, e_month, e_amount, e_rate,
    out_claims, ma_offset, out_ma,
    cube, credits, flow_rel, flow_cls, fam_out,
):  # fmt: skip
    """Settle every claim; balances ``cur``/``hist`` go from opening to closing in place.

    Aggregates have a leading chunk axis (one slice per chunk, summed by the caller); ``cube`` holds
    the measures per cell of month × age band × class × income decile × category. ``out_claims``
    (one row per claim) and ``out_ma`` (one row per relative's payment, at ``ma_offset[claim]``) are
    written only when they have rows.
    """
    n_people = cur.shape[0]
    n_events = e_kind.shape[0]
    want_claims = out_claims.shape[0] > 0
    want_ma = out_ma.shape[0] > 0
    max_grants = 0
    for p in range(n_people):
        max_grants = max(max_grants, g0[p + 1] - g0[p])
    # One row per (stretch, scheme, category, class, age band, level): see ``tables.T_*``.
    n_sch, n_cat, n_cls, n_age, n_lv = terms.shape[1], terms.shape[2], terms.shape[3], terms.shape[4], terms.shape[5]
    flat = terms.reshape((-1, TERMS))
    # This medical year's accumulators per person and category; a chunk touches only its own people.
    acc_ded = np.zeros((n_people, n_cat), dtype=np.int64)
    acc_fund = np.zeros((n_people, n_cat), dtype=np.int64)
    acc_year = np.full(n_people, -1, dtype=np.int64)
    for t in prange(chunk_f0.shape[0] - 1):
        _chunk(  # one call per chunk: a body numba's parallel loop takes as it is
            chunk_f0, fam_p0, fam_c0,
            p_scheme, p_cls, p_band, p_decile, p_base, p_birth, cur, hist,
            g0, g_payer, g_rel,
            c_person, c_day, c_mt, c_level, c_acct, c_off, c_own, c_ol, c_pre, c_ins,
            day_seg, day_year, day_month, day_evt, day_ymd, seg_mt_cat,
            age_starts, t_cut, t_payable, t_own_order,
            t_ma_enabled, t_ma_uses, t_ma_rel, t_ma_desc, t_ma_buckets,
            e_kind, e_month, e_amount, e_rate,
            out_claims, ma_offset, out_ma,
            cube, credits, flow_rel, flow_cls, fam_out,
            t, flat, acc_ded, acc_fund, acc_year, max_grants, n_events, want_claims, want_ma,
            n_sch, n_cat, n_cls, n_age, n_lv,
        )  # fmt: skip
