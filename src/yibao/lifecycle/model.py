"""People, their insurance, and the medical year — the rules that do not need a database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from yibao.errors import refuse
from yibao.limits import check_date
from yibao.policy.model import Policy

EMPLOYEE, RESIDENT = "310", "390"
SCHEME_OF_INSUTYPE = {EMPLOYEE: "employee", RESIDENT: "resident"}
FUND_PAY_TYPE = {EMPLOYEE: "310100", RESIDENT: "390100"}  # 统筹基金 in setldetail
ACCOUNT_FUND_PAY_TYPE = "310200"  # 职工基本医疗保险个人账户基金
INSUTYPE_NAMES = {EMPLOYEE: "职工基本医疗保险", RESIDENT: "城乡居民基本医疗保险"}

PSN_TYPE_NAMES = {
    "1101": "职工在职",
    "1102": "公务员在职",
    "1103": "灵活就业人员在职",
    "1160": "在职（地方扩展）",
    "1201": "职工退休",
    "1202": "公务员退休",
    "1203": "灵活就业人员退休",
    "1260": "退休（地方扩展）",
    "1300": "离休人员",
    "1401": "新生儿",
    "1402": "学龄前儿童",
    "1403": "中小学生",
    "1404": "大学生",
    "1405": "未成年（未入学）",
    "1460": "未成年（地方扩展）",
    "1501": "普通居民（成年）",
    "1560": "成年居民（地方扩展）",
}


def scheme_of(insutype: str) -> str | None:
    return SCHEME_OF_INSUTYPE.get(insutype)


def person_class_of(insutype: str, psn_type: str) -> str:
    """in_service / retired / resident, from the national 人员类别 (and short legacy codes)."""
    if insutype == RESIDENT:
        return "resident"
    if psn_type.startswith(("12", "13")):
        return "retired"
    if psn_type.startswith("11"):
        return "in_service"
    return "resident" if psn_type.startswith(("14", "15", "16")) else "in_service"


def valid_psn_type(psn_type: str) -> bool:
    return psn_type in PSN_TYPE_NAMES or psn_type in {"11", "12", "13", "14", "15", "16"}


def medical_year(day: date, year_start: tuple[int, int]) -> int:
    """The medical year containing ``day``, named by the calendar year in which it starts."""
    return day.year if (day.month, day.day) >= year_start else day.year - 1


def year_start_date(year: int, year_start: tuple[int, int]) -> date:
    return date(year, *year_start)


def medical_year_of(policy: Policy, day: date) -> int:
    """The medical year ``day`` falls in, as the policy in force that day starts it (``account.year_start``)."""
    return medical_year(day, policy.setting("account.year_start", day))


def year_starts_between(policy: Policy, since: date, until: date) -> list[date]:
    """Medical-year start days in (since, until]."""
    out = []
    for year in range(since.year, until.year + 1):
        start = year_start_date(year, policy.setting("account.year_start", date(year, 1, 1)))
        if since < start <= until:
            out.append(start)
    return out


def check_birth(birth: date, today: date, *, insured_from: date | None = None) -> None:
    """A birth date the platform can believe: within the calendar's bounds, not after today, and not
    after the day an insurance begins (a newborn is insured from birth at the earliest)."""
    check_date(birth, "出生日期")
    if birth > today:
        raise refuse("E7401-009", detail=f"{birth} 晚于今天（{today}）")
    if insured_from is not None and birth > insured_from:
        raise refuse("E7401-009", detail=f"{birth} 晚于参保开始日期 {insured_from}")


def whole_years(birth_year: int, birth_month: int, birth_day: int, year: int, month: int, day: int) -> int:
    """Completed years from a birth date to a day, in plain integers (the simulator compiles this very
    function, so a patient's age has one definition)."""
    before_birthday = 1 if (month, day) < (birth_month, birth_day) else 0
    return year - birth_year - before_birthday


def age_on(birth: date, day: date) -> int:
    return whole_years(birth.year, birth.month, birth.day, day.year, day.month, day.day)


@dataclass(frozen=True)
class Person:
    id: int
    psn_no: str
    certno: str
    psn_cert_type: str
    name: str
    gender: str
    birth: date
    naty: str
    admdvs: str


@dataclass(frozen=True)
class Insurance:
    id: int
    person_id: int
    insutype: str
    psn_type: str
    begin: date
    end: date | None
    benefit_start: date
    suspended_from: date | None = None
    emp_name: str | None = None

    @property
    def scheme(self) -> str | None:
        return scheme_of(self.insutype)

    @property
    def person_class(self) -> str:
        return person_class_of(self.insutype, self.psn_type)

    def covers(self, day: date) -> bool:
        """Insured on ``day``: started, not ended, not suspended."""
        if day < self.begin or (self.end is not None and day > self.end):
            return False
        return self.suspended_from is None or day < self.suspended_from

    def status_on(self, day: date) -> str:
        """``psn_insu_stas``: 1 参保缴费, 2 暂停参保, 4 终止参保 (0 not yet started)."""
        if day < self.begin:
            return "0"
        if self.end is not None and day > self.end:
            return "4"
        if self.suspended_from is not None and day >= self.suspended_from:
            return "2"
        return "1"

    def in_waiting(self, day: date) -> bool:
        return self.covers(day) and day < self.benefit_start
