"""Settlement and its cancellation: one unit of work each (2101/2102/2103, 2206/2207/2208, 2303/2304/2305).

The unit of work locks the patient, then every personal-account bucket the calculation may draw
(the patient's and each granting relative's, in id order, so two settlements never deadlock), reads
balances and accumulators under those locks, runs the pure calculation, and posts one ledger entry.
Pre-settlement runs the very same path and stops before the first write.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from yibao.care.ids import parse_settlement_id, settlement_public_id, visit_public_id
from yibao.care.model import Family, Institution, SettlementRow, SettlementView, Visit
from yibao.errors import DomainError, refuse
from yibao.family.model import relation_between
from yibao.ledger.model import (
    Entry,
    LedgerError,
    Transfer,
    cash_account,
    fund_account,
    institution_account,
    person_bucket,
    person_buckets,
    reversal,
)
from yibao.ledger.postings import settlement_entry
from yibao.lifecycle.model import EMPLOYEE, FUND_PAY_TYPE, Insurance, Person, age_on, medical_year_of, scheme_of
from yibao.money import fmt_yuan
from yibao.nhsa.infno import CANCEL_INFNO, CANCEL_OF
from yibao.policy import Policy
from yibao.services.care import (
    FeeInput,
    check_credential,
    fee_lines_from_catalog,
    institution_or_refuse,
    insurance_on,
    line_columns,
    person_or_refuse,
    trace_rows,
    visit_or_refuse,
)
from yibao.services.filings import check_chronic_filing, with_transfer
from yibao.services.identity import (
    CERT_VOUCHER,
    PasswordEarly,
    VerifiedAhead,
    check_password,
    expect_credential,
    verify_ahead,
)
from yibao.services.lifecycle import offsite_status
from yibao.services.platform import Platform
from yibao.services.review import explained, review_claim
from yibao.settlement.calculate import NegativeTotal, UnknownMedType, benefit_terms, category_of, settle
from yibao.settlement.claim_rules import (
    REGISTRATION,
    SETTLEMENT,
    check_fee_time,
    check_line_count,
    check_start,
    check_total,
)
from yibao.settlement.model import Buckets, Claim, FeeLine, Patient, PayerCandidate, Settlement, YearToDate
from yibao.settlement.record import from_record, to_record
from yibao.storage.family_reads import expect_family, family_of
from yibao.storage.settle_writes import add_reserved, add_visit_and_settlement, reserve_ids
from yibao.storage.uow import Tx

CLR_TYPE = {"outpatient": "11", "inpatient": "21", "pharmacy": "41"}
INPATIENT_SETTLEMENTS = {"2303", "2304"}
KIND_NAMES = {"outpatient": "门诊", "inpatient": "住院", "pharmacy": "药店购药"}


@dataclass(frozen=True)
class SettleRequest:
    """A pre-settlement or settlement as an institution asks for it (2206/2207 门诊, 2303/2304 住院,
    2101/2102 药店), read by the gateway: the total in fen, and the registered visit it settles or,
    for a pharmacy purchase, its lines inline."""

    institution: str
    psn_no: str
    insutype: str
    med_type: str
    medfee_sumamt: int
    acct_used: bool
    cert_type: str | None = None
    cert_no: str | None = None
    mdtrt_id: str | None = None  # a registered visit (2206/2207, 2303/2304)
    chrg_bchno: str | None = None
    begntime: datetime | None = None  # the purchase time (pharmacy)
    lines: tuple[FeeInput, ...] = ()  # inline details (pharmacy)
    infno: str = "2207"
    msgid: str | None = None
    mid_setl: bool = False
    cainfo: str | None = None
    check_password: bool = False
    family_only: bool = False  # acct_used_flag 2: the mutual-aid accounts pay, not the patient's own
    declared: tuple[tuple[str, int], ...] = ()  # amounts the HIS sent that the platform computes (2207)
    info: dict | None = None  # request fields kept for audit
    password_early: PasswordEarly | None = field(default=None, compare=False, repr=False)  # before the unit of work


@dataclass(frozen=True)
class Checked:
    """A claim past every check that needs no money: who, where, which lines (priced by the
    catalogue and reviewed) under which policy — what the home settlement and the cross-region one
    (``services.crossregion.settle_cross``) go on from."""

    person: Person
    inst: Institution
    insurance: Insurance
    visit: Visit | None
    inputs: tuple[FeeInput, ...]
    line_ids: list[int]
    start: datetime  # accepted by the platform's clock: it picks the policy and the medical year
    policy: Policy
    med_type: str
    category: str
    lines: list[FeeLine]
    reviewed: tuple[str, ...]  # the review's words for the explanation
    ahead: VerifiedAhead | None  # the password, verified before any account was locked
    ids: object = None  # the settlement's (and a purchase's visit's) ids, reserved (storage.settle_writes)

    @property
    def day(self) -> date:
        return self.start.date()


def settle_claim(
    platform: Platform, req: SettleRequest, *, dry_run: bool = False, tx: Tx | None = None
) -> SettlementView:
    now = platform.now()
    with platform.unit(tx) as tx:
        checked = _checked(platform, tx, req, now, dry_run)
        cross = platform.cross  # services.crossregion, attached with the link (none: every patient is at home)
        # 就医地目录、参保地政策: for a peer region's insured the 参保地 computes the split.
        if cross is not None and cross.is_cross(platform, tx, checked.person):
            return cross.settle_cross(platform, req, checked, dry_run=dry_run, tx=tx)
        return _settle_home(platform, tx, req, checked, now, dry_run)


def _checked(platform: Platform, tx: Tx, req: SettleRequest, now: datetime, dry_run: bool) -> Checked:
    """The patient (locked), the institution, the visit (locked) or purchase and its lines, each
    checked and refused in the order the national interface expects."""
    inst = institution_or_refuse(tx, req.institution)
    expect_credential(tx, req.cert_type, req.cert_no)  # read in the round trip that locks the patient
    if req.mdtrt_id is None:  # a purchase's items: read in that round trip too
        tx.care.catalog_ahead([line.code for line in req.lines])
    if req.cainfo and req.acct_used and req.check_password and not dry_run:  # and the password, if sent
        tx.credentials.expect_password(req.psn_no)
        if req.password_early is not None:
            req.password_early.check()  # the hash, before the patient is locked
    ids = None if dry_run else reserve_ids(tx, visit=req.mdtrt_id is None)  # with the patient's lock
    _expect_family(platform, tx, req, inst, now)
    person = person_or_refuse(tx, req.psn_no, lock=True)
    check_credential(tx, now, person, req.cert_type, req.cert_no)
    ahead = _password_ahead(platform, tx, req, inst, person, dry_run)
    policy = platform.policy(tx, person.admdvs)
    visit, inputs, line_ids, start = _claim_source(tx, req, inst, person, policy, now)
    day = start.date()
    med_type = req.med_type or (visit.med_type if visit is not None else "") or ""
    insurance = insurance_on(tx, person, req.insutype, day)
    try:
        category = category_of(policy, day, med_type)
    except UnknownMedType:
        raise refuse("E2207-005", med_type=med_type or "（空）") from None
    if visit is not None and (visit.kind == "inpatient") != (category == "inpatient"):
        raise refuse("E2201-007", detail=f"{KIND_NAMES[visit.kind]}就诊不能按医疗类别{med_type}结算")
    check_start(policy, category, start, now, stage=SETTLEMENT, field=_START_FIELD[visit.kind if visit else ""])
    check_chronic_filing(tx, policy, person, insurance.scheme, category, day)  # 门诊慢特病: a filing (2503)
    if not inputs:
        raise refuse("E2207-002", detail=req.mdtrt_id or "药店结算没有明细")
    check_line_count(policy, category, len(inputs), now.date())
    lines = fee_lines_from_catalog(tx, list(inputs))
    lines, reviewed = review_claim(tx, person, visit, category, lines, day)  # rules that move lines to 自费
    actual = sum(line.amount for line in lines)
    if actual != req.medfee_sumamt:
        raise refuse("E2207-001", declared=fmt_yuan(req.medfee_sumamt), actual=fmt_yuan(actual))
    check_total(actual)
    return Checked(
        person, inst, insurance, visit, inputs, line_ids, start, policy, med_type, category, lines, reviewed, ahead, ids
    )


def _expect_family(platform: Platform, tx: Tx, req: SettleRequest, inst: Institution, now: datetime) -> None:
    """Announce the family read ``_settle_home`` will ask for, guessed from the request (the patient
    insured where the institution is, the claim starting when it says), so that it goes out with
    the patient's lock. A wrong guess is read again where it is needed."""
    if not req.med_type:
        return
    day = (req.begntime or now).date()
    try:
        policy = platform.policy(tx, inst.admdvs)
        category = category_of(policy, day, req.med_type)
    except (DomainError, UnknownMedType):
        return  # whatever this is refused for, it is refused where it is checked
    year = medical_year_of(policy, day)
    lock = (list(person_buckets(req.psn_no)), _entry_accounts(inst.admdvs, req.insutype, inst.code))
    expect_family(tx, req.psn_no, now, year, category, lock=lock)


