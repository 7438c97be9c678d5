"""``yibao simulate``: generate a population, run it under today's policy and a reform, export, verify.

Heavy libraries (numba, pyarrow, Dask, Plotly) are imported inside the commands, so ``yibao --help``
and the platform itself do not need the ``[simulate]`` extra.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from yibao.errors import DomainError

simulate_app = typer.Typer(help="政策模拟：一年的结算在现行政策与改革方案下逐笔精确到分地重算", no_args_is_help=True)
console = Console(soft_wrap=True)
INSTALL = "模拟功能需要额外的依赖：pip install -e '.[simulate]'"


def _fail(message: str) -> None:
    console.print(f"[red]{message}[/red]")
    raise typer.Exit(2)


def _bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )


def _imports():
    try:
        import dask  # noqa: F401
        import numba  # noqa: F401
        import plotly  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        _fail(INSTALL)


def _parse_day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"{what}应为 YYYY-MM-DD：{text}")
        raise


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    return date(day.year + index // 12, index % 12 + 1, 1)


@simulate_app.command("generate")
def generate_cmd(
    people: int = typer.Option(..., "--people", help="人数（按家庭生成，实际人数略有出入）"),
    out: Path = typer.Option(Path("simulation-data"), "--out", help="数据集目录"),
    start: str = typer.Option("2025-01-01", "--start", help="模拟期间开始（某月1日）"),
    months: int = typer.Option(12, "--months", help="模拟月数（最长36）"),
    seed: int = typer.Option(1, "--seed", help="随机种子：同一种子得到同一人群与结算"),
    partitions: int = typer.Option(None, "--partitions", help="分区数（默认约每百万人一个分区）"),
    fmt: str = typer.Option("parquet", "--format", help="parquet 或 csv"),
    sets: list[str] = typer.Option([], "--set", help="覆盖人口参数，如 --set grant_takeup=0.6（取值按 YAML 读）"),
    region: str = typer.Option("jiangxi-nanchang", "--region", help="人群所在的统筹区：内置统筹区 id 或政策文件路径"),
) -> None:
    """生成可复现的合成人群（家庭、参保、账户余额、共济授权）和一段期间的结算，分布参数均注明来源与可信度。"""
    _imports()
    from yibao.simulate.data import SimulationInputError
    from yibao.simulate.generate import generate, load_spec
    from yibao.yamlio import load_yaml_text

    if fmt not in ("parquet", "csv"):
        _fail("--format 应为 parquet 或 csv")
    if not 1 <= people <= 2_000_000_000:
        _fail("--people 应在 1 与 20亿之间")
    begin = _parse_day(start, "--start")
    overrides = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep:
            _fail(f"--set 应写成 参数=取值：{item}")
        overrides[key.strip()] = load_yaml_text(value)
    try:
        spec = load_spec(overrides)
        with _bar() as bar:
            task = bar.add_task("生成分区", total=None)
            manifest = generate(
                out, people, begin, _add_months(begin, months), seed, partitions, spec, fmt,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                region=region, base=Path.cwd(),
            )  # fmt: skip
    except DomainError as exc:
        _fail(exc.err_msg)
    except (SimulationInputError, ValueError) as exc:
        _fail(str(exc))
    c = manifest.counts
    console.print(
        f"已生成 {out}：{c['people']:,} 人、{c['families']:,} 户、{c['grants']:,} 条共济授权、"
        f"{c['claims']:,} 笔结算（{manifest.start} 至 {manifest.end}，{manifest.partitions} 个分区，种子 {seed}，"
        f"医保区划 {manifest.admdvs}）"
    )


@simulate_app.command("run")
def run_cmd(
    data: Path = typer.Argument(..., help="数据集目录（generate 或 export 的输出）"),
    region: str = typer.Option(
        None, "--region", help="内置统筹区 id 或政策文件路径（默认：数据集生成时的统筹区）；须与数据集同一医保区划"
    ),
    reform: list[str] = typer.Option([], "--reform", help="改革：参数[@日期]=取值，或 += / -=，可重复"),
    reform_file: Path = typer.Option(None, "--reform-file", help="改革方案 YAML"),
    out: Path = typer.Option(Path("simulation-results"), "--out", help="结果目录（表格、summary.json、report.html）"),
    fmt: str = typer.Option("parquet", "--format", help="结果表格式：parquet 或 csv"),
    verify: int = typer.Option(0, "--verify", help="抽取N户经真实结算服务逐笔重放并核对"),
    workers: int = typer.Option(None, "--workers", help="在本机启动 Dask LocalCluster，N 个工作进程"),
    scheduler: str = typer.Option(None, "--scheduler", help="使用已有的 Dask 集群（如 tcp://host:8786）"),
    claims_out: bool = typer.Option(False, "--claims-out", help="同时写出逐笔结果（每个方案一组 Parquet 分区）"),
    report: bool = typer.Option(True, "--report/--no-report", help="生成 HTML 报告"),
    seed: int = typer.Option(1, "--seed", help="--verify 抽样的随机种子"),
) -> None:
    """在现行政策与改革方案下逐户、逐笔、按时间顺序重算结算，输出基金支出、账户与共济、现金及差额。"""
    _imports()
    from yibao.policy import combine_reforms, load_reform_file, reform_from_texts
    from yibao.simulate.data import SimulationInputError, read_manifest
    from yibao.simulate.report import write_report
    from yibao.simulate.results import summary, write_results
    from yibao.simulate.runner import SCENARIO_NAMES, run_dataset, scenarios

    if fmt not in ("parquet", "csv"):
        _fail("--format 应为 parquet 或 csv")
    try:
        manifest = read_manifest(data)
        reforms = [reform_from_texts(reform)] if reform else []
        if reform_file:
            reforms.append(load_reform_file(reform_file))
        the_reform = combine_reforms(*reforms) if reforms else None
        scens = scenarios(region, the_reform, manifest, Path.cwd())
        with _bar() as bar:
            task = bar.add_task(f"模拟 {len(scens)} 个方案", total=manifest.partitions)

            def progress(done: int, total: int, claims: int) -> None:
                bar.update(task, completed=done, description=f"模拟 {len(scens)} 个方案（已算 {claims:,} 笔）")

            result = run_dataset(
                data, scens, claims_out=out / "claims" if claims_out else None,
                workers=workers, scheduler=scheduler, progress=progress,
            )  # fmt: skip
        if verify:
            result.verify = _verify(data, manifest, scens, verify, seed)
    except (SimulationInputError, DomainError) as exc:
        _fail(exc.err_msg if isinstance(exc, DomainError) else str(exc))
        return
    written = write_results(result, out, fmt)
    s = summary(result)
    table = Table(title=f"{scens[0].policy.name}：{manifest.start} 至 {manifest.end}", title_justify="left")
    table.add_column("")
    keys = [k for k in ("baseline", "reform", "diff") if k in s]
    for k in keys:
        table.add_column({"diff": "差额"}.get(k, SCENARIO_NAMES.get(k, k)), justify="right")
    from yibao.money import fmt_yuan
    from yibao.simulate.results import MEASURE_NAMES

    for m in ("medfee_fen", "fund_fen", "own_account_fen", "mutual_aid_fen", "cash_fen"):
        table.add_row(MEASURE_NAMES[m] + "（元）", *(fmt_yuan(s[k][m]) for k in keys))
    table.add_row("期末账户余额（元）", *(fmt_yuan(s[k]["closing_balance_fen"]) for k in keys))
    table.add_row("有现金支付的家庭", *(f"{s[k]['families_paying_cash']:,}" for k in keys))
    console.print(table)
    console.print(
        f"{result.claims:,} 笔 × {len(scens)} 个方案，用时 {result.seconds:.1f} 秒"
        f"（{result.claims_per_second / 1e6:.1f} 百万笔/秒，内核 {result.kernel_seconds:.1f} 秒，"
        f"{result.workers} 个进程）"
    )
    if result.verify:
        v = result.verify
        colour = "green" if v["mismatches"] == 0 else "red"
        console.print(
            f"[{colour}]核对：{v['families']:,} 户、{v['claims']:,} 笔、{v['compared_figures']:,} 个数字，"
            f"不一致 {v['mismatches']} 处[/{colour}]（共济 {v['with_mutual_aid']:,} 笔，触及限额 {v['over_cap']:,} 笔，"
            f"跨医疗年度 {v['later_year']:,} 笔"
            + (f"，当年账户段 {v['with_segment']:,} 笔" if v["with_segment"] else "")
            + (f"，较高年龄段 {v['upper_age_band']:,} 笔" if v["upper_age_band"] else "")
            + "）"
        )
        for line in v["examples"][:10]:
            console.print(f"  [red]✗[/red] {line}", highlight=False)
    if report:
        path = write_report(result, out / "report.html")
        console.print(f"报告：{path}")
    console.print(f"结果表：{out}（{len(written)} 个文件）")
    if result.verify and result.verify["mismatches"]:
        raise typer.Exit(1)


def _verify(data: Path, manifest, scens, families: int, seed: int) -> dict:
    import numpy as np

    from yibao.simulate.data import read_partition
    from yibao.simulate.runner import income_edges
    from yibao.simulate.verify import VerifyReport, sample_families, subset, verify_partition

    edges = income_edges(data, manifest)
    per_part = math.ceil(families / manifest.partitions)
    samples = []
    left = families
    for i in range(manifest.partitions):
        if left <= 0:
            break
        part = read_partition(data, manifest, i)
        chosen = sample_families(part, min(per_part, left), seed)
        left -= len(chosen)
        samples.append(subset(part, chosen))
    total = sum(s.claims.num_rows for s in samples) * len(scens)
    merged = VerifyReport()
    with _bar() as bar:
        task = bar.add_task("逐笔核对（真实结算服务）", total=total)
        done = 0
        for scen in scens:
            for sample in samples:
                base = done
                report = verify_partition(
                    sample, scen.tables, scen.text, edges,
                    progress=lambda n, _t, base=base: bar.update(task, completed=base + n),
                )  # fmt: skip
                done += report.claims
                merged.merge(report)
    out = {k: v for k, v in merged.__dict__.items()}
    out["mismatches"] = merged.mismatches
    out["families"] = sum(len(np.unique(s.people["family_id"].to_numpy())) for s in samples)
    out["scenarios"] = len(scens)
    return out


@simulate_app.command("export")
def export_cmd(
    db: str = typer.Option(..., "--db", help="yibao 数据库 URL 或 SQLite 文件路径"),
    out: Path = typer.Option(Path("simulation-data"), "--out", help="数据集目录"),
    start: str = typer.Option(..., "--start", help="期间开始（某月1日）"),
    months: int = typer.Option(12, "--months", help="月数"),
    fmt: str = typer.Option("parquet", "--format", help="parquet 或 csv"),
) -> None:
    """从 yibao 数据库导出人员、期初余额、共济授权和期间内的结算，供 run 在不同政策下重算。"""
    _imports()
    from yibao.simulate.data import SimulationInputError
    from yibao.simulate.export import export

    begin = _parse_day(start, "--start")
    try:
        manifest = export(db, out, begin, _add_months(begin, months), fmt)
    except (SimulationInputError, DomainError) as exc:
        _fail(exc.err_msg if isinstance(exc, DomainError) else str(exc))
        return
    c = manifest.counts
    console.print(
        f"已导出 {out}：{c['people']:,} 人、{c['families']:,} 户、{c['grants']:,} 条授权、{c['claims']:,} 笔结算"
    )
