"""``yibao demo``: a family from the seeds, a pharmacy purchase and an outpatient visit, explained.

Everything goes through the national gateway exactly as a pharmacy or hospital system would send
it (2102 药店结算, 2201 → 2204 → 2207 门诊), on an embedded SQLite database.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from rich.console import Console

from yibao.cli.output import Sheet, monthly_sheet, print_lines
from yibao.errors import DomainError
from yibao.gateway.dispatcher import dispatch
from yibao.money import fmt_yuan
from yibao.nhsa.envelope import new_msgid, request_envelope
from yibao.services import demo, family, views, world
from yibao.services.identity import encrypt_password, public_key_pem
from yibao.services.platform import FixedClock, Platform, SystemClock
from yibao.services.regions import DEFAULT_REGION, demo_sites, install_region
from yibao.storage.opening import open_store

REGION = DEFAULT_REGION
PHARMACY = "P36010000001"
CLINIC = "H36010000001"
_seq = itertools.count(1)


def _people(p: Platform, admdvs: str, today: date) -> dict[str, world.Created]:
    def add(name, birth, gender, insutype, psn_type, current=0, historical=0, password="123456"):
        return world.add_person(
            p,
            world.NewPerson(
                name=name,
                birth=birth,
                gender=gender,
                admdvs=admdvs,
                insutype=insutype,
                psn_type=psn_type,
                insured_since=max(date(2010, 1, 1), birth),  # insured from birth at the earliest
                current=current,
                historical=historical,
                password=password,
            ),
        )

    fam = {
        "son": add("张伟", date(1990, 5, 1), "1", "310", "1101", current=15000),
        "wife": add("李娜", date(1992, 8, 8), "2", "310", "1101", current=80000),
        "father": add("张建国", date(1960, 3, 4), "1", "310", "1201", current=30000, historical=120000),
        "mother": add("王秀英", date(1962, 7, 9), "2", "310", "1201", current=20000, historical=60000),
        "child": add("张小宝", date(2016, 9, 1), "1", "390", "1403"),
    }
    psn = {k: v.person.psn_no for k, v in fam.items()}
    family.declare_relation(p, psn["father"], psn["son"], "parent")
    family.declare_relation(p, psn["mother"], psn["son"], "parent")
    family.declare_relation(p, psn["wife"], psn["son"], "spouse")
    family.declare_relation(p, psn["son"], psn["child"], "parent")
    family.declare_relation(p, psn["wife"], psn["child"], "parent")
    family.authorize_mutual_aid(p, psn["father"], psn["son"])
    family.authorize_mutual_aid(p, psn["mother"], psn["son"])
    family.authorize_mutual_aid(p, psn["wife"], psn["child"])
    return fam


def build(db: str, at: datetime | None = None, region: str | None = None) -> tuple[Platform, dict[str, world.Created]]:
    p = Platform(open_store(db), FixedClock(at) if at else SystemClock())
    return p, populate(p, region)


def populate(p: Platform, region: str | None = None) -> dict[str, world.Created]:
    """The demo region (the instance's own, else Nanchang): its pharmacy, hospitals, the catalogue
    and the family."""
    policy = install_region(p, region or p.region or REGION, sites=True)
    return _people(p, policy.admdvs, p.now().date())


@dataclass
class DemoWorld:
    family: dict[str, world.Created]
    credentials: list[dict[str, str]]  # per institution (production mode): name and issue_credentials' fields


class DemoSeedFailed(Exception):
    """Seeding failed; what it had written was removed again, the message says why (in Chinese)."""


def demo_state(p: Platform) -> str | None:
    """``"seeded"`` (when, as text), ``"other"`` (someone else's data), or None (an empty database)."""
    return demo.demo_state(p)


def seed_server(p: Platform) -> DemoWorld:
    """``yibao serve --demo`` on an empty database: the family, a purchase, a clinic visit, two staff
    accounts and, in production mode, API credentials for the two demo institutions, which sign in
    (9001) and out (9002) like any HIS. All or nothing: if any step fails, every row it wrote is
    deleted again (the database was empty, so that is exactly a rollback) and ``DemoSeedFailed``
    says why; a half-seeded database is never served."""
    if demo_state(p) is not None:
        raise DemoSeedFailed("数据库不是空的：演示数据只载入空数据库")
    try:
        world_ = _seed(p)
        demo.mark_seeded(p)
        return world_
    except Exception as exc:
        demo.undo_seeding(p)
        reason = exc.err_msg if isinstance(exc, DomainError) else str(exc)
        raise DemoSeedFailed(f"载入演示数据失败，已撤回写入的部分（数据库仍为空）：{reason}") from exc


def _seed(p: Platform) -> DemoWorld:
    from yibao.services.gateway_access import issue_credentials
    from yibao.services.signin import add_staff

    fam = populate(p)
    son, child = fam["son"].person, fam["child"].person
    sites = demo_sites(p.policy_for_admdvs(son.admdvs))[:2]  # the pharmacy and the community clinic
    credentials: list[dict[str, str]] = []
    signed: dict[str, str] = {}
    for site in sites if not p.sandbox else ():  # production: an HIS needs credentials (sign-in relaxed or not)
        credentials.append({"name": site.name, **issue_credentials(p, site.code)})
        if p.require_sign_in:
            signed[site.code] = _call(
                p, "9001", site.code, {"signIn": {"opter_no": "demo", "mac": "00:00:00:00:00:00", "ip": "127.0.0.1"}}
            )["signinoutb"]["sign_no"]
    now = p.now()
    _call(
        p,
        "2102",
        sites[0].code,
        _purchase(son, fam["son"].ec_token, now),
        password="123456",
        sign_no=signed.get(sites[0].code, ""),
    )
    _clinic_visit(p, child, now, sites[1].code, sign_no=signed.get(sites[1].code, ""))
    for code, sign_no in signed.items():
        _call(p, "9002", code, {"signOut": {"sign_no": sign_no, "opter_no": "demo"}}, sign_no=sign_no)
    add_staff(p, "operator", "演示经办员", "operator", "operator123")
    add_staff(p, "viewer", "演示查询员", "viewer", "viewer1234")
    return DemoWorld(fam, credentials)


def _purchase(son, token: str, now: datetime) -> dict:
    return {
        "druginfo": {
            "psn_no": son.psn_no,
            "mdtrt_cert_type": "01",
            "mdtrt_cert_no": token,
            "begntime": f"{now:%Y-%m-%d %H:%M:%S}",
            "medfee_sumamt": "420.00",
            "insutype": "310",
            "med_type": "41",
            "acct_used_flag": "1",
        },
        "drugdetail": [
            {
                "feedetl_sn": "1",
                "med_list_codg": "XJ01CAA0001",
                "det_item_fee_sumamt": "360.00",
                "cnt": "12",
                "pric": "30.00",
            },
            {
                "feedetl_sn": "2",
                "med_list_codg": "XB02BAA0002",
                "det_item_fee_sumamt": "60.00",
                "cnt": "3",
                "pric": "20.00",
            },
        ],
    }


def _clinic_visit(p: Platform, child, at: datetime, clinic: str = CLINIC, sign_no: str = "") -> dict:
    """The child's outpatient visit at the community clinic: 2201 → 2204 → 2207; the 2207 output."""
    registration = {
        "psn_no": child.psn_no,
        "insutype": "390",
        "begntime": f"{at:%Y-%m-%d %H:%M:%S}",
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": child.certno,
        "ipt_otp_no": f"MZ{at:%Y%m%d%H%M%S}",
        "dept_name": "儿科",
        "caty": "07",
    }
    mdtrt_id = _call(p, "2201", clinic, {"data": registration}, sign_no=sign_no)["data"]["mdtrt_id"]
    _call(p, "2204", clinic, {"feedetail": _clinic_lines(child.psn_no, mdtrt_id)}, sign_no=sign_no)
    settle = {
        "psn_no": child.psn_no,
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": child.certno,
        "med_type": "11",
        "medfee_sumamt": "260.00",
        "psn_setlway": "01",
        "mdtrt_id": mdtrt_id,
        "chrg_bchno": "B001",
        "insutype": "390",
        "acct_used_flag": "1",
    }
    return _call(p, "2207", clinic, {"data": settle}, password="123456", sign_no=sign_no)


def _clinic_lines(psn_no: str, mdtrt_id: str) -> list[dict]:
    return [
        {
            "feedetl_sn": "1",
            "mdtrt_id": mdtrt_id,
            "psn_no": psn_no,
            "chrg_bchno": "B001",
            "med_list_codg": "XJ01CAA0001",
            "det_item_fee_sumamt": "200.00",
            "cnt": "10",
            "pric": "20.00",
        },
        {
            "feedetl_sn": "2",
            "mdtrt_id": mdtrt_id,
            "psn_no": psn_no,
            "chrg_bchno": "B001",
            "med_list_codg": "XB02BAA0002",
            "det_item_fee_sumamt": "60.00",
            "cnt": "3",
            "pric": "20.00",
        },
    ]


def _envelope(
    p: Platform, infno: str, institution: str, inp: dict, password: str | None = None, sign_no: str = ""
) -> dict:
    now = p.now()
    env = request_envelope(
        infno,
        inp,
        institution=institution,
        admdvs=institution[1:7],  # demo sites are coded P/H + their admdvs
        now=now,
        msgid=new_msgid(institution, now, next(_seq)),
        opter="demo",
        opter_name="演示",
        sign_no=sign_no,
    )
    if password:
        env["cainfo"] = encrypt_password(public_key_pem(p), password)
    return env


def _call(p: Platform, infno: str, institution: str, inp: dict, password: str | None = None, sign_no: str = "") -> dict:
    answer = dispatch(p, _envelope(p, infno, institution, inp, password, sign_no), authenticated=institution)
    if answer["infcode"] != 0:
        raise RuntimeError(f"{infno} 失败：{answer['err_msg']}")
    return answer["output"]


def _balances(p: Platform, fam: dict[str, world.Created]) -> dict[str, tuple[int, int]]:
    out = {}
    for key, c in fam.items():
        account = views.balances_of(p, c.person.psn_no)
        out[key] = (account.current, account.historical) if account else None
    return out


def _show_balances(console: Console, fam, before, after, title: str) -> None:
    table = Sheet(
        title, [("家庭成员", "text"), ("参保", "text"), ("当年账户", "money"), ("历年账户", "money"), ("变化", "money")]
    )
    for key, c in fam.items():
        b, a = before[key], after[key]
        kind = "居民医保（无个人账户）" if a is None else "职工医保"
        if a is None:
            table.add_row(c.person.name, kind, "—", "—", "")
            continue
        delta = sum(a) - sum(b)
        table.add_row(c.person.name, kind, fmt_yuan(a[0]), fmt_yuan(a[1]), fmt_yuan(delta) if delta else "")
    table.print(console)


def _show_settlement(console: Console, title: str, out: dict) -> None:
    info = out["setlinfo"]
    table = Sheet(title, [("项目", "text"), ("金额（元）", "money")], show_header=False)
    for label, key in (
        ("医疗费总额 medfee_sumamt", "medfee_sumamt"),
        ("符合政策范围 inscp_scp_amt", "inscp_scp_amt"),
        ("起付线 act_pay_dedc", "act_pay_dedc"),
        ("统筹基金支付 hifp_pay", "hifp_pay"),
        ("个人负担 psn_part_amt", "psn_part_amt"),
        ("本人个人账户 acct_pay", "acct_pay"),
        ("家庭共济 acct_mulaid_pay", "acct_mulaid_pay"),
        ("现金 psn_cash_pay", "psn_cash_pay"),
        ("本人账户余额 balc", "balc"),
    ):
        table.add_row(label, str(info[key]))
    table.print(console)
    rows = Sheet("结算基金分项 setldetail", [("fund_pay_type", "code"), ("名称", "text"), ("金额", "money")])
    for r in out["setldetail"]:
        rows.add_row(r["fund_pay_type"], r["fund_pay_type_name"], str(r["fund_payamt"]))
    rows.print(console)
    print_lines(
        console,
        "各分项的说明（setldetail.setl_proc_info）",
        [f"{r['fund_pay_type_name']} {r['fund_payamt']}元：{r['setl_proc_info']}" for r in out["setldetail"]],
    )
    explanation = json.loads(info["exp_content"])["setl_proc_info"]  # exp_content is 字符型: JSON text
    print_lines(console, "结算说明（setl_proc_info）", explanation.splitlines())


def run_demo(console: Console, db: str = "sqlite://", at: datetime | None = None, region: str | None = None) -> None:
    p, fam = build(db, at, region)
    policy = p.policy_for_admdvs(fam["son"].person.admdvs)
    pharmacy, clinic = (s.code for s in demo_sites(policy)[:2])
    now = p.now()
    print_lines(
        console,
        f"yibao 演示：一家五口（{policy.name}，参数见 yibao policy show {policy.region_id}）",
        [
            "· 张伟：职工医保在职；父亲张建国、母亲王秀英（退休）授权家庭共济给他（按备案顺序）",
            "· 李娜：张伟的妻子，职工医保在职，授权家庭共济给孩子",
            "· 张小宝：孩子，参加城乡居民医保，没有个人账户",
        ],
    )
    before = _balances(p, fam)
    _show_balances(console, fam, before, before, "开始时的个人账户")

    son = fam["son"].person
    purchase = _purchase(son, fam["son"].ec_token, now)
    out = _call(p, "2102", pharmacy, purchase, password="123456")
    _show_settlement(console, "① 张伟在药店买药 420.00 元（2102 药店结算，出示医保电子凭证）", out)
    after = _balances(p, fam)
    _show_balances(console, fam, before, after, "药店结算后的个人账户")

    child = fam["child"].person
    if isinstance(p.clock, FixedClock):
        p.clock.set(now + timedelta(hours=1))
    t = p.now()
    out = _clinic_visit(p, child, t, clinic)
    _show_settlement(console, "② 张小宝在社区卫生服务中心看门诊 260.00 元（2201 挂号 → 2204 明细 → 2207 结算）", out)
    final = _balances(p, fam)
    _show_balances(console, fam, after, final, "门诊结算后的个人账户")
    problems = views.ledger_problems(p)
    console.print("账本检查：" + ("借贷平衡，没有账户低于下限。" if not problems else "；".join(problems)))
    console.print(
        "下一步：在源码目录中 [bold]yibao cases run tests/acceptance[/bold] 运行验收案例；"
        f"[bold]yibao policy show {policy.region_id}[/bold] 查看政策参数；"
        "[bold]yibao serve --sandbox --demo[/bold] 打开门户和经办控制台。"
    )


def run_year(console: Console, db: str, year: int) -> None:
    """A year of the demo family: monthly contributions and retiree credits, a few purchases and
    visits, the child's next-year premium paid from the mother's account, the year-end rollover;
    then each member's account month by month (``yibao accounts monthly``)."""
    from yibao.services import jobs, lifecycle
    from yibao.services.statements import monthly_statement

    start = datetime(year, 1, 1, 9, 0, 0)
    p, fam = build(db, start)
    jobs.mark_done_until(p, start)
    clock = p.clock
    assert isinstance(clock, FixedClock)
    son, wife, child = fam["son"].person, fam["wife"].person, fam["child"].person
    events = []
    for month in range(1, 13):
        day = datetime(year, month, 10, 9, 0, 0)
        jobs.run_until(p, day)
        clock.set(day)
        for who, base in ((son, 800_000), (wife, 650_000)):
            lifecycle.contribute_employee(p, who.psn_no, f"{year}-{month:02d}", base, paid_on=day.date())
        if month in (3, 7, 11):
            amount = {3: "86.50", 7: "1200.00", 11: "135.80"}[month]
            inp = {
                "druginfo": {
                    "psn_no": son.psn_no,
                    "mdtrt_cert_type": "02",
                    "mdtrt_cert_no": son.certno,
                    "begntime": f"{day:%Y-%m-%d %H:%M:%S}",
                    "medfee_sumamt": amount,
                    "insutype": "310",
                    "med_type": "41",
                    "acct_used_flag": "1",
                },
                "drugdetail": [
                    {
                        "feedetl_sn": "1",
                        "med_list_codg": "XJ01CAA0001",
                        "det_item_fee_sumamt": amount,
                        "cnt": "1",
                        "pric": amount,
                    }
                ],
            }
            out = _call(p, "2102", PHARMACY, inp, password="123456")["setlinfo"]
            events.append(
                f"{day:%m-%d} 张伟药店购药{amount}元：本人账户{out['acct_pay']}，"
                f"共济{out['acct_mulaid_pay']}，现金{out['psn_cash_pay']}"
            )
        if month == 10:
            paid = lifecycle.contribute_resident(
                p, child.psn_no, year + 1, 40_000, paid_on=day.date(), paid_by=wife.psn_no
            )
            window = "是" if paid["in_window"] else "否"
            events.append(
                f"{day:%m-%d} 李娜用个人账户为张小宝缴纳{year + 1}年度居民医保400.00元（集中征缴期内：{window}）"
            )
    end = datetime(year + 1, 1, 1, 0, 0, 0)
    clock.set(end)
    jobs.run_until(p, end)
    print_lines(console, f"{year}年大事记", events)
    for key in ("son", "wife", "father", "mother"):
        person = fam[key].person
        name, rows = monthly_statement(p, person.psn_no, year)
        monthly_sheet(f"{name} {year}年个人账户逐月（元）", rows).print(console)
    problems = views.ledger_problems(p)
    console.print("账本检查：" + ("借贷平衡，没有账户低于下限。" if not problems else "；".join(problems)))
