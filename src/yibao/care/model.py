"""What the platform records about care: institutions, visits, fee lines and settlements; what
institutions file besides (settlement lists, departments, 备案 filings, a pharmacy's stock moves);
what a settlement reads about the patient's family (``Family``).

Plain immutable values; ``storage.care_repo`` reads and writes them, services and views use them.
Amounts are integer fen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from yibao.family.model import Grant, Relation
from yibao.lifecycle.model import FUND_PAY_TYPE, Insurance, Person
from yibao.settlement.model import Settlement


@dataclass(frozen=True)
class Institution:
    code: str
    name: str
    kind: str
    level: int
    admdvs: str
    active: bool


@dataclass(frozen=True)
class Visit:
    id: int
    person_id: int
    institution_code: str
    kind: str
    insutype: str
    med_type: str | None
    begntime: datetime
    endtime: datetime | None
    status: str
    ipt_otp_no: str | None
    mdtrt_cert_type: str | None
    info: str | None


@dataclass(frozen=True)
class StoredLine:
    id: int
    visit_id: int
    feedetl_sn: str
    chrg_bchno: str | None
    med_list_codg: str
    medins_list_codg: str | None
    amount: int
    price: str
    count: str
    init_feedetl_sn: str | None
    fee_ocur_time: datetime | None
    settlement_id: int | None


@dataclass(frozen=True)
class SettlementRow:
    id: int
    visit_id: int
    person_id: int
    institution_code: str
    infno: str
    msgid: str | None
    insutype: str
    psn_type: str
    mdtrt_cert_type: str | None
    med_type: str
    category: str
    clr_type: str
    year: int
    setl_time: datetime
    medfee: int
    fund_pay: int
    own_account_pay: int
    mutual_aid_pay: int
    cash: int
    deductible: int
    mid_setl: bool
    output: str
    explanation: str
    status: str
    cancelled_at: datetime | None
    cancel_infno: str | None
    revision: int


@dataclass(frozen=True)
class SettlementView:
    """A settlement as the adapters show it: the calculation plus who, where, when and which ids."""

    setl_id: str | None
    mdtrt_id: str | None
    person: Person
    insutype: str
    psn_type: str
    med_type: str
    cert_type: str | None
    setl_time: datetime
    institution: Institution
    clr_type: str
    result: Settlement
    status: str = "settled"
    msgid: str | None = None
    sign: int = 1  # −1 for the mirror a cancellation returns
    balance_now: int | None = None  # the own account's balance after a cancellation restored it

    @property
    def fund_pay_type(self) -> str:
        return FUND_PAY_TYPE.get(self.insutype, "310100")


@dataclass(frozen=True)
class SettlementList:
    id: int
    settlement_id: int
    institution_code: str
    person_id: int
    status: str
    record: dict
    qc: list
    qc_version: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Department:
    id: int
    institution_code: str
    code: str
    name: str
    caty: str
    begntime: date
    endtime: date | None
    info: dict
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None


@dataclass(frozen=True)
class Filing:
    id: int
    kind: str
    person_id: int
    institution_code: str
    insutype: str | None
    code: str | None
    name: str | None
    target_code: str | None
    target_name: str | None
    begndate: date
    enddate: date | None
    info: dict
    created_at: datetime
    cancelled_at: datetime | None
    cancel_memo: str | None

    def covers(self, day: date) -> bool:
        return self.cancelled_at is None and self.begndate <= day and (self.enddate is None or day <= self.enddate)


@dataclass(frozen=True)
class Move:
    id: int
    institution_code: str
    batch: str
    med_list_codg: str
    medins_list_codg: str
    name: str
    kind: str
    delta: Decimal
    price: Decimal | None
    at: datetime
    setl_id: str | None
    psn_no: str | None
    info: dict
    created_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True)
class Family:
    grants: list[Grant]  # active at the moment asked, by position
    payers: dict[int, Person]  # the granting relatives (the patient left out)
    payer_insurances: dict[int, list[Insurance]]
    relations: list[Relation]  # every relation the patient is on either side of
    accumulator: tuple[int, int]  # (deductible used, fund paid) in the year and category asked; (0, 0): none


@dataclass(frozen=True)
class PeriodSettlement:
    id: int
    person_id: int
    visit_id: int
    msgid: str | None
    medfee: int
    fund: int
    acct: int
    cash: int
    setl_time: datetime
    cancelled_at: datetime | None


@dataclass(frozen=True)
class NewClearing:
    """3203: a month's clearing as an institution applies for it (clearing type, the days it covers,
    how many settlements and their amounts in fen), under the columns' names."""

    clr_type: str
    setlym: str
    begin_date: date
    end_date: date
    count: int
    medfee: int
    fund: int
    acct: int
    cash: int


@dataclass(frozen=True)
class Clearing(NewClearing):
    """A clearing as kept: whose, the agreed reconciliation run it rests on, and whether cancelled (3204)."""

    id: int
    institution_code: str
    run_id: int
    created_at: datetime
    cancelled_at: datetime | None
