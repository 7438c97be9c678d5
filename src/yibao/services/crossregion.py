"""Cross-region direct settlement (issue 15 phase 2): the 参保地's reservations, the 就医地's side.

"就医地目录、参保地政策": the 就医地 (care region, C) checks the visit and classes the fee lines with
its own catalogue; the 参保地 (insured region, I) runs the calculation with its policy, its
accumulators and the patient's accounts, and *reserves* the fund and account amounts — a pending
transfer, TigerBeetle's pending/post/void (``ledger.reservations``). C books its settlement and
answers the HIS, then I posts; a failure or a missed deadline voids. Each I-side function here is
one unit of work called by the link's handler inside ``apply_once`` (the message is applied once);
the C side talks to I through the ``PeerLink`` port the server gives the platform
(``regionlink.client.LinkClient``), never through the adapter itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from yibao import faults
from yibao.care.ids import settlement_public_id
from yibao.care.model import SettlementView
from yibao.errors import DomainError, refuse
from yibao.ledger.model import LedgerError, fund_account, person_bucket
from yibao.ledger.postings import cross_entry, holds_of
from yibao.ledger.reservations import (
    PENDING,
    POSTED,
    REVERSED,
    VOIDED,
    CrossSettlement,
    Hold,
    Reservation,
    cancel_entry,
    due_from_account,
    due_to_account,
    held_account,
    next_state,
    post_entry,
    reinstate_entry,
    reserve_entry,
    void_entry,
)
from yibao.lifecycle.model import FUND_PAY_TYPE, Person, medical_year_of
from yibao.services.care import insurance_on, person_or_refuse
from yibao.services.lifecycle import offsite_status
from yibao.services.platform import Platform
from yibao.services.settle import Checked, SettleRequest, counted_columns
from yibao.settlement.calculate import settle
from yibao.settlement.model import CatalogItem, Claim, FeeLine, Settlement, YearToDate
from yibao.settlement.record import from_record, to_record
from yibao.storage.family_reads import family_of
from yibao.storage.reservation_repo import movements_text
from yibao.storage.uow import Tx

log = logging.getLogger("yibao.crossregion")

# Deadlines (seconds; the environment may shorten them — the fault tests do — never the client):
# how long the 就医地 waits for the 参保地's answer to a query or a reservation; for the answer to a
# post (the post itself is durable: it lands later anyway); how long past the request's deadline a
# pending reservation lives before the 参保地's job voids it.
RESERVE_TIMEOUT_S = float(os.environ.get("YIBAO_LINK_TIMEOUT_S", "10"))
POST_TIMEOUT_S = float(os.environ.get("YIBAO_LINK_POST_TIMEOUT_S", "5"))
DEAD_LETTER = "E7601-006"  # the peer's link gave up on a message (``regionlink.link``): not a refusal
EXPIRY_GRACE = timedelta(seconds=float(os.environ.get("YIBAO_RESERVATION_GRACE_S", "600")))


class PeerLink(Protocol):
    """What the services need of the link (the port; ``regionlink.client.LinkClient`` implements it)."""

    region: str

    def call(self, to_region: str, kind: str, body: dict, *, msg_id: str, timeout_s: float) -> dict:
        """Send a request and wait for its answer (``{"ok", "code", "message", "data"}``); refusals
        E7601-003 (no answer in time) and E7601-004 (link down) are raised."""

    def send(self, to_region: str, kind: str, body: dict, *, msg_id: str) -> None:
        """Store a request durably without waiting for its answer."""

    def stored_answer(self, msg_id: str) -> dict | None:
        """The answer to an earlier request, if the peer gave one (after a restart, a lost wait)."""


def _ask(link: PeerLink, region: str, kind: str, body: dict, msg_id: str, timeout_s: float) -> dict:
    """A request that may have been sent before (a post, a cancellation): the stored answer if there
    is one — a resend inside the duplicate window would never be answered again — else ask."""
    try:
        stored = link.stored_answer(msg_id)
    except DomainError:
        stored = None
    if stored is not None:
        return stored
    return link.call(region, kind, body, msg_id=msg_id, timeout_s=timeout_s)


def attach(platform: Platform, link: PeerLink) -> None:
    """Give the platform its link to the peer regions, and this service to settle their insured."""
    platform.link = link
    platform.cross = sys.modules[__name__]


def link_of(platform: Platform) -> PeerLink:
    link = getattr(platform, "link", None)
    if link is None:
        raise refuse("E7602-006")
    return link


def is_cross(platform: Platform, tx: Tx, person: Person) -> bool:
    """Whether this person is insured in a peer region this instance settles for through the link."""
    if platform.region is None or getattr(platform, "link", None) is None or person.admdvs == platform.region:
        return False
    peer = tx.regionlink.peer(person.admdvs)
    return peer is not None and peer.active


def settles_for(platform: Platform, region: str | None) -> bool:
    """Whether ``region``'s insured are settled here through the link (a registered active peer)."""
    if not region or platform.region is None or getattr(platform, "link", None) is None or region == platform.region:
        return False
    with platform.store.uow(read_only=True) as tx:
        peer = tx.regionlink.peer(region)
    return peer is not None and peer.active


