"""``yibao demo``: a family from the seeds, a pharmacy purchase and an outpatient visit, explained.

Everything goes through the national gateway exactly as a pharmacy or hospital system would send
it (2102 药店结算, 2201 → 2204 → 2207 门诊), on an embedded SQLite database.
"""

from __future__ import annotations

import itertools
import json
from datetime import date, datetime, timedelta

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from yibao.gateway.dispatcher import dispatch
from yibao.gateway.envelope import new_msgid, request_envelope
from yibao.ledger.model import person_bucket
from yibao.money import fmt_yuan
from yibao.policy import load_policy
from yibao.services import family, world
from yibao.services.identity import encrypt_password, public_key_pem
from yibao.services.platform import FixedClock, Platform, SystemClock
from yibao.settlement.model import CatalogItem
from yibao.storage.uow import Store

REGION = "jiangxi-nanchang"
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
                insured_since=date(2010, 1, 1),
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


def build(db: str, at: datetime | None = None) -> tuple[Platform, dict[str, world.Created]]:
    p = Platform(Store.open(db), FixedClock(at) if at else SystemClock())
    return p, populate(p)


def populate(p: Platform) -> dict[str, world.Created]:
    """The demo region (Nanchang), a pharmacy, a community clinic, the catalogue and the family."""
    _, text = load_policy(REGION)
    admdvs = world.put_region(p, text, f"yibao/policies/{REGION}.yaml")
    world.add_institution(p, PHARMACY, "南昌市示例大药房", "pharmacy", 0, admdvs)
    world.add_institution(p, CLINIC, "南昌市示例社区卫生服务中心", "hospital", 1, admdvs)
    for item in (
        CatalogItem("XJ01CAA0001", "阿莫西林胶囊", "01"),
        CatalogItem("XB02BAA0002", "蒙脱石散（乙类）", "02", 1000),
        CatalogItem("ZZ0000000003", "保健食品（自费）", "03"),
    ):
        world.add_catalog_item(p, item)
    return _people(p, admdvs, p.now().date())


def seed_server(p: Platform) -> dict[str, world.Created]:
    """``yibao serve --demo``: the family, a purchase, a visit and a staff account, if the database is empty."""
    from yibao.services.signin import add_staff

    fam = populate(p)
    son, child = fam["son"].person, fam["child"].person
    now = p.now()
    _call(p, "2102", PHARMACY, _purchase(son, fam["son"].ec_token, now), password="123456")
    _clinic_visit(p, child, now)
    add_staff(p, "operator", "演示经办员", "operator", "operator123")
    add_staff(p, "viewer", "演示查询员", "viewer", "viewer1234")
    return fam


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


def _clinic_visit(p: Platform, child, at: datetime) -> dict:
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
    mdtrt_id = _call(p, "2201", CLINIC, {"data": registration})["data"]["mdtrt_id"]
    _call(p, "2204", CLINIC, {"feedetail": _clinic_lines(child.psn_no, mdtrt_id)})
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
    return _call(p, "2207", CLINIC, {"data": settle}, password="123456")


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


def _envelope(p: Platform, infno: str, institution: str, inp: dict, password: str | None = None) -> dict:
    now = p.now()
    env = request_envelope(
        infno,
        inp,
        institution=institution,
        admdvs="360100",
        now=now,
        msgid=new_msgid(institution, now, next(_seq)),
        opter="demo",
        opter_name="演示",
    )
    if password:
        env["cainfo"] = encrypt_password(public_key_pem(p), password)
    return env


def _call(p: Platform, infno: str, institution: str, inp: dict, password: str | None = None) -> dict:
    answer = dispatch(p, _envelope(p, infno, institution, inp, password))
    if answer["infcode"] != 0:
        raise RuntimeError(f"{infno} 失败：{answer['err_msg']}")
    return answer["output"]


def _balances(p: Platform, fam: dict[str, world.Created]) -> dict[str, tuple[int, int]]:
    out = {}
    with p.store.uow() as tx:
        for key, c in fam.items():
            codes = [person_bucket(c.person.psn_no, b) for b in ("current", "historical")]
            got = tx.ledger.balances(codes)
            out[key] = (got[codes[0]], got[codes[1]]) if tx.ledger.account(codes[0]) else None
    return out


