"""yibao simulate: reforms, the generator, the kernel checked claim by claim against the real services,
Dask giving the same totals as one process, and the command line with its report."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

pytest.importorskip("numba")

from typer.testing import CliRunner

from yibao.cli.main import app
from yibao.policy import PolicyError, load_policy, load_reform_file, reform_from_texts, reformed_policy
from yibao.policy.loader import shipped_policy_text
from yibao.simulate.data import Partition, SimulationInputError, check_partition, read_manifest, read_partition
from yibao.simulate.generate import generate
from yibao.simulate.modelled import BENEFIT_READ, NO_EFFECT, READ, PolicyNotModelled, check_policy, read_dims
from yibao.simulate.runner import income_edges, run_dataset, scenarios
from yibao.simulate.tables import build_tables
from yibao.simulate.verify import sample_families, subset, verify_partition

START, END = date(2024, 7, 1), date(2025, 7, 1)  # crosses the year end and Nanchang's 2025 changes


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("population")
    generate(folder, 3000, START, END, seed=11, partitions=2)
    return folder


# Reforms ------------------------------------------------------------------------------------------


def test_reform_sets_adds_removes_and_changes_one_cell():
    text = shipped_policy_text("jiangxi-nanchang")
    reform = reform_from_texts(
        [
            "mutual_aid.relations+=sibling",
            "mutual_aid.uses-=pharmacy",
            "benefit.employee.outpatient.deductible=800",
            "benefit.employee.outpatient.ratio.retired.3=0.65",
            "benefit.employee.outpatient.cap.in_service+=500",
            "account.retiree_credit@2025-07-01=120",
        ]
    )
    policy, new_text = reformed_policy(text, reform, "nc")
    d = date(2024, 6, 1)
    assert "sibling" in policy.value("mutual_aid.relations", d)
    # The base file's own 2025 widening still takes effect, with the reform's sibling kept.
    assert set(policy.value("mutual_aid.relations", date(2025, 6, 1))) >= {"sibling", "grandparent"}
    assert "pharmacy" not in policy.value("mutual_aid.uses", d)
    assert policy.value("benefit.employee.outpatient.deductible", d) == 80_000
    assert policy.value("benefit.employee.outpatient.ratio", d, person_class="retired", hospital_level=3) == 6500
    assert policy.value("benefit.employee.outpatient.ratio", d, person_class="retired", hospital_level=2) == 6500
    assert policy.value("benefit.employee.outpatient.cap", d, person_class="in_service") == 250_000
    assert policy.value("account.retiree_credit", date(2025, 6, 30)) == 9_000
    assert policy.value("account.retiree_credit", date(2025, 7, 1)) == 12_000
    assert "reform" in new_text  # the reform is the source of the changed entries


def test_reform_file_with_sources_dates_and_operations(tmp_path):
    path = tmp_path / "reform.yaml"
    path.write_text(
        "name: 门诊起付线下调\n"
        "source: {title: 某市征求意见稿（假设）, grade: C}\n"
        "since: 2025-07-01\n"
        "changes:\n"
        "  benefit.employee.outpatient.deductible: 200.00\n"
        '  mutual_aid.uses: {op: "-=", value: [pharmacy], since: 2025-01-01}\n',
        encoding="utf-8",
    )
    reform = load_reform_file(path)
    policy, _ = reformed_policy(shipped_policy_text("jiangxi-nanchang"), reform, "nc")
    assert policy.value("benefit.employee.outpatient.deductible", date(2025, 6, 30)) == 30_000
    assert policy.value("benefit.employee.outpatient.deductible", date(2025, 7, 1)) == 20_000
    assert "pharmacy" in policy.value("mutual_aid.uses", date(2024, 12, 31))
    assert "pharmacy" not in policy.value("mutual_aid.uses", date(2025, 1, 1))
    assert policy.sources["reform"].grade == "C" and "某市征求意见稿" in policy.sources["reform"].title


@pytest.mark.parametrize(
    "change",
    [
        "benefit.employee.outpatient.deductible=abc",
        "mutual_aid.relations+=cousin",
        "mutual_aid.order=random",
        "nonsense",
    ],
)
def test_reform_refused_with_its_place(change):
    with pytest.raises(PolicyError) as exc:
        reformed_policy(shipped_policy_text("jiangxi-nanchang"), reform_from_texts([change]), "nc")
    assert exc.value.code == "E8001-001"


# Generator ----------------------------------------------------------------------------------------


def test_generator_is_reproducible_whatever_the_partitions(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    generate(a, 800, START, END, seed=5, partitions=1)
    generate(b, 800, START, END, seed=5, partitions=1)
    ma, mb = read_manifest(a), read_manifest(b)
    assert ma.counts == mb.counts and ma.counts["claims"] > 1000
    pa_, pb = read_partition(a, ma, 0), read_partition(b, mb, 0)
    assert pa_.claims.equals(pb.claims) and pa_.people.equals(pb.people) and pa_.grants.equals(pb.grants)
    params = ma.made_by["parameters"]
    assert params["employee_share_retired"]["grade"] == "B" and params["grant_takeup"]["grade"] == "D"


def test_inconsistent_input_is_refused(dataset):
    manifest = read_manifest(dataset)
    part = read_partition(dataset, manifest, 0)
    moved = part.grants.set_column(
        0,
        "payer_id",
        pa.array(
            np.where(
                np.arange(part.grants.num_rows) == 0,
                part.people["person_id"][-1].as_py(),
                part.grants["payer_id"].to_numpy(),
            )
        ),
    )
    with pytest.raises(SimulationInputError, match=r"同一家庭|授权"):
        check_partition(Partition(0, part.people, moved, part.claims), manifest, "test")
    late = part.claims.set_column(
        3, "time", pa.array(np.full(part.claims.num_rows, np.datetime64("2030-01-01T10:00:00")), pa.timestamp("s"))
    )
    with pytest.raises(SimulationInputError, match="模拟期间"):
        check_partition(Partition(0, part.people, part.grants, late), manifest, "test")


# The kernel against the real services -----------------------------------------------------------


def _verify(folder: Path, families: int, changes: list[str]):
    manifest = read_manifest(folder)
    reform = reform_from_texts(changes) if changes else None
    scen = scenarios("jiangxi-nanchang", reform, manifest)[-1]
    edges = income_edges(folder, manifest)
    part = read_partition(folder, manifest, 0)
    return verify_partition(subset(part, sample_families(part, families, seed=3)), scen.tables, scen.text, edges)


def test_verify_baseline_across_the_year_end(dataset):
    report = _verify(dataset, 100, [])
    assert report.mismatches == 0, report.examples
    assert report.families == 100 and report.claims > 1000 and report.refused == 0
    assert report.with_mutual_aid > 0 and report.later_year > 0 and report.rollovers >= 1


def test_verify_reform_with_caps_balance_order_and_another_year_start(dataset):
    report = _verify(
        dataset,
        100,
        [
            "benefit.employee.outpatient.cap.in_service=150",
            "benefit.employee.outpatient.cap.retired=150",
            "benefit.resident.inpatient.cap=1500",
            "mutual_aid.order=balance_desc",
            "mutual_aid.relations+=sibling",
            "mutual_aid.buckets=[historical]",
            "account.bucket_order=[historical, current]",
            "account.payable_parts=[ownpay, preselfpay, deductible, coinsurance]",
            "account.year_start=10-01",
            "benefit.employee.inpatient.deductible_scope=year",
            "benefit.employee.outpatient.account_segment=[historical, current]",
        ],
    )
    assert report.mismatches == 0, report.examples
    assert report.over_cap > 0 and report.with_mutual_aid > 0 and report.later_year > 0
    assert report.with_segment > 0  # a 当年账户段 from two buckets, in their order


# Every shipped region, across its medical-year start -------------------------------------------

REGION_PERIODS = {  # two months around each region's medical-year start
    "jiangxi-nanchang": (date(2024, 12, 1), date(2025, 2, 1)),
    "beijing": (date(2024, 12, 1), date(2025, 2, 1)),
    "guangdong-guangzhou": (date(2024, 12, 1), date(2025, 2, 1)),  # and its 2025 widening of mutual aid
    "shanghai": (date(2025, 6, 1), date(2025, 8, 1)),  # medical year from 07-01; the cap changes that day
}


@pytest.mark.parametrize("region", sorted(REGION_PERIODS))
def test_verify_every_region_across_its_medical_year_start(tmp_path, region):
    """The region's population, its policy read from the dataset, and 0 mismatches: Beijing's and
    Shanghai's age bands, Shanghai's 当年账户段 and its year from 07-01, Guangzhou's balance order."""
    start, end = REGION_PERIODS[region]
    generate(tmp_path, 700, start, end, seed=7, partitions=1, region=region)
    manifest = read_manifest(tmp_path)
    policy = load_policy(region)[0]
    assert manifest.region == region and manifest.admdvs == policy.admdvs
    scen = scenarios(None, None, manifest)[0]  # the dataset names its region
    assert scen.policy.region_id == region
    part = read_partition(tmp_path, manifest, 0)
    sample = subset(part, sample_families(part, 200, seed=3))
    report = verify_partition(sample, scen.tables, scen.text, income_edges(tmp_path, manifest))
    assert report.mismatches == 0, report.examples
    assert report.families == 200 and report.claims > 400 and report.refused == 0
    assert report.rollovers == 1 and report.later_year > 0 and report.with_mutual_aid > 0
    assert (report.upper_age_band > 0) == (region in ("beijing", "shanghai"))
    assert (report.with_segment > 0) == (region == "shanghai")


