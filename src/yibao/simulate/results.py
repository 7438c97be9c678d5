"""A run's results as tables: baseline, reform and difference for every figure, written as Parquet/CSV.

Amounts stay integer fen in the files (``*_fen``); the report turns them into yuan for people.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from yibao.family.model import RELATIONS
from yibao.policy.schema import CATEGORIES
from yibao.settlement.explain import CATEGORY_NAMES, RELATION_NAMES
from yibao.simulate import kernel
from yibao.simulate.data import CLASSES
from yibao.simulate.engine import AGE_BAND_NAMES, DECILES, DELTA_BINS_YUAN
from yibao.simulate.runner import BASELINE, REFORM, RunResult

MEASURE_KEYS = (
    "claims",
    "medfee_fen",
    "inscp_fen",
    "deductible_fen",
    "fund_fen",
    "own_account_fen",
    "mutual_aid_fen",
    "cash_fen",
    "over_cap_fen",
    "account_segment_fen",
)
MEASURE_NAMES = {
    "claims": "结算笔数",
    "medfee_fen": "医疗费总额",
    "inscp_fen": "符合政策范围",
    "deductible_fen": "起付线",
    "fund_fen": "统筹基金支出",
    "own_account_fen": "本人个人账户支出",
    "mutual_aid_fen": "家庭共济支出",
    "cash_fen": "个人现金支付",
    "over_cap_fen": "超年度限额",
    "account_segment_fen": "其中当年账户段（本人账户先付，不计起付线）",
}
CLASS_NAMES = {"in_service": "职工在职", "retired": "职工退休", "resident": "城乡居民"}
DIMENSIONS = {
    "month": ("月份", None),
    "band": ("年龄段", AGE_BAND_NAMES),
    "class": ("参保类别", tuple(CLASS_NAMES[c] for c in CLASSES)),
    "decile": ("收入十分位", tuple(f"第{i + 1}组" for i in range(DECILES))),
    "category": ("待遇类别", tuple(CATEGORY_NAMES[c] for c in CATEGORIES)),
}


def _labels(result: RunResult, dim: str) -> tuple[str, ...]:
    if dim == "month":
        return tuple(result.scenarios[0].tables.months)
    return DIMENSIONS[dim][1]


def by_dimension(result: RunResult, dim: str) -> pa.Table:
    keys = [s.key for s in result.scenarios]
    cols: dict[str, Any] = {"label": list(_labels(result, dim))}
    people = result.sums[BASELINE].get(f"people_{dim}")
    if people is not None:
        cols["people"] = people
    for key in keys:
        agg = result.sums[key][dim]
        for m, name in enumerate(MEASURE_KEYS):
            cols[f"{key}_{name}"] = agg[:, m]
    if REFORM in keys:
        for m, name in enumerate(MEASURE_KEYS):
            cols[f"diff_{name}"] = result.sums[REFORM][dim][:, m] - result.sums[BASELINE][dim][:, m]
    return pa.table(cols)


def flows_by_relation(result: RunResult) -> pa.Table:
    cols: dict[str, Any] = {"relation": list(RELATIONS), "label": [RELATION_NAMES[r] for r in RELATIONS]}
    for s in result.scenarios:
        f = result.sums[s.key]["flow_relation"]
        cols[f"{s.key}_amount_fen"] = f[:, 0]
        cols[f"{s.key}_payments"] = f[:, 1]
    if len(result.scenarios) > 1:
        cols["diff_amount_fen"] = cols[f"{REFORM}_amount_fen"] - cols[f"{BASELINE}_amount_fen"]
    return pa.table(cols)


def flows_by_class(result: RunResult) -> pa.Table:
    rows: dict[str, list[Any]] = {"payer": [], "beneficiary": []}
    for s in result.scenarios:
        rows[f"{s.key}_amount_fen"] = []
    for i, payer in enumerate(CLASSES):
        for j, bene in enumerate(CLASSES):
            rows["payer"].append(CLASS_NAMES[payer])
            rows["beneficiary"].append(CLASS_NAMES[bene])
            for s in result.scenarios:
                rows[f"{s.key}_amount_fen"].append(int(result.sums[s.key]["flow_class"][i, j]))
    return pa.table(rows)


def accounts(result: RunResult) -> pa.Table:
    """Crediting, rollover and balances by month and class."""
    months = [*result.scenarios[0].tables.months, "期末"]
    cols: dict[str, Any] = {"month": months}
    for s in result.scenarios:
        c = result.sums[s.key]["credits"]
        cols[f"{s.key}_credited_in_service_fen"] = c[:, kernel.K_INSERVICE]
        cols[f"{s.key}_credited_retiree_fen"] = c[:, kernel.K_RETIREE]
        cols[f"{s.key}_rolled_over_fen"] = c[:, kernel.K_ROLLOVER]
    return pa.table(cols)


def summary(result: RunResult) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for s in result.scenarios:
        sums = result.sums[s.key]
        total = sums["category"].sum(axis=0)
        bal = sums["balances"].sum(axis=0)
        credits = sums["credits"].sum(axis=0)
        row = {name: int(total[m]) for m, name in enumerate(MEASURE_KEYS)}
        row.update(
            people=int(sums["people_class"].sum()),
            families=int(sums["families"][0]),
            families_paying_cash=int(sums["families_paying_cash"][0]),
            credited_in_service_fen=int(credits[kernel.K_INSERVICE]),
            credited_retiree_fen=int(credits[kernel.K_RETIREE]),
            rolled_over_fen=int(credits[kernel.K_ROLLOVER]),
            opening_balance_fen=int(bal[0] + bal[1]),
            closing_balance_fen=int(bal[2] + bal[3]),
            closing_current_fen=int(bal[2]),
            closing_historical_fen=int(bal[3]),
        )
        out[s.key] = row
    if REFORM in out:
        out["diff"] = {k: out[REFORM][k] - out[BASELINE][k] for k in out[BASELINE]}
    return out


def families_table(rows: list[dict[str, int]]) -> pa.Table:
    names = (
        "family_id",
        "members",
        "medfee",
        "fund_delta",
        "own_delta",
        "mutual_aid_delta",
        "cash_delta",
        "cash_base",
        "cash_reform",
    )
    return pa.table({n if n in ("family_id", "members") else f"{n}_fen": [r[n] for r in rows] for n in names})


def write_results(result: RunResult, out: Path, fmt: str = "parquet") -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    tables = {f"by_{d}": by_dimension(result, d) for d in DIMENSIONS}
    tables["flows_by_relation"] = flows_by_relation(result)
    tables["flows_by_class"] = flows_by_class(result)
    tables["accounts"] = accounts(result)
    if result.comparison is not None:
        tables["families_gain"] = families_table(result.comparison["gainers"])
        tables["families_lose"] = families_table(result.comparison["losers"])
        edges = [
            "<-1000",
            "-1000~-500",
            "-500~-200",
            "-200~-50",
            "-50~-1",
            "-1~0",
            "0",
            "0~1",
            "1~50",
            "50~200",
            "200~500",
            ">1000",
        ]
        hist = result.comparison["sums"]["delta_histogram"]
        tables["family_cash_change"] = pa.table({"change_yuan": edges[: len(hist)], "families": hist})
    written = []
    for name, table in tables.items():
        path = out / f"{name}.{fmt}"
        if fmt == "csv":
            pacsv.write_csv(table, path)
        else:
            pq.write_table(table, path)
        written.append(path)
    doc = {
        "dataset": result.manifest.as_doc() | {"start": str(result.manifest.start), "end": str(result.manifest.end)},
        "scenarios": {
            s.key: {
                "name": SCENARIO_TITLE.get(s.key, s.key),
                "policy": s.policy.name,
                "changes": [c.describe() for c in s.reform.changes] if s.reform else [],
            }
            for s in result.scenarios
        },
        "summary": summary(result),
        "comparison": _plain(result.comparison["sums"]) if result.comparison else None,
        "performance": {
            "claims": result.claims,
            "seconds": round(result.seconds, 3),
            "kernel_seconds": round(result.kernel_seconds, 3),
            "claims_per_second": round(result.claims_per_second),
            "workers": result.workers,
            "partitions": result.partitions,
        },
        "verify": result.verify,
    }
    path = out / "summary.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    written.append(path)
    return written


SCENARIO_TITLE = {BASELINE: "现行政策", REFORM: "改革方案"}


def _plain(d: dict[str, np.ndarray]) -> dict[str, Any]:
    return {k: v.tolist() if len(v) > 1 else int(v[0]) for k, v in d.items()}


__all__ = ["DELTA_BINS_YUAN", "MEASURE_KEYS", "MEASURE_NAMES", "summary", "write_results"]