def _show_balances(console: Console, fam, before, after, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for col in ("家庭成员", "参保", "当年账户", "历年账户", "变化"):
        table.add_column(col, justify="right" if col not in ("家庭成员", "参保") else "left")
    for key, c in fam.items():
        b, a = before[key], after[key]
        kind = "居民医保（无个人账户）" if a is None else "职工医保"
        if a is None:
            table.add_row(c.person.name, kind, "—", "—", "")
            continue
        delta = sum(a) - sum(b)
        table.add_row(c.person.name, kind, fmt_yuan(a[0]), fmt_yuan(a[1]), fmt_yuan(delta) if delta else "")
    console.print(table)


def _show_settlement(console: Console, title: str, out: dict) -> None:
    info = out["setlinfo"]
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("项目")
    table.add_column("金额（元）", justify="right")
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
    console.print(table)
    rows = Table(title="结算基金分项 setldetail", title_justify="left")
    for col in ("fund_pay_type", "名称", "金额", "说明"):
        rows.add_column(col, overflow="fold")
    for r in out["setldetail"]:
        rows.add_row(r["fund_pay_type"], r["fund_pay_type_name"], str(r["fund_payamt"]), r["setl_proc_info"])
    console.print(rows)
    console.print(
        Panel(json.loads(info["exp_content"])["setl_proc_info"], title="结算说明（setl_proc_info）", title_align="left")
    )


def run_demo(console: Console, db: str = "sqlite://", at: datetime | None = None) -> None:
    p, fam = build(db, at)
    now = p.now()
    console.print(
        Panel.fit(
            "一家五口（南昌，参数见 yibao policy show jiangxi-nanchang）：\n"
            "· 张伟：职工医保在职；父亲张建国、母亲王秀英（退休）授权家庭共济给他（按备案顺序）\n"
            "· 李娜：张伟的妻子，职工医保在职，授权家庭共济给孩子\n"
            "· 张小宝：孩子，参加城乡居民医保，没有个人账户",
            title="yibao 演示",
            title_align="left",
        )
    )
    before = _balances(p, fam)
    _show_balances(console, fam, before, before, "开始时的个人账户")

    son = fam["son"].person
    purchase = _purchase(son, fam["son"].ec_token, now)
    out = _call(p, "2102", PHARMACY, purchase, password="123456")
    _show_settlement(console, "① 张伟在药店买药 420.00 元（2102 药店结算，出示医保电子凭证）", out)
    after = _balances(p, fam)
    _show_balances(console, fam, before, after, "药店结算后的个人账户")

    child = fam["child"].person
    if isinstance(p.clock, FixedClock):
        p.clock.set(now + timedelta(hours=1))
    t = p.now()
    out = _clinic_visit(p, child, t)
    _show_settlement(console, "② 张小宝在社区卫生服务中心看门诊 260.00 元（2201 挂号 → 2204 明细 → 2207 结算）", out)
    final = _balances(p, fam)
    _show_balances(console, fam, after, final, "门诊结算后的个人账户")
    with p.store.uow() as tx:
        problems = tx.ledger.check_invariants()
    console.print("账本检查：" + ("借贷平衡，没有账户低于下限。" if not problems else "；".join(problems)))
    console.print(
        "下一步：[bold]yibao cases run ../shared/acceptance[/bold] 运行验收案例；"
        "[bold]yibao policy show jiangxi-nanchang[/bold] 查看政策参数。"
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
    console.print(Panel("\n".join(events), title=f"{year}年大事记", title_align="left"))
    for key in ("son", "wife", "father", "mother"):
        person = fam[key].person
        name, rows = monthly_statement(p, person.psn_no, year)
        table = Table(title=f"{name} {year}年个人账户逐月（元）", title_justify="left")
        for col in ("月份", "划入", "本人支出", "为亲属共济", "结转", "月末当年", "月末历年", "合计"):
            table.add_column(col, justify="right")
        for r in rows:
            table.add_row(r.month, r.credited, r.spent, r.shared, r.rolled, r.current, r.historical, r.total)
        console.print(table)
    with p.store.uow() as tx:
        problems = tx.ledger.check_invariants()
    console.print("账本检查：" + ("借贷平衡，没有账户低于下限。" if not problems else "；".join(problems)))
