"""A seeded, reproducible synthetic population and a period of its claims.

Every distribution is a parameter in ``population.yaml`` with its source and grade. Families are made
in fixed blocks, each from its own seed (``[seed, block]``), so the same seed gives the same people
and claims whatever the number of partitions. The fee split of a claim (steps 1–3) uses the same
``apply_ratio`` the settlement uses for 乙类先行自付. A population is made for one region (its policy
file): the contribution bases respect its floor and ceiling, and the manifest names the region so
that ``run`` settles it under that policy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pyarrow as pa

from yibao.family.model import RELATIONS
from yibao.money import parse_ratio
from yibao.policy.loader import load_policy, shipped_region_ids
from yibao.simulate.compiled import ratio_of_each
from yibao.simulate.data import (
    Manifest,
    Partition,
    SimulationInputError,
    check_period,
    write_manifest,
    write_partition,
)
from yibao.simulate.tables import contribution_bounds
from yibao.yamlio import load_yaml_text

FAMILIES_PER_BLOCK = 1_000
KINDS = ("outpatient", "chronic", "inpatient", "pharmacy")
MED_TYPE = {"outpatient": "11", "chronic": "14", "inpatient": "21", "pharmacy": "41"}
AGE_BANDS = (0, 7, 18, 45, 60, 70, 80)  # lower bounds; the multipliers of population.yaml follow them
RELATION_CODES = {r: i for i, r in enumerate(RELATIONS)}

# Family types: members as (role, youngest age, oldest age, gender) and the relations among them
# as (payer role, beneficiary role, how the payer relates to the beneficiary), in binding order.
FAMILY_TYPES: dict[str, tuple[tuple[tuple[str, int, int, str], ...], tuple[tuple[str, str, str], ...]]] = {
    "single": ((("a", 18, 59, "*"),), ()),
    "couple": ((("h", 24, 59, "1"), ("w", 22, 59, "2")), (("h", "w", "spouse"), ("w", "h", "spouse"))),
    "couple_1child": (
        (("h", 26, 55, "1"), ("w", 24, 53, "2"), ("c1", 0, 17, "*")),
        (("h", "w", "spouse"), ("w", "h", "spouse"), ("h", "c1", "parent"), ("w", "c1", "parent")),
    ),
    "couple_2children": (
        (("h", 28, 55, "1"), ("w", 26, 53, "2"), ("c1", 4, 17, "*"), ("c2", 0, 12, "*")),
        (
            ("h", "w", "spouse"),
            ("w", "h", "spouse"),
            ("h", "c1", "parent"),
            ("w", "c1", "parent"),
            ("h", "c2", "parent"),
            ("w", "c2", "parent"),
            ("c1", "c2", "sibling"),
            ("c2", "c1", "sibling"),
        ),
    ),
    "three_generations": (
        (("h", 28, 50, "1"), ("w", 26, 48, "2"), ("c1", 0, 17, "*"), ("gf", 56, 88, "1"), ("gm", 54, 86, "2")),
        (
            ("h", "w", "spouse"),
            ("w", "h", "spouse"),
            ("h", "c1", "parent"),
            ("w", "c1", "parent"),
            ("gf", "c1", "grandparent"),
            ("gm", "c1", "grandparent"),
            ("gf", "h", "parent"),
            ("gm", "h", "parent"),
            ("h", "gf", "child"),
            ("h", "gm", "child"),
            ("gf", "gm", "spouse"),
            ("gm", "gf", "spouse"),
        ),
    ),
    "elderly_couple": (
        (("e1", 60, 90, "1"), ("e2", 58, 88, "2")),
        (("e1", "e2", "spouse"), ("e2", "e1", "spouse")),
    ),
    "elderly_single": ((("e1", 60, 95, "*"),), ()),
    "adult_siblings": (
        (("s1", 22, 45, "*"), ("s2", 20, 43, "*"), ("p1", 55, 85, "1"), ("p2", 53, 83, "2")),
        (
            ("s1", "s2", "sibling"),
            ("s2", "s1", "sibling"),
            ("p1", "s1", "parent"),
            ("p2", "s1", "parent"),
            ("p1", "s2", "parent"),
            ("p2", "s2", "parent"),
            ("s1", "p1", "child"),
            ("s1", "p2", "child"),
            ("s2", "p1", "child"),
            ("s2", "p2", "child"),
            ("p1", "p2", "spouse"),
            ("p2", "p1", "spouse"),
        ),
    ),
}


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if hasattr(v, "as_tuple"):  # Decimal
        return float(v) if v != int(v) else int(v)
    return v


@dataclass(frozen=True)
class GeneratorSpec:
    values: dict[str, Any]
    source_of: dict[str, str]  # parameter → source id
    sources: dict[str, dict[str, Any]]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def describe(self) -> dict[str, Any]:
        out = {}
        for k, v in self.values.items():
            s = self.sources[self.source_of[k]]
            out[k] = {"value": _plain(v), "source": s["title"], "grade": s["grade"]}
        return out


def load_spec(overrides: dict[str, Any] | None = None) -> GeneratorSpec:
    text = (resources.files("yibao.simulate") / "population.yaml").read_text(encoding="utf-8")
    doc = load_yaml_text(text)
    values, source_of = {}, {}
    for key, body in doc["parameters"].items():
        values[key] = _plain(body["value"])
        source_of[key] = body["source"]
    sources = dict(doc["sources"])
    for key, value in (overrides or {}).items():
        if key not in values:
            raise ValueError(f"未知的人口参数 {key}（可用：{', '.join(values)}）")
        values[key] = _plain(value)
        source_of[key] = "override"
    sources["override"] = {"title": "命令行 --set 覆盖的取值（示意）", "grade": "D"}
    return GeneratorSpec(values, source_of, sources)


def lognormal_income(quintile_means: list[float]) -> tuple[float, float]:
    """μ, σ of a lognormal whose top and bottom quintile means have the bulletin's ratio."""
    target = quintile_means[-1] / quintile_means[0]
    nd = NormalDist()

    def group_mean(mu: float, sigma: float, a: float, b: float) -> float:
        lo = nd.cdf(nd.inv_cdf(a) - sigma) if a > 0 else 0.0
        hi = nd.cdf(nd.inv_cdf(b) - sigma) if b < 1 else 1.0
        return math.exp(mu + sigma * sigma / 2) * (hi - lo) / (b - a)

    lo_s, hi_s = 0.1, 3.0
    for _ in range(60):
        s = (lo_s + hi_s) / 2
        ratio = group_mean(0, s, 0.8, 1.0) / group_mean(0, s, 0.0, 0.2)
        lo_s, hi_s = (s, hi_s) if ratio < target else (lo_s, s)
    sigma = (lo_s + hi_s) / 2
    mu = math.log(quintile_means[2] / group_mean(0, sigma, 0.4, 0.6))
    return mu, sigma