def _entry_accounts(admdvs: str, insutype: str, institution: str) -> tuple[str, ...]:
    """A settlement entry's accounts other than the buckets: the patient's region's fund for the
    insurance, the institution's receivable and its cash."""
    fund = fund_account(admdvs, FUND_PAY_TYPE.get(insutype, "310100"))
    return (fund, institution_account(institution), cash_account(institution))


def _settle_home(
    platform: Platform, tx: Tx, req: SettleRequest, c: Checked, now: datetime, dry_run: bool
) -> SettlementView:
    """The split of a claim of this region's insured, under locks on every account it may draw;
    booked unless ``dry_run``."""
    person, inst, insurance, visit, day = c.person, c.inst, c.insurance, c.visit, c.day
    year = medical_year_of(c.policy, day)
    also = _entry_accounts(person.admdvs, insurance.insutype, inst.code)
    # On PostgreSQL the family, its buckets locked and ``also`` read went out with the patient's
    # lock (``_expect_family``) when the guess holds, else in one round trip here; the settlement's
    # (and a purchase's visit's) ids with the patient's lock, so that its row goes out with the
    # ledger entry that names it.
    ids = c.ids
    family = family_of(tx, person.id, now, year, c.category, lock=(list(person_buckets(person.psn_no)), also))
    used, paid = family.accumulator
    visit_used = deductible_used_in_visit(tx, visit)
    patient, candidates = _parties(tx, person, insurance, day, family, also)
    claim = Claim(
        day,
        c.med_type,
        inst.level,
        tuple(c.lines),
        req.acct_used,
        with_transfer(tx, person, inst, day, offsite_status(tx, person, inst.admdvs, day)),
        own_account=not req.family_only,
    )
    try:
        result = settle(c.policy, claim, patient, YearToDate(used, paid, visit_used), candidates)
    except NegativeTotal as exc:  # a refusal; a broken invariant (errors.InternalError) is not one
        raise refuse("E2207-002", detail=str(exc)) from exc
    result = explained(result, c.reviewed)
    _check_declared(req, result)
    # The password, before anything is written, and only where the spec asks: when a personal
    # account would pay; not off-site in another province (跨省异地不验密); an e-voucher token was
    # verified in the patient's app and needs none (but a password sent with it is still checked).
    if _password_needed(req, inst, person, dry_run) and result.own_account_pay + result.mutual_aid_pay > 0:
        check_password(platform, req.psn_no, req.cainfo, now.date(), tx=tx, person=person, ahead=c.ahead)
    view = unbooked_view(req, person, inst, visit, insurance.psn_type, c.med_type, now, result)
    if dry_run:
        return view
    return _book(tx, req, view, visit, c.inputs, c.line_ids, year, now, ids=ids)