# What the kernel models, and the refusal of the rest -------------------------------------------


def test_the_kernel_compiles_the_settlements_own_functions():
    """One definition: what the kernel calls is the very function the per-claim calculation calls."""
    from yibao import money
    from yibao.lifecycle import model
    from yibao.settlement import amounts
    from yibao.simulate import compiled

    for name, home in (
        ("apply_ratio", money),
        ("deductible_due", amounts),
        ("within_cap", amounts),
        ("take", amounts),
        ("reduced_ratio", amounts),
        ("account_segment", amounts),
        ("whole_years", model),
    ):
        assert getattr(compiled, name).py_func is getattr(home, name), name
    assert compiled.whole_years(1980, 3, 16, 2025, 3, 15) == model.age_on(date(1980, 3, 16), date(2025, 3, 15)) == 44


def test_every_key_of_the_schema_is_read_by_the_kernel_or_declared_without_effect():
    from yibao.policy.schema import BENEFIT_FIELDS, FIXED

    assert set(FIXED) == set(READ) | set(NO_EFFECT) and not set(READ) & set(NO_EFFECT)
    assert set(BENEFIT_FIELDS) == set(BENEFIT_READ)


@pytest.mark.parametrize("region", sorted(REGION_PERIODS))
def test_the_tables_read_exactly_the_keys_declared_read(region):
    """A recording policy: every key the kernel's tables look up is declared in ``READ``, and every
    declared key the region file sets is looked up; nothing else in the file is silently ignored."""
    from dataclasses import fields

    from yibao.policy import Policy

    seen: set[str] = set()

    class Recording(Policy):
        def value(self, key, day, *args, **kw):
            seen.add(key)
            return super().value(key, day, *args, **kw)

        def has(self, key, day):
            seen.add(key)
            return super().has(key, day)

    policy = load_policy(region)[0]
    start, end = REGION_PERIODS[region]
    build_tables(Recording(**{f.name: getattr(policy, f.name) for f in fields(Policy)}), start, end, region)
    assert all(read_dims(k) is not None for k in seen), sorted(k for k in seen if read_dims(k) is None)
    in_file = set(policy.parameters)
    assert {k for k in in_file if read_dims(k) is not None} == seen & in_file
    assert all(k in seen or k in NO_EFFECT for k in in_file)


