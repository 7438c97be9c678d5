"""The ``yibao`` command (Typer + Rich)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from yibao.errors import DomainError

app = typer.Typer(help="yibao（医保）：个人账户、家庭共济与结算引擎", no_args_is_help=True, add_completion=False)
policy_app = typer.Typer(help="政策参数：查看某统筹区某日生效的参数", no_args_is_help=True)
cases_app = typer.Typer(help="案例文件：运行验收案例、把案例世界载入数据库", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
app.add_typer(cases_app, name="cases")

console = Console(soft_wrap=True)


def fail(exc: DomainError) -> None:
    console.print(f"[red]{exc.err_msg}[/red]")
    raise typer.Exit(2)


@policy_app.command("show")
def policy_show(
    region: str = typer.Argument(..., help="内置统筹区 id（如 jiangxi-nanchang）或政策文件路径"),
    on: str = typer.Option(None, "--date", help="日期 YYYY-MM-DD，默认今天"),
    key: str = typer.Argument(None, help="只看某个参数（或参数前缀，如 benefit.employee）"),
) -> None:
    """打印某日生效的政策参数、生效日期与来源（D级来源标为示意）。"""
    from yibao.policy import load_policy

    try:
        day = date.fromisoformat(on) if on else date.today()
    except ValueError:
        console.print(f"[red]日期格式应为 YYYY-MM-DD：{on}[/red]")
        raise typer.Exit(2) from None
    try:
        policy, _ = load_policy(region, Path.cwd())
    except DomainError as exc:
        fail(exc)
    rows = [r for r in policy.in_force(day) if key is None or r.key == key or r.key.startswith(key + ".")]
    if key and not rows:
        console.print(f"[red]{day} 没有生效的参数 {key}[/red]")
        raise typer.Exit(1)
    table = Table(title=f"{policy.name}（{policy.region_id}，区划 {policy.admdvs}）{day} 生效的参数", show_lines=False)
    for col in ("参数", "取值", "维度", "生效日期", "来源"):
        table.add_column(col, overflow="fold")
    for r in rows:
        grade = f"{r.source.grade}级" + ("·示意" if r.source.illustrative else "")
        table.add_row(
            r.key,
            _show(r.raw),
            ",".join(r.by) or "—",
            r.since.isoformat() if r.since != date.min else "覆盖",
            f"{r.source.title}（{grade}）",
        )
    console.print(table)


def _show(value) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_show(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_show(v) for v in value)
    return str(value)


@cases_app.command("run")
def cases_run(
    paths: list[Path] = typer.Argument(..., help="案例文件或目录"),
    server: str = typer.Option(
        None, "--server", help="通过 HTTP 对运行中的 yibao 服务运行（如 http://127.0.0.1:8080）"
    ),
    admin_token: str = typer.Option(None, "--admin-token", envvar="YIBAO_ADMIN_TOKEN", help="服务端管理令牌"),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="列出每个案例的步骤数"),
) -> None:
    """运行案例：每个案例一行通过/失败；失败时列出每个不符的期望。有失败则退出码非零。"""
    from yibao.cases.model import case_files
    from yibao.cases.runner import run_case

    files = case_files(list(paths))
    if not files:
        console.print("[red]没有找到案例文件[/red]")
        raise typer.Exit(2)
    if server:
        from yibao.cases.http_driver import HttpDriver

        def make():
            return HttpDriver(server, admin_token)
    else:
        from yibao.cases.driver import InProcessDriver

        make = InProcessDriver
    failed = 0
    for path in files:
        outcome = run_case(path, make)
        mark = "[green]通过[/green]" if outcome.passed else "[red]失败[/red]"
        steps = f" （{outcome.steps_run}步）" if verbose else ""
        console.print(f"{mark} {path.name} — {outcome.name}{steps}")
        for line in outcome.failures:
            console.print(f"      [red]✗[/red] {line}", highlight=False)
        failed += not outcome.passed
    console.print(f"{len(files) - failed} 通过，{failed} 失败，共 {len(files)} 个案例")
    raise typer.Exit(1 if failed else 0)


@cases_app.command("load")
def cases_load(
    file: Path = typer.Argument(..., help="案例文件"),
    db: str = typer.Option("yibao.sqlite", "--db", help="数据库 URL 或 SQLite 文件路径"),
) -> None:
    """把案例的世界（政策、机构、目录、人员、家庭关系）载入数据库，供 yibao serve 使用；不运行步骤。"""
    from yibao.cases.model import CaseError, load_case_file
    from yibao.cases.world import load_world
    from yibao.services.platform import FixedClock, Platform
    from yibao.storage.uow import Store

    try:
        case = load_case_file(file)
        store = Store.open(db)
        handles = load_world(Platform(store, FixedClock(case.date)), case, file.parent, str(file))
    except (CaseError, DomainError) as exc:
        fail(exc)
    table = Table(title=f"已载入：{case.name}")
    for col in ("人员", "姓名", "psn_no", "身份证号", "社保卡号", "卡识别码", "电子凭证令牌"):
        table.add_column(col, overflow="fold")
    for handle, h in handles.items():
        table.add_row(handle, h.name, h.psn_no, h.certno, h.card_no, h.card_sn, h.ec_token)
    console.print(table)


@app.command()
def demo(
    db: str = typer.Option("sqlite://", "--db", help="数据库（默认内存中的 SQLite）"),
    year: int = typer.Option(None, "--year", help="改为演示这一家人一整年的个人账户（逐月缴费、划账、消费、年终结转）"),
) -> None:
    """演示：一个家庭（在职职工、授权共济的退休父母、参加居民医保的孩子），一次药店购药和一次门诊。"""
    from yibao.cli.demo import run_demo, run_year

    try:
        if year:
            run_year(console, db, year)
        else:
            run_demo(console, db)
    except DomainError as exc:
        fail(exc)


@app.command()
def serve(
    db: str = typer.Option("yibao.sqlite", "--db", help="数据库 URL 或 SQLite 文件路径（默认 yibao.sqlite）"),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8080, "--port"),
    sandbox: bool = typer.Option(False, "--sandbox", help="沙箱：关闭机构认证、允许明文密码、开放沙箱接口与可拨动时钟"),
    admin_token: str = typer.Option(None, "--admin-token", envvar="YIBAO_ADMIN_TOKEN", help="管理接口令牌"),
    log_level: str = typer.Option("info", "--log-level"),
    demo: bool = typer.Option(False, "--demo", help="数据库为空时载入演示家庭、两笔结算和演示经办账号"),
    gateway_prefix: str = typer.Option(
        None, "--gateway-prefix", envvar="YIBAO_GATEWAY_PREFIX", help="国家接口地址另加的路径前缀（各地网关部署用）"
    ),
    sign_in: str = typer.Option(
        None,
        "--sign-in",
        envvar="YIBAO_SIGN_IN",
        help="required（默认，沙箱除外）或 optional：本部署不要求先签到（每笔交易都经签名认证的网关）",
    ),
    strict_fields: bool = typer.Option(
        False, "--strict-fields", envvar="YIBAO_STRICT_FIELDS", help="按规范拒绝缺少的全部必填字段（含平台不需要的）"
    ),
) -> None:
    """启动平台服务：国家接口 /fsi/api/rsfComIfsService/callService 与管理接口 /api/v1（启动时自动迁移数据库）。"""
    import logging
    import secrets

    import uvicorn

    from yibao.api.app import create_app
    from yibao.api.logs import configure
    from yibao.services.platform import Platform, SandboxClock, SystemClock
    from yibao.storage.uow import Store

    configure(getattr(logging, log_level.upper(), logging.INFO))
    store = Store.open(db)
    token = admin_token or ("sandbox" if sandbox else secrets.token_urlsafe(24))
    if sign_in not in (None, "required", "optional"):
        raise typer.BadParameter("--sign-in 应为 required 或 optional")
    p = Platform(
        store,
        SandboxClock() if sandbox else SystemClock(),
        sandbox=sandbox,
        require_sign_in=(sign_in or ("optional" if sandbox else "required")) == "required",
        strict_fields=strict_fields,
    )
    if sandbox:
        console.print(
            "[bold yellow]沙箱模式：机构认证已关闭，接受 plain: 明文密码，/api/v1/sandbox 可清空数据和拨动时钟。"
            "切勿用于生产。[/bold yellow]"
        )
    if demo:
        with store.uow(read_only=True) as tx:
            empty = not tx.config.regions()
        if empty:
            from yibao.cli.demo import seed_server

            fam = seed_server(p)
            console.print(
                "已载入演示数据：门户 /portal/ 用身份证号登录，密码 123456："
                + "、".join(f"{c.person.name} {c.person.certno}" for c in fam.values())
            )
            console.print("经办控制台 /console/：operator / operator123（可撤销），viewer / viewer1234（只读）")
    if not admin_token:
        console.print(f"管理令牌（Authorization: Bearer …）：[bold]{token}[/bold]")
    console.print(f"yibao 服务：http://{host}:{port}  数据库：{store.engine.url.render_as_string(hide_password=True)}")
    uvicorn.run(
        create_app(p, admin_token=token, gateway_prefix=gateway_prefix),
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
    )


db_app = typer.Typer(help="数据库：迁移到最新结构", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(db: str = typer.Option("yibao.sqlite", "--db", help="数据库 URL 或 SQLite 文件路径")) -> None:
    """把数据库结构迁移到最新版本（Alembic）。"""
    from yibao.storage.migrate import current_revision
    from yibao.storage.uow import Store

    store = Store.open(db)
    console.print(f"数据库已是最新结构：{current_revision(store.engine)}")


jobs_app = typer.Typer(help="定时作业：月末划账、年终结转（幂等、可续跑）", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


@jobs_app.command("run")
def jobs_run(
    until: str = typer.Option(..., "--until", help="运行到该时刻（YYYY-MM-DD 或 YYYY-MM-DDTHH:MM:SS）"),
    db: str = typer.Option("yibao.sqlite", "--db", help="数据库 URL 或 SQLite 文件路径"),
) -> None:
    """运行到期的月末划账和年度结转。重复运行不会重复记账；中途中断后再次运行会从断点继续。"""
    from datetime import datetime

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from yibao.services import jobs
    from yibao.services.platform import FixedClock, Platform
    from yibao.storage.uow import Store

    try:
        to = datetime.fromisoformat(until if "T" in until else f"{until}T00:00:00")
    except ValueError:
        console.print(f"[red]时间格式应为 YYYY-MM-DD[THH:MM:SS]：{until}[/red]")
        raise typer.Exit(2) from None
    p = Platform(Store.open(db), FixedClock(to))
    names = {"rollover": "年度结转", "retiree_credit": "退休人员划账"}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console) as bar:
        tasks: dict[str, int] = {}

        def progress(job: str, done: int, total: int) -> None:
            if job not in tasks:
                tasks[job] = bar.add_task(names.get(job, job), total=total)
            bar.update(tasks[job], completed=done, total=total)
            if done == total:
                del tasks[job]

        try:
            ran = jobs.run_until(p, to, progress)
        except DomainError as exc:
            fail(exc)
    for line in ran or ["没有到期的作业"]:
        console.print(line)


accounts_app = typer.Typer(help="个人账户：按月查看余额与收支", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")


@accounts_app.command("monthly")
def accounts_monthly(
    psn_nos: list[str] = typer.Argument(..., help="人员编号 psn_no（可多个）"),
    year: int = typer.Option(..., "--year", help="年份"),
    db: str = typer.Option("yibao.sqlite", "--db", help="数据库 URL 或 SQLite 文件路径"),
) -> None:
    """逐月列出个人账户：月末当年/历年余额，以及当月划入、支出、共济、结转。"""
    from yibao.services.platform import Platform
    from yibao.services.statements import monthly_statement
    from yibao.storage.uow import Store

    p = Platform(Store.open(db))
    for psn_no in psn_nos:
        try:
            name, rows = monthly_statement(p, psn_no, year)
        except DomainError as exc:
            fail(exc)
        table = Table(title=f"{name}（{psn_no}）{year}年个人账户逐月")
        for col in ("月份", "划入", "本人支出", "为亲属共济", "结转", "月末当年账户", "月末历年账户", "合计"):
            table.add_column(col, justify="right")
        for r in rows:
            table.add_row(r.month, r.credited, r.spent, r.shared, r.rolled, r.current, r.historical, r.total)
        console.print(table)


staff_app = typer.Typer(help="经办人员账号", no_args_is_help=True)
app.add_typer(staff_app, name="staff")


@staff_app.command("add")
def staff_add(
    username: str = typer.Argument(..., help="用户名"),
    role: str = typer.Option("viewer", "--role", help="viewer（查询）或 operator（经办，可撤销结算）"),
    name: str = typer.Option(None, "--name", help="姓名"),
    db: str = typer.Option("yibao.sqlite", "--db", help="数据库 URL 或 SQLite 文件路径"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True, help="至少8位"),
) -> None:
    """新增经办控制台的工作人员账号。"""
    from yibao.services.platform import Platform
    from yibao.services.signin import add_staff
    from yibao.storage.uow import Store

    try:
        staff = add_staff(Platform(Store.open(db)), username, name or username, role, password)
    except DomainError as exc:
        fail(exc)
    console.print(f"已新增：{staff.username}（{staff.role}）")


@app.command()
def errors() -> None:
    """列出全部稳定错误代码及其中文含义（HIS 对接时按代码处理拒绝）。"""
    from yibao.errors import CATALOGUE

    table = Table(title="yibao 错误代码")
    table.add_column("代码")
    table.add_column("含义", overflow="fold")
    for code, text in CATALOGUE.items():
        table.add_row(code, text.replace("{", "‹").replace("}", "›"))
    console.print(table)


def main() -> None:  # pragma: no cover
    app(sys.argv[1:])