def _password_needed(req: SettleRequest, inst: Institution, person: Person, dry_run: bool) -> bool:
    """Whether this settlement asks for the password should a personal account pay: not off-site
    in another province (跨省异地不验密); not for an e-voucher token sent without one."""
    return (
        req.check_password
        and not dry_run
        and not (req.cert_type == CERT_VOUCHER and not req.cainfo)
        and inst.admdvs[:2] == person.admdvs[:2]
    )


def _password_ahead(platform: Platform, tx: Tx, req: SettleRequest, inst: Institution, person: Person, dry_run: bool):
    """The password verified before any account is locked, when one was sent and an account may
    pay (``acct_used_flag`` 0 never draws one); None otherwise (then checked in place if needed)."""
    if req.cainfo and req.acct_used and _password_needed(req, inst, person, dry_run):
        return verify_ahead(platform, tx, person, req.cainfo, req.password_early)
    return None


DECLARED = {
    "fulamt_ownpay_amt": ("ownpay", "全自费金额"),
    "overlmt_selfpay": ("overlimit", "超限价金额"),
    "preselfpay_amt": ("preselfpay", "先行自付金额"),
    "inscp_scp_amt": ("in_scope", "符合政策范围金额"),
}


def _check_declared(req: SettleRequest, result: Settlement) -> None:
    """Amounts the HIS may send but the platform computes from the lines: when sent, they must agree."""
    for name, sent in req.declared:
        attr, label = DECLARED[name]
        ours = getattr(result, attr)
        if sent != ours:
            raise refuse("E2207-010", detail=f"{name}（{label}）报文{fmt_yuan(sent)}元，按明细计算{fmt_yuan(ours)}元")