def generate(
    folder: Path,
    people: int,
    start: date,
    end: date,
    seed: int = 1,
    partitions: int | None = None,
    spec: GeneratorSpec | None = None,
    fmt: str = "parquet",
    progress: Callable[[int, int], None] | None = None,
    region: str = "jiangxi-nanchang",
    base: Path | None = None,
) -> Manifest:
    """Write a dataset of about ``people`` people in whole families for ``region`` (a shipped region id
    or a policy file): contribution bases within that region's floor and ceiling; returns its manifest."""
    check_period(start, end)
    spec = spec or load_spec()
    policy, _ = load_policy(region, base)
    base_bounds = contribution_bounds(policy, start, end)
    low, high = (x * spec["contribution_base_mean"] * 100 for x in spec["contribution_base_range"])
    if max(low, base_bounds[0]) > min(high, base_bounds[1]):
        raise SimulationInputError(
            f"缴费基数范围 contribution_base_range 与 {policy.name} 的 contribution.base_floor/base_ceiling 没有交集"
        )
    weights = np.array(list(spec["family_types"].values()), dtype=float)
    sizes = np.array([len(FAMILY_TYPES[t][0]) for t in spec["family_types"]], dtype=float)
    mean_size = float((weights / weights.sum() * sizes).sum())
    families = max(1, round(people / mean_size))
    blocks = math.ceil(families / FAMILIES_PER_BLOCK)
    partitions = max(1, min(partitions or math.ceil(people / 1_000_000), blocks))
    bounds = np.linspace(0, blocks, partitions + 1).round().astype(int)
    counts = {"people": 0, "families": 0, "grants": 0, "claims": 0}
    next_person = next_claim = 0  # ids run on across blocks (and partitions): contiguous, fast to index
    for i in range(partitions):
        made = []
        for b in range(bounds[i], bounds[i + 1]):
            people_b, grants_b, claims_b, n_fam = _block(
                spec, seed, b, min(FAMILIES_PER_BLOCK, families - b * FAMILIES_PER_BLOCK), start, end, base_bounds
            )
            people_b = _shift(people_b, ("person_id",), next_person)
            grants_b = _shift(grants_b, ("payer_id", "beneficiary_id"), next_person)
            claims_b = _shift(_shift(claims_b, ("person_id",), next_person), ("claim_id",), next_claim)
            next_person += people_b.num_rows
            next_claim += claims_b.num_rows
            made.append((people_b, grants_b, claims_b, n_fam))
        part = Partition(
            i,
            pa.concat_tables([m[0] for m in made]),
            pa.concat_tables([m[1] for m in made]),
            pa.concat_tables([m[2] for m in made]),
        )
        write_partition(folder, part, fmt)
        counts["people"] += part.people.num_rows
        counts["grants"] += part.grants.num_rows
        counts["claims"] += part.claims.num_rows
        counts["families"] += sum(m[3] for m in made)
        if progress:
            progress(i + 1, partitions)
    manifest = Manifest(
        start,
        end,
        partitions,
        fmt,
        counts,
        {"generator": "yibao simulate generate", "seed": seed, "people_asked": people, "parameters": spec.describe()},
        region if region in shipped_region_ids() else str(Path(policy.origin).resolve()),
        policy.admdvs,
    )
    write_manifest(folder, manifest)
    return manifest


