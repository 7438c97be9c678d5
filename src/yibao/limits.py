"""Every bound on what a client may send, in one place, each with its reason.

Parsers at every boundary (the gateway's input nodes, the REST schemas, case files, policy files)
call the checks here or in ``yibao.money`` (which reads its bounds from here), so a value is refused
with the same code and the same Chinese sentence whichever door it came in by. Claim rules that need
a policy (look-back, lines per claim) have their defaults here and their dated values in the policy.

Why the ledger cannot overflow
------------------------------
The ledger keeps, per account, the running totals ``debits`` and ``credits`` in 64-bit integer fen
(``BIGINT``: at most 2^63 − 1 ≈ 9.22 × 10^18 fen ≈ 92 trillion yuan). Every transfer comes from one
amount a client sent, bounded by ``MAX_AMOUNT_FEN`` (10^9 fen), or is derived from such amounts and
never larger than the claim it belongs to (a settlement's parts add up to ``medfee_sumamt``).

- Realistic load: all of China's basic medical insurance funds together spent about 2.8 trillion
  yuan in 2023 (2.8 × 10^14 fen). Were the whole nation's spending booked to one account, its totals
  would reach 2^63 after about 32,000 years.
- Adversarial load: an institution sending only maximal claims needs 2^63 / 10^9 ≈ 9.2 × 10^9 of
  them; at a sustained 1,000 settlements a second (several times what ``bench/`` measures) that is
  about 107 days of nothing but 10-million-yuan claims: far-fetched, but not out of reach.

So the bound alone is not the guarantee: ``LedgerStore.post`` refuses, before writing anything, an
entry that would take an account's totals past ``LEDGER_TOTAL_MAX`` (``E0000-010``). An overflow is
impossible by construction, and the account stays readable and reversible when it nears the limit.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from yibao.errors import CATALOGUE, DomainError

# Amounts, prices and counts ---------------------------------------------------------------------

# Any single amount: a claim's total, one fee line, an opening balance, a contribution base, a
# premium, a policy figure. 10,000,000.00 yuan: the costliest single treatments paid in China
# (CAR-T about 1.2 million yuan a dose; the longest ICU stays a few million) stay well below it,
# and so do the largest policy figures (annual caps including 大病 are under 1 million).
MAX_AMOUNT_FEN = 1_000_000_000
# A unit price (yuan, up to 6 decimals): no unit costs more than a whole claim may.
MAX_PRICE = Decimal(MAX_AMOUNT_FEN) / 100
PRICE_PLACES = 6
# A line's count (up to 4 decimals): a million units (grams of herbs, ml of infusion, hours of
# oxygen) is more than any single line of a year-long stay carries.
MAX_COUNT = Decimal(1_000_000)
COUNT_PLACES = 4
# Rounding: each line's ``det_item_fee_sumamt`` may differ from round(pric × cnt) by one fen (HIS
# systems round differently); over a whole claim those differences may add up to at most one fen.
LINE_ROUNDING_FEN = 1
CLAIM_ROUNDING_FEN = 1

# Fee lines in one claim, by category, when the policy does not say (``settlement.max_fee_lines``).
# 处方管理办法 (卫生部令第53号) allows five drugs a prescription, so a pharmacy purchase of a few
# prescriptions and some herbal ones (20–30 herbs each) stays under 200 lines; an outpatient visit
# with examinations under 500; an inpatient stay has a few dozen lines a day, so 10,000 covers a
# half-year stay between 中途结算.
MAX_FEE_LINES = {"outpatient": 500, "chronic": 500, "pharmacy": 200, "inpatient": 10_000}

# A whole number in a policy file (months of waiting, minutes of lockout, members, days of
# look-back): the largest real one is a lockout of 1,440 minutes; 100,000 leaves room and keeps
# every date computed from one inside the calendar.
MAX_POLICY_COUNT = 100_000

# Times --------------------------------------------------------------------------------------------

# How far ahead of the platform's clock a client's clock may run: TIF timestamps, and the day a
# visit or purchase starts on (``settlement.claim_rules``: only its day picks money rules).
CLOCK_SKEW = timedelta(minutes=5)
# How long before the platform's clock a visit, admission or purchase may have started, when it is
# registered (2201, 2401, 2101/2102) and when it is settled, by category, when the policy does not
# say (``settlement.registration_lookback_hours``, ``settlement.claim_lookback_days``). Outpatient
# care and pharmacy purchases are settled the same day or soon after; an admission is registered
# within a few days (入院后24–72小时内登记) and its stay may last long.
REGISTRATION_LOOKBACK_HOURS = {"outpatient": 24, "chronic": 24, "pharmacy": 24, "inpatient": 72}
CLAIM_LOOKBACK_DAYS = {"outpatient": 3, "chronic": 3, "pharmacy": 1, "inpatient": 730}

# Any date a client sends (births, insurance periods, contribution months, statement periods): the
# oldest insured people were born after 1900; 2199 leaves every date computation (a month later, a
# waiting period) far from the calendar's end at 9999.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)

# Identifiers ---------------------------------------------------------------------------------------

# Row keys behind ``mdtrt_id`` / ``setl_id`` are 32-bit integers on PostgreSQL: a serial above this
# names nothing that can exist.
MAX_ROW_ID = 2**31 - 1

# Ledger --------------------------------------------------------------------------------------------

# The most an account's running ``debits`` or ``credits`` may reach (BIGINT). See the module text.
LEDGER_TOTAL_MAX = 2**63 - 1


class OutOfRange(DomainError, ValueError):
    """A well-formed value beyond its documented bound: the refusal ``E0000-009``, distinct from a
    malformed value (``E0000-008``). It is also a ``ValueError``, so a parser inside a validator
    (Pydantic, the policy loader) may raise it, and ``str()`` is the bare reason for the validator to
    place after the field's name; service code raises it as the refusal it is."""

    def __init__(self, detail: str):
        super().__init__("E0000-009", CATALOGUE["E0000-009"].format(detail=detail))
        self.detail = detail

    def __str__(self) -> str:
        return self.detail