_START_FIELD = {
    "outpatient": "就诊开始时间 begntime",
    "inpatient": "入院时间 begntime",
    "pharmacy": "购药时间 begntime",
    "": "购药时间 begntime",
}


def _claim_source(tx: Tx, req: SettleRequest, inst: Institution, person: Person, policy, now: datetime):
    """The visit (locked), its unsettled lines and their ids, or the inline pharmacy lines — a purchase
    registered here, so its time is checked as a registration's; the claim's start."""
    if req.mdtrt_id is None:
        start = req.begntime or now
        check_start(policy, "pharmacy", start, now, stage=REGISTRATION, field=_START_FIELD[""])
        for line in req.lines:
            check_fee_time(start, line.fee_ocur_time, now, line.sn)
        return None, req.lines, [], start
    visit = visit_or_refuse(tx, req.mdtrt_id, inst, person, lock=True)
    if visit.status == "cancelled":
        raise refuse("E2201-002", mdtrt_id=req.mdtrt_id)
    if visit.insutype != req.insutype:
        raise refuse("E2201-005", insutype=req.insutype)
    inpatient = req.infno in INPATIENT_SETTLEMENTS
    if (visit.kind == "inpatient") != inpatient:
        raise refuse("E2201-007", detail=f"就诊{req.mdtrt_id}是{KIND_NAMES[visit.kind]}，不能用{req.infno}结算")
    if inpatient and not req.mid_setl and visit.status != "discharged":
        raise refuse("E2201-007", detail="住院结算须先办理出院（2402）；尚未出院的中途结算请传 mid_setl_flag=1")
    stored = tx.care.lines(visit.id, chrg_bchno=req.chrg_bchno or None, unsettled=True)
    inputs = tuple(
        FeeInput(
            s.feedetl_sn,
            s.med_list_codg,
            s.amount,
            Decimal(s.price),
            Decimal(s.count),
            s.medins_list_codg,
            s.chrg_bchno,
            s.fee_ocur_time,
            s.init_feedetl_sn,
        )
        for s in stored
    )
    return visit, inputs, [s.id for s in stored], visit.begntime


