"""People and their insurance history."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import bindparam, func, select, update

from yibao.care.ids import person_number
from yibao.lifecycle.model import Insurance, Person
from yibao.storage import raw
from yibao.storage.tables import accounts, insurances, people

_PERSON_COLS = (
    people.c.id,
    people.c.psn_no,
    people.c.certno,
    people.c.psn_cert_type,
    people.c.name,
    people.c.gender,
    people.c.birth,
    people.c.naty,
    people.c.admdvs,
)
_INS_COLS = (
    insurances.c.id,
    insurances.c.person_id,
    insurances.c.insutype,
    insurances.c.psn_type,
    insurances.c.begin,
    insurances.c.end,
    insurances.c.benefit_start,
    insurances.c.suspended_from,
    insurances.c.emp_name,
)


# Prebuilt statements: the hot path executes them with parameters instead of building new ones.
_BY_ID = select(*_PERSON_COLS).where(people.c.id == bindparam("v"))
_BY_PSN = select(*_PERSON_COLS).where(people.c.psn_no == bindparam("v"))
_BY_PSN_PG = _BY_PSN.with_for_update()
_BY_CERT = select(*_PERSON_COLS).where(people.c.certno == bindparam("v"))
_MANY = select(*_PERSON_COLS).where(people.c.id.in_(bindparam("ids", expanding=True)))
_LOCK = select(people.c.id).where(people.c.id == bindparam("v"))
_LOCK_PG = _LOCK.with_for_update()
_INSURANCES = (
    select(*_INS_COLS).where(insurances.c.person_id == bindparam("v")).order_by(insurances.c.begin, insurances.c.id)
)
# The insurances of the person locked by psn_no, read in the lock's round trip (PostgreSQL).
_INSURANCES_BY_PSN = (
    select(*_INS_COLS)
    .where(insurances.c.person_id == select(people.c.id).where(people.c.psn_no == bindparam("v")).scalar_subquery())
    .order_by(insurances.c.begin, insurances.c.id)
)
_AFTER_LOCK = "_after_person_lock"  # in the unit of work: [(psn_no or None, reads, arrived)] for the next lock
_AHEAD = "_insurances_ahead"  # in the unit of work: {person id: insurances read with the lock}
_INSURANCES_OF = (
    select(*_INS_COLS)
    .where(insurances.c.person_id.in_(bindparam("ids", expanding=True)))
    .order_by(insurances.c.begin, insurances.c.id)
)


class PeopleRepo:
    def __init__(self, tx):
        self.tx = tx
        self.conn = tx.conn

    def add(
        self,
        *,
        name: str,
        certno: str,
        gender: str,
        birth: date,
        admdvs: str,
        now: datetime,
        naty: str = "01",
        psn_cert_type: str = "01",
        psn_no: str | None = None,
    ) -> Person:
        placeholder = psn_no or f"~{certno}"
        pk = self.conn.execute(
            people.insert().values(
                psn_no=placeholder,
                certno=certno,
                psn_cert_type=psn_cert_type,
                name=name,
                gender=gender,
                birth=birth,
                naty=naty,
                admdvs=admdvs,
                created_at=now,
            )
        ).inserted_primary_key[0]
        if psn_no is None:
            psn_no = person_number(admdvs, pk)
            self.conn.execute(update(people).where(people.c.id == pk).values(psn_no=psn_no))
        return Person(pk, psn_no, certno, psn_cert_type, name, gender, birth, naty, admdvs)

    def _one(self, stmt, value) -> Person | None:
        r = raw.first(self.tx, stmt, {"v": value})
        return Person(*r) if r else None

    def by_id(self, pk: int) -> Person | None:
        return self._one(_BY_ID, pk)

    def by_psn_no(self, psn_no: str, *, lock: bool = False) -> Person | None:
        """``lock`` holds the person's row (PostgreSQL) so that work on one person is serialised;
        the person's insurances, which whoever locks a person reads next, come in the same round
        trip (kept for the next ``insurances`` call, forgotten when one is written), and what was
        announced with ``expect_with_lock`` (a card or token, the password: ``CredentialsRepo.expect_*``;
        the family: ``family_reads.expect_family``), if any."""
        if not lock or self.tx.sqlite:
            return self._one(_BY_PSN, psn_no)
        after = [a for a in self.tx.__dict__.pop(_AFTER_LOCK, ()) if a[0] is None or a[0] == psn_no]
        reads = [(_BY_PSN_PG, {"v": psn_no}), (_INSURANCES_BY_PSN, {"v": psn_no})]
        found, ins, *rest = raw.together(self.tx, reads + [read for _, more, _ in after for read in more])
        person = Person(*found[0]) if found else None
        for _, more, arrived in after:
            arrived(person, rest[: len(more)])
            rest = rest[len(more) :]
        if person is None:
            return None
        self.tx.__dict__[_AHEAD] = {person.id: [Insurance(*r) for r in ins]}
        return person

    def expect_with_lock(self, psn_no: str | None, reads: list[tuple], arrived) -> None:
        """Reads to send right after the next lock of the person ``psn_no`` (None: of whoever is
        locked next), in its round trip (PostgreSQL): under the lock, before its holder's next
        step, in the order announced. ``arrived(person or None, [rows of each read])`` once they
        are back. A lock of anyone else drops those named for ``psn_no``."""
        self.tx.__dict__.setdefault(_AFTER_LOCK, []).append((psn_no, reads, arrived))

    def by_certno(self, certno: str) -> Person | None:
        return self._one(_BY_CERT, certno)

    def many(self, ids: list[int]) -> dict[int, Person]:
        if not ids:
            return {}
        return {r.id: Person(*r) for r in self.conn.execute(_MANY, {"ids": list(ids)})}

    def count(self) -> int:
        return self.conn.execute(select(func.count()).select_from(people)).scalar_one()

    def lock(self, pk: int) -> None:
        """Serialise work on one person (settlements, grants) across connections."""
        self.conn.execute(_LOCK if self.tx.sqlite else _LOCK_PG, {"v": pk})

    def search(self, text: str | None = None, limit: int = 50, offset: int = 0) -> list[Person]:
        stmt = select(*_PERSON_COLS).order_by(people.c.id).limit(limit).offset(offset)
        if text:
            like = f"%{text}%"
            stmt = stmt.where(people.c.name.like(like) | people.c.psn_no.like(like) | people.c.certno.like(like))
        return [Person(*r) for r in self.conn.execute(stmt)]

    # Insurance ---------------------------------------------------------------------------------

    def add_insurance(
        self,
        person_id: int,
        *,
        insutype: str,
        psn_type: str,
        begin: date,
        benefit_start: date,
        now: datetime,
        end: date | None = None,
        emp_name: str | None = None,
    ) -> Insurance:
        pk = self.conn.execute(
            insurances.insert().values(
                person_id=person_id,
                insutype=insutype,
                psn_type=psn_type,
                begin=begin,
                end=end,
                benefit_start=benefit_start,
                emp_name=emp_name,
                created_at=now,
            )
        ).inserted_primary_key[0]
        self.tx.__dict__.pop(_AHEAD, None)
        return Insurance(pk, person_id, insutype, psn_type, begin, end, benefit_start, None, emp_name)

    def insurances(self, person_id: int) -> list[Insurance]:
        ahead = self.tx.__dict__.pop(_AHEAD, None)
        if ahead and person_id in ahead:
            return ahead[person_id]
        return [Insurance(*r) for r in raw.rows(self.tx, _INSURANCES, {"v": person_id})]

    def insurances_of(self, person_ids: list[int]) -> dict[int, list[Insurance]]:
        out: dict[int, list[Insurance]] = {pid: [] for pid in person_ids}
        if person_ids:
            for r in self.conn.execute(_INSURANCES_OF, {"ids": list(person_ids)}):
                out[r.person_id].append(Insurance(*r))
        return out

    def end_insurance(self, insurance_id: int, end: date) -> None:
        self.tx.__dict__.pop(_AHEAD, None)
        self.conn.execute(update(insurances).where(insurances.c.id == insurance_id).values(end=end))

    def suspend_insurance(self, insurance_id: int, since: date | None) -> None:
        self.tx.__dict__.pop(_AHEAD, None)
        self.conn.execute(update(insurances).where(insurances.c.id == insurance_id).values(suspended_from=since))

    # Whole regions, for the month-end and year-end jobs ------------------------------------------

    def of_region(self, admdvs: str) -> list[tuple[int, str]]:
        """(id, psn_no) of everyone registered in ``admdvs``, in id order."""
        stmt = select(people.c.id, people.c.psn_no).where(people.c.admdvs == admdvs).order_by(people.c.id)
        return [(r[0], r[1]) for r in self.conn.execute(stmt)]

    def with_current_bucket(self, admdvs: str) -> list[str]:
        """psn_no of everyone in ``admdvs`` who has a 当年账户 bucket, in id order."""
        stmt = (
            select(people.c.psn_no)
            .join(accounts, accounts.c.person_id == people.c.id)
            .where(people.c.admdvs == admdvs, accounts.c.bucket == "current")
            .order_by(people.c.id)
        )
        return [r[0] for r in self.conn.execute(stmt)]
