"""Credential jobs: card loss and replacement, passwords, e-voucher tokens.

Card status and account status are separate: a lost card stops card-channel settlement, while the
e-voucher and the ID number keep working and the balance is untouched.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from yibao.credentials.model import (
    CARD_ACTIVE,
    CARD_LOST,
    CARD_REPLACED,
    CARD_TEMP_LOST,
    EcToken,
    PasswordState,
    hash_password,
    make_card_no,
    make_card_sn,
    valid_password,
    verify_password,
)
from yibao.credentials.voucher import qr_content, read_qr, signed_token
from yibao.errors import refuse
from yibao.lifecycle.model import Person
from yibao.services.care import person_or_refuse
from yibao.services.platform import Platform
from yibao.storage.uow import Tx

TEMP_LOSS_DAYS = 15  # a temporary loss report lapses unless made formal (regional; D-grade figure)
TOKEN_MINUTES = 30  # a token decoded from a QR code (1162) is short-lived
VOUCHER_KEY = "voucher_hmac_key"


def report_card_lost(platform: Platform, psn_no: str, kind: str = "temporary", *, tx: Tx | None = None) -> str:
    """临时挂失 (lapses after a while) or 正式挂失 (until replaced); returns the card number."""
    if kind not in ("temporary", "formal"):
        raise refuse("E7301-006", kind=kind)
    now = platform.now()
    with platform.unit(tx) as tx:
        person = person_or_refuse(tx, psn_no)
        card = _live_cards(tx, person.id, "E7301-001")[-1]
        already_temp = card.status == CARD_TEMP_LOST and not card.usable(now)
        if card.status == CARD_LOST or (already_temp and kind == "temporary"):
            raise refuse("E7301-002")  # a temporary report may still be made formal
        if kind == "temporary":
            tx.credentials.set_card_status(card.id, CARD_TEMP_LOST, now, now + timedelta(days=TEMP_LOSS_DAYS))
        else:
            tx.credentials.set_card_status(card.id, CARD_LOST, now)
        return card.card_no


def _live_cards(tx: Tx, person_id: int, refusal: str) -> list:
    """The person's cards not yet replaced, oldest first, or the refusal when there are none."""
    cards = [c for c in tx.credentials.cards_of(person_id) if c.status != CARD_REPLACED]
    if not cards:
        raise refuse(refusal)
    return cards


def cancel_card_loss(platform: Platform, psn_no: str, *, tx: Tx | None = None) -> None:
    """解挂: the card was found."""
    now = platform.now()
    with platform.unit(tx) as tx:
        person = person_or_refuse(tx, psn_no)
        card = next((c for c in tx.credentials.cards_of(person.id) if c.status in (CARD_TEMP_LOST, CARD_LOST)), None)
        if card is None:
            raise refuse("E7301-007")
        tx.credentials.set_card_status(card.id, CARD_ACTIVE, now)


def replace_card(platform: Platform, psn_no: str, *, tx: Tx | None = None) -> tuple[str, str]:
    """补换卡: the old card stops for good; a new card number and 卡识别码 are issued."""
    now = platform.now()
    with platform.unit(tx) as tx:
        person = person_or_refuse(tx, psn_no)
        for c in _live_cards(tx, person.id, "E7301-005"):
            tx.credentials.set_card_status(c.id, CARD_REPLACED, now)
        serial = len(tx.credentials.cards_of(person.id)) * 10_000_000 + person.id
        card_no = make_card_no(serial)
        while tx.credentials.card_by_no(card_no):
            serial += 1
            card_no = make_card_no(serial)
        card = tx.credentials.add_card(person.id, card_no, make_card_sn(), now)
        return card.card_no, card.card_sn


def set_password(
    platform: Platform, psn_no: str, password: str, *, old: str | None = None, reset: bool = False, tx: Tx | None = None
) -> None:
    """Set a first password, change it (the old one is required), or reset it (agency counter)."""
    if not valid_password(password):
        raise refuse("E7301-003")
    now = platform.now()
    with platform.unit(tx) as tx:
        person = person_or_refuse(tx, psn_no)
        state = tx.credentials.password(person.id, lock=True)
        if state is not None and not reset and (old is None or not verify_password(state.hash, old)):
            raise refuse("E7301-004")
        tx.credentials.put_password(person.id, PasswordState(hash_password(password)), now)


def issue_token(platform: Platform, psn_no: str, minutes: int = TOKEN_MINUTES, *, tx: Tx | None = None) -> EcToken:
    now = platform.now()
    with platform.unit(tx) as tx:
        person = person_or_refuse(tx, psn_no)
        token = signed_token(voucher_key(tx), person.admdvs)
        return tx.credentials.add_token(token, person.id, now, now + timedelta(minutes=minutes))


def voucher_key(tx: Tx) -> bytes:
    """The platform's voucher signing key, made on first use and kept in the settings table."""
    value = tx.config.get(VOUCHER_KEY)
    if value is None:  # made once; a concurrent maker's key, if kept first, is the key
        value = tx.config.put_new(VOUCHER_KEY, secrets.token_hex(32))
    return bytes.fromhex(value)


def voucher_qr(platform: Platform, psn_no: str, *, tx: Tx | None = None) -> str:
    """The QR content a phone (or a 亲情账户 holder) shows for this person right now."""
    with platform.unit(tx) as tx:
        person = person_or_refuse(tx, psn_no)
        return qr_content(voucher_key(tx), person.psn_no, platform.now())


def decode_voucher(platform: Platform, qr: str, *, tx: Tx | None = None) -> tuple[Person, EcToken]:
    """1162: a genuine, fresh QR string → the person and a short-lived token to settle with."""
    now = platform.now()
    with platform.unit(tx) as tx:
        psn_no = read_qr(voucher_key(tx), qr, now)
        person = tx.people.by_psn_no(psn_no) if psn_no else None
        if person is None:
            raise refuse("E1162-001")
        token = tx.credentials.add_token(
            signed_token(voucher_key(tx), person.admdvs), person.id, now, now + timedelta(minutes=TOKEN_MINUTES)
        )
        return person, token


def revoke_token(platform: Platform, token: str, *, tx: Tx | None = None) -> None:
    now = platform.now()
    with platform.unit(tx) as tx:
        found = tx.credentials.token(token)
        if found is None or not found.valid(now):
            raise refuse("E7301-008")
        tx.credentials.revoke_token(token, now)


def credentials_of(platform: Platform, psn_no: str, at: datetime | None = None, *, tx: Tx | None = None) -> dict:
    now = at or platform.now()
    with platform.unit(tx) as tx:
        person = person_or_refuse(tx, psn_no)
        state = tx.credentials.password(person.id)
        return {
            "cards": tx.credentials.cards_of(person.id),
            "tokens": [t for t in tx.credentials.tokens_of(person.id) if t.valid(now)],
            "password_set": state is not None,
            "locked_until": state.locked_until if state and state.locked(now) else None,
        }