def _parties(tx: Tx, person: Person, insurance: Insurance, day: date, family: Family, also: tuple[str, ...] = ()):
    """The patient's own buckets and each granting relative, read under row locks (with, in the same
    statement, ``also``: the accounts without a floor the next entry will post to, unlocked)."""
    grants, payers, payer_insurance, relations = family.grants, family.payers, family.payer_insurances, family.relations
    payer_ids = [g.payer_id for g in grants if g.payer_id != person.id]
    own_codes = [person_bucket(person.psn_no, b) for b in ("current", "historical")]
    codes = list(own_codes)
    for pid in payer_ids:
        codes += [person_bucket(payers[pid].psn_no, b) for b in ("current", "historical")]
    existing = tx.ledger.locked_balances(codes, also=also)  # only accounts that exist

    def buckets(psn_no: str) -> Buckets | None:
        current, historical = person_bucket(psn_no, "current"), person_bucket(psn_no, "historical")
        if current not in existing:
            return None
        return Buckets(existing[current], existing.get(historical, 0))

    scheme = scheme_of(insurance.insutype) or "employee"
    patient = Patient(
        person.psn_no,
        person.name,
        scheme,
        insurance.person_class,
        buckets(person.psn_no),
        in_waiting=insurance.in_waiting(day),
        waiting_until=insurance.benefit_start,
        age=age_on(person.birth, day),
    )
    candidates = []
    for g in grants:
        payer = payers.get(g.payer_id)
        if payer is None:
            continue
        active = any(i.insutype == EMPLOYEE and i.covers(day) for i in payer_insurance[payer.id])
        candidates.append(
            PayerCandidate(
                payer.psn_no,
                payer.name,
                payer.gender,
                relation_between(relations, payer.id, person.id) or "none",
                g.position,
                active,
                buckets(payer.psn_no),
            )
        )
    return patient, candidates


def deductible_used_in_visit(tx: Tx, visit: Visit | None) -> int:
    """What the visit's earlier settlements (a stay's mid-settlements) already counted to the deductible."""
    if visit is None:
        return 0
    return sum(s.deductible for s in tx.care.settlements_of_visit(visit.id) if s.status == "settled")


def clr_type_of(visit: Visit | None) -> str:
    """The clearing type (clr_type) of a settlement of this visit; no visit: a pharmacy purchase."""
    kind = visit.kind if visit is not None else "pharmacy"
    return CLR_TYPE["inpatient" if kind == "inpatient" else "pharmacy" if kind == "pharmacy" else "outpatient"]


def unbooked_view(
    req: SettleRequest,
    person: Person,
    inst: Institution,
    visit: Visit | None,
    psn_type: str,
    med_type: str,
    now: datetime,
    result: Settlement,
) -> SettlementView:
    """A computed settlement before it is booked (no setl_id yet): what a pre-settlement answers."""
    mdtrt_id = visit_public_id(person.admdvs, visit.id) if visit else None
    clr_type = clr_type_of(visit)
    return SettlementView(
        None,
        mdtrt_id,
        person,
        req.insutype,
        psn_type,
        med_type,
        req.cert_type,
        now,
        inst,
        clr_type,
        result,
        msgid=req.msgid,
    )


def parts_columns(result: Settlement) -> dict[str, int]:
    """The parts of a settlement under the settlements table's column names (the national ones; the
    cross-region tables use the domain's names since 0009: ``crossregion._cross_parts``)."""
    return dict(
        fund_pay=result.fund_pay,
        acct_pay=result.own_account_pay,
        mulaid_pay=result.mutual_aid_pay,
        cash_pay=result.cash,
    )


def counted_columns(result: Settlement) -> dict:
    """What a settlement counted to the year's accumulators, and its record, under the books' column
    names (a 参保地's reservations and claim-backs, which undo or show it later)."""
    return dict(
        category=result.category,
        deductible_delta=result.year_deductible_delta,
        fund_delta=result.year_fund_delta,
        result=json.dumps(to_record(result), ensure_ascii=False),
    )


def _book(
    tx: Tx,
    req: SettleRequest,
    view: SettlementView,
    visit: Visit | None,
    inputs,
    line_ids: list[int],
    year: int,
    now: datetime,
    *,
    entry_of=None,  # the ledger entry for a setl_id, when not the home one (a cross-region settlement)
    ids=None,  # the ids reserved ahead (``reserve_ids``; PostgreSQL)
) -> SettlementView:
    """Write a computed settlement: its row (and a purchase's own visit), the ledger entry, the
    accumulators and the lines it settles; the view again, with its ids."""
    person, result = view.person, view.result
    row = _settlement_columns(req, view, year, now)
    if ids is not None:  # written with the ledger entry, in its round trip
        purchase = _purchase_columns(req, view, now) if visit is None else None
        visit_pk, pk = add_reserved(tx, ids, row, purchase, None if visit is None else visit.id)
    elif visit is None:  # a pharmacy purchase is its own visit: both rows in one statement
        visit_pk, pk = add_visit_and_settlement(tx, _purchase_columns(req, view, now), row)
    else:
        visit_pk = visit.id
        pk = tx.care.add_settlement(visit_id=visit_pk, **row)
    setl_id = settlement_public_id(person.admdvs, pk)
    # an id reserved in this unit of work names a key no entry has: the entry goes with the commit
    _post_settlement(
        tx,
        entry_of(setl_id) if entry_of is not None else _home_entry(setl_id, view),
        now,
        new_key=ids is not None and entry_of is None,
    )
    tx.care.add_to_accumulator(person.id, year, result.category, result.year_deductible_delta, result.year_fund_delta)
    if visit is None:
        _add_purchase_lines(tx, visit_pk, pk, inputs, now)
    else:
        tx.care.mark_lines(line_ids, pk)
    mdtrt_id = visit_public_id(person.admdvs, visit_pk)
    return replace(view, setl_id=setl_id, mdtrt_id=mdtrt_id, setl_time=now, msgid=req.msgid)