def _edited(region: str, old: str, new: str) -> str:
    text = shipped_policy_text(region)
    assert old in text
    return text.replace(old, new)


def test_a_key_the_kernel_does_not_read_is_refused_by_name(tmp_path):
    from yibao.policy.loader import load_policy_text

    own_key = _edited(
        "shanghai",
        "  offsite.ratio_reduction:",
        "  supplementary.fund_ratio:\n    description: 附加基金\n"
        "    values: {2021-01-01: {value: 0.5, source: illustrative}}\n  offsite.ratio_reduction:",
    )
    banded = _edited(
        "shanghai",
        "    description: 退休人员每月定额划入个人账户（元）\n    values: {2021-04-22: {value: 110.00,",
        "    description: 退休人员每月定额划入个人账户（元）\n    by: [age]\n"
        "    values: {2021-04-22: {value: {0: 110.00},",
    )
    start, end = REGION_PERIODS["shanghai"]
    for text, key, word in (
        (own_key, "supplementary.fund_ratio", "不读取"),
        (banded, "account.retiree_credit", "按年龄分档"),
    ):
        with pytest.raises(PolicyNotModelled) as exc:
            check_policy(load_policy_text(text, "sh.yaml"), start, end)
        assert exc.value.keys == [key] and key in str(exc.value) and word in str(exc.value)
    # An ended key decides nothing in the period.
    ended = own_key.replace(
        "{2021-01-01: {value: 0.5, source: illustrative}}",
        "{2021-01-01: {value: 0.5, source: illustrative}, 2022-01-01: {value: null, source: illustrative}}",
    )
    check_policy(load_policy_text(ended, "sh.yaml"), start, end)