def _digest(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


# ==== the 参保地 (insured region) ===================================================================


def person_entitlement(platform: Platform, tx: Tx, body: dict, care_region: str) -> dict:
    """1101 / 2001 for another region: who the person is, their insurance on the day, the waiting
    period, the off-site filing for the care region and the account balances."""
    day = datetime.fromisoformat(str(body["day"])).date()
    person = None
    if body.get("psn_no"):
        person = tx.people.by_psn_no(body["psn_no"])
    elif body.get("certno"):
        person = tx.people.by_certno(body["certno"])
    if person is None or person.admdvs != platform.region:
        raise refuse("E1101-001", ref=f"人员编号{body.get('psn_no') or body.get('certno')}")
    insurances = [i for i in tx.people.insurances(person.id) if body.get("insutype") in (None, i.insutype)]
    covering = [i for i in insurances if i.covers(day)] or insurances
    if not covering:
        raise refuse("E2201-005", insutype=body.get("insutype") or "（任一）")
    ins = covering[-1]
    codes = [person_bucket(person.psn_no, b) for b in ("current", "historical")]
    balances = tx.ledger.balances(codes)
    has_account = tx.ledger.account(codes[0]) is not None
    return {
        "psn_no": person.psn_no,
        "certno": person.certno,
        "psn_cert_type": person.psn_cert_type,
        "name": person.name,
        "gender": person.gender,
        "naty": person.naty,
        "birth": person.birth.isoformat(),
        "insutype": ins.insutype,
        "psn_type": ins.psn_type,
        "insured_from": ins.begin.isoformat(),
        "insured_to": ins.end.isoformat() if ins.end else None,
        "emp_name": ins.emp_name,
        "in_waiting": ins.in_waiting(day),
        "waiting_until": ins.benefit_start.isoformat() if ins.benefit_start else None,
        "offsite": offsite_status(tx, person, care_region, day) or "filed",
        "balances": {"current_fen": balances[codes[0]], "historical_fen": balances[codes[1]]} if has_account else None,
    }


def _claim_lines(body: dict) -> tuple[FeeLine, ...]:
    lines = []
    for line in body["lines"]:
        ceiling = line.get("price_ceiling")
        item = CatalogItem(
            line["code"],
            line["name"],
            line["chrgitm_lv"],
            int(line["selfpay_bp"]),
            Decimal(ceiling) if ceiling is not None else None,
        )
        lines.append(FeeLine(line["sn"], item, int(line["amount_fen"]), Decimal(line["price"]), Decimal(line["count"])))
    return tuple(lines)


def _calculate(platform: Platform, tx: Tx, body: dict, care_region: str, *, offsite: str | None = None):
    """The 参保地's calculation of a claim the 就医地 classed: its policy, accumulators (pending
    reservations included — they were added when reserved) and the accounts, under row locks."""
    from yibao.services.settle import _parties  # one home for reading the parties under locks

    person = person_or_refuse(tx, body["psn_no"], lock=True)
    if platform.region is not None and person.admdvs != platform.region:
        raise refuse("E1101-001", ref=f"人员编号{body['psn_no']}（不是本统筹区参保人员）")
    day = datetime.fromisoformat(str(body["day"])).date()
    policy = platform.policy(tx, person.admdvs)
    insurance = insurance_on(tx, person, body["insutype"], day)
    from yibao.settlement.calculate import UnknownMedType, category_of

    try:
        category = category_of(policy, day, body["med_type"])
    except UnknownMedType:
        raise refuse("E2207-005", med_type=body["med_type"]) from None
    year = medical_year_of(policy, day)
    now = platform.now()
    family = family_of(tx, person.id, now, year, category)  # one round trip
    used, paid = family.accumulator
    fund_pay_type = FUND_PAY_TYPE.get(body["insutype"], "310100")
    also = (fund_account(person.admdvs, fund_pay_type), held_account(care_region))  # what reserve posts to
    patient, candidates = _parties(tx, person, insurance, day, family, also)
    claim = Claim(
        day,
        body["med_type"],
        int(body["hospital_level"]),
        _claim_lines(body),
        bool(body["acct_used"]),
        offsite or offsite_status(tx, person, care_region, day),
        own_account=not body.get("family_only", False),
    )
    try:
        result = settle(
            policy, claim, patient, YearToDate(used, paid, int(body.get("visit_deductible_used_fen", 0))), candidates
        )
    except ValueError as exc:
        raise refuse("E2207-002", detail=str(exc)) from exc
    return person, result, year, holds_of(result, person.admdvs, fund_pay_type)


def quote(platform: Platform, tx: Tx, body: dict, care_region: str) -> dict:
    """2206 for another region: the calculation, nothing held."""
    _, result, _, _ = _calculate(platform, tx, body, care_region)
    return {"result": to_record(result)}


def reserve(platform: Platform, tx: Tx, body: dict, care_region: str) -> dict:
    """Compute the claim and hold the 参保地's share pending under ``reservation_id`` (idempotent by it)."""
    rid = body["reservation_id"]
    digest = _digest(body)
    existing = tx.reservations.get(rid, lock=True)
    if existing is not None:
        return _replay_reserve(existing, digest)
    person, result, year, holds = _calculate(platform, tx, body, care_region)
    expires_at = datetime.fromisoformat(str(body["expires_at"]))
    reserve_holds(
        platform,
        tx,
        rid=rid,
        care_region=care_region,
        setl_ref=body["setl_ref"],
        institution=body["institution"],
        person=person,
        year=year,
        result=result,
        holds=holds,
        expires_at=expires_at,
        digest=digest,
    )
    record = json.loads(json.dumps(to_record(result), ensure_ascii=False))  # as a replay will read it
    return {"reservation_id": rid, "status": PENDING, "expires_at": expires_at.isoformat(), "result": record}


def _replay_reserve(row: Reservation, digest: str) -> dict:
    if row.person_id is None:  # a void arrived first (the 就医地 gave up): a late reserve stays void
        raise refuse("E7602-002", detail=f"预留{row.reservation_id}已作废")
    if row.digest != digest:
        raise refuse("E7602-003", rid=row.reservation_id)
    answer = {"reservation_id": row.reservation_id, "status": row.status, "expires_at": row.expires_at.isoformat()}
    return {**answer, "result": json.loads(row.result)}


def reserve_holds(
    platform: Platform,
    tx: Tx,
    *,
    rid: str,
    care_region: str,
    setl_ref: str,
    institution: str,
    person: Person,
    year: int,
    result: Settlement,
    holds: tuple[Hold, ...],
    expires_at: datetime,
    digest: str,
) -> None:
    """The pending transfer: the holds move into the escrow ``X:held:<C>`` (the floors of the
    buckets are checked as for any payment), the accumulators count the claim at once."""
    now = platform.now()
    if holds:
        try:
            tx.ledger.post(reserve_entry(rid, care_region, holds, setl_ref), now)
        except LedgerError as exc:
            raise refuse("E7602-004", detail=exc.reason) from exc
    tx.care.add_to_accumulator(person.id, year, result.category, result.year_deductible_delta, result.year_fund_delta)
    tx.reservations.add(
        reservation_id=rid,
        care_region=care_region,
        setl_ref=setl_ref,
        institution=institution,
        person_id=person.id,
        year=year,
        status=PENDING,
        movements=movements_text(holds),
        medfee=result.medfee,
        **_cross_parts(result),
        **counted_columns(result),
        digest=digest,
        expires_at=expires_at,
        created_at=now,
        revision=0,
    )


def _cross_parts(result: Settlement) -> dict[str, int]:
    """The parts of a settlement under the cross-region tables' column names, which are the domain's
    (migration 0009_cross_region_names); the settlements table keeps the national ones."""
    return dict(
        fund_pay=result.fund_pay,
        own_account_pay=result.own_account_pay,
        mutual_aid_pay=result.mutual_aid_pay,
        cash_pay=result.cash,
    )


def _reservation(tx: Tx, rid: str, care_region: str) -> Reservation:
    row = tx.reservations.get(rid, lock=True)
    if row is None or row.care_region != care_region:
        raise refuse("E7602-001", rid=rid)
    return row


def _move(tx: Tx, row: Reservation, action: str) -> tuple[str, bool]:
    try:
        return next_state(row.status, action)
    except ValueError:
        raise refuse("E7602-002", detail=f"预留{row.reservation_id}状态为{row.status}，不能{ACTIONS[action]}") from None


ACTIONS = {"post": "入账", "void": "作废", "cancel": "撤销", "reinstate": "恢复"}


def post(platform: Platform, tx: Tx, rid: str, care_region: str, setl_ref: str | None = None) -> dict:
    """The pending amounts become the care region's due (once); a post of a posted one answers again."""
    row = _reservation(tx, rid, care_region)
    state, changed = _move(tx, row, "post")
    if changed:
        now = platform.now()
        if row.holds:
            tx.ledger.post(post_entry(rid, care_region, row.holds, row.setl_ref), now)
        tx.reservations.update(rid, status=state, resolved_at=now, setl_ref=setl_ref or row.setl_ref)
    return {"reservation_id": rid, "status": state}


def void(platform: Platform, tx: Tx, rid: str, care_region: str, reason: str) -> dict:
    """The pending amounts go back where they came from and the accumulators with them. A void of a
    reservation never seen leaves a tombstone, so that a reserve arriving late is refused."""
    row = tx.reservations.get(rid, lock=True)
    now = platform.now()
    if row is None:
        tx.reservations.add(
            reservation_id=rid,
            care_region=care_region,
            setl_ref=rid,
            institution="",
            person_id=None,
            year=0,
            category="",
            status=VOIDED,
            movements="[]",
            medfee=0,
            fund_pay=0,
            own_account_pay=0,
            mutual_aid_pay=0,
            cash_pay=0,
            deductible_delta=0,
            fund_delta=0,
            result="{}",
            digest="",
            expires_at=now,
            created_at=now,
            resolved_at=now,
            void_reason=reason,
            revision=0,
        )
        return {"reservation_id": rid, "status": VOIDED}
    if row.care_region != care_region:
        raise refuse("E7602-001", rid=rid)
    state, changed = _move(tx, row, "void")
    if changed:
        if row.holds:
            tx.ledger.post(void_entry(rid, care_region, row.holds, row.setl_ref), now)
        tx.care.add_to_accumulator(row.person_id, row.year, row.category, -row.deductible_delta, -row.fund_delta)
        tx.reservations.update(rid, status=state, resolved_at=now, void_reason=reason)
    return {"reservation_id": rid, "status": state}


def cancel(platform: Platform, tx: Tx, rid: str, care_region: str, revision: int) -> dict:
    """2208 / 2305 / 2601 of a settlement, across: the posted amounts go back (a compensating
    entry) with the accumulators; a pending one is voided. Applied once per ``revision``."""
    row = _reservation(tx, rid, care_region)
    if row.status == PENDING:
        return void(platform, tx, rid, care_region, "cancelled_before_post")
    if row.status in (VOIDED, REVERSED):
        return {"reservation_id": rid, "status": row.status}
    state, _ = _move(tx, row, "cancel")
    now = platform.now()
    if row.holds:
        tx.ledger.post(cancel_entry(rid, revision, care_region, row.holds, row.setl_ref), now)
    tx.care.add_to_accumulator(row.person_id, row.year, row.category, -row.deductible_delta, -row.fund_delta)
    tx.reservations.update(rid, status=state, revision=row.revision + 1)
    return {"reservation_id": rid, "status": state}


def reinstate(platform: Platform, tx: Tx, rid: str, care_region: str, revision: int) -> dict:
    """2601 of a cancellation, across: exactly the original amounts again, if the balances allow."""
    row = _reservation(tx, rid, care_region)
    if row.status == POSTED:
        return {"reservation_id": rid, "status": row.status}
    state, _ = _move(tx, row, "reinstate")
    now = platform.now()
    if row.holds:
        try:
            tx.ledger.post(reinstate_entry(rid, revision, care_region, row.holds, row.setl_ref), now)
        except LedgerError as exc:
            raise refuse("E2601-005", detail="参保地账户余额已变化，不能恢复原结算") from exc
    tx.care.add_to_accumulator(row.person_id, row.year, row.category, row.deductible_delta, row.fund_delta)
    tx.reservations.update(rid, status=state, revision=row.revision + 1)
    return {"reservation_id": rid, "status": state}


def expire_reservations(platform: Platform, *, limit: int = 1000) -> list[str]:
    """The deadline job: every pending reservation past ``expires_at`` is voided (one unit of work
    each, so a failure leaves the others done). Returns the reservation ids voided."""
    now = platform.now()
    with platform.store.uow(read_only=True) as tx:
        due = tx.reservations.expired(now, limit)
    done = []
    for rid in due:
        with platform.store.uow() as tx:
            row = tx.reservations.get(rid, lock=True)
            if row is None or row.status != PENDING or row.expires_at >= now:
                continue
            void(platform, tx, rid, row.care_region, "expired")
            done.append(rid)
    return done


@dataclass(frozen=True)
class ReservationCheck:
    care_region: str
    pending: int
    posted: int
    held_balance: int
    due_balance: int
    problems: tuple[str, ...]


def check_reservations(platform: Platform) -> list[ReservationCheck]:
    """Per care region: the escrow holds exactly the pending reservations; the due-to account the
    posted ones less what the clearing has settled."""
    out = []
    with platform.store.uow(read_only=True) as tx:
        regions = sorted({r for r, _ in tx.reservations.counts()})
        for region in regions:
            rows = tx.reservations.listed(care_region=region, limit=10**9)
            pending = sum(r.held for r in rows if r.status == PENDING)
            posted = sum(r.held for r in rows if r.status == POSTED)
            held = held_account(region)
            due = due_to_account(region)
            bal = tx.ledger.balances([held, due])
            cleared = tx.reservations.cleared_total(region, "payer")
            problems = []
            if bal[held] != pending:
                problems.append(f"{held} {bal[held]} ≠ 待入账预留 {pending}")
            if bal[due] != posted - cleared:
                problems.append(f"{due} {bal[due]} ≠ 已入账预留 {posted} − 已清算 {cleared}")
            out.append(ReservationCheck(region, pending, posted, bal[held], bal[due], tuple(problems)))
    return out


def check_advances(platform: Platform) -> list[str]:
    """At the 就医地, per insured region: what it is owed (``X:due-from:<I>``, debited) is exactly
    the standing cross-region settlements less what the clearing has received."""
    problems = []
    with platform.store.uow(read_only=True) as tx:
        rows = tx.reservations.crosses()
        for region in sorted({r.insured_region for r in rows}):
            owed = sum(r.owed for r in rows if r.insured_region == region and r.status in ("posted", "awaiting_post"))
            code = due_from_account(region)
            balance = tx.ledger.balances([code])[code]
            if -balance != owed - tx.reservations.cleared_total(region, "payee"):
                problems.append(f"{code} {balance} ≠ −(在途及已入账 {owed} − 已清算)")
    return problems


# ==== the 就医地 (care region) ======================================================================


def remember_guest(platform: Platform, answer: dict, insured_region: str) -> Person:
    """Keep a copy of another region's insured person (for the visit's records), from the 参保地's
    answer; idempotent. The 参保地's data are the truth; the copy's insurance follows them."""
    now = platform.now()
    with platform.store.uow() as tx:
        if tx.config.region_version(insured_region) is None:
            detail = f"本实例没有参保地 {insured_region} 的政策副本（内置统筹区由 yibao region add-peer 载入）"
            raise refuse("E7602-005", detail=detail)
        person = tx.people.by_psn_no(answer["psn_no"])
        if person is None:
            person = tx.people.add(
                name=answer["name"],
                certno=answer["certno"],
                gender=answer["gender"],
                birth=datetime.fromisoformat(str(answer["birth"])).date(),
                admdvs=insured_region,
                now=now,
                naty=answer.get("naty") or "01",
                psn_cert_type=answer.get("psn_cert_type") or "01",
                psn_no=answer["psn_no"],
            )
        if person.admdvs != insured_region:
            raise refuse("E1101-001", ref=f"人员编号{answer['psn_no']}（参保地不符）")
        begin = datetime.fromisoformat(str(answer["insured_from"])).date()
        have = [i for i in tx.people.insurances(person.id) if i.insutype == answer["insutype"] and i.begin == begin]
        if not have:
            until = answer.get("waiting_until")
            tx.people.add_insurance(
                person.id,
                insutype=answer["insutype"],
                psn_type=answer["psn_type"],
                begin=begin,
                benefit_start=datetime.fromisoformat(str(until)).date() if until else begin,
                now=now,
                end=datetime.fromisoformat(str(answer["insured_to"])).date() if answer.get("insured_to") else None,
                emp_name=answer.get("emp_name"),
            )
        return person


def fetch_guest(
    platform: Platform, insured_region: str, *, psn_no: str | None = None, certno: str | None = None
) -> dict:
    """Ask the 参保地 who the person is (1101 across) and keep the copy; the answer's data."""
    link = link_of(platform)
    body = {
        "psn_no": psn_no,
        "certno": certno,
        "day": platform.now().date().isoformat(),
        "care_admdvs": platform.region,
    }
    answer = link.call(
        insured_region, "person.query", body, msg_id=f"pq{uuid.uuid4().hex[:24]}", timeout_s=RESERVE_TIMEOUT_S
    )
    data = _accepted(answer)
    remember_guest(platform, data, insured_region)
    return data


def _accepted(answer: dict) -> dict:
    if not answer.get("ok"):
        raise DomainError(answer.get("code") or "E7602-005", answer.get("message") or "参保地拒绝")
    return answer.get("data") or {}


def _line_body(f: FeeLine) -> dict:
    return {
        "sn": f.sn,
        "code": f.item.code,
        "name": f.item.name[:200],
        "chrgitm_lv": f.item.chrgitm_lv,
        "selfpay_bp": f.item.selfpay_bp,
        "price_ceiling": str(f.item.price_ceiling) if f.item.price_ceiling is not None else None,
        "amount_fen": f.amount,
        "price": str(f.price),
        "count": str(f.count),
    }


def settle_cross(platform: Platform, req: SettleRequest, checked: Checked, *, dry_run: bool, tx: Tx) -> SettlementView:
    """The 就医地's 2206/2207 for a peer region's insured: the lines as classed here, the split and
    the reservation by the 参保地, the booking here, the post after the commit (or the void)."""
    from yibao.services import settle as s

    person, inst, visit, med_type, lines = checked.person, checked.inst, checked.visit, checked.med_type, checked.lines
    link = link_of(platform)
    now = platform.now()
    day = checked.day
    visit_used = s.deductible_used_in_visit(tx, visit)
    rid = f"R{platform.region}{uuid.uuid4().hex[:20]}"  # ≤ 30 characters: it is also the setl_ref until booked
    expires_at = now + timedelta(seconds=RESERVE_TIMEOUT_S) + EXPIRY_GRACE
    body = {
        "reservation_id": rid,
        "setl_ref": rid,
        "psn_no": person.psn_no,
        "insutype": req.insutype,
        "med_type": med_type,
        "day": day.isoformat(),
        "institution": inst.code,
        "hospital_level": inst.level,
        "lines": [_line_body(f) for f in lines],
        "acct_used": req.acct_used,
        "family_only": req.family_only,
        "visit_deductible_used_fen": visit_used,
        "expires_at": expires_at.isoformat(),
    }
    kind = "quote" if dry_run else "reserve"
    try:
        answer = link.call(
            person.admdvs, kind, body, msg_id=rid if not dry_run else f"q{rid}", timeout_s=RESERVE_TIMEOUT_S
        )
    except DomainError:
        if not dry_run:
            _void_quietly(link, person.admdvs, rid, "timeout")
        raise
    data = _accepted(answer)
    if not dry_run:
        faults.point("care.after_reserve")
    result = from_record(data["result"])
    s._check_declared(req, result)
    view = s.unbooked_view(req, person, inst, visit, checked.insurance.psn_type, med_type, now, result)
    if dry_run:
        return view
    try:
        booked = s._book(
            tx,
            req,
            view,
            visit,
            checked.inputs,
            checked.line_ids,
            medical_year_of(checked.policy, day),
            now,
            entry_of=lambda setl_id: cross_entry(setl_id, result, person.admdvs, inst.code),
        )
        tx.reservations.add_cross(
            settlement_id=int(booked.setl_id[-10:]),
            setl_id=booked.setl_id,
            reservation_id=rid,
            insured_region=person.admdvs,
            institution=inst.code,
            status="awaiting_post",
            **_cross_parts(result),
            created_at=now,
            updated_at=now,
        )
    except BaseException:
        _void_quietly(link, person.admdvs, rid, "failed")
        raise
    setl_id, insured = booked.setl_id, person.admdvs
    tx.after_end(lambda committed: _after_booking(platform, committed, insured, rid, setl_id))
    return booked


def _void_quietly(link: PeerLink, region: str, rid: str, reason: str) -> None:
    """Tell the 参保地 to void; if even that fails, its deadline job will."""
    try:
        link.send(region, "void", {"reservation_id": rid, "reason": reason}, msg_id=f"v{rid}")
    except Exception:
        log.warning("作废预留 %s 的请求未能发出，参保地将在期限后自动作废", rid, exc_info=True)


def _after_booking(platform: Platform, committed: bool, region: str, rid: str, setl_id: str) -> None:
    link = link_of(platform)
    if not committed:
        _void_quietly(link, region, rid, "failed")
        return
    faults.point("care.after_commit")
    send_post(platform, region, rid, setl_id)


def send_post(platform: Platform, region: str, rid: str, setl_id: str) -> bool:
    """Post a booked settlement's reservation; True when the 参保地 confirmed it. A post that gets
    no answer stays ``awaiting_post`` (it is durable: the 参保地 applies it when it is back; the sweep
    asks again)."""
    link = link_of(platform)
    body = {"reservation_id": rid, "setl_ref": setl_id}
    try:
        answer = _ask(link, region, "post", body, f"p{rid}", POST_TIMEOUT_S)
    except DomainError as exc:
        log.warning("预留 %s 入账未确认：%s", rid, exc.err_msg)
        return False
    if answer.get("code") == DEAD_LETTER:  # the 参保地 gave up on the message: not a refusal, stays awaiting
        log.error("预留 %s 的入账报文已转入参保地死信，须人工处理：%s", rid, answer.get("message"))
        return False
    status = "posted" if answer.get("ok") else "refused"
    if not answer.get("ok"):
        log.error("参保地拒绝入账 %s：%s", rid, answer.get("message"))
    with platform.store.uow() as tx:
        row = tx.reservations.cross(setl_id, lock=True)
        if row is not None and row.status == "awaiting_post":
            tx.reservations.set_cross(setl_id, status=status, updated_at=platform.now())
    if status == "refused":
        _undo_refused(platform, setl_id)
    return status == "posted"


def _undo_refused(platform: Platform, setl_id: str) -> None:
    """The 参保地 expired the reservation before the post landed: the booking here is reversed."""
    from yibao.services.settle import settlement_or_refuse

    with platform.store.uow() as tx:
        row = settlement_or_refuse(tx, setl_id, lock=True)
        if row.status != "settled":
            return
        original = tx.ledger.entry(f"setl:{setl_id}")
        from yibao.ledger.model import reversal

        tx.ledger.post(reversal(original, f"cancel:{setl_id}:{row.revision}", "cancellation"), platform.now())
        tx.care.release_lines(row.id)
        tx.care.update_settlement(
            row.id, status="cancelled", cancelled_at=platform.now(), cancel_infno="void", revision=row.revision + 1
        )


def resolve_awaiting(platform: Platform) -> dict[str, int]:
    """The 就医地's sweep (at start and as a job): post every booked settlement whose post was not
    confirmed, send every cancellation not yet confirmed. Counts by outcome."""
    with platform.store.uow(read_only=True) as tx:
        rows = tx.reservations.crosses(status="awaiting_post") + tx.reservations.crosses(status="awaiting_cancel")
    out = {"posted": 0, "cancelled": 0, "unconfirmed": 0}
    for row in rows:
        if row.status == "awaiting_post":
            ok = send_post(platform, row.insured_region, row.reservation_id, row.setl_id)
            out["posted" if ok else "unconfirmed"] += 1
        else:
            ok = _send_cancel(platform, row.insured_region, row.reservation_id, row.setl_id)
            out["cancelled" if ok else "unconfirmed"] += 1
    return out


def cross_of(tx: Tx, setl_id: str):
    return tx.reservations.cross(setl_id, lock=True)


def after_cancel(platform: Platform, tx: Tx, setl_id: str, revision: int) -> None:
    """A cross-region settlement cancelled here (2208/2305, 2601 of a settlement): the 参保地 is told
    after the commit; until it confirms, the row waits as ``awaiting_cancel`` for the sweep."""
    row = tx.reservations.cross(setl_id, lock=True)
    tx.reservations.set_cross(setl_id, status="awaiting_cancel", updated_at=platform.now())
    region, rid = row.insured_region, row.reservation_id
    tx.after_end(lambda committed: committed and _send_cancel(platform, region, rid, setl_id, revision))


def _send_cancel(platform: Platform, region: str, rid: str, setl_id: str, revision: int | None = None) -> bool:
    link = link_of(platform)
    if revision is None:
        with platform.store.uow(read_only=True) as tx:
            revision = tx.care.settlement(int(setl_id[-10:])).revision - 1
    body = {"reservation_id": rid, "setl_ref": setl_id, "infno": "2208", "revision": revision}
    try:
        answer = _ask(link, region, "cancel", body, f"c{revision}{rid}", POST_TIMEOUT_S)
    except DomainError as exc:
        log.warning("撤销预留 %s 未确认：%s", rid, exc.err_msg)
        return False
    if answer.get("code") == DEAD_LETTER:
        log.error("预留 %s 的撤销报文已转入参保地死信，须人工处理：%s", rid, answer.get("message"))
        return False
    with platform.store.uow() as tx:
        row = tx.reservations.cross(setl_id, lock=True)
        if row is not None and row.status == "awaiting_cancel":
            tx.reservations.set_cross(
                setl_id, status="cancelled" if answer.get("ok") else "cancel_refused", updated_at=platform.now()
            )
    return bool(answer.get("ok"))


def reinstate_cross(platform: Platform, tx: Tx, row, person: Person) -> None:
    """2601 of a cancellation, across: the 参保地 re-posts first (it may refuse: balances moved);
    if this side then fails to commit, it is cancelled there again."""
    cross = tx.reservations.cross(row_setl_id(row, person), lock=True)
    link = link_of(platform)
    body = {
        "reservation_id": cross.reservation_id,
        "setl_ref": cross.setl_id,
        "infno": "2601",
        "revision": row.revision,
    }
    answer = link.call(
        cross.insured_region,
        "reinstate",
        body,
        msg_id=f"r{row.revision}{cross.reservation_id}",
        timeout_s=RESERVE_TIMEOUT_S,
    )
    _accepted(answer)
    tx.reservations.set_cross(cross.setl_id, status="posted", updated_at=platform.now())
    region, rid, setl_id, rev = cross.insured_region, cross.reservation_id, cross.setl_id, row.revision + 1

    def undo(committed: bool) -> None:
        if not committed:
            _send_cancel(platform, region, rid, setl_id, rev)

    tx.after_end(undo)


def row_setl_id(row, person: Person) -> str:
    return settlement_public_id(person.admdvs, row.id)


def cross_settlements(platform: Platform, status: str | None = None) -> list[CrossSettlement]:
    """The 就医地's settlements for other regions' insured and where each one's post stands."""
    with platform.store.uow(read_only=True) as tx:
        return tx.reservations.crosses(status=status)


def reservations(platform: Platform, status: str | None = None) -> list[Reservation]:
    with platform.store.uow(read_only=True) as tx:
        return tx.reservations.listed(status=status)