def _shift(table: pa.Table, columns: tuple[str, ...], by: int) -> pa.Table:
    for name in columns:
        i = table.column_names.index(name)
        table = table.set_column(i, name, pa.array(table[name].to_numpy() + by, pa.int64()))
    return table


def _block(
    spec: GeneratorSpec, seed: int, block: int, n_fam: int, start: date, end: date, base_bounds: tuple[int, int]
):
    rng = np.random.default_rng([seed, block])
    types = list(spec["family_types"])
    w = np.array([spec["family_types"][t] for t in types], dtype=float)
    fam_type = rng.choice(len(types), size=n_fam, p=w / w.sum())
    fam_base = block * FAMILIES_PER_BLOCK
    # Members, type by type.
    fam_ids, roles, ages, genders, role_type = [], [], [], [], []
    for t_index, t in enumerate(types):
        members, _ = FAMILY_TYPES[t]
        fams = np.flatnonzero(fam_type == t_index) + fam_base
        for role, lo, hi, g in members:
            fam_ids.append(fams)
            roles.append(np.full(len(fams), role))
            ages.append(rng.integers(lo, hi + 1, size=len(fams)))
            genders.append(rng.choice(["1", "2"], size=len(fams)) if g == "*" else np.full(len(fams), g))
            role_type.append(np.full(len(fams), t_index))
    fam = np.concatenate(fam_ids)
    role = np.concatenate(roles)
    age = np.concatenate(ages)
    gender = np.concatenate(genders)
    ftype = np.concatenate(role_type)
    order = np.lexsort((role, fam))
    fam, role, age, gender, ftype = fam[order], role[order], age[order], gender[order], ftype[order]
    n = len(fam)
    person_id = np.arange(n, dtype=np.int64)  # block-local; ``generate`` shifts them
    start_np = np.datetime64(start, "D")
    birth = start_np - (age * 365.25).astype("timedelta64[D]") - rng.integers(0, 365, size=n).astype("timedelta64[D]")
    # Insurance: children are residents; adults employees in service, the old retired employees, in the
    # shares of the bulletin.
    adult, old = (age >= 18) & (age < 60), age >= 60
    q_in = min(spec["employee_share_in_service"] * n / max(adult.sum(), 1), 1.0)
    q_ret = min(spec["employee_share_retired"] * n / max(old.sum(), 1), 1.0)
    u = rng.random(n)
    in_service, retired = adult & (u < q_in), old & (u < q_ret)
    employee = in_service | retired
    flexible = in_service & (rng.random(n) < spec["flexible_share"])
    psn_type = np.where(age < 7, "1402", np.where(age < 18, "1403", "1501")).astype(object)
    psn_type[in_service] = "1101"
    psn_type[flexible] = "1103"
    psn_type[retired] = "1201"
    insutype = np.where(employee, "310", "390")
    mean_bal = spec["account_balance_mean"] * 100
    sigma_b = 1.0
    historical = np.where(employee, np.round(rng.lognormal(math.log(mean_bal) - sigma_b**2 / 2, sigma_b, n)), 0).astype(
        np.int64
    )
    historical = np.minimum(historical, 50_000_000)
    base_mean = spec["contribution_base_mean"] * 100
    lo_b, hi_b = (x * base_mean for x in spec["contribution_base_range"])
    lo_b, hi_b = max(lo_b, base_bounds[0]), min(hi_b, base_bounds[1])  # the region's contribution.base_floor/ceiling
    base = np.clip(np.round(rng.lognormal(math.log(base_mean) - 0.125, 0.5, n)), lo_b, hi_b).astype(np.int64)
    base = np.where(flexible, round(lo_b), base)
    base = np.where(in_service, base, 0).astype(np.int64)
    mu, sigma = lognormal_income(spec["income_quintile_means"])
    fam_income = np.round(rng.lognormal(mu, sigma, n_fam) * 100).astype(np.int64)
    income = np.minimum(fam_income[fam - fam_base], 9_000_000_000)
    # Insured for years before the period, and a child from birth (never before it).
    since = np.maximum(np.full(n, np.datetime64(date(start.year - 5, 1, 1), "D")), birth.astype("datetime64[D]"))
    people = pa.table(
        {
            "person_id": person_id,
            "family_id": fam.astype(np.int64),
            "birth": pa.array(birth.astype("datetime64[D]"), pa.date32()),
            "gender": gender.astype(str),
            "insutype": insutype.astype(str),
            "psn_type": psn_type.astype(str),
            "insured_since": pa.array(since, pa.date32()),
            "current_fen": np.zeros(n, dtype=np.int64),
            "historical_fen": historical,
            "base_fen": base,
            "income_fen": income,
        }
    )
    grants = _grants(rng, spec, types, fam, role, ftype, employee, person_id)
    claims = _claims(rng, spec, start, end, person_id, fam, age, employee, block)
    return people, grants, claims, n_fam


