"""One partition through the kernel: its tables turned into arrays, then one run per policy scenario.

``prepare`` does what does not depend on the policy (local indices, families, grants in binding
order, age bands, income deciles); ``claim_columns`` what does (policy stretch, medical year,
category, calendar position of each claim). ``run_partition`` runs every scenario on the same
claims and returns small, summable results, so a partition can be computed anywhere (one process,
or a Dask worker) and the results added up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa

from yibao.family.model import RELATIONS
from yibao.lifecycle.model import person_class_of
from yibao.money import fmt_yuan
from yibao.simulate import kernel
from yibao.simulate.compiled import ages_of
from yibao.simulate.data import CLASSES, OFFSITE_KINDS, Partition, SimulationInputError, codes_of, names_of
from yibao.simulate.tables import PolicyTables, seconds

AGE_BANDS = (0, 7, 18, 45, 60, 70, 80)  # lower bounds
AGE_BAND_NAMES = ("0–6岁", "7–17岁", "18–44岁", "45–59岁", "60–69岁", "70–79岁", "80岁及以上")
DECILES = 10
TOP_FAMILIES = 20


@dataclass
class Prepared:
    index: int
    person_id: np.ndarray  # local order: by family, then person id
    family_id: np.ndarray  # per local family
    fam_p0: np.ndarray
    fam_c0: np.ndarray
    p_scheme: np.ndarray
    p_cls: np.ndarray
    p_band: np.ndarray
    p_decile: np.ndarray
    p_base: np.ndarray
    p_birth: np.ndarray  # int32[people, 3]: year, month, day of birth
    opening_cur: np.ndarray
    opening_hist: np.ndarray
    g0: np.ndarray
    g_payer: np.ndarray
    g_rel: np.ndarray
    g_beneficiary: np.ndarray
    claim_id: np.ndarray  # claims in family, time, id order
    c_time: np.ndarray  # int64 seconds
    c_day: np.ndarray  # int32: day of the period
    c_person: np.ndarray
    c_mt_codes: np.ndarray
    c_mt_names: list[str]
    c_level: np.ndarray
    c_acct: np.ndarray
    c_off: np.ndarray
    c_own: np.ndarray
    c_ol: np.ndarray
    c_pre: np.ndarray
    c_ins: np.ndarray

    @property
    def families(self) -> int:
        return len(self.family_id)


def birth_ymd(birth: np.ndarray) -> np.ndarray:
    """Year, month, day of each date (the kernel takes a patient's age on the claim day from these)."""
    b = birth.astype("datetime64[D]")
    out = np.empty((len(b), 3), dtype=np.int32)
    out[:, 0] = b.astype("datetime64[Y]").astype(np.int64) + 1970
    out[:, 1] = b.astype("datetime64[M]").astype(np.int64) % 12 + 1
    out[:, 2] = (b - b.astype("datetime64[M]")).astype(np.int64) + 1
    return out


def prepare(part: Partition, start: date, income_edges: np.ndarray) -> Prepared:
    people, grants, claims = part.people, part.grants, part.claims
    pid = people["person_id"].to_numpy()
    fam = people["family_id"].to_numpy()
    order = np.lexsort((pid, fam))
    pid, fam = pid[order], fam[order]
    first = np.r_[True, fam[1:] != fam[:-1]] if len(fam) else np.zeros(0, dtype=bool)
    fam_start = np.flatnonzero(first)
    family_id = fam[fam_start]
    fam_p0 = np.r_[fam_start, len(pid)].astype(np.int64)
    fam_of_person = np.cumsum(first) - 1
    insutypes = ("310", "390")
    p_scheme = codes_of(people["insutype"], insutypes)[order].astype(np.int8)  # 0 employee, 1 resident
    psn_names = names_of(people["psn_type"])
    cls_table = np.array(
        [[CLASSES.index(person_class_of(i, t)) for t in psn_names] for i in insutypes], dtype=np.int8
    ).reshape(2, max(len(psn_names), 1))
    p_cls = cls_table[p_scheme, codes_of(people["psn_type"], psn_names)[order]] if len(pid) else p_scheme
    p_birth = birth_ymd(people["birth"].to_numpy()[order])
    age = ages_of(p_birth, start.year, start.month, start.day)
    p_band = (np.searchsorted(np.array(AGE_BANDS), age, side="right") - 1).clip(0).astype(np.int8)
    income = people["income_fen"].to_numpy()[order]
    p_decile = np.searchsorted(income_edges, income, side="right").clip(0, DECILES - 1).astype(np.int8)

    contiguous = len(pid) > 0 and pid[-1] - pid[0] == len(pid) - 1 and bool(np.all(pid[1:] > pid[:-1]))
    sort_index = None if contiguous else np.argsort(pid)
    sorted_pid = pid if contiguous else pid[sort_index]

    def local(ids: np.ndarray) -> np.ndarray:
        """Local positions of person ids (checked to exist by ``check_partition``)."""
        if contiguous:
            return (ids - pid[0]).astype(np.int64)
        at = np.searchsorted(sorted_pid, ids)
        return sort_index[np.minimum(at, max(len(pid) - 1, 0))].astype(np.int64)

    payer = local(grants["payer_id"].to_numpy())
    bene = local(grants["beneficiary_id"].to_numpy())
    position = grants["position"].to_numpy()
    rel = codes_of(grants["relation"], RELATIONS).astype(np.int8)
    g_order = np.lexsort((position, bene))
    payer, bene, rel = payer[g_order], bene[g_order], rel[g_order]
    g0 = np.searchsorted(bene, np.arange(len(pid) + 1)).astype(np.int64)

    c_person = local(claims["person_id"].to_numpy())
    c_fam = fam_of_person[c_person]
    c_time = claims["time"].cast(pa.int64()).to_numpy()
    claim_id = claims["claim_id"].to_numpy()
    if len(c_fam) > 1 and not kernel.claims_in_order(c_fam, c_time, claim_id):
        c_order = np.lexsort((claim_id, c_time, c_fam))
    else:
        c_order = slice(None)  # already in family, time, id order: no copy
    mt_names = names_of(claims["med_type"])
    mt_codes = codes_of(claims["med_type"], mt_names).astype(np.int32)
    c_off = codes_of(claims["offsite"], OFFSITE_KINDS).astype(np.int8)
    c_fam = c_fam[c_order]
    return Prepared(
        part.index,
        pid,
        family_id,
        fam_p0,
        np.searchsorted(c_fam, np.arange(len(family_id) + 1)).astype(np.int64),
        p_scheme,
        p_cls,
        p_band,
        p_decile,
        people["base_fen"].to_numpy()[order].astype(np.int64),
        p_birth,
        people["current_fen"].to_numpy()[order].astype(np.int64),
        people["historical_fen"].to_numpy()[order].astype(np.int64),
        g0,
        payer.astype(np.int32),
        rel,
        bene,
        claim_id[c_order],
        c_time[c_order],
        ((c_time[c_order] - seconds(start)) // 86400).astype(np.int32),
        c_person[c_order].astype(np.int32),
        mt_codes[c_order],
        mt_names,
        claims["hospital_level"].to_numpy()[c_order].astype(np.int8),
        claims["acct_used"].to_numpy(zero_copy_only=False)[c_order].astype(np.bool_),
        c_off[c_order],
        claims["ownpay_fen"].to_numpy()[c_order],
        claims["overlimit_fen"].to_numpy()[c_order],
        claims["preselfpay_fen"].to_numpy()[c_order],
        claims["inscp_fen"].to_numpy()[c_order],
    )


def med_type_categories(prep: Prepared, tables: PolicyTables) -> np.ndarray:
    """Category of each of this partition's med_types on each policy stretch; refuses unknown ones."""
    table = np.full((len(tables.seg_starts), max(len(prep.c_mt_names), 1)), -1, dtype=np.int8)
    for j, name in enumerate(prep.c_mt_names):
        if name in tables.med_types:
            table[:, j] = tables.med_types[name]
    bad_codes = np.flatnonzero((table < 0).any(axis=0)[: len(prep.c_mt_names)])
    if len(bad_codes) and len(prep.c_mt_codes):
        suspect = np.isin(prep.c_mt_codes, bad_codes)
        if suspect.any():
            seg = tables.day_seg[prep.c_day[suspect]]
            unknown = table[seg, prep.c_mt_codes[suspect]] < 0
            if unknown.any():
                names = sorted({prep.c_mt_names[k] for k in np.unique(prep.c_mt_codes[suspect][unknown]).tolist()})
                raise SimulationInputError(
                    f"政策 {tables.name} 没有医疗类别 {'、'.join(names)} 对应的待遇类别（结算会被拒绝）"
                )
    return table


@dataclass
class ScenarioRun:
    """What one scenario produced on one partition."""

    sums: dict[str, np.ndarray]  # summable aggregates
    fam_out: np.ndarray  # [families, FAMILY_COLUMNS]
    closing_cur: np.ndarray
    closing_hist: np.ndarray
    out_claims: np.ndarray
    out_ma: np.ndarray
    claim_ma_offset: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def chunks(prep: Prepared, parts: int) -> np.ndarray:
    """Family boundaries that split the claims into ``parts`` chunks of about equal size."""
    n = prep.families
    parts = max(1, min(parts, n))
    targets = np.linspace(0, prep.fam_c0[-1], parts + 1)
    bounds = np.searchsorted(prep.fam_c0, targets, side="left")
    bounds[0], bounds[-1] = 0, n
    return np.unique(bounds).astype(np.int64)


def check_bases(prep: Prepared, tables: PolicyTables) -> None:
    """Refuse a contribution base the service would refuse (outside contribution.base_floor/ceiling)."""
    credited = (prep.p_scheme == 0) & (prep.p_cls == 0) & (prep.p_base > 0)
    for key, bad, bound in (
        ("contribution.base_floor", credited & (prep.p_base < tables.base_floor), tables.base_floor),
        ("contribution.base_ceiling", credited & (prep.p_base > tables.base_ceiling), tables.base_ceiling),
    ):
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise SimulationInputError(
                f"人员 {prep.person_id[i]} 的月缴费基数 {fmt_yuan(int(prep.p_base[i]))} 元超出政策 {tables.name} 的 "
                f"{key}（{fmt_yuan(bound)} 元）：结算服务会拒绝这笔缴费（共 {int(bad.sum())} 人），"
                f"请按该统筹区重新生成数据集（generate --region）"
            )


def run_scenario(prep: Prepared, tables: PolicyTables, *, detail: bool = False, chunk_count: int = 16) -> ScenarioRun:
    seg_mt_cat = med_type_categories(prep, tables)
    check_bases(prep, tables)
    bounds = chunks(prep, chunk_count)
    t_n = len(bounds) - 1
    n_months = len(tables.months)
    n_claims = len(prep.claim_id)
    cur, hist = prep.opening_cur.copy(), prep.opening_hist.copy()
    shape = (n_months, len(AGE_BANDS), len(CLASSES), DECILES, 4)
    cube = np.zeros((t_n, int(np.prod(shape)), kernel.MEASURES), dtype=np.int64)
    sums = {
        "credits": np.zeros((t_n, n_months + 1, 3), dtype=np.int64),
        "flow_relation": np.zeros((t_n, len(RELATIONS), 2), dtype=np.int64),
        "flow_class": np.zeros((t_n, len(CLASSES), len(CLASSES)), dtype=np.int64),
    }
    fam_out = np.zeros((prep.families, kernel.FAMILY_COLUMNS), dtype=np.int64)
    if detail:
        out_claims = np.zeros((n_claims, kernel.CLAIM_COLUMNS), dtype=np.int64)
        grants_of = (prep.g0[1:] - prep.g0[:-1])[prep.c_person]
        ma_offset = np.r_[0, np.cumsum(grants_of)].astype(np.int64)
        out_ma = np.full((max(int(ma_offset[-1]), 1), 4), -1, dtype=np.int64)
    else:
        out_claims = np.zeros((0, kernel.CLAIM_COLUMNS), dtype=np.int64)
        ma_offset = np.zeros(1, dtype=np.int64)
        out_ma = np.zeros((0, 4), dtype=np.int64)
    kernel.run(
        bounds, prep.fam_p0, prep.fam_c0,
        prep.p_scheme, prep.p_cls, prep.p_band, prep.p_decile, prep.p_base, prep.p_birth, cur, hist,
        prep.g0, prep.g_payer, prep.g_rel,
        prep.c_person, prep.c_day, prep.c_mt_codes, prep.c_level, prep.c_acct, prep.c_off,
        prep.c_own, prep.c_ol, prep.c_pre, prep.c_ins,
        tables.day_seg, tables.day_year, tables.day_month, tables.day_evt, tables.day_ymd, seg_mt_cat,
        tables.terms, tables.age_starts, tables.cut, tables.payable, tables.own_order,
        tables.ma_enabled, tables.ma_uses, tables.ma_relations, tables.ma_balance_desc, tables.ma_buckets,
        tables.e_kind, tables.e_month, tables.e_amount, tables.e_rate,
        out_claims, ma_offset, out_ma,
        cube, sums["credits"],
        sums["flow_relation"], sums["flow_class"], fam_out,
    )  # fmt: skip
    totals = {k: v.sum(axis=0) for k, v in sums.items()}
    cells = cube.sum(axis=0).reshape(*shape, kernel.MEASURES)
    for axis, name in enumerate(("month", "band", "class", "decile", "category")):
        totals[name] = cells.sum(axis=tuple(a for a in range(5) if a != axis))
    balances = np.zeros((len(CLASSES), 4), dtype=np.int64)  # opening current, historical; closing both
    for k in range(len(CLASSES)):
        mask = prep.p_cls == k
        for j, values in enumerate((prep.opening_cur, prep.opening_hist, cur, hist)):
            balances[k, j] = values[mask].sum()  # exact int64 sums (bincount would go through float)
    totals["balances"] = balances
    totals["people_class"] = np.bincount(prep.p_cls, minlength=len(CLASSES)).astype(np.int64)
    totals["people_band"] = np.bincount(prep.p_band, minlength=len(AGE_BANDS)).astype(np.int64)
    totals["people_decile"] = np.bincount(prep.p_decile, minlength=DECILES).astype(np.int64)
    totals["families"] = np.array([prep.families], dtype=np.int64)
    totals["families_paying_cash"] = np.array([int((fam_out[:, kernel.F_CASH] > 0).sum())], dtype=np.int64)
    return ScenarioRun(totals, fam_out, cur, hist, out_claims, out_ma, ma_offset)


# Comparing a reform with the baseline, family by family --------------------------------------------

DELTA_BINS_YUAN = (-1000, -500, -200, -50, -1, 0, 1, 50, 200, 500, 1000)


def compare_families(prep: Prepared, base: ScenarioRun, reform: ScenarioRun) -> dict[str, object]:
    """Summable counts and the families that gain and lose most (by change in cash paid)."""
    delta = reform.fam_out - base.fam_out
    cash_b, cash_r = base.fam_out[:, kernel.F_CASH], reform.fam_out[:, kernel.F_CASH]
    d_cash = delta[:, kernel.F_CASH]
    edges = np.array(DELTA_BINS_YUAN, dtype=np.int64) * 100
    hist = np.bincount(np.searchsorted(edges, d_cash, side="right"), minlength=len(edges) + 1).astype(np.int64)
    size = (prep.fam_p0[1:] - prep.fam_p0[:-1]).astype(np.int64)

    def rows(idx: np.ndarray) -> list[dict[str, int]]:
        return [
            {
                "family_id": int(prep.family_id[i]),
                "members": int(size[i]),
                "medfee": int(base.fam_out[i, kernel.F_MEDFEE]),
                "fund_delta": int(delta[i, kernel.F_FUND]),
                "own_delta": int(delta[i, kernel.F_OWN]),
                "mutual_aid_delta": int(delta[i, kernel.F_MUTUAL_AID]),
                "cash_delta": int(d_cash[i]),
                "cash_base": int(cash_b[i]),
                "cash_reform": int(cash_r[i]),
            }
            for i in idx.tolist()
        ]

    k = min(TOP_FAMILIES, len(d_cash))
    gain = np.argsort(d_cash, kind="stable")[:k]
    lose = np.argsort(-d_cash, kind="stable")[:k]
    return {
        "sums": {
            "delta_histogram": hist,
            "stop_paying_cash": np.array([int(((cash_b > 0) & (cash_r == 0)).sum())], dtype=np.int64),
            "start_paying_cash": np.array([int(((cash_b == 0) & (cash_r > 0)).sum())], dtype=np.int64),
            "pay_less_cash": np.array([int((d_cash < 0).sum())], dtype=np.int64),
            "pay_more_cash": np.array([int((d_cash > 0).sum())], dtype=np.int64),
        },
        "gainers": [r for r in rows(gain) if r["cash_delta"] < 0],
        "losers": [r for r in rows(lose) if r["cash_delta"] > 0],
    }