def refusal_code(exc: object) -> str:
    """The code for a value a validator refused: ``E0000-009`` when ``exc`` is an ``OutOfRange``
    (a bound), ``E0000-008`` otherwise (a malformed value)."""
    return exc.code if isinstance(exc, OutOfRange) else "E0000-008"


def check_date(d: date, what: str) -> date:
    """``d`` if it lies in [EARLIEST_DATE, LATEST_DATE], else ``OutOfRange``."""
    day = d.date() if isinstance(d, datetime) else d
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise OutOfRange(f"{what}超出允许范围（{EARLIEST_DATE}至{LATEST_DATE}）：{d}")
    return d


# The national forms first, then what real HIS clients send for the same time (issue 12): ISO with a
# "T", compact digits, slashes.
TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M:%S",
    "%Y%m%d%H%M%S",
    "%Y%m%d",
    "%Y/%m/%d %H:%M:%S",
)


_DIGITS = frozenset("0123456789")


def national_time(text: str) -> datetime | None:
    """``yyyy-MM-dd HH:mm:ss`` or ``yyyy-MM-dd`` in ASCII digits, read without ``strptime`` (a
    settlement reads three or four of them); None for anything else, including an impossible
    date (then ``strptime`` decides, and says why, as before)."""
    n = len(text)
    if n == 19:
        if text[4] != "-" or text[7] != "-" or text[10] != " " or text[13] != ":" or text[16] != ":":
            return None
        digits = text[:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:]
    elif n == 10:
        if text[4] != "-" or text[7] != "-":
            return None
        digits = text[:4] + text[5:7] + text[8:]
    else:
        return None
    if not _DIGITS.issuperset(digits):
        return None
    try:
        if n == 10:
            return datetime(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
        return datetime(
            int(digits[:4]), int(digits[4:6]), int(digits[6:8]), int(digits[8:10]), int(digits[10:12]), int(digits[12:])
        )
    except ValueError:
        return None


def parse_time(value: object, what: str = "时间") -> datetime:
    """A time a client sends (``yyyy-MM-dd HH:mm:ss``, ``yyyy-MM-dd`` or one of ``TIME_FORMATS``) in
    ASCII digits, within the date bounds. ``strptime`` alone would take full-width digits ("２０２５")."""
    if isinstance(value, datetime):
        return check_date(value, what)
    if isinstance(value, date):
        return check_date(datetime(value.year, value.month, value.day), what)
    if isinstance(value, str):
        text = value.strip()
        moment = national_time(text)
        if moment is not None:
            return check_date(moment, what)
        if text.isascii():
            for fmt in TIME_FORMATS:
                try:
                    moment = datetime.strptime(text, fmt)
                except ValueError:
                    continue
                return check_date(moment, what)
        elif any(not c.isascii() and c.isdigit() for c in text):
            raise ValueError(f"{what}须使用半角数字：{value!r}")
    raise ValueError(f"{what}格式应为 yyyy-MM-dd HH:mm:ss 或 yyyy-MM-dd：{str(value)[:40]!r}")


def parse_month(value: object, what: str = "月份") -> date:
    """``YYYY-MM`` in ASCII digits → the month's first day, within the date bounds."""
    text = value.strip() if isinstance(value, str) else ""
    if len(text) == 7 and text[4] == "-" and text.isascii() and (text[:4] + text[5:]).isdigit():
        year, month = int(text[:4]), int(text[5:])
        if not EARLIEST_DATE.year <= year <= LATEST_DATE.year:
            raise OutOfRange(f"{what}超出允许范围（{EARLIEST_DATE:%Y-%m}至{LATEST_DATE:%Y-%m}）：{text}")
        if 1 <= month <= 12:
            return date(year, month, 1)
    raise ValueError(f"{what}应为 YYYY-MM：{value!r}")
