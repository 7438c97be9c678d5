"""Messages already answered (idempotency and 冲正), sign-ins, institution credentials, nonces."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from yibao.care.messages import InstitutionCredential, Message, SignIn
from yibao.storage import raw
from yibao.storage.tables import institution_credentials, messages, nonces, sign_ins

_MESSAGE = select(messages).where(messages.c.institution_code == bindparam("i"), messages.c.msgid == bindparam("m"))
_MESSAGE_PG = _MESSAGE.with_for_update()
_INSERT_MESSAGE = messages.insert()


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
_ANSWER = (
    update(messages)
    .where(messages.c.institution_code == bindparam("i"), messages.c.msgid == bindparam("m"))
    .values(answer=bindparam("a"), ref=bindparam("r"))
)


class GatewayRepo:
    def __init__(self, tx):
        self.tx = tx
        self.conn = tx.conn
        self._signs: dict[str, tuple | None] = {}  # sign-ins read with the claim, for the next ``sign_in``
        self._expected: tuple[Message, str | None] | None = None  # a claim to send with the credential read
        self._claimed: tuple[Message, bool] | None = None  # a claim sent ahead and whether it took the msgid

    # Messages ------------------------------------------------------------------------------------

    def message(self, institution: str, msgid: str, *, lock: bool = False) -> Message | None:
        stmt = _MESSAGE_PG if lock and not self.tx.sqlite else _MESSAGE
        r = self.conn.execute(stmt, {"i": institution, "m": msgid}).first()
        return Message(*r) if r else None

    def record(self, m: Message) -> None:
        self.conn.execute(_INSERT_MESSAGE, m.__dict__)

    def claim(self, m: Message, *, sign_no: str | None = None) -> bool:
        """Insert the message row unless one exists; waits for a concurrent claim of the same msgid
        to commit or roll back. False: the msgid was already answered.

        ``sign_no``: the session the call names, read in the same round trip (after the claim) and
        kept for the next ``sign_in(sign_no)`` of this unit of work."""
        ahead, self._claimed, self._expected = self._claimed, None, None
        if ahead is not None:
            if ahead[0] != m:  # the caller announced another claim: a bug, never a silent wrong answer
                raise AssertionError(f"claim {m.msgid} differs from the one sent ahead ({ahead[0].msgid})")
            if sign_no and sign_no not in self._signs:
                self._signs[sign_no] = raw.first(self.tx, _SIGN_IN, {"v": sign_no})
            return ahead[1]
        claim = (_CLAIM[self.tx.sqlite], m.__dict__)
        if not sign_no:
            return raw.first(self.tx, *claim) is not None
        claimed, sign = raw.together(self.tx, [claim, (_SIGN_IN, {"v": sign_no})])
        self._signs[sign_no] = sign[0] if sign else None
        return bool(claimed)

    def unclaim(self, institution: str, msgid: str) -> None:
        self.conn.execute(delete(messages).where(messages.c.institution_code == institution, messages.c.msgid == msgid))

    def answer(self, institution: str, msgid: str, answer: str, ref: str | None) -> None:
        raw.later(self.tx, _ANSWER, {"i": institution, "m": msgid, "a": answer, "r": ref})  # sent with the commit

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

    def expect_claim(self, m: Message, *, sign_no: str | None = None) -> bool:
        """The next ``claim(m, sign_no=…)`` goes out with the next ``credential`` read (PostgreSQL:
        one round trip fewer for every written call); whether it will. The caller makes sure the
        claim it then asks for is this one (``claim`` refuses another) or rolls the unit of work back."""
        if self.tx.sqlite:  # in-process SQLite has no round trips to save
            return False
        self._expected = (m, sign_no)
        return True

    def credential(self, institution: str) -> InstitutionCredential | None:
        """With, in the same round trip, the institution's row (``CareRepo.institution``): the
        gateway reads both for every call; and the claim announced by ``expect_claim``, if any
        (after the reads, so a claim that waits on a resend's row waits with them)."""
        care = self.tx.care
        reads = [(_CREDENTIAL, {"v": institution})]
        known = care.institution_known(institution)
        if not known:
            reads.append(care.institution_read(institution))
        expected, self._expected = self._expected, None
        if expected is not None:
            m, sign_no = expected
            reads.append((_CLAIM[False], m.__dict__))
            if sign_no:
                reads.append((_SIGN_IN, {"v": sign_no}))
        if len(reads) == 1:
            r = raw.first(self.tx, _CREDENTIAL, {"v": institution})
            return InstitutionCredential(*r) if r else None
        creds, *rest = raw.together(self.tx, reads)
        if not known:
            inst, *rest = rest
            care.remember_institution(institution, inst[0] if inst else None)
        if expected is not None:
            self._claimed = (m, bool(rest[0]))
            if sign_no:
                self._signs[sign_no] = rest[1][0] if rest[1] else None
        r = creds[0] if creds else None
        return InstitutionCredential(*r) if r else None

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
