"""The settlement calculation's inputs and result: plain immutable values in fen.

These types are what the pure calculation sees. Storage, the gateway and the case runner build
them; nothing in this package reads a database, a file or a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

ITEM_CLASS_A, ITEM_CLASS_B, ITEM_SELF_PAY = "01", "02", "03"  # 甲类 / 乙类 / 自费（丙类）


@dataclass(frozen=True)
class CatalogItem:
    code: str
    name: str
    chrgitm_lv: str  # "01" 甲类, "02" 乙类, "03" 自费
    selfpay_bp: int = 0  # 乙类先行自付比例 (national selfpay_prop), in basis points (1/10 000)
    price_ceiling: Decimal | None = None  # 限价 (yuan per unit), exact


@dataclass(frozen=True)
class FeeLine:
    sn: str
    item: CatalogItem
    amount: int  # det_item_fee_sumamt in fen; negative for a refund line
    price: Decimal
    count: Decimal


@dataclass(frozen=True)
class LineSplit:
    """Steps 1–3 for one fee line."""

    sn: str
    item: CatalogItem
    amount: int
    price: Decimal
    count: Decimal
    ownpay: int  # fulamt_ownpay_amt
    overlimit: int  # overlmt_amt
    preselfpay: int  # preselfpay_amt
    in_scope: int  # 符合政策范围 (national inscp_scp_amt)


@dataclass(frozen=True)
class Buckets:
    current: int
    historical: int

    @property
    def total(self) -> int:
        return self.current + self.historical

    def get(self, bucket: str) -> int:
        return self.current if bucket == "current" else self.historical


@dataclass(frozen=True)
class PayerCandidate:
    """A relative who has granted mutual aid to the patient, as the calculation needs to see them."""

    psn_no: str
    name: str
    gender: str
    relation: str  # how the payer relates to the patient: "parent" means the payer is the parent
    order: int  # position in the beneficiary's binding order (1 first)
    insured_active: bool  # insured, employee scheme, not suspended, on the claim day
    balances: Buckets | None  # None: the payer has no personal account


@dataclass(frozen=True)
class Patient:
    psn_no: str
    name: str
    scheme: str  # "employee" | "resident"
    person_class: str  # "in_service" | "retired" | "resident"
    account: Buckets | None  # None: no personal account (residents)
    in_waiting: bool = False  # inside a 待遇等待期: the pooled fund pays nothing
    waiting_until: date | None = None
    age: int | None = None  # on the claim day, for parameters banded ``by: [age]`` (None: not known)


@dataclass(frozen=True)
class YearToDate:
    """This medical year's accumulators in the claim's category, and this admission's deductible."""

    deductible_used: int = 0
    fund_paid: int = 0
    visit_deductible_used: int = 0  # deductible already met in this admission (interim settlements)


@dataclass(frozen=True)
class Claim:
    day: date
    med_type: str
    hospital_level: int  # 0 pharmacy / community, 1, 2, 3
    lines: tuple[FeeLine, ...]
    acct_used: bool
    offsite: str | None = None  # None at home; "filed" / "temporary" / "unfiled" off-site
    own_account: bool = True  # False for acct_used_flag 2: only relatives' accounts pay, through mutual aid


@dataclass(frozen=True)
class Draw:
    bucket: str  # "current" | "historical"
    amount: int


@dataclass(frozen=True)
class AccountPayment:
    """What one personal account paid: the patient's own, or a relative's through mutual aid."""

    psn_no: str
    name: str
    relation: str | None  # None for the patient's own account
    gender: str
    draws: tuple[Draw, ...]

    @property
    def total(self) -> int:
        return sum(d.amount for d in self.draws)


@dataclass(frozen=True)
class Settlement:
    """Every figure of one settlement (steps 1–10) and the explanation a patient can follow."""

    category: str
    scheme: str
    person_class: str
    hospital_level: int
    benefit: bool  # the pooled fund had a benefit in force for this claim
    ratio_bp: int  # effective ratio after any off-site reduction, in basis points (1/10 000)
    deductible_scope: str | None
    lines: tuple[LineSplit, ...]
    medfee: int
    ownpay: int
    overlimit: int
    preselfpay: int
    in_scope: int  # 符合政策范围
    deductible: int  # 起付线 paid this time (national act_pay_dedc)
    fund_before_cap: int  # F
    fund_pay: int  # 统筹基金支付 (national hifp_pay and fund_pay_sumamt)
    coinsurance: int
    over_cap: int
    payable: int  # P, the part account money may pay
    own: AccountPayment | None
    mutual_aid: tuple[AccountPayment, ...]
    cash: int
    own_balance_after: int | None
    year_deductible_delta: int
    year_fund_delta: int
    steps: tuple[str, ...] = field(default=())
    fund_note: str = ""
    own_note: str = ""
    account_segment: int = 0  # 当年账户段: in-scope amount paid by the own account before the deductible

    @property
    def patient_share(self) -> int:
        """个人负担 (national psn_part_amt): own account + mutual aid + cash."""
        return self.medfee - self.fund_pay

    @property
    def own_account_pay(self) -> int:
        """本人个人账户支付 (national acct_pay)."""
        return self.own.total if self.own else 0

    @property
    def mutual_aid_pay(self) -> int:
        """家庭共济支付 (national acct_mulaid_pay)."""
        return sum(p.total for p in self.mutual_aid)

    @property
    def explanation(self) -> str:
        return "\n".join(self.steps)