def _grants(rng, spec, types, fam, role, ftype, employee, person_id) -> pa.Table:
    """Each relation of the family type where the payer is an employee, kept with the take-up rate;
    the beneficiary's binding order follows the order the relations are listed in."""
    first_row = np.searchsorted(fam, np.unique(fam))
    fam_index = np.searchsorted(np.unique(fam), fam)
    payer, bene, rel, rank = [], [], [], []
    for t_index, t in enumerate(types):
        members, pairs = FAMILY_TYPES[t]
        roles = sorted(m[0] for m in members)  # rows of a family are sorted by role name
        starts = first_row[np.unique(fam_index[ftype == t_index])]
        for k, (a, b, relation) in enumerate(pairs):
            payer.append(starts + roles.index(a))
            bene.append(starts + roles.index(b))
            rel.append(np.full(len(starts), RELATION_CODES[relation], dtype=np.int8))
            rank.append(np.full(len(starts), k))
    payer_a = np.concatenate(payer) if payer else np.zeros(0, dtype=np.int64)
    bene_a = np.concatenate(bene) if bene else np.zeros(0, dtype=np.int64)
    rel_a = np.concatenate(rel) if rel else np.zeros(0, dtype=np.int8)
    rank_a = np.concatenate(rank) if rank else np.zeros(0, dtype=np.int64)
    keep = employee[payer_a] & (rng.random(len(payer_a)) < spec["grant_takeup"])
    payer_a, bene_a, rank_a, rel_a = payer_a[keep], bene_a[keep], rank_a[keep], rel_a[keep]
    order = np.lexsort((rank_a, bene_a))
    payer_a, bene_a, rel_a = payer_a[order], bene_a[order], rel_a[order]
    first = np.r_[True, bene_a[1:] != bene_a[:-1]] if len(bene_a) else np.zeros(0, dtype=bool)
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(bene_a)), 0)) if len(bene_a) else bene_a
    position = (np.arange(len(bene_a)) - group_start + 1).astype(np.int32)
    return pa.table(
        {
            "payer_id": person_id[payer_a],
            "beneficiary_id": person_id[bene_a],
            "relation": np.array(RELATIONS, dtype=object)[rel_a].astype(str),
            "position": position,
        }
    )