# A settlement row's columns copied under their own names from the request, its view and the result.
_REQUEST_COLUMNS = ("infno", "msgid", "insutype", "mid_setl")
_VIEW_COLUMNS = ("psn_type", "med_type", "clr_type")
_RESULT_COLUMNS = ("category", "medfee", "deductible", "explanation")


def _settlement_columns(req: SettleRequest, view: SettlementView, year: int, now: datetime) -> dict:
    """The settlement's row (its visit aside)."""
    result = view.result
    return dict(
        **{column: getattr(req, column) for column in _REQUEST_COLUMNS},
        **{column: getattr(view, column) for column in _VIEW_COLUMNS},
        **{column: getattr(result, column) for column in _RESULT_COLUMNS},
        **parts_columns(result),
        person_id=view.person.id,
        institution_code=view.institution.code,
        mdtrt_cert_type=req.cert_type,
        year=year,
        setl_time=now,
        output=json.dumps(to_record(result), ensure_ascii=False),
        status="settled",
        info=json.dumps(req.info, ensure_ascii=False, default=str) if req.info else None,
    )


def _purchase_columns(req: SettleRequest, view: SettlementView, now: datetime) -> dict:
    """The visit a pharmacy purchase is: closed as it opens."""
    return dict(
        person_id=view.person.id,
        institution_code=view.institution.code,
        kind="pharmacy",
        insutype=req.insutype,
        med_type=view.med_type,
        begntime=req.begntime or now,
        endtime=now,
        status="closed",
        mdtrt_cert_type=req.cert_type,
        created_at=now,
    )


def _home_entry(setl_id: str, view: SettlementView) -> Entry:
    """The ledger entry of a settlement of this region's insured."""
    return settlement_entry(
        f"setl:{setl_id}",
        view.result,
        admdvs=view.person.admdvs,
        fund_pay_type=view.fund_pay_type,
        institution=view.institution.code,
        ref=setl_id,
    )


def _post_settlement(tx: Tx, entry: Entry, now: datetime, *, new_key: bool = False) -> None:
    """Post the entry; an account it would take below its floor refuses the settlement."""
    try:
        tx.ledger.post(entry, now, new_key=new_key)
    except LedgerError as exc:
        raise refuse("E2207-008") from exc


def _add_purchase_lines(tx: Tx, visit_pk: int, pk: int, inputs, now: datetime) -> None:
    """A pharmacy purchase's inline lines, settled as they are stored, with their trace codes."""
    # Bought and settled at once: no batch, no refunds of earlier lines.
    over = {"chrg_bchno": None, "init_feedetl_sn": None, "settlement_id": pk}
    tx.care.add_lines([{**line_columns(f, visit_pk, now), **over} for f in inputs])
    tx.care.add_trace_codes(visit_pk, trace_rows(inputs), now)


# Reading and cancelling --------------------------------------------------------------------------


def view_of(tx: Tx, row: SettlementRow, *, sign: int = 1) -> SettlementView:
    person = tx.people.by_id(row.person_id)
    inst = tx.care.institution(row.institution_code)
    result = from_record(json.loads(row.output))
    return SettlementView(
        settlement_public_id(person.admdvs, row.id),
        visit_public_id(person.admdvs, row.visit_id),
        person,
        row.insutype,
        row.psn_type,
        row.med_type,
        row.mdtrt_cert_type,
        row.cancelled_at if sign < 0 and row.cancelled_at else row.setl_time,
        inst,
        row.clr_type,
        result,
        status=row.status,
        msgid=row.msgid,
        sign=sign,
    )


