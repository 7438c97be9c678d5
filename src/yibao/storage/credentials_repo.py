"""Cards, e-voucher tokens and password state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import bindparam, select, update

from yibao.credentials.model import Card, EcToken, PasswordState
from yibao.storage import raw
from yibao.storage.tables import cards, ec_tokens, passwords, people

_CARD_COLS = (
    cards.c.id,
    cards.c.person_id,
    cards.c.card_no,
    cards.c.card_sn,
    cards.c.status,
    cards.c.status_until,
)


_CARD_BY_NO = select(*_CARD_COLS).where(cards.c.card_no == bindparam("v"))
_TOKEN = select(ec_tokens).where(ec_tokens.c.token == bindparam("v"))
_PASSWORD = select(passwords.c.hash, passwords.c.failures, passwords.c.locked_until).where(
    passwords.c.person_id == bindparam("v")
)
_PASSWORD_PG = _PASSWORD.with_for_update()
# By the person's number: without a lock, read before the patient is locked for the hash to be checked
# holding no lock (``password_early``); locked, sent with the person's lock, after it (``expect_password``).
_PASSWORD_BY_PSN = select(passwords.c.hash, passwords.c.failures, passwords.c.locked_until).where(
    passwords.c.person_id == select(people.c.id).where(people.c.psn_no == bindparam("v")).scalar_subquery()
)
_PASSWORD_BY_PSN_PG = _PASSWORD_BY_PSN.with_for_update(of=passwords)


_AHEAD = "_credential_ahead"  # in the unit of work: {(statement, number): row or None} read ahead


class CredentialsRepo:
    def __init__(self, tx):
        self.tx = tx
        self.conn = tx.conn

    # Read in the round trip that locks their person (``PeopleRepo.by_psn_no``) ------------------

    def expect_token(self, token: str) -> None:
        """The next ``token(token)`` is read along with the next person locked (PostgreSQL)."""
        self._with_lock(None, _TOKEN, token)

    def expect_card(self, card_no: str) -> None:
        """The next ``card_by_no(card_no)`` is read along with the next person locked (PostgreSQL)."""
        self._with_lock(None, _CARD_BY_NO, card_no)

    def expect_password(self, psn_no: str) -> None:
        """The next ``password(…, lock=True, psn_no=psn_no)`` is read (and locked) right after the
        person ``psn_no`` is locked, in the same round trip (PostgreSQL)."""
        if not self.tx.sqlite:
            self._with_lock(psn_no, _PASSWORD_BY_PSN_PG, psn_no)

    def _with_lock(self, psn_no: str | None, stmt, number: str) -> None:
        def arrived(_person, results: list[list[tuple]]) -> None:
            rows = results[0]
            self.tx.__dict__.setdefault(_AHEAD, {})[(id(stmt), number)] = rows[0] if rows else None

        self.tx.people.expect_with_lock(psn_no, [(stmt, {"v": number})], arrived)

    def password_early(self, psn_no: str) -> Callable[[], PasswordState | None]:
        """The password of the person ``psn_no``, read without a lock; on PostgreSQL it goes out with
        the unit of work's next statement (the gateway's credential read), its row kept until asked
        for. The caller re-reads it locked before relying on it (``password(lock=True)``)."""
        read = raw.ahead(self.tx, _PASSWORD_BY_PSN, {"v": psn_no})

        def state() -> PasswordState | None:
            found = read.rows()
            return PasswordState(*found[0]) if found else None

        return state

    def _ahead(self, stmt, number: str) -> tuple[bool, tuple | None]:
        ahead = self.tx.__dict__.get(_AHEAD)
        key = (id(stmt), number)
        return (True, ahead.pop(key)) if ahead and key in ahead else (False, None)

    def _forget_ahead(self) -> None:
        self.tx.__dict__.pop(_AHEAD, None)

    # Cards -------------------------------------------------------------------------------------

    def add_card(self, person_id: int, card_no: str, card_sn: str, now: datetime) -> Card:
        self._forget_ahead()
        pk = self.conn.execute(
            cards.insert().values(
                person_id=person_id,
                card_no=card_no,
                card_sn=card_sn,
                status="active",
                issued_at=now,
                status_at=now,
            )
        ).inserted_primary_key[0]
        return Card(pk, person_id, card_no, card_sn, "active")

    def card_by_no(self, card_no: str) -> Card | None:
        known, r = self._ahead(_CARD_BY_NO, card_no)
        if not known:
            r = raw.first(self.tx, _CARD_BY_NO, {"v": card_no})
        return Card(*r) if r else None

    def cards_of(self, person_id: int) -> list[Card]:
        rows = self.conn.execute(select(*_CARD_COLS).where(cards.c.person_id == person_id).order_by(cards.c.id))
        return [Card(*r) for r in rows]

    def set_card_status(self, card_id: int, status: str, now: datetime, until: datetime | None = None) -> None:
        self._forget_ahead()
        self.conn.execute(
            update(cards).where(cards.c.id == card_id).values(status=status, status_until=until, status_at=now)
        )

    # E-voucher tokens --------------------------------------------------------------------------

    def add_token(self, token: str, person_id: int, issued_at: datetime, expires_at: datetime) -> EcToken:
        self._forget_ahead()
        self.conn.execute(
            ec_tokens.insert().values(token=token, person_id=person_id, issued_at=issued_at, expires_at=expires_at)
        )
        return EcToken(token, person_id, issued_at, expires_at, None)

    def token(self, token: str) -> EcToken | None:
        known, r = self._ahead(_TOKEN, token)
        if not known:
            r = raw.first(self.tx, _TOKEN, {"v": token})
        return EcToken(*r) if r else None

    def tokens_of(self, person_id: int) -> list[EcToken]:
        rows = self.conn.execute(
            select(ec_tokens).where(ec_tokens.c.person_id == person_id).order_by(ec_tokens.c.issued_at)
        )
        return [EcToken(*r) for r in rows]

    def revoke_token(self, token: str, now: datetime) -> None:
        self._forget_ahead()
        self.conn.execute(update(ec_tokens).where(ec_tokens.c.token == token).values(revoked_at=now))

    # Passwords ---------------------------------------------------------------------------------

    def password(self, person_id: int, *, lock: bool = False, psn_no: str | None = None) -> PasswordState | None:
        """``psn_no``: the person's number, under which ``expect_password`` may have read it ahead."""
        known, r = self._ahead(_PASSWORD_BY_PSN_PG, psn_no) if lock and psn_no else (False, None)
        if not known:
            stmt = _PASSWORD_PG if lock and not self.tx.sqlite else _PASSWORD
            r = raw.first(self.tx, stmt, {"v": person_id})
        return PasswordState(*r) if r else None

    def put_password(self, person_id: int, state: PasswordState, now: datetime) -> None:
        self._forget_ahead()
        values = dict(hash=state.hash, failures=state.failures, locked_until=state.locked_until, updated_at=now)
        done = self.conn.execute(update(passwords).where(passwords.c.person_id == person_id).values(**values))
        if done.rowcount == 0:
            self.conn.execute(passwords.insert().values(person_id=person_id, **values))