def test_cli_generates_a_region_runs_it_from_the_dataset_and_refuses_what_it_cannot_model(tmp_path):
    data, out = tmp_path / "sh", tmp_path / "out"
    runner = CliRunner()
    made = runner.invoke(
        app,
        ["simulate", "generate", "--people", "300", "--out", str(data), "--start", "2025-05-01",
         "--months", "3", "--region", "shanghai"],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "310000" in made.output
    ran = runner.invoke(app, ["simulate", "run", str(data), "--out", str(out), "--verify", "30", "--no-report"])
    assert ran.exit_code == 0, ran.output
    assert "上海市" in ran.output and "不一致 0 处" in ran.output and "当年账户段" in ran.output
    other = runner.invoke(app, ["simulate", "run", str(data), "--region", "beijing", "--out", str(out)])
    assert other.exit_code == 2 and "310000" in other.output and "110000" in other.output
    policy = tmp_path / "sh.yaml"
    policy.write_text(
        _edited("shanghai", "  offsite.ratio_reduction:", "  supplementary.fund_ratio:\n    description: 附加基金\n"
                "    values: {2021-01-01: {value: 0.5, source: illustrative}}\n  offsite.ratio_reduction:"),
        encoding="utf-8",
    )  # fmt: skip
    refused = runner.invoke(app, ["simulate", "run", str(data), "--region", str(policy), "--out", str(out)])
    assert refused.exit_code == 2 and "supplementary.fund_ratio" in refused.output and "拒绝模拟" in refused.output
    floor = runner.invoke(
        app, ["simulate", "run", str(data), "--reform", "contribution.base_floor=40000", "--out", str(out)]
    )
    assert floor.exit_code == 2 and "contribution.base_floor" in floor.output


# Dask ----------------------------------------------------------------------------------------------


def test_dask_local_cluster_gives_the_same_totals(dataset):
    manifest = read_manifest(dataset)
    scens = scenarios("jiangxi-nanchang", reform_from_texts(["mutual_aid.relations+=sibling"]), manifest)
    local = run_dataset(dataset, scens)
    spread = run_dataset(dataset, scens, workers=2)
    assert spread.workers == 2 and spread.partitions == 2
    for key in ("baseline", "reform"):
        for name, value in local.sums[key].items():
            assert np.array_equal(value, spread.sums[key][name]), name
    assert local.comparison["sums"]["pay_less_cash"][0] == spread.comparison["sums"]["pay_less_cash"][0]


# Command line and report -------------------------------------------------------------------------


def test_cli_generate_run_and_report(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    runner = CliRunner()
    made = runner.invoke(app, ["simulate", "generate", "--people", "600", "--out", str(data), "--seed", "2"])
    assert made.exit_code == 0, made.output
    ran = runner.invoke(
        app,
        [
            "simulate", "run", str(data), "--reform", "mutual_aid.relations+=sibling",
            "--reform", "benefit.employee.outpatient.deductible=200", "--out", str(out), "--format", "csv",
        ],
    )  # fmt: skip
    assert ran.exit_code == 0, ran.output
    assert "统筹基金支出" in ran.output and "差额" in ran.output
    page = (out / "report.html").read_text(encoding="utf-8")
    chart_title = json.dumps("家庭共济：谁为谁付了多少")[1:-1]  # Plotly writes figure text JSON-escaped
    assert chart_title in page and "<h2>改革方案</h2>" in page and "南昌市" in page
    from plotly.offline import get_plotlyjs

    ours = page.replace(get_plotlyjs(), "")
    assert get_plotlyjs() in page and "src=" not in ours and "http" not in ours.split("数据来源")[0]  # offline
    assert (out / "by_decile.csv").exists() and (out / "families_gain.csv").exists()
    bad = runner.invoke(app, ["simulate", "run", str(data), "--reform", "mutual_aid.order=random", "--out", str(out)])
    assert bad.exit_code == 2 and "E8001-001" in bad.output


def test_policy_unknown_region_is_refused(dataset):
    with pytest.raises(PolicyError):
        scenarios("no-such-region", None, read_manifest(dataset))
    assert load_policy("jiangxi-nanchang")[0].region_id == "jiangxi-nanchang"


def test_export_from_a_database_and_verify_it(tmp_path):
    db, data, out = tmp_path / "year.sqlite", tmp_path / "data", tmp_path / "out"
    runner = CliRunner()
    assert runner.invoke(app, ["demo", "--db", str(db), "--year", "2025"]).exit_code == 0
    made = runner.invoke(app, ["simulate", "export", "--db", str(db), "--out", str(data), "--start", "2025-01-01"])
    assert made.exit_code == 0, made.output
    manifest = read_manifest(data)
    assert manifest.counts["claims"] == 3 and manifest.counts["grants"] == 3
    ran = runner.invoke(app, ["simulate", "run", str(data), "--out", str(out), "--verify", "5", "--no-report"])
    assert ran.exit_code == 0, ran.output
    assert "不一致 0 处" in ran.output
