"""ID numbers, cards, e-voucher tokens and passwords: formats and rules, no storage; the console's
staff accounts and the sign-in failure counters as kept.

Passwords are 6-digit card PINs, so the real protection is the lockout after
``credential.max_failures`` wrong tries; the hash (argon2id) keeps a stolen table from giving them
away outright. Its cost is set for a counter terminal's latency budget, not for a login page.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from yibao.errors import DomainError

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"

# The cost, against the lockout (issue 11). A password is a 6-digit PIN: 10^6 candidates.
# - Online, the lockout is the whole defence and the hash plays no part: ``credential.max_failures``
#   (5 in every shipped region) wrong tries lock the password for ``credential.lock_minutes`` (1440),
#   so a guesser gets at most 5 tries a day: an even chance of a given PIN after 10^6 / 2 / 5 =
#   100,000 days (≈ 274 years); 0.18 % in a year.
# - Offline (a stolen ``passwords`` table), the hash is what costs: one verification is ≈ 1.3 ms of
#   one core here (argon2id, t=1, m=2 MiB, p=1), so one person's PIN falls after at most
#   10^6 × 1.3 ms ≈ 22 core-minutes, a region of 10^6 people after ≈ 41 core-years. No cost a counter
#   can afford protects one PIN (×10 is 3.6 core-hours), so the cost is set for the mass case and
#   the settlement's budget: 1.3 ms, paid only when an account pays and a password is needed, and
#   outside the account locks (``services.identity.verify_ahead``). 2 MiB keeps GPU guessing
#   memory-bound. Stored hashes carry their parameters: changing these never invalidates one.
_hasher = PasswordHasher(time_cost=1, memory_cost=2048, parallelism=1)


def id_check_digit(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def valid_certno(certno: str) -> bool:
    """An 18-character 居民身份证号码 with a correct GB 11643 check character."""
    if not isinstance(certno, str) or not re.fullmatch(r"[0-9]{17}[0-9X]", certno):
        return False
    try:
        date(int(certno[6:10]), int(certno[10:12]), int(certno[12:14]))
    except ValueError:
        return False
    return id_check_digit(certno[:17]) == certno[17]


def make_certno(admdvs: str, birth: date, serial: int, gender: str) -> str:
    """A valid ID number: area, birth date, a sequence whose parity is the gender (odd male)."""
    seq = (serial * 2) % 1000
    if gender == "1":
        seq = seq + 1 if seq % 2 == 0 else seq
        seq %= 1000
    base = f"{admdvs}{birth:%Y%m%d}{seq:03d}"
    return base + id_check_digit(base)


def make_card_no(serial: int) -> str:
    return f"A{serial:08d}"


def make_card_sn() -> str:
    return secrets.token_hex(16).upper()


def valid_password(pw: object) -> bool:
    return isinstance(pw, str) and re.fullmatch(r"[0-9]{6}", pw) is not None


def hash_password(pw: str) -> str:
    return _hasher.hash(pw)


def verify_password(hashed: str, pw: str) -> bool:
    try:
        return _hasher.verify(hashed, pw)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class PasswordState:
    hash: str
    failures: int = 0
    locked_until: datetime | None = None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def after_failure(self, now: datetime, max_failures: int, lock_minutes: int) -> PasswordState:
        failures = self.failures + 1
        if max_failures and failures >= max_failures:
            return PasswordState(self.hash, 0, now + timedelta(minutes=lock_minutes))
        return PasswordState(self.hash, failures, None)

    def after_success(self) -> PasswordState:
        return PasswordState(self.hash, 0, None)


CARD_ACTIVE, CARD_TEMP_LOST, CARD_LOST, CARD_REPLACED = "active", "temp_lost", "lost", "replaced"


@dataclass(frozen=True)
class Card:
    id: int
    person_id: int
    card_no: str
    card_sn: str
    status: str
    status_until: datetime | None = None

    def usable(self, now: datetime) -> bool:
        if self.status == CARD_ACTIVE:
            return True
        # A temporary loss report lapses by itself; the card works again afterwards.
        return self.status == CARD_TEMP_LOST and self.status_until is not None and now >= self.status_until


@dataclass(frozen=True)
class EcToken:
    """An issued e-voucher token (医保电子凭证): valid from issue until expiry unless revoked."""

    token: str
    person_id: int
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    def valid(self, now: datetime) -> bool:
        return self.revoked_at is None and self.issued_at <= now < self.expires_at


def check_admin(expected: str | None, authorization: str | None) -> None:
    """The admin API's bearer token (``Authorization: Bearer <token>``), compared in constant time."""
    if expected is None:
        raise DomainError("E0000-006", "管理接口未配置令牌")
    given = (authorization or "").removeprefix("Bearer ").strip()
    if not given or not hmac.compare_digest(given, expected):
        raise DomainError("E0000-006", "管理令牌无效（Authorization: Bearer <token>）")


@dataclass(frozen=True)
class StaffRow:
    username: str
    name: str
    role: str
    password_hash: str
    failures: int
    locked_until: datetime | None


@dataclass(frozen=True)
class Claim:
    """One sign-in attempt claimed against a counter before the password is checked."""

    refused: bool  # the counter was locked already: the attempt is not checked at all
    failures: int  # failures counted so far, this attempt included (when not refused)
    locked_until: datetime | None  # set once this attempt reached the limit (or when refused)
