"""Messages already answered (idempotency and 冲正), sign-ins, institution credentials, nonces."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import BigInteger, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from yibao.care.messages import InstitutionCredential, Message, SignIn
from yibao.storage import raw
from yibao.storage.tables import institution_credentials, messages, nonces, sign_ins

_MESSAGE = select(messages).where(messages.c.institution_code == bindparam("i"), messages.c.msgid == bindparam("m"))
_MESSAGE_PG = _MESSAGE.with_for_update()
_INSERT_MESSAGE = messages.insert()
# The msgid held for the rest of the transaction (PostgreSQL): an advisory lock, no row, no WAL.
_HOLD = select(func.pg_advisory_xact_lock(bindparam("k", type_=BigInteger)))


def _claim(sqlite: bool):
    ins = (sqlite_insert if sqlite else pg_insert)(messages)
    values = {c.name: bindparam(c.name) for c in messages.c}
    return (
        ins.values(**values)
        .on_conflict_do_nothing(index_elements=["institution_code", "msgid"])
        .returning(messages.c.msgid)
    )


# Built once: a statement built per call costs SQLAlchemy a cache key every time.
_CLAIM = {True: _claim(True), False: _claim(False)}
_SIGN_IN = select(sign_ins).where(sign_ins.c.sign_no == bindparam("v"))
_CREDENTIAL = select(institution_credentials).where(institution_credentials.c.institution_code == bindparam("v"))
_CREDENTIAL_BY_KEY = select(institution_credentials).where(institution_credentials.c.api_key_hash == bindparam("h"))


def msgid_lock_key(institution: str, msgid: str) -> int:
    """The advisory lock's key for one institution's msgid: 64 bits of a hash (a collision only
    makes two calls wait for each other)."""
    h = hashlib.blake2b(f"{institution}\x00{msgid}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big", signed=True)


def _hold_and_read(institution: str, msgid: str, read) -> list[tuple]:
    """The msgid's advisory lock, then ``read`` of its row: two statements, so that a call that
    waited for the lock reads what the holder committed."""
    return [(_HOLD, {"k": msgid_lock_key(institution, msgid)}), (read, {"i": institution, "m": msgid})]


class GatewayRepo:
    def __init__(self, tx):
        self.tx = tx
        self.conn = tx.conn
        self._signs: dict[str, tuple | None] = {}  # sign-ins read with the claim, for the next ``sign_in``
        self._expected: tuple[tuple[str, str], str | None] | None = None  # a msgid to hold with the credential read
        self._held: tuple[tuple[str, str], Message | None] | None = None  # the msgid held and its record

    # Messages ------------------------------------------------------------------------------------

    def message(self, institution: str, msgid: str, *, lock: bool = False) -> Message | None:
        """``lock``: the msgid held (as ``hold`` does: a call still running under it is waited for)
        and its row locked."""
        if lock and not self.tx.sqlite:
            _, found = raw.together(self.tx, _hold_and_read(institution, msgid, _MESSAGE_PG))
            return Message(*found[0]) if found else None
        r = self.conn.execute(_MESSAGE, {"i": institution, "m": msgid}).first()
        return Message(*r) if r else None

    def hold(self, institution: str, msgid: str, *, sign_no: str | None = None) -> None:
        """Hold the msgid until the transaction ends and read what was recorded under it
        (``held()``). PostgreSQL: an advisory lock on it, then the read — a second statement, so
        that a call waiting for the lock reads what the holder committed; both go out with the next
        ``credential`` read (one round trip). SQLite: the transaction already holds the one write
        lock (``BEGIN IMMEDIATE``); the read goes now.

        ``sign_no``: the session the call names, read in the same round trip and kept for the next
        ``sign_in(sign_no)`` of this unit of work."""
        key = (institution, msgid)
        if self.tx.sqlite:
            r = raw.first(self.tx, _MESSAGE, {"i": institution, "m": msgid})
            self._held = (key, Message(*r) if r else None)  # the session, if any, is read when asked for
        else:
            self._expected = (key, sign_no)

    def held(self, institution: str, msgid: str) -> Message | None:
        """The message recorded under the msgid ``hold`` holds (None: not yet answered)."""
        if self._expected is not None:  # no credential read took it out: it goes now
            self._send_held([])
        if self._held is None or self._held[0] != (institution, msgid):
            raise AssertionError(f"msgid {msgid} is not the one held")  # a caller bug, never a wrong answer
        return self._held[1]

    def record(self, m: Message) -> None:
        """The answered message, written with the commit (the msgid is held: nobody else writes it)."""
        raw.later(self.tx, _INSERT_MESSAGE, m.__dict__)

    def claim(self, m: Message) -> bool:
        """Insert the message row unless one exists (a 2601's tombstone for a message not yet
        arrived); waits for a concurrent insert of the same msgid. False: one was recorded."""
        return raw.first(self.tx, _CLAIM[self.tx.sqlite], m.__dict__) is not None

    def mark_reversed(self, institution: str, msgid: str, by: str) -> None:
        self.conn.execute(
            update(messages)
            .where(messages.c.institution_code == institution, messages.c.msgid == msgid)
            .values(reversed_by=by)
        )

    def messages_about(self, ref: str) -> list[Message]:
        return [Message(*r) for r in self.conn.execute(select(messages).where(messages.c.ref == ref))]

    # Sign-in -------------------------------------------------------------------------------------

    def add_sign_in(self, s: SignIn) -> None:
        self._signs.clear()
        self.conn.execute(sign_ins.insert(), s.__dict__)

    def sign_in(self, sign_no: str) -> SignIn | None:
        # read with the claim (nothing written to sign-ins since), else now
        r = self._signs.pop(sign_no) if sign_no in self._signs else raw.first(self.tx, _SIGN_IN, {"v": sign_no})
        return SignIn(*r) if r else None

    def sign_out(self, sign_no: str, at: datetime) -> None:
        self._signs.clear()
        self.conn.execute(update(sign_ins).where(sign_ins.c.sign_no == sign_no).values(signed_out_at=at))

    # Credentials and nonces ----------------------------------------------------------------------

    def put_credential(self, c: InstitutionCredential) -> None:
        self.conn.execute(
            delete(institution_credentials).where(institution_credentials.c.institution_code == c.institution_code)
        )
        self.conn.execute(institution_credentials.insert(), c.__dict__)

    def credential_by_key_hash(self, digest: str) -> InstitutionCredential | None:
        """Every HTTP gateway call with an API key reads it: through ``raw`` (BEGIN in its round trip)."""
        r = raw.first(self.tx, _CREDENTIAL_BY_KEY, {"h": digest})
        return InstitutionCredential(*r) if r else None

    def credential(self, institution: str) -> InstitutionCredential | None:
        """With, in the same round trip, the institution's row (``CareRepo.institution``): the
        gateway reads both for every call; and the msgid ``hold`` holds, if any (after the reads, so
        a lock that waits for a resend's holder waits with them)."""
        care = self.tx.care
        reads = [(_CREDENTIAL, {"v": institution})]
        known = care.institution_known(institution)
        if not known:
            reads.append(care.institution_read(institution))
        creds, *rest = self._send_held(reads)
        if not known:
            inst, *rest = rest
            care.remember_institution(institution, inst[0] if inst else None)
        r = creds[0] if creds else None
        return InstitutionCredential(*r) if r else None

    def _send_held(self, reads: list) -> list[list[tuple]]:
        """``reads`` and the held msgid's lock and reads, in one round trip; the rows of ``reads``."""
        expected, self._expected = self._expected, None
        if expected is None:
            return raw.together(self.tx, reads) if len(reads) > 1 else [raw.rows(self.tx, *reads[0])]
        (institution, msgid), sign_no = expected
        mine = _hold_and_read(institution, msgid, _MESSAGE)
        if sign_no:
            mine.append((_SIGN_IN, {"v": sign_no}))
        out = raw.together(self.tx, [*reads, *mine])
        found = out[len(reads) + 1]
        self._held = ((institution, msgid), Message(*found[0]) if found else None)
        if sign_no:
            sign = out[len(reads) + 2]
            self._signs[sign_no] = sign[0] if sign else None
        return out[: len(reads)]

    def credential_by_ak(self, ak: str) -> InstitutionCredential | None:
        r = self.conn.execute(select(institution_credentials).where(institution_credentials.c.gateway_ak == ak)).first()
        return InstitutionCredential(*r) if r else None

    def credential_by_paasid(self, paasid: str) -> InstitutionCredential | None:
        r = self.conn.execute(
            select(institution_credentials).where(institution_credentials.c.tif_paasid == paasid)
        ).first()
        return InstitutionCredential(*r) if r else None

    def use_nonce(self, paasid: str, nonce: str, at: datetime) -> bool:
        """True the first time a nonce is seen for a paasid; False for a replay."""
        ins = sqlite_insert(nonces) if self.tx.sqlite else pg_insert(nonces)
        stmt = ins.values(paasid=paasid, nonce=nonce, seen_at=at).on_conflict_do_nothing(
            index_elements=["paasid", "nonce"]
        )
        return self.conn.execute(stmt.returning(nonces.c.nonce)).first() is not None

    def forget_nonces_before(self, before: datetime) -> None:
        self.conn.execute(delete(nonces).where(nonces.c.seen_at < before))