def settlement_or_refuse(tx: Tx, setl_id: str, *, lock: bool = False) -> SettlementRow:
    pk = parse_settlement_id(setl_id)
    row = tx.care.settlement(pk, lock=lock) if pk is not None else None
    if row is None:
        raise refuse("E2208-001", setl_id=setl_id)
    person = tx.people.by_id(row.person_id)
    if settlement_public_id(person.admdvs, row.id) != setl_id:
        raise refuse("E2208-001", setl_id=setl_id)
    return row


def find_settlement(platform: Platform, setl_id: str, *, tx: Tx | None = None) -> SettlementView:
    with platform.unit(tx) as tx:
        return view_of(tx, settlement_or_refuse(tx, setl_id))


def _own_settlement(tx: Tx, institution: str, psn_no: str, setl_id: str) -> tuple[Person, SettlementRow]:
    """The settlement, locked with its patient, which this institution made for this patient."""
    inst = institution_or_refuse(tx, institution)
    person = person_or_refuse(tx, psn_no, lock=True)
    row = settlement_or_refuse(tx, setl_id, lock=True)
    if row.institution_code != inst.code or row.person_id != person.id:
        raise refuse("E2208-003", setl_id=setl_id)
    return person, row


def cancel_settlement(
    platform: Platform,
    *,
    institution: str,
    setl_id: str,
    mdtrt_id: str | None,
    psn_no: str,
    infno: str,
    tx: Tx | None = None,
) -> SettlementView:
    """Compensating entry for every transfer, accumulators restored, lines released — once."""
    now = platform.now()
    with platform.unit(tx) as tx:
        person, row = _own_settlement(tx, institution, psn_no, setl_id)
        if mdtrt_id and visit_public_id(person.admdvs, row.visit_id) != mdtrt_id:
            raise refuse("E2208-003", setl_id=setl_id)
        if CANCEL_OF.get(infno, row.infno) != row.infno:
            raise refuse("E2208-004", setl_id=setl_id)
        if row.status == "cancelled":
            raise refuse("E2208-002", setl_id=setl_id)
        later = [s for s in tx.care.settlements_of_visit(row.visit_id) if s.id > row.id and s.status == "settled"]
        if later:
            raise refuse("E2208-005", setl_id=setl_id)
        original = tx.ledger.entry(f"setl:{setl_id}")
        if original is None:  # pragma: no cover - a settlement row always has its entry
            raise DomainError("E2208-001", f"结算ID {setl_id} 没有记账分录")
        policy = platform.policy(tx, person.admdvs)
        this_year = medical_year_of(policy, now.date())
        compensating = reversal(original, f"cancel:{setl_id}:{row.revision}", "cancellation")
        if this_year != row.year:
            compensating = _into_history(compensating)
        try:
            tx.ledger.post(compensating, now)
        except LedgerError as exc:
            raise refuse("E2208-002", setl_id=setl_id) from exc
        result = from_record(json.loads(row.output))
        tx.care.add_to_accumulator(
            person.id, row.year, row.category, -result.year_deductible_delta, -result.year_fund_delta
        )
        tx.care.release_lines(row.id)
        tx.care.update_settlement(
            row.id, status="cancelled", cancelled_at=now, cancel_infno=infno, revision=row.revision + 1
        )
        if platform.cross is not None and platform.cross.is_cross(
            platform, tx, person
        ):  # the 参保地 reverses its side after this
            platform.cross.after_cancel(platform, tx, setl_id, row.revision)
        view = view_of(tx, tx.care.settlement(row.id), sign=-1)
        own = [person_bucket(person.psn_no, b) for b in ("current", "historical")]
        restored = tx.ledger.balances(own) if result.own is not None else None
        return replace(view, balance_now=sum(restored.values()) if restored else None)


