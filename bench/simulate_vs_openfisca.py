"""yibao's simulation kernel beside OpenFisca on the same claims, in one run.

OpenFisca (``pip install -e ".[bench]"``) computes the outpatient rule — deductible, ratio, annual cap —
as a vectorised formula over the claims, each claim independent (it has no notion of a deductible
that accumulates claim by claim, nor of a family paying for each other). Its default ``float``
is float32, so the bench also counts the claims whose fund payment it gets wrong by at least a fen,
against the exact integer rule (yibao's own ``apply_ratio``/``deductible_due``/``within_cap``).

yibao's kernel then settles the very same claims the way the platform does: per family in time
order, with the year's deductible and cap accumulators, the own account, mutual aid in the policy's
order, cash, monthly crediting and the rollover — and it is timed the same way (best of N runs).

    python bench/simulate_vs_openfisca.py                   # makes 300,000 people (about 1.8M claims)
    python bench/simulate_vs_openfisca.py --data DIR --runs 5

The machine is shared: each figure is the best of ``--runs`` runs; CPU time is printed too.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

from yibao.money import apply_ratio
from yibao.policy import load_policy
from yibao.settlement.amounts import deductible_due, within_cap
from yibao.simulate.data import read_manifest, read_partition
from yibao.simulate.engine import prepare, run_scenario
from yibao.simulate.generate import generate
from yibao.simulate.tables import build_tables

# Nanchang's employee outpatient terms (yibao/regions/jiangxi-nanchang.yaml): deductible 300 yuan,
# ratio by person class and hospital level, annual cap by person class.
DEDUCTIBLE_FEN = 30_000
RATIO_BP = {"in_service": (6500, 6500, 6000, 5500), "retired": (7000, 7000, 6500, 6000)}
CAP_FEN = {"in_service": 200_000, "retired": 300_000}
CLASSES = ("in_service", "retired")


def _value(v: str) -> str:
    return f"values:\n  2020-01-01:\n    value: {v}\n"


def parameter_files() -> dict[str, str]:
    files = {"deductible.yaml": "description: 起付线\n" + _value(str(DEDUCTIBLE_FEN // 100))}
    for cls in CLASSES:
        files[f"cap/{cls}.yaml"] = "description: 年度限额\n" + _value(str(CAP_FEN[cls] // 100))
        for level, bp in enumerate(RATIO_BP[cls]):
            files[f"ratio/{cls}/level_{level}.yaml"] = "description: 支付比例\n" + _value(f"{bp / 10000:.4f}")
    return files


def openfisca_system(folder: Path):
    from openfisca_core.entities import build_entity
    from openfisca_core.indexed_enums import Enum
    from openfisca_core.periods import DateUnit
    from openfisca_core.taxbenefitsystems import TaxBenefitSystem
    from openfisca_core.variables import Variable

    claim = build_entity(key="claim", plural="claims", label="一笔结算", is_person=True)

    class PersonClass(Enum):
        in_service = "在职"
        retired = "退休"

    class Level(Enum):
        level_0 = "基层"
        level_1 = "一级"
        level_2 = "二级"
        level_3 = "三级"

    class person_class(Variable):
        value_type = Enum
        possible_values = PersonClass
        default_value = PersonClass.in_service
        entity = claim
        definition_period = DateUnit.YEAR
        label = "人员类别"

    class hospital_level(Variable):
        value_type = Enum
        possible_values = Level
        default_value = Level.level_1
        entity = claim
        definition_period = DateUnit.YEAR
        label = "医院等级"

    class inscp(Variable):
        value_type = float
        entity = claim
        definition_period = DateUnit.YEAR
        label = "符合政策范围金额（元）"

    class fund(Variable):
        value_type = float
        entity = claim
        definition_period = DateUnit.YEAR
        label = "统筹基金支付（元）"

        def formula(claims, period, parameters):
            p = parameters(period).outpatient
            cls = claims("person_class", period)
            ratio = p.ratio[cls][claims("hospital_level", period)]
            above = np.maximum(claims("inscp", period) - p.deductible, 0)
            return np.minimum(np.round(above * ratio, 2), p.cap[cls])

    class fund_flat(Variable):
        value_type = float
        entity = claim
        definition_period = DateUnit.YEAR
        label = "统筹基金支付（元，单一比例与限额：在职、一级）"

        def formula(claims, period, parameters):
            p = parameters(period).outpatient
            above = np.maximum(claims("inscp", period) - p.deductible, 0)
            return np.minimum(np.round(above * p.ratio.in_service.level_1, 2), p.cap.in_service)

    params = folder / "outpatient"
    params.mkdir(parents=True, exist_ok=True)
    for name, text in parameter_files().items():
        (params / name).parent.mkdir(parents=True, exist_ok=True)
        (params / name).write_text(text, encoding="utf-8")
    system = TaxBenefitSystem([claim])
    system.add_variables(inscp, fund, fund_flat, person_class, hospital_level)
    system.load_parameters(str(folder))
    return system


def run_openfisca(system, inscp_yuan, cls, level, runs: int, variable: str = "fund") -> tuple[float, float, np.ndarray]:
    from openfisca_core.simulation_builder import SimulationBuilder

    best_wall = best_cpu = float("inf")
    result = None
    for _ in range(runs):
        sim = SimulationBuilder().build_default_simulation(system, count=len(inscp_yuan))
        sim.set_input("inscp", "2025", inscp_yuan)
        sim.set_input("person_class", "2025", np.array(CLASSES)[cls])
        sim.set_input("hospital_level", "2025", np.array([f"level_{i}" for i in range(4)])[level])
        w, c = time.perf_counter(), time.process_time()
        result = sim.calculate(variable, "2025")
        best_wall, best_cpu = min(best_wall, time.perf_counter() - w), min(best_cpu, time.process_time() - c)
    return best_wall, best_cpu, result


RATIO_TABLE = np.array([RATIO_BP[c] for c in CLASSES], dtype=np.int64)
CAP_TABLE = np.array([CAP_FEN[c] for c in CLASSES], dtype=np.int64)


def exact_independent(inscp_fen: np.ndarray, cls: np.ndarray, level: np.ndarray) -> np.ndarray:
    """The same independent rule in integer fen, with the settlement's own rounding (half-up per claim)."""
    above = np.maximum(inscp_fen - DEDUCTIBLE_FEN, 0)
    product = above * RATIO_TABLE[cls, level]
    return np.minimum((product + 5000) // 10000, CAP_TABLE[cls])  # = apply_ratio for amounts ≥ 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, help="a dataset from yibao simulate generate (one partition is used)")
    ap.add_argument("--people", type=int, default=300_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data
        if data is None:
            data = Path(tmp) / "data"
            generate(data, args.people, date(2025, 1, 1), date(2026, 1, 1), seed=1, partitions=1)
        manifest = read_manifest(data)
        part = read_partition(data, manifest, 0)
        policy, _ = load_policy("jiangxi-nanchang")
        tables = build_tables(policy, manifest.start, manifest.end, policy.name)
        prep = prepare(
            part, manifest.start, np.quantile(part.people["income_fen"].to_numpy(), np.linspace(0.1, 0.9, 9))
        )
        n = len(prep.claim_id)
        inscp_fen = prep.c_ins
        cls = np.minimum(prep.p_cls[prep.c_person], 1).astype(np.int64)  # residents counted as in service here
        level = prep.c_level.astype(np.int64)

        # OpenFisca on the same claims' 符合范围 amounts, each claim on its own.
        system = openfisca_system(Path(tmp) / "params")
        of_wall, of_cpu, of_fund = run_openfisca(system, (inscp_fen / 100).astype(np.float32), cls, level, args.runs)
        exact = exact_independent(inscp_fen, cls, level)
        # The vectorised exact rule is the settlement's own arithmetic, checked claim by claim on a sample.
        for i in range(0, n, max(n // 2000, 1)):
            r = RATIO_TABLE[cls[i], level[i]]
            due = within_cap(apply_ratio(int(inscp_fen[i]) - deductible_due(int(inscp_fen[i]), DEDUCTIBLE_FEN, 0), r),
                             int(CAP_TABLE[cls[i]]), 0)  # fmt: skip
            assert due == exact[i], i
        of_flat_wall, of_flat_cpu, of_flat = run_openfisca(
            system, (inscp_fen / 100).astype(np.float32), cls, level, args.runs, "fund_flat"
        )
        exact_flat = exact_independent(inscp_fen, np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int64))
        flat_fen = np.round(np.asarray(of_flat, dtype=np.float64) * 100).astype(np.int64)
        of_fen = np.round(np.asarray(of_fund, dtype=np.float64) * 100).astype(np.int64)
        wrong = int((of_fen != exact).sum())
        worst = int(np.abs(of_fen - exact).max()) if n else 0

        # The same independent rule, exact, as numpy int64 arrays (what a vectorised engine can do).
        w = time.perf_counter()
        for _ in range(args.runs):
            exact_independent(inscp_fen, cls, level)
        np_wall = (time.perf_counter() - w) / args.runs

        # yibao's kernel: sequential accumulators, accounts, mutual aid, crediting, rollover.
        run_scenario(prep, tables)  # compile or load from cache
        yb_wall = yb_cpu = float("inf")
        for _ in range(args.runs):
            w, c = time.perf_counter(), time.process_time()
            run_scenario(prep, tables)
            yb_wall, yb_cpu = min(yb_wall, time.perf_counter() - w), min(yb_cpu, time.process_time() - c)

    import numba

    print(
        f"{n:,} claims of {len(prep.person_id):,} people in {prep.families:,} families "
        f"({manifest.start} – {manifest.end})"
    )
    from importlib.metadata import version

    print(
        f"best of {args.runs} runs; numba threads: {numba.get_num_threads()}; "
        f"openfisca-core {version('openfisca-core')}"
    )
    print(f"{'engine':<58}{'claims/s (wall)':>18}{'claims/s (CPU)':>18}")
    print(
        f"{'OpenFisca, one ratio and cap (scalar parameters)':<58}{n / of_flat_wall:>18,.0f}{n / of_flat_cpu:>18,.0f}"
    )
    print(f"{'OpenFisca, ratio by class × level, cap by class':<58}{n / of_wall:>18,.0f}{n / of_cpu:>18,.0f}")
    print(f"{'numpy int64, exact, independent claims':<58}{n / np_wall:>18,.0f}{'':>18}")
    print(f"{'yibao kernel: sequential, accounts, mutual aid, calendar':<58}{n / yb_wall:>18,.0f}{n / yb_cpu:>18,.0f}")
    flat_wrong = int((flat_fen != exact_flat).sum())
    print("OpenFisca's float32, against the exact integer rule (each claim independent, as OpenFisca computes it):")
    print(
        f"  one ratio: {flat_wrong:,} of {n:,} fund payments wrong by ≥ 1 fen "
        f"(worst {int(np.abs(flat_fen - exact_flat).max())} fen)"
    )
    print(f"  by class × level: {wrong:,} of {n:,} wrong by ≥ 1 fen (worst {worst} fen)")
    print(
        "(OpenFisca treats every claim as independent: its figures ignore the year's deductible and cap already used.)"
    )


if __name__ == "__main__":
    main()
