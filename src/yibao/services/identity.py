"""Who is this patient: credentials (voucher token, ID number, card) and the password check.

The password check is the one refusal that writes: a wrong password must count towards the
lockout even though the settlement it guarded is refused, so the count is committed in its own
short transaction before the refusal is raised.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from yibao.credentials.model import PasswordState, verify_password
from yibao.errors import DomainError, refuse
from yibao.lifecycle.model import Person
from yibao.services.platform import Platform
from yibao.storage.uow import Tx

CERT_VOUCHER, CERT_ID, CERT_CARD = "01", "02", "03"
_KEY_SETTING = "platform_rsa_private_key"
_key_lock = threading.Lock()


def resolve_credential(tx: Tx, now: datetime, cert_type: str, cert_no: str, card_sn: str | None = None) -> Person:
    """The person a 就诊凭证 names, or a refusal saying what is wrong with it."""
    if cert_type == CERT_ID:
        person = tx.people.by_certno(cert_no)
        if person is None:
            raise refuse("E1101-001", ref=f"身份证号{mask(cert_no)}")
        return person
    person = tx.people.by_id(credential_holder(tx, now, cert_type, cert_no, card_sn))
    assert person is not None
    return person


def credential_holder(tx: Tx, now: datetime, cert_type: str, cert_no: str, card_sn: str | None = None) -> int:
    """The id of the person a 就诊凭证 names (voucher token, ID number or card), or a refusal."""
    if cert_type == CERT_VOUCHER:
        token = tx.credentials.token(cert_no)
        if token is None or not token.valid(now):
            raise refuse("E1101-004")
        return token.person_id
    if cert_type == CERT_ID:
        person = tx.people.by_certno(cert_no)
        if person is None:
            raise refuse("E1101-001", ref=f"身份证号{mask(cert_no)}")
        return person.id
    elif cert_type == CERT_CARD:
        card = tx.credentials.card_by_no(cert_no)
        if card is None:
            raise refuse("E1101-002", detail=f"社会保障卡号不存在：{cert_no}")
        if card.status == "replaced":
            raise refuse("E1101-002", detail=f"社会保障卡已换发新卡，旧卡号{cert_no}停用")
        if not card.usable(now):
            raise refuse("E1101-003", card=cert_no)
        if card_sn is not None and card_sn != card.card_sn:
            raise refuse("E1101-007")
        return card.person_id
    raise refuse("E1101-002", detail=f"就诊凭证类型应为01/02/03：{cert_type!r}")


def expect_credential(tx: Tx, cert_type: str | None, cert_no: str | None) -> None:
    """Announce the 就诊凭证 about to be checked: storage reads it in the same round trip as the
    patient's lock (``credential_holder`` then finds it read)."""
    if not cert_no:
        return
    if cert_type == CERT_VOUCHER:
        tx.credentials.expect_token(cert_no)
    elif cert_type == CERT_CARD:
        tx.credentials.expect_card(cert_no)


def mask(text: str) -> str:
    return text if len(text) < 8 else f"{text[:4]}{'*' * (len(text) - 8)}{text[-4:]}"


# The platform key and the password on the wire ----------------------------------------------


def _private_key(platform: Platform, tx: Tx | None = None) -> rsa.RSAPrivateKey:
    cached = getattr(platform, "_rsa_key", None)
    if cached is not None:
        return cached
    with _key_lock:
        with platform.unit(tx) as tx:
            pem = tx.config.get(_KEY_SETTING)
            if pem is None:
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                pem = key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ).decode()
                pem = tx.config.put_new(_KEY_SETTING, pem)  # another process's, if it kept one first
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        platform._rsa_key = key
        return key