def cancel_by_staff(platform: Platform, setl_id: str, *, tx: Tx | None = None) -> SettlementView:
    """经办撤销: the cancellation the settlement's own transaction calls for, read-cancel-read in one
    unit of work; the settlement as it stands afterwards."""
    with platform.unit(tx) as tx:
        row = settlement_or_refuse(tx, setl_id)
        person = tx.people.by_id(row.person_id)
        cancel_settlement(
            platform,
            institution=row.institution_code,
            setl_id=setl_id,
            mdtrt_id=None,
            psn_no=person.psn_no,
            infno=CANCEL_INFNO[row.infno],
            tx=tx,
        )
        return view_of(tx, settlement_or_refuse(tx, setl_id))


def reinstate_settlement(
    platform: Platform, *, institution: str, setl_id: str, psn_no: str, tx: Tx | None = None
) -> SettlementView:
    """冲正 of a cancellation: the settlement stands again, exactly as first booked."""
    now = platform.now()
    with platform.unit(tx) as tx:
        person, row = _own_settlement(tx, institution, psn_no, setl_id)
        if row.status != "cancelled":
            raise refuse("E2601-005", detail=f"结算{setl_id}未撤销，无需恢复")
        policy = platform.policy(tx, person.admdvs)
        if medical_year_of(policy, now.date()) != row.year:
            raise refuse("E2601-005", detail="已跨医疗年度，不能恢复原结算，请重新结算")
        result = from_record(json.loads(row.output))
        if platform.cross is not None and platform.cross.is_cross(
            platform, tx, person
        ):  # the 参保地 judges its year and re-posts
            platform.cross.reinstate_cross(platform, tx, row, person)
        else:
            _check_year_still_allows(tx, policy, person, row, result)
        wanted = {s.sn for s in result.lines}
        free = {line.feedetl_sn: line.id for line in tx.care.lines(row.visit_id, unsettled=True)}
        if not wanted <= set(free):
            raise refuse("E2601-005", detail="原结算的费用明细已撤销或已另行结算")
        original = tx.ledger.entry(f"setl:{setl_id}")
        again = Entry(f"reinstate:{setl_id}:{row.revision}", "reinstatement", original.transfers, ref=setl_id)
        try:
            tx.ledger.post(again, now)
        except LedgerError as exc:
            raise refuse("E2601-005", detail="账户余额已变化，不能恢复原结算") from exc
        tx.care.add_to_accumulator(
            person.id, row.year, row.category, result.year_deductible_delta, result.year_fund_delta
        )
        tx.care.mark_lines([free[sn] for sn in wanted], row.id)
        tx.care.update_settlement(
            row.id, status="settled", cancelled_at=None, cancel_infno=None, revision=row.revision + 1
        )
        return view_of(tx, tx.care.settlement(row.id))


def _check_year_still_allows(tx: Tx, policy, person: Person, row: SettlementRow, result: Settlement) -> None:
    """A settlement restored exactly as booked must still fit the year: what was paid and counted
    since its cancellation may have used the cap or the deductible it had taken."""
    if not result.benefit:
        return
    day = tx.care.visit(row.visit_id).begntime.date()
    terms = benefit_terms(
        policy,
        day,
        result.scheme,
        result.category,
        result.person_class,
        result.hospital_level,
        age_on(person.birth, day),
    )
    if not terms.in_force:
        return
    used, paid = tx.care.accumulator(person.id, row.year, row.category)
    over_cap = terms.cap is not None and paid + result.year_fund_delta > terms.cap
    over_deductible = terms.scope == "year" and used + result.year_deductible_delta > terms.deductible
    if over_cap or over_deductible:
        raise refuse("E2601-005", detail="撤销后本年度已有其他结算计入起付线或年度限额，不能恢复原结算，请重新结算")


def _into_history(entry: Entry) -> Entry:
    """After the year has rolled over, money returned to a 当年账户 belongs in the 历年账户."""
    moved = tuple(
        Transfer(t.debit, t.credit.replace(":current", ":historical"), t.amount, t.code)
        if t.credit.startswith("P:") and t.credit.endswith(":current")
        else t
        for t in entry.transfers
    )
    return Entry(entry.key, entry.kind, moved, ref=entry.ref)
