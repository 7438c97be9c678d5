"""The region link's messages: versioned, documented data types (docs/regions.md §Messages).

Every message travels in one ``Envelope`` whose ``schema`` names the version. A receiver refuses a
version it does not know (E7601-005) and a body that does not fit its kind (E7601-002); it never
guesses. Money is integer fen (``*_fen``) bounded by ``MAX_FEN``; dates are ISO dates, times are
Beijing time without a zone, like the national interface.

Phase 1 defines the types; phase 2 (cross-region settlement) gives them handlers:
``person.query`` → ``person.answer``; ``reserve`` → ``reserved``; ``post`` / ``void`` / ``cancel`` /
``reinstate`` → ``answer``; ``clearing.statement`` → ``answer``. ``link.ping`` answers at once and
is what ``yibao region health`` sends.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from yibao.errors import refuse

SCHEMA = "yibao.regionlink/1"
MAX_FEN = 10**15  # ten trillion yuan: larger than any fund; every amount is checked against it

Admdvs = Annotated[str, Field(pattern=r"^\d{6}$")]
MsgId = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_-]+$")]  # subject-safe
Fen = Annotated[int, Field(ge=0, le=MAX_FEN)]
SignedFen = Annotated[int, Field(ge=-MAX_FEN, le=MAX_FEN)]  # a clearing's net: adjustments may outweigh it
Code = Annotated[str, Field(min_length=1, max_length=30)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Ping(_Body):
    note: str = Field("", max_length=200)


class PersonQuery(_Body):
    """就医地 → 参保地 (1101 / 2001 style): who is this, and what are they entitled to on ``day``."""

    psn_no: Code | None = None
    certno: Code | None = None
    insutype: Literal["310", "390"] | None = None
    day: date
    care_admdvs: Admdvs  # the 就医地, so the 参保地 can look up the off-site filing


class Balances(_Body):
    current_fen: Fen
    historical_fen: Fen


class PersonAnswer(_Body):
    psn_no: Code
    certno: Code
    psn_cert_type: Code = "01"
    name: str = Field(max_length=50)
    gender: Literal["0", "1", "2", "9"]
    naty: str = Field("01", max_length=3)
    birth: date
    insutype: Literal["310", "390"]
    psn_type: Code
    insured_from: date
    insured_to: date | None = None
    emp_name: str | None = Field(None, max_length=200)
    in_waiting: bool
    waiting_until: date | None = None
    offsite: Literal["filed", "temporary", "unfiled"]
    balances: Balances | None = None  # None: no personal account (residents)


Signed = Annotated[int, Field(ge=-MAX_FEN, le=MAX_FEN)]
Dec = Annotated[str, Field(pattern=r"^-?\d{1,16}(\.\d{1,6})?$")]


class ClaimLine(_Body):
    """One fee line as the 就医地's catalogue classed it (就医地目录): the 参保地 only applies its policy."""

    sn: Code
    code: Code
    name: str = Field(max_length=200)
    chrgitm_lv: Literal["01", "02", "03"]
    selfpay_bp: int = Field(ge=0, le=10_000)  # 乙类先行自付比例, basis points
    price_ceiling: Dec | None = None
    amount_fen: Signed  # negative for a refund line
    price: Dec
    count: Dec


class Reserve(_Body):
    """就医地 → 参保地: compute this claim with the 参保地's policy and accumulators and (``reserve``)
    hold the fund and account amounts pending under ``reservation_id`` until ``expires_at``; as
    ``quote`` (2206) the same calculation, nothing held."""

    reservation_id: MsgId  # the idempotency key of the whole two-phase transfer
    setl_ref: Code  # the 就医地's setl_id (a placeholder for a quote)
    psn_no: Code
    insutype: Literal["310", "390"]
    med_type: Code
    day: date
    institution: Code
    hospital_level: int = Field(ge=0, le=3)
    lines: tuple[ClaimLine, ...] = Field(min_length=1, max_length=2000)
    acct_used: bool
    family_only: bool = False
    visit_deductible_used_fen: Fen = 0
    expires_at: datetime


class Reserved(_Body):
    reservation_id: MsgId
    status: Literal["pending", "posted", "voided", "reversed"]
    expires_at: datetime


