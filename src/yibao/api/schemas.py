"""REST API request and response bodies. Money is a decimal string ("123.45") both ways."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

from yibao.services.case_world import Handle
from yibao.services.platform import CHINA


def _beijing(d: datetime) -> datetime:
    """Times inside are Beijing time without a zone; an incoming time with a zone is converted."""
    return d.astimezone(CHINA).replace(tzinfo=None) if d.tzinfo is not None else d


# RFC 3339 on the way out (the platform's naive times are Beijing time), naive Beijing time inside.
BeijingTime = Annotated[
    datetime,
    AfterValidator(_beijing),
    PlainSerializer(lambda d: (d if d.tzinfo else d.replace(tzinfo=CHINA)).isoformat(), return_type=str),
]

MoneyText = str  # "123.45"
# ASCII digits, two decimals; the size is bounded by ``limits.MAX_AMOUNT_FEN`` (10,000,000.00) when parsed.
AMOUNT = r"^[0-9]{1,8}(\.[0-9]{1,2})?$"
MONTH = r"^[0-9]{4}-[0-9]{2}$"


def psn_field(description: str = "人员编号 psn_no") -> Any:
    return Field(min_length=1, max_length=30, description=description)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(BaseModel):
    code: str = Field(description="稳定的错误代码，如 E7101-002")
    message: str = Field(description="中文原因")


class RegionOut(BaseModel):
    admdvs: str
    region_id: str
    name: str


class PolicyIn(Strict):
    policy_text: str = Field(min_length=1, max_length=500_000, description="政策文件 YAML 全文")
    overrides: dict[str, Any] | None = None


class SourceOut(BaseModel):
    id: str
    title: str
    url: str | None
    grade: str
    illustrative: bool


class ParameterOut(BaseModel):
    key: str
    description: str
    by: list[str]
    since: date | None
    value: Any
    source: SourceOut


class InstitutionIn(Strict):
    code: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["hospital", "pharmacy"]
    level: int = Field(ge=0, le=3)
    admdvs: str = Field(pattern=r"^[0-9]{6}$")


class InstitutionOut(BaseModel):
    code: str
    name: str
    kind: str
    level: int
    admdvs: str
    active: bool


class CredentialsIn(Strict):
    variant: Literal["plain", "sm"] = Field(
        "plain", description="plain 明文报文；sm 为 SM4 加密 input/output、SM2 签名 cainfo"
    )
    sign_in: Literal["required", "optional"] = Field(
        "required", description='optional：该机构每笔交易都经签名认证，可不签到（sign_no 为空或 "null"）'
    )


class CredentialsOut(BaseModel):
    institution: str
    api_key: str
    tif_paasid: str
    tif_token: str
    gateway_ak: str = Field(description="省级服务网关 _api_access_key")
    gateway_sk: str = Field(description="省级服务网关签名密钥（HmacSHA1），只显示一次")
    variant: str
    sign_in: str
    sm4_key: str | None = Field(None, description="SM 变体：SM4 密钥（32位十六进制）")
    sm2_private_key: str | None = Field(None, description="SM 变体：机构的 SM2 私钥（十六进制），用于签名 cainfo")
    sm2_public_key: str | None = Field(None, description="SM 变体：机构的 SM2 公钥")
    platform_sm2_public_key: str | None = Field(None, description="SM 变体：平台 SM2 公钥，用于验证应答签名")


class CatalogIn(Strict):
    code: str = Field(min_length=1, max_length=50)
    name: str = Field(min_length=1, max_length=200)
    chrgitm_lv: Literal["01", "02", "03"]
    selfpay_prop: str | None = Field(default=None, pattern=r"^(0(\.[0-9]{1,4})?|1(\.0{1,4})?)$")
    pric_uplmt: str | None = Field(default=None, pattern=r"^[0-9]{1,8}(\.[0-9]{1,6})?$")


class CatalogOut(BaseModel):
    code: str
    name: str
    chrgitm_lv: str
    selfpay_prop: str
    pric_uplmt: str | None


class PersonIn(Strict):
    name: str = Field(min_length=1, max_length=50)
    birth: date
    gender: Literal["0", "1", "2", "9"]
    admdvs: str = Field(pattern=r"^[0-9]{6}$")
    certno: str | None = Field(default=None, max_length=18)
    insutype: Literal["310", "390"] | None = None
    psn_type: str | None = Field(default=None, max_length=6)
    insured_since: date | None = None
    insured_until: date | None = None
    current: MoneyText = Field(default="0.00", pattern=AMOUNT, description="当年账户期初余额（元）")
    historical: MoneyText = Field(default="0.00", pattern=AMOUNT, description="历年账户期初余额（元）")
    password: str | None = Field(default=None, pattern=r"^[0-9]{6}$")
    emp_name: str | None = Field(default=None, max_length=200)


class InsuranceOut(BaseModel):
    insutype: str
    psn_type: str
    begin: date
    end: date | None
    benefit_start: date
    status: str


class BalancesOut(BaseModel):
    psn_no: str
    current: MoneyText
    historical: MoneyText
    total: MoneyText
    has_account: bool


class PersonOut(BaseModel):
    psn_no: str
    name: str
    certno: str
    gender: str
    birth: date
    admdvs: str
    insurances: list[InsuranceOut] = []


class CreatedPersonOut(PersonOut):
    card_no: str
    card_sn: str
    ec_token: str


class AccumulatorsOut(BaseModel):
    psn_no: str
    year: int
    categories: dict[str, dict[str, MoneyText]]


class RelationIn(Strict):
    of: str = psn_field()
    to: str = psn_field()
    relation: Literal["spouse", "parent", "child", "sibling", "grandparent", "grandchild"]


class GrantIn(Strict):
    payer: str = psn_field()
    beneficiary: str = psn_field()


class OrderIn(Strict):
    payers: list[str] = Field(max_length=20)


class ProxyIn(Strict):
    holder: str = psn_field()
    member: str = psn_field()
    face_verified: bool = False
    commitment_letter: bool = False


class ProxyPairIn(Strict):
    holder: str = psn_field()
    member: str = psn_field()


class VerificationDecisionIn(Strict):
    by: str = Field(min_length=1, max_length=100, description="谁核验的：经办人员或核验服务的名称（记入核验记录）")
    note: str | None = Field(None, max_length=200)


class VerificationOut(BaseModel):
    id: int
    holder: str
    holder_name: str
    member: str
    member_name: str
    relation: str
    status: Literal["pending", "confirmed", "rejected"]
    requested_at: BeijingTime
    decided_at: BeijingTime | None = None
    decided_via: str | None = None
    decided_by: str | None = None
    note: str | None = None


class StaffIn(Strict):
    username: str = Field(min_length=3, max_length=40, pattern=r"^[A-Za-z0-9_]+$")
    name: str = Field(min_length=1, max_length=50)
    role: Literal["viewer", "operator"]
    password: str = Field(min_length=8, max_length=200)


class StaffRoleIn(Strict):
    role: Literal["viewer", "operator"]


class StaffOut(BaseModel):
    username: str
    name: str
    role: Literal["viewer", "operator"]


class CardLossIn(Strict):
    kind: Literal["temporary", "formal"] = "temporary"


class PasswordIn(Strict):
    password: str = Field(pattern=r"^[0-9]{6}$")
    old: str | None = Field(default=None, max_length=6)
    reset: bool = False


class OkOut(BaseModel):
    ok: bool = True
    detail: dict[str, Any] = {}


class PayerOut(BaseModel):
    psn_no: str
    name: str
    order: int


class MutualAidOut(BaseModel):
    psn_no: str
    payers: list[PayerOut]
    beneficiaries: list[PayerOut]


class SettlementSummary(BaseModel):
    setl_id: str
    mdtrt_id: str
    psn_no: str
    psn_name: str
    institution: str
    infno: str
    med_type: str
    setl_time: BeijingTime
    status: str
    medfee: MoneyText
    fund_pay: MoneyText
    acct_pay: MoneyText
    mulaid_pay: MoneyText
    cash_pay: MoneyText


class SettlementDetail(SettlementSummary):
    setlinfo: dict[str, Any]
    setldetail: list[dict[str, Any]]
    explanation: list[str]


class WorldIn(Strict):
    case_yaml: str = Field(min_length=1, max_length=1_000_000)
    policy_text: str | None = Field(default=None, max_length=500_000)
    origin: str = Field(default="case.yaml", max_length=500)


class WorldOut(BaseModel):
    admdvs: str
    handles: dict[str, Handle]  # the service's own record of a person in the world, as it is


class SandboxWorldOut(BaseModel):
    holds_data: bool
    case_origin: str | None = None  # the case file whose world this is; None: data from elsewhere
    people: int = 0


class ClockIn(Strict):
    to: BeijingTime


class ClockOut(BaseModel):
    now: BeijingTime
    jobs: list[str] = []


class EnrolIn(Strict):
    person: str = psn_field()
    insutype: Literal["310", "390"]
    psn_type: str = Field(min_length=2, max_length=6)
    date: date
    in_collection_window: bool | None = None
    exempt: bool = False
    repaired_years: int = Field(default=0, ge=0, le=50)
    emp_name: str | None = Field(default=None, max_length=200)


class ContributionIn(Strict):
    person: str = psn_field()
    month: str | None = Field(default=None, pattern=MONTH, description="职工：缴费月份 YYYY-MM")
    base: MoneyText | None = Field(default=None, pattern=AMOUNT, description="职工：缴费基数（元）")
    year: int | None = Field(default=None, ge=2000, le=2100, description="居民：缴费年度")
    amount: MoneyText | None = Field(default=None, pattern=AMOUNT, description="居民：缴费金额（元）")
    paid_on: date | None = None
    paid_by: str | None = Field(default=None, max_length=30, description="由亲属个人账户共济代缴时，亲属的 psn_no")


class EndInsuranceIn(Strict):
    insutype: Literal["310", "390"]
    last_day: date


class SuspendIn(Strict):
    insutype: Literal["310", "390"]
    since: date | None = None


class PreallocationIn(Strict):
    first_month: str = Field(pattern=MONTH)
    months: int = Field(ge=1, le=24)
    base: MoneyText = Field(pattern=AMOUNT)


class FilingIn(Strict):
    person: str = psn_field()
    kind: Literal["filed", "temporary"]
    valid_from: date = Field(alias="from")
    valid_to: date | None = Field(default=None, alias="to")
    admdvs: str | None = Field(default=None, pattern=r"^[0-9]{6}$")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ProxyMemberOut(BaseModel):
    psn_no: str
    name: str
    relation: str
    verified_by: str
    bound_at: BeijingTime


class ExpensesOut(BaseModel):
    psn_no: str
    year: int
    count: int
    months: dict[str, MoneyText]
    categories: dict[str, MoneyText]
    totals: dict[str, MoneyText]


class PaidForOut(BaseModel):
    psn_no: str
    name: str
    active: bool
    settlements: MoneyText
    premiums: MoneyText
