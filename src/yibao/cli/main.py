"""The ``yibao`` command (Typer + Rich)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import typer

from yibao.cli.catalog import catalog_app
from yibao.cli.output import Sheet, make_console
from yibao.errors import DomainError
from yibao.money import fmt_yuan
from yibao.simulate.cli import simulate_app
from yibao.storage.opening import CannotOpen, open_store

app = typer.Typer(help="yibao（医保）：个人账户、家庭共济与结算引擎", no_args_is_help=True, add_completion=False)
policy_app = typer.Typer(help="政策参数：查看某统筹区某日生效的参数", no_args_is_help=True)
cases_app = typer.Typer(help="案例文件：运行验收案例、把案例世界载入数据库", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
app.add_typer(cases_app, name="cases")
app.add_typer(simulate_app, name="simulate")
app.add_typer(catalog_app, name="catalog")

console = make_console()


def fail(exc: DomainError) -> None:
    console.print(f"[red]{exc.err_msg}[/red]", markup=True, highlight=False)
    raise typer.Exit(2)


def say_and_exit(message: str, code: int = 2) -> None:
    """A first-run problem: one Chinese sentence saying what to do, no traceback."""
    console.print(message, style="red", markup=False, highlight=False)
    raise typer.Exit(code)


def store_at(db: str, *, migrate: bool = True):
    try:
        return open_store(db, migrate=migrate)
    except CannotOpen as exc:
        say_and_exit(str(exc))


@policy_app.command("show")
def policy_show(
    region: str = typer.Argument(..., help="内置统筹区 id（如 jiangxi-nanchang）或政策文件路径"),
    on: str = typer.Option(None, "--date", help="日期 YYYY-MM-DD，默认今天"),
    key: str = typer.Argument(None, help="只看某个参数（或参数前缀，如 benefit.employee）"),
) -> None:
    """打印某日生效的政策参数、生效日期与来源（D级来源标为示意）。"""
    from yibao.policy import load_policy
    from yibao.words import DIMENSION_NAMES, policy_value_text

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
    table = Sheet(
        f"{policy.name}（{policy.region_id}，区划 {policy.admdvs}）{day} 生效的参数",
        [("参数", "text"), ("取值", "text"), ("维度", "text"), ("生效日期", "code"), ("来源", "text")],
    )
    for r in rows:
        grade = f"{r.source.grade}级" + ("·示意" if r.source.illustrative else "")
        table.add_row(
            r.key,
            policy_value_text(r.key, r.value, r.by),
            "、".join(DIMENSION_NAMES.get(d, d) for d in r.by) or "—",
            r.since.isoformat() if r.since != date.min else "覆盖",
            f"{r.source.title}（{grade}）",
        )
    table.print(console)


@cases_app.command("run")
def cases_run(
    paths: list[Path] = typer.Argument(..., help="案例文件或目录"),
    server: str = typer.Option(
        None, "--server", help="通过 HTTP 对运行中的沙箱服务运行（如 http://127.0.0.1:8080）；每个案例先清空沙箱"
    ),
    admin_token: str = typer.Option(None, "--admin-token", envvar="YIBAO_ADMIN_TOKEN", help="服务端管理令牌"),
    clear_sandbox: bool = typer.Option(
        False, "--clear-sandbox", help="确认清空沙箱中不是由案例载入的数据（如 --demo 演示家庭）"
    ),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="列出每个案例的步骤数"),
) -> None:
    """运行案例：每个案例一行通过/失败；失败时列出每个不符的期望。有失败则退出码非零。"""
    from yibao.cases.runner import run_case
    from yibao.services.case_file import case_files

    files = case_files(list(paths))
    if not files:
        say_and_exit("没有找到案例文件")
    if server:
        import httpx

        from yibao.cases.http_driver import HttpDriver, ServerProblem, check_server

        def make():
            return HttpDriver(server, admin_token, clear=clear_sandbox)

        try:
            check_server(server)
        except ServerProblem as exc:
            say_and_exit(str(exc))
        lost: tuple[type[Exception], ...] = (httpx.TransportError,)
        refused: tuple[type[Exception], ...] = (ServerProblem,)
    else:
        from yibao.cases.driver import InProcessDriver

        make, lost, refused = InProcessDriver, (), ()
    failed = 0
    for path in files:
        try:
            outcome = run_case(path, make)
        except refused as exc:
            say_and_exit(str(exc))
        except lost as exc:
            say_and_exit(f"运行 {path.name} 时与 yibao 服务 {server} 的连接中断（{type(exc).__name__}），已停止。")
        mark = "[green]通过[/green]" if outcome.passed else "[red]失败[/red]"
        steps = f" （{outcome.steps_run}步）" if verbose else ""
        console.print(f"{mark} {path.name} — {outcome.name}{steps}", highlight=False)
        for line in outcome.failures:
            console.print("      ✗ " + line, highlight=False, markup=False)
        failed += not outcome.passed
    console.print(f"{len(files) - failed} 通过，{failed} 失败，共 {len(files)} 个案例")
    raise typer.Exit(1 if failed else 0)


@cases_app.command("load")
def cases_load(
    file: Path = typer.Argument(..., help="案例文件"),
    db: str = typer.Option("yibao.sqlite", "--db", help="数据库 URL 或 SQLite 文件路径"),
) -> None:
    """把案例的世界（政策、机构、目录、人员、家庭关系）载入数据库，供 yibao serve 使用；不运行步骤。"""
    from yibao.services.case_file import CaseError, load_case_file
    from yibao.services.case_world import load_world
    from yibao.services.platform import FixedClock, Platform

    try:
        case = load_case_file(file)
        store = store_at(db)
        handles = load_world(Platform(store, FixedClock(case.date)), case, file.parent, str(file))
    except (CaseError, DomainError) as exc:
        fail(exc)
    table = Sheet(
        f"已载入：{case.name}",
        [
            ("人员", "text"),
            ("姓名", "text"),
            ("psn_no", "code"),
            ("身份证号", "code"),
            ("社保卡号", "code"),
            ("卡识别码", "code"),
            ("电子凭证令牌", "code"),
        ],
    )
    for handle, h in handles.items():
        table.add_row(handle, h.name, h.psn_no, h.certno, h.card_no, h.card_sn, h.ec_token)
    table.print(console)


@app.command()
def demo(
    db: str = typer.Option("sqlite://", "--db", help="数据库（默认内存中的 SQLite）"),
    year: int = typer.Option(None, "--year", help="改为演示这一家人一整年的个人账户（逐月缴费、划账、消费、年终结转）"),
    region: str = typer.Option(None, "--region", help="在哪个内置统筹区演示（如 310000 或 shanghai；默认南昌）"),
) -> None:
    """演示：一个家庭（在职职工、授权共济的退休父母、参加居民医保的孩子），一次药店购药和一次门诊。"""
    from yibao.cli.demo import run_demo, run_year

    try:
        if year:
            run_year(console, db, year)
        else:
            run_demo(console, db, region=region)
    except DomainError as exc:
        fail(exc)
    except CannotOpen as exc:
        say_and_exit(str(exc))


@app.command()
def serve(
    db: str = typer.Option("yibao.sqlite", "--db", help="数据库 URL 或 SQLite 文件路径（默认 yibao.sqlite）"),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8080, "--port"),
    sandbox: bool = typer.Option(False, "--sandbox", help="沙箱：关闭机构认证、允许明文密码、开放沙箱接口与可拨动时钟"),
    admin_token: str = typer.Option(None, "--admin-token", envvar="YIBAO_ADMIN_TOKEN", help="管理接口令牌"),
    log_level: str = typer.Option("info", "--log-level"),
    demo: bool = typer.Option(
        False, "--demo", help="数据库为空时载入演示家庭、两笔结算、演示经办账号（生产模式下另签发演示机构的接口凭据）"
    ),
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
    api_docs: str = typer.Option(
        None,
        "--api-docs",
        envvar="YIBAO_API_DOCS",
        help="接口文档 /docs、/redoc、/openapi.json：public 公开，admin 须管理令牌或经办人员登录，off 关闭"
        "（默认：沙箱 public，生产 admin）",
    ),
    forwarded_allow_ips: str = typer.Option(
        None,
        "--forwarded-allow-ips",
        envvar="FORWARDED_ALLOW_IPS",
        help="信任其 X-Forwarded-For 的反向代理地址（逗号分隔，默认 127.0.0.1）；门户按客户端地址限制登录",
    ),
    region: str = typer.Option(
        None,
        "--region",
        help="本实例运行的统筹区：医保区划（如 310000）或内置 id（如 shanghai）；不给出时一个库可放多个统筹区",
    ),
    nats_url: str = typer.Option(
        None,
        "--nats",
        envvar="YIBAO_NATS",
        help="统筹区之间的链路（NATS JetStream 地址）：办理异地就医直接结算，须同时给出 --region",
    ),
    link_prefix: str = typer.Option("yibao", "--link-prefix", envvar="YIBAO_LINK_PREFIX", help="链路流与主题的前缀"),
    peers: str = typer.Option(None, "--peers", help="启动时登记的对端统筹区（医保区划，逗号分隔）"),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        max=64,
        envvar="YIBAO_WORKERS",
        help="服务进程数（默认 1）：一个进程只用一个 CPU 核；多个进程共用端口，各有自己的数据库连接池。"
        "须用 PostgreSQL，不能与 --sandbox、--nats 同用",
    ),
) -> None:
    """启动平台服务：国家接口 /fsi/api/rsfComIfsService/callService 与管理接口 /api/v1（启动时自动迁移数据库）。"""
    import logging
    import os
    import secrets

    import uvicorn

    from yibao.api.app import create_app
    from yibao.api.logs import configure
    from yibao.services.platform import Platform, SandboxClock, SystemClock, platform_settings
    from yibao.web.docs import API_DOCS

    if api_docs not in (None, *API_DOCS):
        say_and_exit(f"--api-docs 应为 {' / '.join(API_DOCS)}：{api_docs}")
    if workers > 1:
        if sandbox:
            say_and_exit("--workers 大于 1 时不能用 --sandbox：沙箱的可拨动时钟在一个进程之内")
        if nats_url:
            say_and_exit("--workers 大于 1 时不能用 --nats：统筹区之间的链路只能由一个进程接收")
        if not db.startswith(("postgresql:", "postgresql+", "postgres:")):
            say_and_exit("--workers 大于 1 须用 PostgreSQL 数据库：SQLite 同一时刻只允许一个写入者")
    configure(getattr(logging, log_level.upper(), logging.INFO))
    home = None
    if region:
        from yibao.services.regions import resolve_region

        try:
            home = resolve_region(region)[0]
        except DomainError as exc:
            fail(exc)
    store = store_at(db)
    token = admin_token or ("sandbox" if sandbox else secrets.token_urlsafe(24))
    if sign_in not in (None, "required", "optional"):
        say_and_exit(f"--sign-in 应为 required 或 optional：{sign_in}")
    try:
        settings = platform_settings(os.environ)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    p = Platform(
        store,
        SandboxClock() if sandbox else SystemClock(),
        sandbox=sandbox,
        require_sign_in=(sign_in or ("optional" if sandbox else "required")) == "required",
        strict_fields=strict_fields,
        region=home.admdvs if home else None,
        **settings,
    )
    if sandbox:
        console.print(
            "[bold yellow]沙箱模式：机构认证已关闭，接受 plain: 明文密码，/api/v1/sandbox 可清空数据和拨动时钟。"
            "切勿用于生产。[/bold yellow]"
        )
    if demo:
        _serve_demo(p)
    if home is not None:
        from yibao.services.regions import install_region

        install_region(p, home.admdvs, sites=sandbox or demo)
        console.print(f"统筹区：{home.name}（{home.region_id}，医保区划 {home.admdvs}）")
    if nats_url:
        if home is None:
            say_and_exit("--nats 需要 --region：链路上的每个实例代表一个统筹区")
        from yibao.regionlink.runner import start_link
        from yibao.services.regionlink import add_peer
        from yibao.services.regions import resolve_region

        for peer in filter(None, (peers or "").split(",")):
            try:
                add_peer(p, peer.strip(), resolve_region(peer.strip())[0].name)
            except DomainError as exc:
                fail(exc)
        try:
            start_link(p, [nats_url], prefix=link_prefix)
        except DomainError as exc:
            fail(exc)
        console.print(f"统筹区之间的链路：{nats_url}（前缀 {link_prefix}）")
    if not admin_token:
        console.print(f"管理令牌（Authorization: Bearer …）：[bold]{token}[/bold]")
    console.print(f"yibao 服务：http://{host}:{port}  数据库：{store.engine.url.render_as_string(hide_password=True)}")
    if workers > 1:
        from yibao.cli.serving import ENV, worker_options

        console.print(f"服务进程：{workers} 个（各有自己的数据库连接池）")
        store.dispose()  # the workers open their own; the parent only supervises them
        os.environ[ENV] = worker_options(
            db=db,
            admin_token=token,
            log_level=log_level,
            require_sign_in=p.require_sign_in,
            strict_fields=strict_fields,
            region=p.region,
            api_docs=api_docs,
            gateway_prefix=gateway_prefix,
        )
        uvicorn.run(
            "yibao.cli.serving:worker_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,
            forwarded_allow_ips=forwarded_allow_ips,
        )
        return
    from yibao.cli.serving import freeze_startup_heap

    app = create_app(p, admin_token=token, api_docs=api_docs, gateway_prefix=gateway_prefix)
    freeze_startup_heap()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        forwarded_allow_ips=forwarded_allow_ips,
    )


def _serve_demo(p) -> None:
    """``serve --demo``: seed an empty database (all or nothing), or say why it was not seeded."""
    from yibao.cli.demo import DemoSeedFailed, demo_state, seed_server

    state = demo_state(p)
    if state == "other":
        console.print("数据库中已有其他数据：--demo 只在空数据库上载入演示数据，本次未载入。")
        return
    if state is not None:
        console.print(
            f"演示数据已于 {state} 载入。门户 /portal/ 密码 123456；"
            "经办控制台 operator / operator123、viewer / viewer1234。"
        )
        if not p.sandbox:
            console.print(
                "机构凭据只在首次载入时显示；需要新凭据：POST /api/v1/institutions/{机构编号}/credentials（管理令牌）。"
            )
        return
    try:
        seeded = seed_server(p)
    except DemoSeedFailed as exc:
        say_and_exit(str(exc))
    console.print(
        "已载入演示数据：门户 /portal/ 用身份证号登录，密码 123456："
        + "、".join(f"{c.person.name} {c.person.certno}" for c in seeded.family.values())
    )
    console.print("经办控制台 /console/：operator / operator123（可撤销），viewer / viewer1234（只读）")
    if seeded.credentials:
        table = Sheet(
            "演示机构的接口凭据（只显示这一次）：请求头 x-api-key；或 TIF 签名头（x-tif-paasid 即机构编号，"
            "签名用 tif_token）；或省级服务网关签名头（_api_access_key，签名用 SK）"
            + ("；先 9001 签到取得 sign_no" if p.require_sign_in else "；本部署不要求签到")
            + "，详见 docs/gateway.md",
            [
                ("机构", "text"),
                ("fixmedins_code", "code"),
                ("x-api-key", "code"),
                ("tif_token", "code"),
                ("_api_access_key", "code"),
                ("SK", "code"),
            ],
        )
        for c in seeded.credentials:
            table.add_row(c["name"], c["institution"], c["api_key"], c["tif_token"], c["gateway_ak"], c["gateway_sk"])
        table.print(console)


db_app = typer.Typer(help="数据库：迁移到最新结构", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(db: str = typer.Option("yibao.sqlite", "--db", help="数据库 URL 或 SQLite 文件路径")) -> None:
    """把数据库结构迁移到最新版本（Alembic），并说明从哪个版本迁移到哪个版本。"""
    from yibao.storage.opening import migrate_and_report

    try:
        console.print(migrate_and_report(db), highlight=False)
    except CannotOpen as exc:
        say_and_exit(str(exc))


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

    try:
        to = datetime.fromisoformat(until if "T" in until else f"{until}T00:00:00")
    except ValueError:
        console.print(f"[red]时间格式应为 YYYY-MM-DD[THH:MM:SS]：{until}[/red]")
        raise typer.Exit(2) from None
    p = Platform(store_at(db), FixedClock(to))
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
    from yibao.cli.output import monthly_sheet
    from yibao.services.platform import Platform
    from yibao.services.statements import monthly_statement

    p = Platform(store_at(db))
    for psn_no in psn_nos:
        try:
            name, rows = monthly_statement(p, psn_no, year)
        except DomainError as exc:
            fail(exc)
        monthly_sheet(f"{name}（{psn_no}）{year}年个人账户逐月（元）", rows).print(console)


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

    try:
        staff = add_staff(Platform(store_at(db)), username, name or username, role, password)
    except DomainError as exc:
        fail(exc)
    console.print(f"已新增：{staff.username}（{staff.role}）")


@staff_app.command("role")
def staff_role(
    username: str = typer.Argument(..., help="用户名"),
    role: str = typer.Argument(..., help="viewer（查询）或 operator（经办）"),
    db: str = typer.Option("yibao.sqlite", "--db", help="数据库 URL 或 SQLite 文件路径"),
) -> None:
    """改变工作人员的角色：已登录的会话从下一次请求起按新角色。"""
    from yibao.services.platform import Platform
    from yibao.services.signin import set_staff_role

    try:
        staff = set_staff_role(Platform(store_at(db)), username, role)
    except DomainError as exc:
        fail(exc)
    console.print(f"已改为：{staff.username}（{staff.role}）")


@staff_app.command("remove")
def staff_remove(
    username: str = typer.Argument(..., help="用户名"),
    db: str = typer.Option("yibao.sqlite", "--db", help="数据库 URL 或 SQLite 文件路径"),
) -> None:
    """删除工作人员账号：其所有会话立即失效。"""
    from yibao.services.platform import Platform
    from yibao.services.signin import remove_staff

    try:
        remove_staff(Platform(store_at(db)), username)
    except DomainError as exc:
        fail(exc)
    console.print(f"已删除：{username}")


region_app = typer.Typer(help="统筹区之间的链路（NATS JetStream）：对端统筹区、链路健康", no_args_is_help=True)
app.add_typer(region_app, name="region")


@region_app.command("add-peer")
def region_add_peer(
    admdvs: str = typer.Argument(..., help="对端统筹区的医保区划（6位）"),
    name: str = typer.Option(..., "--name", help="对端统筹区名称"),
    db: str = typer.Option("yibao.sqlite", "--db", help="数据库 URL 或 SQLite 文件路径"),
) -> None:
    """登记一个对端统筹区：只有登记过的统筹区发来的跨统筹区报文才会被办理。"""
    from yibao.services.platform import Platform
    from yibao.services.regionlink import add_peer

    try:
        new = add_peer(Platform(store_at(db)), admdvs, name)
    except DomainError as exc:
        fail(exc)
    console.print(f"{'已登记' if new else '已更新'}对端统筹区：{name}（{admdvs}）")


@region_app.command("peers")
def region_peers(db: str = typer.Option("yibao.sqlite", "--db", help="数据库 URL 或 SQLite 文件路径")) -> None:
    """列出对端统筹区及最近一次收到其报文的时间。"""
    from yibao.services.platform import Platform
    from yibao.services.regionlink import peers

    _peer_table(peers(Platform(store_at(db))))


def _peer_table(rows) -> None:
    table = Sheet(
        "对端统筹区",
        [("医保区划", "code"), ("名称", "text"), ("登记时间", "code"), ("最近收到报文", "code"), ("状态", "text")],
    )
    for r in rows:
        seen = r.last_seen_at.isoformat(sep=" ") if r.last_seen_at else "—"
        table.add_row(r.admdvs, r.name, r.added_at.isoformat(sep=" "), seen, "启用" if r.active else "停用")
    table.print(console)


def _on_link(region: str, nats_url: str, prefix: str, work, *, seconds: int):
    """Run ``work(link)`` on a connected region link, closed after, within ``seconds``; a link that
    does not answer in time, or a refusal, ends the command with its Chinese message."""
    import asyncio

    from yibao.regionlink.link import RegionLink, Subjects

    async def run():
        link = RegionLink(region, [nats_url], Subjects(prefix))
        await link.connect()
        try:
            return await work(link)
        finally:
            await link.close()

    try:
        return asyncio.run(asyncio.wait_for(run(), seconds))
    except DomainError as exc:
        fail(exc)
    except TimeoutError:
        console.print(f"[red][E7601-004] 统筹区之间的链路不可用：{nats_url} {seconds}秒内没有应答[/red]")
        raise typer.Exit(2) from None


@region_app.command("health")
def region_health(
    region: str = typer.Option(..., "--region", help="本实例的统筹区（医保区划）"),
    nats_url: str = typer.Option("nats://127.0.0.1:4222", "--nats", help="NATS 服务器地址"),
    prefix: str = typer.Option("yibao", "--prefix", help="流与主题的前缀"),
    create_streams: bool = typer.Option(False, "--create-streams", help="流不存在时创建"),
    db: str = typer.Option("yibao.sqlite", "--db", help="数据库 URL 或 SQLite 文件路径"),
) -> None:
    """链路健康：连接、三个流的消息数、发往本统筹区尚未投递/尚未确认/重新投递的请求，以及对端统筹区。"""

    from yibao.services.platform import Platform
    from yibao.services.regionlink import applied_count, peers

    async def probe(link):
        if create_streams:
            await link.ensure_streams()
        return await link.health(), await link.dead_letters(10)

    health, letters = _on_link(region, nats_url, prefix, probe, seconds=15)
    table = Sheet(f"区域链路（{region}，前缀 {prefix}）", [("项目", "text"), ("状态", "text")], show_header=False)
    table.add_row("连接", f"已连接 {health.server}" if health.connected else "未连接")
    for name, count in health.streams.items():
        table.add_row(f"流 {name}", "不存在（用 --create-streams 创建）" if count is None else f"{count} 条消息")
    shown = {None: "—（尚无消费者）"}
    table.add_row("待投递的请求", shown.get(health.pending, str(health.pending)))
    table.add_row("已投递未确认", shown.get(health.unacknowledged, str(health.unacknowledged)))
    table.add_row("重新投递", shown.get(health.redelivered, str(health.redelivered)))
    dead = "—（无死信流）" if health.dead_letters is None else str(health.dead_letters)
    table.add_row("死信（多次处理失败，须人工处理）", dead)
    p = Platform(store_at(db))
    table.add_row("已办理的跨统筹区报文", str(applied_count(p)))
    table.print(console)
    if letters:
        sheet = Sheet(
            "最近的死信",
            [("报文号", "code"), ("类型", "code"), ("发自", "code"), ("投递次数", "code"), ("原因", "text")],
        )
        for d in letters:
            sheet.add_row(d.msg_id or "（无法解析）", d.kind or "", d.from_region or "", str(d.deliveries), d.reason)
        sheet.print(console)
    _peer_table(peers(p))


@region_app.command("dead-letters")
def region_dead_letters(
    region: str = typer.Option(..., "--region", help="本实例的统筹区（医保区划）"),
    nats_url: str = typer.Option("nats://127.0.0.1:4222", "--nats", help="NATS 服务器地址"),
    prefix: str = typer.Option("yibao", "--prefix", help="流与主题的前缀"),
    replay: int = typer.Option(None, "--replay", help="排除原因后重新投递这条死信（序号见列表）"),
) -> None:
    """死信：发往本统筹区、多次处理失败（或无法解析）而不再投递的报文及原因；--replay 重新投递一条（仍只办理一次）。"""

    async def work(link):
        replayed = await link.replay_dead_letter(replay) if replay is not None else None
        return replayed, await link.dead_letters(50)

    replayed, letters = _on_link(region, nats_url, prefix, work, seconds=30)
    if replayed is not None:
        console.print(f"已重新投递死信 {replay}（报文 {replayed}）")
    sheet = Sheet(
        f"死信（{region}，前缀 {prefix}）",
        [
            ("序号", "code"),
            ("报文号", "code"),
            ("类型", "code"),
            ("发自", "code"),
            ("投递次数", "code"),
            ("原因", "text"),
        ],
    )
    for d in letters:
        sheet.add_row(
            str(d.seq), d.msg_id or "（无法解析）", d.kind or "", d.from_region or "", str(d.deliveries), d.reason
        )
    sheet.print(console)


@region_app.command("pending")
def region_pending(
    db: str = typer.Option("yibao.sqlite", "--db", help="数据库 URL 或 SQLite 文件路径"),
    all_: bool = typer.Option(False, "--all", help="列出全部预留（默认只列待入账的）"),
) -> None:
    """跨统筹区预留：本实例作为参保地为各就医地保留的金额（待入账/已入账/已作废），以及作为就医地等待参保地确认的结算。"""
    from yibao.services import crossregion
    from yibao.services.platform import Platform

    p = Platform(store_at(db))
    table = Sheet(
        "参保地预留（待入账 pending → 已入账 posted / 已作废 voided / 已撤销 reversed）",
        [
            ("预留号", "code"),
            ("就医地", "code"),
            ("结算", "code"),
            ("状态", "text"),
            ("预留金额", "money"),
            ("期限", "code"),
            ("作废原因", "text"),
        ],
    )
    for r in crossregion.reservations(p, None if all_ else "pending"):
        if r.person_id is None and not all_:
            continue
        table.add_row(
            r.reservation_id,
            r.care_region,
            r.setl_ref,
            r.status,
            fmt_yuan(r.held),
            r.expires_at.isoformat(sep=" "),
            r.void_reason or "",
        )
    table.print(console)
    waiting = [c for c in crossregion.cross_settlements(p) if all_ or c.status.startswith("awaiting")]
    sheet = Sheet(
        "就医地结算（等待参保地确认 awaiting_post / awaiting_cancel）",
        [("结算ID", "code"), ("参保地", "code"), ("预留号", "code"), ("状态", "text"), ("应收参保地", "money")],
    )
    for c in waiting:
        sheet.add_row(c.setl_id, c.insured_region, c.reservation_id, c.status, fmt_yuan(c.owed))
    sheet.print(console)


@region_app.command("expire")
def region_expire(db: str = typer.Option("yibao.sqlite", "--db", help="数据库 URL 或 SQLite 文件路径")) -> None:
    """到期作废：参保地把超过期限仍未入账的预留作废，金额退回原账户（服务运行时由链路的定时任务执行）。"""
    from yibao.services import crossregion
    from yibao.services.platform import Platform

    voided = crossregion.expire_reservations(Platform(store_at(db)))
    console.print(f"已作废到期预留 {len(voided)} 笔" + (f"：{', '.join(voided)}" if voided else ""))


@region_app.command("clearing")
def region_clearing(
    month: str = typer.Option(..., "--month", help="清算月份 YYYY-MM"),
    region: str = typer.Option(..., "--region", help="本实例的统筹区（医保区划），作为就医地发出对账单"),
    peer: list[str] = typer.Option(None, "--with", help="参保地（医保区划）；不给出时对全部对端统筹区"),
    nats_url: str = typer.Option("nats://127.0.0.1:4222", "--nats", help="NATS 服务器地址"),
    prefix: str = typer.Option("yibao", "--prefix", help="流与主题的前缀"),
    db: str = typer.Option("yibao.sqlite", "--db", help="数据库 URL 或 SQLite 文件路径"),
) -> None:
    """月度清算：本统筹区（就医地）为各参保地垫付的结算，逐机构、逐笔对账；一致则双方记账，不一致列出差异的结算。"""
    from yibao.regionlink.client import LinkClient
    from yibao.regionlink.link import RegionLink, Subjects
    from yibao.services import clearing
    from yibao.services.platform import Platform
    from yibao.services.regionlink import peers as list_peers

    p = Platform(store_at(db), region=region)
    targets = peer or [x.admdvs for x in list_peers(p) if x.active]
    try:
        p.link = LinkClient(RegionLink(region, [nats_url], Subjects(prefix)))
    except DomainError as exc:
        fail(exc)
    failed = False
    try:
        for target in targets:
            try:
                out = clearing.clear_with(p, target, month)
            except DomainError as exc:
                console.print(f"[red]{target}：[{exc.code}] {exc.message}[/red]")
                failed = True
                continue
            state = "[green]一致，已记账[/green]" if out.agreed else "[red]不一致[/red]"
            console.print(f"{month} {target} 应付 {region}：{fmt_yuan(out.total)} 元，{out.settlements} 笔 — {state}")
            for a in out.adjustments:
                console.print(f"  往月调整：{a['setl_ref']}（{a['reservation_id']}）{fmt_yuan(a['amount_fen'])} 元")
            for d in out.differences:
                payer = "—" if d["payer"] is None else fmt_yuan(d["payer"])
                payee = "—" if d["payee"] is None else fmt_yuan(d["payee"])
                console.print(f"  {d['setl_ref']}（{d['reservation_id']}）参保地 {payer} / 就医地 {payee}")
                failed = True
    finally:
        p.link.close()
    _clearing_table(clearing.clearings(p, month))
    if failed:
        raise typer.Exit(1)


@region_app.command("claim-back")
def region_claim_back(
    psn_no: str = typer.Argument(..., help="参保人员编号"),
    receipt: Path = typer.Option(
        ..., "--receipt", help="票据 JSON：institution、hospital_level、receipt_no、day、med_type、care_region、lines"
    ),
    case: str = typer.Option("unfiled", "--case", help="unfiled 未备案 / emergency 急诊抢救 / filed 已备案"),
    operator: str = typer.Option("cli", "--operator", help="经办人员（记入报销记录）"),
    db: str = typer.Option("yibao.sqlite", "--db", help="数据库 URL 或 SQLite 文件路径"),
) -> None:
    """异地就医手工报销（参保地）：按票据费用明细以同一计算办理，计入年度累计，统筹支付付给个人，并逐步说明。"""
    import json

    from yibao.services.claimback import claim_back
    from yibao.services.platform import Platform

    try:
        doc = json.loads(receipt.read_text(encoding="utf-8"))
        paid = claim_back(
            Platform(store_at(db)),
            psn_no=psn_no,
            care_region=doc["care_region"],
            institution=doc["institution"],
            hospital_level=int(doc["hospital_level"]),
            receipt_no=doc["receipt_no"],
            day=date.fromisoformat(doc["day"]),
            med_type=doc.get("med_type", "11"),
            case=case,
            lines=doc["lines"],
            filed_by=f"console:{operator}",
        )
    except DomainError as exc:
        fail(exc)
    except (OSError, ValueError, KeyError) as exc:
        say_and_exit(f"票据文件无法读取：{exc}")
    console.print(f"报销 {paid.claim_id}：医疗费用 {fmt_yuan(paid.medfee)} 元，统筹支付 {fmt_yuan(paid.fund_pay)} 元")
    console.print(paid.explanation)


def _clearing_table(rows) -> None:
    table = Sheet(
        "月度清算",
        [
            ("月份", "code"),
            ("对方统筹区", "code"),
            ("本方", "text"),
            ("状态", "text"),
            ("金额", "money"),
            ("笔数", "code"),
            ("往月调整", "text"),
        ],
    )
    for r in rows:
        role = "参保地（付款）" if r.role == "payer" else "就医地（收款）"
        carried = sum(a["amount_fen"] for a in r.adjustments)
        table.add_row(
            r.month,
            r.counterpart,
            role,
            "一致" if r.status == "agreed" else "不一致",
            fmt_yuan(r.total),
            str(r.settlements),
            f"{len(r.adjustments)} 笔 {fmt_yuan(carried)}" if r.adjustments else "",
        )
    table.print(console)


@app.command()
def errors() -> None:
    """列出全部稳定错误代码及其中文含义（HIS 对接时按代码处理拒绝）。"""
    from yibao.errors import CATALOGUE

    table = Sheet("yibao 错误代码", [("代码", "code"), ("含义", "text")])
    for code, text in CATALOGUE.items():
        table.add_row(code, text.replace("{", "‹").replace("}", "›"))
    table.print(console)


def main() -> None:  # pragma: no cover
    app(sys.argv[1:])
