"""Building a world: regions, institutions, the catalogue, people with their insurance and accounts.

Used by the case loader, ``yibao demo`` and the admin API. Each function is one job in one unit of
work; it validates its input and refuses with a stable code, writing nothing when it refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from yibao.care.model import Institution
from yibao.credentials.model import (
    PasswordState,
    hash_password,
    make_card_no,
    make_card_sn,
    make_certno,
    valid_certno,
    valid_password,
)
from yibao.credentials.voucher import signed_token
from yibao.errors import DomainError
from yibao.ledger.model import OPENING, Entry, Transfer, external_account, person_bucket
from yibao.lifecycle.model import EMPLOYEE, RESIDENT, Person, check_birth, valid_psn_type
from yibao.limits import check_date
from yibao.money import check_fen
from yibao.policy import PolicyError, apply_overrides, load_policy_text
from yibao.policy.model import RegionRow
from yibao.services.credentials import voucher_key
from yibao.services.platform import Platform
from yibao.settlement.model import CatalogItem
from yibao.storage.uow import Tx
from yibao.yamlio import dump_yaml

TOKEN_LIFETIME = timedelta(days=3650)  # a world's standing token; 1162 issues short-lived ones


def bad(detail: str) -> DomainError:
    return DomainError("E0000-008", f"交易输入格式错误：{detail}")


def put_region(
    platform: Platform, policy_text: str, origin: str, overrides: dict[str, Any] | None = None, *, tx: Tx | None = None
) -> str:
    """Install (or replace) a region's policy; returns its admdvs. The text is validated first."""
    policy = load_policy_text(policy_text, origin)
    for key in policy.missing_required():
        raise PolicyError(origin, key, "缺少必需参数（该参数没有默认值，统筹区须在政策文件中给出）")
    if overrides:
        apply_overrides(policy, overrides)  # validate now, not at the first settlement
    with platform.unit(tx) as tx:
        tx.config.put_region(
            RegionRow(
                policy.admdvs,
                policy.region_id,
                policy.name,
                policy_text,
                dump_yaml(overrides) if overrides else "",
                platform.now(),
            )
        )
    return policy.admdvs


def add_institution(
    platform: Platform, code: str, name: str, kind: str, level: int, admdvs: str, *, tx: Tx | None = None
) -> Institution:
    if kind not in ("hospital", "pharmacy"):
        raise bad(f"机构类型应为 hospital 或 pharmacy：{kind!r}")
    if not isinstance(level, int) or level not in (0, 1, 2, 3):
        raise bad(f"医院等级应为 0–3：{level!r}")
    if not code or len(code) > 30:
        raise bad(f"机构编码无效：{code!r}")
    if not isinstance(admdvs, str) or len(admdvs) != 6 or not admdvs.isdigit():
        raise bad(f"医保区划应为6位数字：{admdvs!r}")
    inst = Institution(code, name, kind, level, admdvs, True)  # another region's hospital serves off-site care
    with platform.unit(tx) as tx:
        if tx.care.institution(code) is not None:
            raise bad(f"机构编码已存在：{code}")
        tx.care.add_institution(inst, platform.now())
    return inst


def add_catalog_item(platform: Platform, item: CatalogItem, *, tx: Tx | None = None) -> None:
    if item.chrgitm_lv not in ("01", "02", "03"):
        raise bad(f"收费项目等级应为 01/02/03：{item.chrgitm_lv!r}")
    with platform.unit(tx) as tx:
        if tx.care.catalog([item.code]):
            raise bad(f"目录编码已存在：{item.code}")
        tx.care.add_catalog_item(item)


# A new person's fields that their insurance takes under the same names.
_INSURANCE_FIELDS = ("insutype", "psn_type", "emp_name")


@dataclass(frozen=True)
class NewPerson:
    name: str
    birth: date
    gender: str
    admdvs: str
    certno: str | None = None
    insutype: str | None = None
    psn_type: str | None = None
    insured_since: date | None = None
    insured_until: date | None = None
    current: int = 0
    historical: int = 0
    password: str | None = None
    card_no: str | None = None
    card_sn: str | None = None
    ec_token: str | None = None
    emp_name: str | None = None


@dataclass(frozen=True)
class Created:
    person: Person
    card_no: str
    card_sn: str
    ec_token: str