def _claims(rng, spec, start: date, end: date, person_id, fam, age, employee, block) -> pa.Table:
    n = len(person_id)
    days = int((np.datetime64(end, "D") - np.datetime64(start, "D")).astype(int))
    years = days / 365.0
    band = np.searchsorted(np.array(AGE_BANDS), age, side="right") - 1
    mult = np.array(spec["age_multiplier"], dtype=float)[band]
    scheme = np.where(employee, "employee", "resident")
    filed_person = rng.random(n) < spec["offsite"]["filed_people"]
    temp_share = spec["offsite"]["temporary_inpatient"]
    unfiled_share = spec["offsite"]["unfiled_inpatient"]
    travel_kind = np.where(rng.random(n) < temp_share / max(temp_share + unfiled_share, 1e-9), 2, 3)
    shares = spec["fee_shares"]
    b_ratio = parse_ratio(str(shares["class_b_selfpay_ratio"]))
    parts = []
    for kind in KINDS:
        rate = np.where(
            scheme == "employee", spec["claim_rates"][kind]["employee"], spec["claim_rates"][kind]["resident"]
        )
        count = rng.poisson(rate * mult * years)
        who = np.repeat(np.arange(n), count)
        m = len(who)
        if kind == "pharmacy":
            level = np.zeros(m, dtype=np.int8)
        else:
            p = np.array(spec["level_shares"][kind], dtype=float)
            level = rng.choice(4, size=m, p=p / p.sum()).astype(np.int8)
        mean = np.array(spec["cost_mean"][kind], dtype=float)[level] * 100
        sigma = spec["cost_sigma"][kind]
        total = np.clip(np.round(rng.lognormal(np.log(mean) - sigma**2 / 2, sigma)), 100, 5_000_000_000).astype(
            np.int64
        )
        alpha = 20 * np.array([shares["class_a"], shares["class_b"], shares["self_pay"]], dtype=float)
        mix = rng.dirichlet(alpha, size=m)
        self_pay = np.floor(total * mix[:, 2]).astype(np.int64)
        class_a = np.floor(total * mix[:, 0]).astype(np.int64)
        class_b = total - self_pay - class_a
        preselfpay = ratio_of_each(class_b, b_ratio)
        offsite = np.where(filed_person[who], 1, 0)
        if kind == "inpatient":
            away = rng.random(m) < (temp_share + unfiled_share)
            offsite = np.where(~filed_person[who] & away, travel_kind[who], offsite)
        day = rng.integers(0, days, size=m)
        second = rng.integers(8 * 3600, 20 * 3600, size=m)
        parts.append(
            dict(
                who=who,
                time=np.datetime64(start, "s") + (day * 86400 + second).astype("timedelta64[s]"),
                med_type=np.full(m, MED_TYPE[kind]),
                level=level,
                acct=rng.random(m) < spec["acct_used_share"],
                offsite=offsite,
                ownpay=self_pay,
                preselfpay=preselfpay,
                inscp=class_a + class_b - preselfpay,
            )
        )
    cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.lexsort((cat["time"], fam[cat["who"]]))
    cat = {k: v[order] for k, v in cat.items()}
    m = len(order)
    offsite_names = np.array(["", "filed", "temporary", "unfiled"])
    return pa.table(
        {
            "claim_id": np.arange(m, dtype=np.int64),
            "family_id": fam[cat["who"]].astype(np.int64),
            "person_id": person_id[cat["who"]],
            "time": pa.array(cat["time"], pa.timestamp("s")),
            "med_type": cat["med_type"].astype(str),
            "hospital_level": cat["level"],
            "acct_used": cat["acct"],
            "offsite": offsite_names[cat["offsite"]],
            "ownpay_fen": cat["ownpay"],
            "overlimit_fen": np.zeros(m, dtype=np.int64),
            "preselfpay_fen": cat["preselfpay"],
            "inscp_fen": cat["inscp"],
        }
    )
