"""Running a dataset: every partition through every scenario, in this process or on a Dask cluster.

A partition is the unit of work: read it (Parquet or CSV), check it, run the baseline and the reform
on the same claims, optionally write its per-claim results, and return small summable results.
Locally the next partition is read while the kernel runs on this one (memory: about two
partitions); on Dask each partition is one task, with the partition files in and out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from yibao.policy import Policy, Reform, reformed_policy
from yibao.policy.loader import load_policy
from yibao.simulate import kernel
from yibao.simulate.data import Manifest, SimulationInputError, read_manifest, read_partition, read_table
from yibao.simulate.engine import DECILES, compare_families, prepare, run_scenario
from yibao.simulate.tables import PolicyTables, build_tables

BASELINE, REFORM = "baseline", "reform"
SCENARIO_NAMES = {BASELINE: "现行政策", REFORM: "改革方案"}


@dataclass
class Scenario:
    key: str
    policy: Policy
    text: str
    tables: PolicyTables
    reform: Reform | None = None


DEFAULT_REGION = "jiangxi-nanchang"  # datasets made before they named their region were made for it


def scenarios(
    region: str | None, reform: Reform | None, manifest: Manifest, base: Path | None = None
) -> list[Scenario]:
    """The baseline (and the reform) for a dataset: the dataset's own region unless ``region`` names
    another policy file for the same 医保区划."""
    policy, text = load_policy(region or manifest.region or DEFAULT_REGION, base)
    if manifest.admdvs and policy.admdvs != manifest.admdvs:
        raise SimulationInputError(
            f"数据集是为医保区划 {manifest.admdvs}（{manifest.region}）生成的，"
            f"而政策 {policy.name} 属于 {policy.admdvs}："
            f"缴费基数等按统筹区生成，请用 yibao simulate generate --region {policy.region_id} 重新生成，"
            f"或省略 --region 使用数据集自己的统筹区"
        )
    out = [Scenario(BASELINE, policy, text, build_tables(policy, manifest.start, manifest.end, policy.name))]
    if reform is not None and not reform.empty:
        r_policy, r_text = reformed_policy(text, reform, policy.origin)
        out.append(
            Scenario(
                REFORM, r_policy, r_text, build_tables(r_policy, manifest.start, manifest.end, reform.name), reform
            )
        )
    return out


def income_edges(folder: Path, manifest: Manifest, sample: int = 200_000) -> np.ndarray:
    """Decile edges of income per head, from an even sample of every partition."""
    values = []
    for i in range(manifest.partitions):
        income = np.sort(read_table(folder, "people", i, manifest.fmt, ["income_fen"])["income_fen"].to_numpy())
        if len(income) > sample:
            income = income[np.linspace(0, len(income) - 1, sample).astype(np.int64)]
        values.append(income)
    merged = np.concatenate(values) if values else np.zeros(1, dtype=np.int64)
    return np.quantile(merged, np.linspace(0.1, 0.9, DECILES - 1)).astype(np.int64)


@dataclass
class PartitionResult:
    index: int
    claims: int
    families: int
    sums: dict[str, dict[str, np.ndarray]]  # scenario → name → array
    comparison: dict[str, Any] | None
    kernel_seconds: float
    read_seconds: float


def run_partition(
    folder: str,
    manifest: Manifest,
    index: int,
    tables: list[tuple[str, PolicyTables]],
    edges: np.ndarray,
    claims_out: str | None = None,
    threads: int | None = None,
    preloaded: Any = None,
) -> PartitionResult:
    """One partition, every scenario; the function a Dask worker runs."""
    if threads:
        import numba

        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    t0 = time.perf_counter()
    prep = preloaded if preloaded is not None else load_prepared(Path(folder), manifest, index, edges)
    t1 = time.perf_counter()
    runs, sums = {}, {}
    for key, tab in tables:
        runs[key] = run_scenario(prep, tab, detail=claims_out is not None)
        sums[key] = runs[key].sums
        if claims_out is not None:
            _write_claims(Path(claims_out) / key, index, prep, runs[key])
    comparison = compare_families(prep, runs[BASELINE], runs[REFORM]) if REFORM in runs else None
    t2 = time.perf_counter()
    return PartitionResult(index, len(prep.claim_id), prep.families, sums, comparison, t2 - t1, t1 - t0)


def load_prepared(folder: Path, manifest: Manifest, index: int, edges: np.ndarray):
    return prepare(read_partition(folder, manifest, index), manifest.start, edges)


def _write_claims(folder: Path, index: int, prep, run) -> None:
    o = run.out_claims
    table = pa.table(
        {
            "claim_id": prep.claim_id,
            "person_id": prep.person_id[prep.c_person],
            "time": pa.array(prep.c_time.astype("datetime64[s]"), pa.timestamp("s")),
            "medfee_fen": o[:, kernel.C_MEDFEE],
            "deductible_fen": o[:, kernel.C_DEDUCTIBLE],
            "fund_fen": o[:, kernel.C_FUND],
            "over_cap_fen": o[:, kernel.C_OVER_CAP],
            "own_account_fen": o[:, kernel.C_OWN_CURRENT] + o[:, kernel.C_OWN_HISTORICAL],
            "account_segment_fen": o[:, kernel.C_SEGMENT],
            "mutual_aid_fen": o[:, kernel.C_MUTUAL_AID],
            "cash_fen": o[:, kernel.C_CASH],
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / f"part-{index:05d}.parquet", compression="zstd")


@dataclass
class RunResult:
    manifest: Manifest
    scenarios: list[Scenario]
    sums: dict[str, dict[str, np.ndarray]]
    comparison: dict[str, Any] | None
    claims: int
    families: int
    seconds: float
    kernel_seconds: float
    workers: int
    partitions: int
    verify: dict[str, Any] = field(default_factory=dict)

    @property
    def claims_per_second(self) -> float:
        return self.claims * len(self.scenarios) / self.seconds if self.seconds else 0.0


class Reducer:
    def __init__(self, keys: list[str]):
        self.sums: dict[str, dict[str, np.ndarray]] = {k: {} for k in keys}
        self.comparison: dict[str, Any] | None = None
        self.claims = self.families = 0
        self.kernel_seconds = 0.0

    def add(self, r: PartitionResult) -> None:
        self.claims += r.claims
        self.families += r.families
        self.kernel_seconds += r.kernel_seconds
        for key, sums in r.sums.items():
            mine = self.sums[key]
            for name, value in sums.items():
                mine[name] = mine[name] + value if name in mine else value.copy()
        if r.comparison is not None:
            c = r.comparison
            if self.comparison is None:
                self.comparison = {"sums": {k: v.copy() for k, v in c["sums"].items()}, "gainers": [], "losers": []}
            else:
                for k, v in c["sums"].items():
                    self.comparison["sums"][k] += v
            self.comparison["gainers"] = sorted(
                self.comparison["gainers"] + c["gainers"], key=lambda x: x["cash_delta"]
            )[:20]
            self.comparison["losers"] = sorted(self.comparison["losers"] + c["losers"], key=lambda x: -x["cash_delta"])[
                :20
            ]


def run_dataset(
    folder: Path,
    scens: list[Scenario],
    *,
    claims_out: Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> RunResult:
    """Every partition through every scenario; ``workers``/``scheduler`` run it on Dask."""
    manifest = read_manifest(folder)
    edges = income_edges(folder, manifest)
    tables = [(s.key, s.tables) for s in scens]
    reducer = Reducer([s.key for s in scens])
    started = time.perf_counter()
    out = str(claims_out) if claims_out else None
    if workers or scheduler:
        from yibao.simulate.distributed import run_on_dask

        n_workers = run_on_dask(
            run_partition, folder, manifest, tables, edges, out, reducer, workers, scheduler, progress
        )
    else:
        n_workers = 1
        with ThreadPoolExecutor(1) as pool:
            ahead = pool.submit(load_prepared, folder, manifest, 0, edges)
            for i in range(manifest.partitions):
                prep = ahead.result()
                if i + 1 < manifest.partitions:
                    ahead = pool.submit(load_prepared, folder, manifest, i + 1, edges)
                r = run_partition(str(folder), manifest, i, tables, edges, out, preloaded=prep)
                reducer.add(r)
                del prep
                if progress:
                    progress(i + 1, manifest.partitions, reducer.claims)
    return RunResult(
        manifest,
        scens,
        reducer.sums,
        reducer.comparison,
        reducer.claims,
        reducer.families,
        time.perf_counter() - started,
        reducer.kernel_seconds,
        n_workers,
        manifest.partitions,
    )