def add_person(platform: Platform, spec: NewPerson, *, tx: Tx | None = None) -> Created:
    """A person with a card, an e-voucher token and, for employees, a personal account."""
    if spec.gender not in ("0", "1", "2", "9"):
        raise bad(f"性别代码应为 0/1/2/9：{spec.gender!r}")
    if spec.insutype is not None:
        if spec.insutype not in (EMPLOYEE, RESIDENT):
            raise bad(f"险种类型应为 310 或 390：{spec.insutype!r}")
        if not spec.psn_type or not valid_psn_type(spec.psn_type):
            raise bad(f"人员类别无效：{spec.psn_type!r}")
        if spec.insured_since is None:
            raise bad("参保人员须给出参保开始日期 insured_since")
        if spec.insured_until is not None and spec.insured_until < spec.insured_since:
            raise bad("参保终止日期早于开始日期")
    check_birth(spec.birth, platform.now().date(), insured_from=spec.insured_since if spec.insutype else None)
    for day, what in ((spec.insured_since, "参保开始日期"), (spec.insured_until, "参保终止日期")):
        if day is not None:
            check_date(day, what)
    check_fen(spec.current, "当年账户期初余额")
    check_fen(spec.historical, "历年账户期初余额")
    if spec.password is not None and not valid_password(spec.password):
        raise bad("密码应为6位数字")
    if (spec.current or spec.historical) and spec.insutype != EMPLOYEE:
        raise bad("只有职工医保参保人有个人账户余额")
    now = platform.now()
    with platform.unit(tx) as tx:
        if tx.config.region(spec.admdvs) is None:
            raise bad(f"医保区划 {spec.admdvs} 未配置政策")
        certno = spec.certno
        if certno is not None:
            if not valid_certno(certno):
                raise bad(f"身份证号码无效（校验码不符）：{certno}")
            if tx.people.by_certno(certno):
                raise bad(f"身份证号码已登记：{certno}")
        else:
            serial = tx.people.count() + 1
            certno = make_certno(spec.admdvs, spec.birth, serial, spec.gender)
            while tx.people.by_certno(certno):
                serial += 499
                certno = make_certno(spec.admdvs, spec.birth, serial, spec.gender)
        person = tx.people.add(
            name=spec.name, certno=certno, gender=spec.gender, birth=spec.birth, admdvs=spec.admdvs, now=now
        )
        card_no = spec.card_no or make_card_no(person.id)
        card_sn = spec.card_sn or make_card_sn()
        if tx.credentials.card_by_no(card_no):
            raise bad(f"社会保障卡号已存在：{card_no}")
        tx.credentials.add_card(person.id, card_no, card_sn, now)
        token = spec.ec_token or signed_token(voucher_key(tx), spec.admdvs)
        tx.credentials.add_token(token, person.id, now - timedelta(days=1), now + TOKEN_LIFETIME)
        if spec.password:
            tx.credentials.put_password(person.id, PasswordState(hash_password(spec.password)), now)
        if spec.insutype is not None:
            tx.people.add_insurance(
                person.id,
                **{name: getattr(spec, name) for name in _INSURANCE_FIELDS},
                begin=spec.insured_since,
                benefit_start=spec.insured_since,  # a person entered as insured waits for nothing
                end=spec.insured_until,
                now=now,
            )
        if spec.insutype == EMPLOYEE:
            open_person_account(tx, person, now)
            opening = []
            for bucket, amount in (("current", spec.current), ("historical", spec.historical)):
                if amount:
                    opening.append(
                        Transfer(external_account("opening"), person_bucket(person.psn_no, bucket), amount, OPENING)
                    )
            if opening:
                tx.ledger.post(Entry(f"opening:{person.psn_no}", "opening", tuple(opening), ref=person.psn_no), now)
    return Created(person, card_no, card_sn, token)


def open_person_account(tx: Tx, person: Person, now: datetime) -> None:
    for bucket in ("current", "historical"):
        tx.ledger.open_account(person_bucket(person.psn_no, bucket), now, person_id=person.id, bucket=bucket, floor=0)


def seed_accumulator(
    platform: Platform, psn_no: str, year: int, category: str, deductible: int, fund: int, *, tx: Tx | None = None
) -> None:
    with platform.unit(tx) as tx:
        person = tx.people.by_psn_no(psn_no)
        if person is None:
            raise bad(f"人员不存在：{psn_no}")
        tx.care.add_to_accumulator(person.id, year, category, deductible, fund)
