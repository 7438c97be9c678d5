"""What a settlement reads about the patient's family, in one round trip.

The granting relatives (active now), their people rows and insurances, the patient's relations and
the year's accumulator: five statements that used to be five round trips. On PostgreSQL they go out
together in one round trip (``storage.raw``), inside the caller's transaction; on SQLite (in-process,
no round trips) one after another.
The payers are found by subquery on the grants, so no statement waits for another's answer. Rows
have exactly the columns of ``family_repo`` / ``people_repo``, so the same domain types are built.

``lock``: on PostgreSQL the same round trip also locks the buckets the settlement may draw — the
patient's and every granting payer's, found by the same subquery — and reads the accounts without a
floor it will post to (``LedgerStore.locked_ahead``), which was a round trip of its own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, and_, any_, bindparam, cast, func, literal_column, null, or_, select, true, union_all
from sqlalchemy.dialects.postgresql import ARRAY

from yibao.care.model import Family
from yibao.family.model import Grant, Relation
from yibao.ledger.model import BUCKETS, PERSON_PREFIX
from yibao.lifecycle.model import Insurance, Person
from yibao.storage import raw
from yibao.storage.family_repo import _GRANT_COLS
from yibao.storage.ledger_store import _COLUMNS, AccountRow, _totals
from yibao.storage.people_repo import _INS_COLS, _PERSON_COLS
from yibao.storage.tables import accounts, accumulators, insurances, mutual_aid_grants, people, relations

_g = mutual_aid_grants


def _statements(pid):
    """The five reads of the patient ``pid`` (a bound id, or a subquery on the psn_no)."""
    active = and_(
        _g.c.beneficiary_id == pid,
        _g.c.granted_at <= bindparam("now"),
        or_(_g.c.ended_at.is_(None), _g.c.ended_at > bindparam("now")),
    )
    payer_ids = select(_g.c.payer_id).where(active, _g.c.payer_id != pid)
    return payer_ids, (
        select(*_GRANT_COLS).where(active).order_by(_g.c.position),
        select(*_PERSON_COLS).where(people.c.id.in_(payer_ids)),
        select(*_INS_COLS).where(insurances.c.person_id.in_(payer_ids)).order_by(insurances.c.begin, insurances.c.id),
        select(relations.c.of_person_id, relations.c.to_person_id, relations.c.relation).where(
            or_(relations.c.of_person_id == pid, relations.c.to_person_id == pid)
        ),
        select(accumulators.c.deductible_used, accumulators.c.fund_paid).where(
            accumulators.c.person_id == pid,
            accumulators.c.year == bindparam("year"),
            accumulators.c.category == bindparam("category"),
        ),
    )


_PAYER_IDS, _STATEMENTS = _statements(bindparam("pid"))
# The same reads of the patient named by psn_no, sent with the patient's lock before its id is known
_BY_PSN = select(people.c.id).where(people.c.psn_no == bindparam("psn")).scalar_subquery()
_PAYER_IDS_BY_PSN, _STATEMENTS_BY_PSN = _statements(_BY_PSN)
_INS_PERSON = [c.name for c in _INS_COLS].index("person_id")


def _locks(payer_ids):
    """The buckets wanted — ``own`` and each payer's, by ``ledger.model.person_bucket``'s format —
    each with its account locked (in id order) or NULLs where none exists; then the accounts
    ``plain`` (no floor, not locked) with their totals. Were the format here ever to drift from
    ``person_bucket``'s, the codes the settlement asks for would not be among those wanted, and
    ``LedgerStore.locked_balances`` would lock them in a statement of its own: slower, never wrong."""
    # constants written into the statement (the wire sends only the named parameters)
    buckets = ", ".join(f"'{b}'" for b in BUCKETS)
    bucket = select(func.unnest(literal_column(f"ARRAY[{buckets}]")).label("bucket")).subquery("bucket")
    payer_codes = (
        select(
            (literal_column(f"'{PERSON_PREFIX}'") + people.c.psn_no + literal_column("':'") + bucket.c.bucket).label(
                "code"
            )
        )
        .select_from(people.join(bucket, true()))
        .where(people.c.id.in_(payer_ids))
    )
    own = select(func.unnest(bindparam("own", type_=ARRAY(String))).label("code"))
    wanted = union_all(own, payer_codes).cte("wanted")
    locked = (
        select(*_COLUMNS, accounts.c.debits, accounts.c.credits)
        .where(accounts.c.code.in_(select(wanted.c.code)))
        .order_by(accounts.c.id)
        .with_for_update()
        .cte("locked")
    )
    return union_all(
        select(wanted.c.code.label("wanted"), *locked.c).select_from(
            wanted.outerjoin(locked, locked.c.code == wanted.c.code)
        ),
        select(cast(null(), String), *_COLUMNS, _totals(accounts.c.debits), _totals(accounts.c.credits)).where(
            accounts.c.code == any_(bindparam("plain", type_=ARRAY(String)))
        ),
    )


_LOCKS = _locks(_PAYER_IDS)
_LOCKS_BY_PSN = _locks(_PAYER_IDS_BY_PSN)


_ARRIVED = "_family_arrived"  # in the unit of work: a family read sent with the patient's lock (``expect_family``)


def expect_family(
    tx, psn_no: str, now: datetime, year: int, category: str, *, lock: tuple[list[str], tuple[str, ...]]
) -> None:
    """Announce the ``family_of(…, lock=lock)`` a settlement of ``psn_no`` is about to ask for. On
    PostgreSQL its reads and locks go out in the round trip that locks the patient, right after the
    lock (``PeopleRepo.expect_with_lock``), by psn_no — one round trip fewer; ``family_of`` uses
    them when asked for the same patient, year, category and accounts (a guess that proved wrong —
    another region's patient — costs the round trip it would have saved, never a wrong read)."""
    if tx.sqlite:
        return
    own, also = lock
    params = {"psn": psn_no, "now": now, "year": year, "category": category}
    reads = [*((s, params) for s in _STATEMENTS_BY_PSN)]
    reads.append((_LOCKS_BY_PSN, {**params, "own": list(own), "plain": sorted(set(also))}))

    def arrived(person, results: list[list[tuple]]) -> None:
        if person is not None:
            tx.__dict__[_ARRIVED] = (_asked(person.id, now, year, category, own, also), results)

    tx.people.expect_with_lock(psn_no, reads, arrived)


def _asked(person_id: int, now: datetime, year: int, category: str, own, also) -> tuple:
    """What a family read was for: rows read for one ask serve only the same ask."""
    return (person_id, now, year, category, tuple(own), frozenset(also))


def family_of(
    tx,
    person_id: int,
    now: datetime,
    year: int,
    category: str,
    *,
    lock: tuple[list[str], tuple[str, ...]] | None = None,
) -> Family:
    """``lock``: (the patient's bucket codes, the accounts without a floor the entry will post to)."""
    params = {"pid": person_id, "now": now, "year": year, "category": category}
    if tx.sqlite:  # in-process: nothing to gain from a pipeline
        results = [tx.conn.execute(s, params).all() for s in _STATEMENTS]
    elif lock is None:
        results = _pipelined(tx, params)
    else:
        own, also = lock
        plain = sorted(set(also))
        arrived = tx.__dict__.pop(_ARRIVED, None)
        if arrived is not None and arrived[0] == _asked(person_id, now, year, category, own, also):
            *results, rows = arrived[1]  # sent with the patient's lock (``expect_family``)
        else:
            *results, rows = raw.together(
                tx, [*((s, params) for s in _STATEMENTS), (_LOCKS, {**params, "own": list(own), "plain": plain})]
            )
        wanted = {r[0] for r in rows if r[0] is not None}
        found = {r[2]: AccountRow(*r[1:]) for r in rows if r[1] is not None}
        tx.ledger.locked_ahead(wanted, tuple(also), found)
    grants, payers, payer_ins, rels, acc = results
    out_ins: dict[int, list[Insurance]] = {}
    for r in payer_ins:
        out_ins.setdefault(r[_INS_PERSON], []).append(Insurance(*r))
    people_rows = {r[0]: Person(*r) for r in payers}
    return Family(
        [Grant(*r) for r in grants],
        people_rows,
        {pid: out_ins.get(pid, []) for pid in people_rows},
        [Relation(*r) for r in rels],
        (acc[0][0], acc[0][1]) if acc else (0, 0),
    )


def _pipelined(tx, params: dict) -> list[list[tuple]]:
    """The statements in one round trip (``raw.together``: with the writes waiting, if any)."""
    return raw.together(tx, [(s, params) for s in _STATEMENTS])