class Post(_Body):
    reservation_id: MsgId
    setl_ref: Code | None = None  # the 就医地's setl_id, known once it has booked


class Void(_Body):
    reservation_id: MsgId
    reason: Literal["failed", "timeout", "cancelled_before_post", "expired"]


class Cancel(_Body):
    """2208 / 2305 (``cancel``) and 2601 of a cancellation (``reinstate``) of a posted cross-region settlement."""

    reservation_id: MsgId
    setl_ref: Code
    infno: Literal["2208", "2305", "2103", "2601"]
    revision: int = Field(0, ge=0, le=1_000_000)  # the settlement's revision: one cancel or reinstate each


class ClearingLine(_Body):
    institution: Code
    settlements: int = Field(ge=0, le=10**9)
    fund_fen: Fen
    acct_fen: Fen


class ClearingItem(_Body):
    reservation_id: MsgId
    setl_ref: Code
    amount_fen: Fen  # fund + own account + mutual aid: what the payer region owes for it


class ClearingAdjustment(_Body):
    reservation_id: MsgId
    setl_ref: Code
    amount_fen: SignedFen  # now standing − already cleared


class ClearingStatement(_Body):
    """Monthly: what ``payee_region`` advanced for ``payer_region``'s insured, per institution."""

    month: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
    payer_region: Admdvs
    payee_region: Admdvs
    lines: tuple[ClearingLine, ...] = Field(max_length=100_000)
    items: tuple[ClearingItem, ...] = Field(max_length=1_000_000)  # the settlements behind it
    # earlier months' settlements cancelled (−) or reinstated (+) after their month was cleared
    adjustments: tuple[ClearingAdjustment, ...] = Field(default=(), max_length=1_000_000)
    total_fen: SignedFen
    digest: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]  # sha256 of the sorted items


class Answer(_Body):
    ok: bool
    code: str | None = None  # the refusal's stable code (``yibao errors``) when not ok
    message: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


BODIES: dict[str, type[_Body]] = {
    "link.ping": Ping,
    "person.query": PersonQuery,
    "person.answer": PersonAnswer,
    "quote": Reserve,
    "reserve": Reserve,
    "reserved": Reserved,
    "post": Post,
    "void": Void,
    "cancel": Cancel,
    "reinstate": Cancel,
    "clearing.statement": ClearingStatement,
    "answer": Answer,
}
Kind = Literal[
    "link.ping",
    "person.query",
    "person.answer",
    "quote",
    "reserve",
    "reserved",
    "post",
    "void",
    "cancel",
    "reinstate",
    "clearing.statement",
    "answer",
]


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["yibao.regionlink/1"] = Field(SCHEMA, alias="schema")
    kind: Kind
    msg_id: MsgId  # also the JetStream Nats-Msg-Id: the sender's idempotency key for this message
    from_region: Admdvs
    to_region: Admdvs
    sent_at: datetime
    deadline: datetime | None = None  # after this the sender has given up (and voids what it reserved)
    reply_to: MsgId | None = None  # on an answer: the request's msg_id
    body: dict[str, Any]

    def parsed(self) -> _Body:
        return BODIES[self.kind].model_validate(self.body)


def make(kind: str, body: _Body, **fields: Any) -> Envelope:
    """An envelope for ``body``; the body is validated against its kind on the way out too."""
    if not isinstance(body, BODIES[kind]):
        raise TypeError(f"{kind} carries {BODIES[kind].__name__}, not {type(body).__name__}")
    return Envelope(kind=kind, body=body.model_dump(mode="json"), **fields)


def encode(env: Envelope) -> bytes:
    return env.model_dump_json(by_alias=True).encode()


def decode(raw: bytes) -> Envelope:
    """Bytes from the wire → a checked envelope and body; refusals name what is wrong."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise refuse("E7601-002", detail=f"不是合法的JSON：{exc}") from None
    if not isinstance(doc, dict):
        raise refuse("E7601-002", detail="报文应为JSON对象")
    if doc.get("schema") != SCHEMA:
        raise refuse("E7601-005", version=str(doc.get("schema"))[:40])
    try:
        env = Envelope.model_validate(doc)
        env.parsed()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise refuse("E7601-002", detail=f"{where}：{first['msg']}") from None
    return env