def public_key_pem(platform: Platform, tx: Tx | None = None) -> str:
    return (
        _private_key(platform, tx)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


_OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def encrypt_password(public_pem: str, password: str) -> str:
    """What an HIS puts in ``cainfo``: base64(RSA-OAEP-SHA256(password)) under the platform key."""
    key = serialization.load_pem_public_key(public_pem.encode())
    return base64.b64encode(key.encrypt(password.encode(), _OAEP)).decode()


def password_from_cainfo(platform: Platform, cainfo: str | None, tx: Tx | None = None) -> str:
    if not cainfo:
        raise refuse("E2207-007")
    if cainfo.startswith("plain:"):
        if not platform.sandbox:
            raise DomainError("E2207-003", "个人账户密码错误（明文密码只在沙箱模式下接受）")
        return cainfo[len("plain:") :]
    try:
        return _private_key(platform, tx).decrypt(base64.b64decode(cainfo, validate=True), _OAEP).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise DomainError("E2207-003", "个人账户密码错误（cainfo 无法解密）") from exc


class PasswordEarly:
    """A settlement's password taken from ``cainfo`` before its unit of work opens (the RSA
    decryption) and checked against the stored hash before the patient is locked (argon2), so that
    the deliberate cost of both is paid holding no lock: no row lock on PostgreSQL (the hash is read
    without one, in the transaction's first round trip), not SQLite's one write lock (read and
    checked before the unit opens). ``verify_ahead`` then reads the row locked and uses this check
    only if the hash is still the one checked."""

    __slots__ = ("_read", "done", "error", "ok", "password", "psn_no", "state")

    def __init__(self, psn_no: str, password: str | None, error: DomainError | None = None):
        self.psn_no, self.password, self.error = psn_no, password, error
        self.state: PasswordState | None = None  # the stored password it was checked against
        self.ok: bool | None = None  # None: not checked (none set, or the read never came)
        self.done = False  # the stored password was read (and checked, if there is one)
        self._read: Callable[[], PasswordState | None] | None = None

    def expect(self, tx: Tx) -> None:
        """In the settlement's unit of work, before it sends anything: the hash is read with its first
        round trip (on SQLite it was read before the unit opened)."""
        if self.error is None and not self.done and self._read is None:
            self._read = tx.credentials.password_early(self.psn_no)

    def check(self) -> None:
        """Before the patient is locked: the hash read by ``expect``, checked (once)."""
        if self._read is not None:
            read, self._read = self._read, None
            self._checked(read())

    def _checked(self, state: PasswordState | None) -> None:
        self.state, self.done = state, True
        if state is not None:
            self.ok = verify_password(state.hash, self.password)


def password_early(platform: Platform, psn_no: str, cainfo: str | None) -> PasswordEarly:
    """Before a settlement's unit of work opens: the password decrypted now, its check prepared
    (``PasswordEarly``). A ``cainfo`` that cannot be read is kept as the refusal it will be, if an
    account pays."""
    try:
        password = password_from_cainfo(platform, cainfo)
    except DomainError as exc:
        return PasswordEarly(psn_no, None, exc)
    early = PasswordEarly(psn_no, password)
    if platform.store.one_writer:  # read beside the writer, checked before taking its lock
        with platform.unit(read_only=True) as tx:
            state = tx.credentials.password_early(psn_no)()
        early._checked(state)
    return early


@dataclass(frozen=True)
class VerifiedAhead:
    """The password read from ``cainfo`` and checked against the stored hash before the settlement
    locks any account: the deliberate cost of the hash (and the RSA decryption) never lengthens a
    lock another settlement may wait on. What it means is decided later, only if a personal
    account pays (``check_password(ahead=…)``)."""

    state: object | None  # the stored password (locked for update), None: none set
    ok: bool | None  # None: not verified (no password set, or locked out)
    error: DomainError | None = None  # cainfo missing or unreadable


def verify_ahead(
    platform: Platform, tx: Tx, person: Person, cainfo: str | None, early: PasswordEarly | None = None
) -> VerifiedAhead:
    """``early``: the password decrypted and checked before the patient was locked; its check
    stands if the hash read now, under the lock, is the one it was checked against."""
    if early is not None and early.psn_no != person.psn_no:
        early = None  # another patient's (the input named two): never used for this one
    if early is not None and early.error is not None:
        return VerifiedAhead(None, None, early.error)
    try:
        password = early.password if early is not None else password_from_cainfo(platform, cainfo, tx)
    except DomainError as exc:
        return VerifiedAhead(None, None, exc)
    state = tx.credentials.password(person.id, lock=True, psn_no=person.psn_no)  # read with the person's lock
    if state is None or state.locked(platform.now()):
        return VerifiedAhead(state, None)
    if early is not None and early.ok is not None and early.state is not None and early.state.hash == state.hash:
        return VerifiedAhead(state, early.ok)
    return VerifiedAhead(state, verify_password(state.hash, password))  # changed since, or not checked early


def check_password(
    platform: Platform,
    psn_no: str,
    cainfo: str | None,
    day,
    *,
    tx: Tx | None = None,
    person=None,
    ahead: VerifiedAhead | None = None,
) -> None:
    """Verify the patient's password; count a failure (committed) and lock after too many.

    On its own, the hash is read in a read-only transaction and verified outside it, so the
    deliberate cost of the hash never holds a lock. Inside the gateway's transaction the check
    comes before any other write, and a refusal keeps only the failure count. ``ahead``: the
    verification already done by ``verify_ahead`` (before the settlement's account locks).
    """
    if ahead is not None and ahead.error is not None:
        raise ahead.error
    password = password_from_cainfo(platform, cainfo, tx) if ahead is None else None
    now = platform.now()
    with platform.unit(tx, read_only=True) as rtx:
        person = person or rtx.people.by_psn_no(psn_no)
        if person is None:
            raise refuse("E1101-001", ref=f"人员编号{psn_no}")
        state = ahead.state if ahead is not None else rtx.credentials.password(person.id, lock=tx is not None)
        policy = platform.policy(rtx, person.admdvs)
    if state is None:
        raise DomainError("E2207-003", "个人账户密码错误（尚未设置密码）")
    if state.locked(now):
        raise refuse("E2207-004", until=f"{state.locked_until:%Y-%m-%d %H:%M}")
    ok = ahead.ok if ahead is not None else verify_password(state.hash, password)
    if ok:
        if state.failures:
            with platform.unit(tx) as wtx:
                current = wtx.credentials.password(person.id, lock=True)
                if current is not None and current.hash == state.hash:
                    wtx.credentials.put_password(person.id, current.after_success(), now)
        return
    max_failures = policy.setting("credential.max_failures", day)
    lock_minutes = policy.setting("credential.lock_minutes", day)
    with platform.unit(tx) as wtx:
        current = wtx.credentials.password(person.id, lock=True) or state
        failed = current.after_failure(now, max_failures, lock_minutes)
        wtx.credentials.put_password(person.id, failed, now)
    if failed.locked(now):
        error = refuse("E2207-004", until=f"{failed.locked_until:%Y-%m-%d %H:%M}")
    else:
        error = refuse("E2207-003")
    error.keep_writes = True
    raise error
