"""Institutions, the catalogue, visits, fee lines, settlements and year-to-date accumulators."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import String, and_, any_, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from yibao.care.model import Institution, SettlementRow, StoredLine, Visit
from yibao.settlement.model import CatalogItem
from yibao.storage import raw
from yibao.storage.tables import (
    accumulators,
    catalog_items,
    diagnoses,
    drug_trace_codes,
    fee_lines,
    institutions,
    reconciliations,
    settlements,
    visits,
)

_VISIT_COLS = tuple(visits.c[k] for k in Visit.__dataclass_fields__)
_LINE_COLS = tuple(fee_lines.c[k] for k in StoredLine.__dataclass_fields__)
# The settlements table keeps the columns' first names; the row carries the domain's.
_SETL_COLUMN = {"own_account_pay": "acct_pay", "mutual_aid_pay": "mulaid_pay", "cash": "cash_pay"}
_SETL_COLS = tuple(settlements.c[_SETL_COLUMN.get(k, k)].label(k) for k in SettlementRow.__dataclass_fields__)


_INSTITUTION = select(*(institutions.c[k] for k in Institution.__dataclass_fields__)).where(
    institutions.c.code == bindparam("v")
)
_CATALOG = select(catalog_items).where(catalog_items.c.code.in_(bindparam("codes", expanding=True)))
# PostgreSQL: one text for any number of codes (an array), so it is prepared once per connection.
_CATALOG_PG = select(catalog_items).where(catalog_items.c.code == any_(bindparam("codes", type_=ARRAY(String))))
_CATALOG_COLS = [c.name for c in catalog_items.c]
_INSERT_VISIT = visits.insert()
_INSERT_SETTLEMENT = settlements.insert()
_MARK_LINES = (
    update(fee_lines).where(fee_lines.c.id.in_(bindparam("ids", expanding=True))).values(settlement_id=bindparam("s"))
)
_SETTLEMENTS_OF_VISIT = select(*_SETL_COLS).where(settlements.c.visit_id == bindparam("v")).order_by(settlements.c.id)
_ACC_WHERE = and_(
    accumulators.c.person_id == bindparam("b_pid"),
    accumulators.c.year == bindparam("b_year"),
    accumulators.c.category == bindparam("b_cat"),
)
_ACCUMULATOR = select(accumulators.c.deductible_used, accumulators.c.fund_paid).where(_ACC_WHERE)


def _acc_upsert(sqlite: bool):
    ins = (sqlite_insert if sqlite else pg_insert)(accumulators)
    return ins.on_conflict_do_update(
        index_elements=[accumulators.c.person_id, accumulators.c.year, accumulators.c.category],
        set_={
            "deductible_used": accumulators.c.deductible_used + ins.excluded.deductible_used,
            "fund_paid": accumulators.c.fund_paid + ins.excluded.fund_paid,
        },
    )


_ACC_UPSERT = {True: _acc_upsert(True), False: _acc_upsert(False)}


def _catalog_item(r) -> CatalogItem:
    price_ceiling = None if r.price_ceiling is None else Decimal(r.price_ceiling)
    return CatalogItem(r.code, r.name, r.chrgitm_lv, r.selfpay_prop, price_ceiling)


_C = {name: i for i, name in enumerate(_CATALOG_COLS)}


def _catalog_tuple(r: tuple) -> CatalogItem:
    ceiling = r[_C["price_ceiling"]]
    return CatalogItem(
        r[_C["code"]],
        r[_C["name"]],
        r[_C["chrgitm_lv"]],
        r[_C["selfpay_prop"]],
        None if ceiling is None else Decimal(ceiling),
    )


class CareRepo:
    def __init__(self, tx):
        self.tx = tx
        self.conn = tx.conn

    # Institutions and catalogue ------------------------------------------------------------------

    def add_institution(self, inst: Institution, now: datetime) -> None:
        self.conn.execute(institutions.insert().values(**inst.__dict__, created_at=now))
        self.__dict__.pop("_institutions", None)

    def institution(self, code: str) -> Institution | None:
        """Read once per transaction (the gateway checks the caller, then the service does)."""
        cache = self.__dict__.setdefault("_institutions", {})
        if code not in cache:
            self.remember_institution(code, raw.first(self.tx, _INSTITUTION, {"v": code}))
        return cache[code]

    # For a repository that reads the institution's row along with its own (one round trip).
    def institution_known(self, code: str) -> bool:
        return code in self.__dict__.get("_institutions", {})

    def institution_read(self, code: str) -> tuple:
        return _INSTITUTION, {"v": code}

    def remember_institution(self, code: str, row: tuple | None) -> None:
        self.__dict__.setdefault("_institutions", {})[code] = Institution(*row) if row else None

    def institutions(self) -> list[Institution]:
        cols = (institutions.c[k] for k in Institution.__dataclass_fields__)
        return [Institution(*r) for r in self.conn.execute(select(*cols).order_by(institutions.c.code))]

    def add_catalog_item(self, item: CatalogItem) -> None:
        self.tx.__dict__.pop("_catalog", None)  # what catalog() read in this transaction
        self.tx.__dict__.pop("_catalog_ahead", None)
        self.conn.execute(
            catalog_items.insert().values(
                code=item.code,
                name=item.name,
                chrgitm_lv=item.chrgitm_lv,
                selfpay_prop=item.selfpay_bp,
                price_ceiling=None if item.price_ceiling is None else str(item.price_ceiling),
            )
        )

    def catalog_ahead(self, codes: list[str]) -> None:
        """The items ``catalog`` will be asked for, read ahead (PostgreSQL: with the unit of work's
        next round trip — a settlement's, the patient's lock)."""
        if self.tx.sqlite or not codes:
            return
        wanted = sorted(set(codes) - self.tx.__dict__.get("_catalog", {}).keys())
        if wanted:
            self.tx.__dict__["_catalog_ahead"] = (wanted, raw.ahead(self.tx, _CATALOG_PG, {"codes": wanted}))

    def catalog(self, codes: list[str]) -> dict[str, CatalogItem]:
        """Read once per transaction per code (the settlement prices the lines, then reviews them);
        ``ReferenceRepo`` writing the catalogue forgets what was read."""
        cache = self.tx.__dict__.setdefault("_catalog", {})
        pending = self.tx.__dict__.pop("_catalog_ahead", None)
        if pending is not None:
            found = {r[_C["code"]]: _catalog_tuple(r) for r in pending[1].rows()}
            for code in pending[0]:
                cache[code] = found.get(code)
        wanted = sorted(set(codes) - cache.keys())
        if wanted:
            if self.tx.sqlite:
                found = {r.code: _catalog_item(r) for r in self.conn.execute(_CATALOG, {"codes": wanted})}
            else:
                found = {r[_C["code"]]: _catalog_tuple(r) for r in raw.rows(self.tx, _CATALOG_PG, {"codes": wanted})}
            for code in wanted:
                cache[code] = found.get(code)
        return {code: cache[code] for code in set(codes) if cache[code] is not None}

    # Visits --------------------------------------------------------------------------------------

    def add_visit(self, **values) -> int:
        return self.conn.execute(_INSERT_VISIT, values).inserted_primary_key[0]

    def visit(self, pk: int, *, lock: bool = False) -> Visit | None:
        stmt = select(*_VISIT_COLS).where(visits.c.id == pk)
        r = self.conn.execute(self.tx.for_update(stmt) if lock else stmt).first()
        return Visit(*r) if r else None

    def update_visit(self, pk: int, **values) -> None:
        self.conn.execute(update(visits).where(visits.c.id == pk).values(**values))

    # Fee lines -----------------------------------------------------------------------------------

    def add_lines(self, rows: list[dict]) -> None:
        raw.insert_later(self.tx, fee_lines, rows)  # nobody reads them back in this transaction before its end

    def lines(self, visit_id: int, *, chrg_bchno: str | None = None, unsettled: bool = False) -> list[StoredLine]:
        stmt = select(*_LINE_COLS).where(fee_lines.c.visit_id == visit_id)
        if chrg_bchno is not None:
            stmt = stmt.where(fee_lines.c.chrg_bchno == chrg_bchno)
        if unsettled:
            stmt = stmt.where(fee_lines.c.settlement_id.is_(None))
        return [StoredLine(*r) for r in self.conn.execute(stmt.order_by(fee_lines.c.id))]

    def existing_sns(self, visit_id: int, sns: list[str]) -> set[str]:
        rows = self.conn.execute(
            select(fee_lines.c.feedetl_sn).where(fee_lines.c.visit_id == visit_id, fee_lines.c.feedetl_sn.in_(sns))
        )
        return {r[0] for r in rows}

    def delete_lines(self, ids: list[int]) -> None:
        if ids:
            self.conn.execute(delete(fee_lines).where(fee_lines.c.id.in_(ids)))

    def mark_lines(self, ids: list[int], settlement_id: int | None) -> None:
        if ids:
            self.conn.execute(_MARK_LINES, {"ids": list(ids), "s": settlement_id})

    def release_lines(self, settlement_id: int) -> None:
        self.conn.execute(
            update(fee_lines).where(fee_lines.c.settlement_id == settlement_id).values(settlement_id=None)
        )

    # Settlements ---------------------------------------------------------------------------------

    def add_settlement(self, **values) -> int:
        return self.conn.execute(_INSERT_SETTLEMENT, values).inserted_primary_key[0]

    def settlement(self, pk: int, *, lock: bool = False) -> SettlementRow | None:
        stmt = select(*_SETL_COLS).where(settlements.c.id == pk)
        r = self.conn.execute(self.tx.for_update(stmt) if lock else stmt).first()
        return SettlementRow(*r) if r else None

    def update_settlement(self, pk: int, **values) -> None:
        self.conn.execute(update(settlements).where(settlements.c.id == pk).values(**values))

    def settlements_of_visit(self, visit_id: int) -> list[SettlementRow]:
        return [SettlementRow(*r) for r in self.conn.execute(_SETTLEMENTS_OF_VISIT, {"v": visit_id})]

    def settlements_of_person(self, person_id: int, limit: int = 50) -> list[SettlementRow]:
        stmt = (
            select(*_SETL_COLS)
            .where(settlements.c.person_id == person_id)
            .order_by(settlements.c.setl_time.desc(), settlements.c.id.desc())
            .limit(limit)
        )
        return [SettlementRow(*r) for r in self.conn.execute(stmt)]

    def search_settlements(
        self,
        *,
        institution: str | None = None,
        person_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[SettlementRow]:
        conds = []
        if institution:
            conds.append(settlements.c.institution_code == institution)
        if person_id is not None:
            conds.append(settlements.c.person_id == person_id)
        if since is not None:
            conds.append(settlements.c.setl_time >= since)
        if until is not None:
            conds.append(settlements.c.setl_time < until)
        stmt = (
            select(*_SETL_COLS).where(and_(True, *conds)).order_by(settlements.c.id.desc()).limit(limit).offset(offset)
        )
        return [SettlementRow(*r) for r in self.conn.execute(stmt)]

    def count_settlements(self) -> int:
        return self.conn.execute(select(func.count()).select_from(settlements)).scalar_one()

    # Accumulators --------------------------------------------------------------------------------

    def accumulator(self, person_id: int, year: int, category: str, *, lock: bool = False) -> tuple[int, int]:
        stmt = self.tx.for_update(_ACCUMULATOR) if lock else _ACCUMULATOR
        r = self.conn.execute(stmt, {"b_pid": person_id, "b_year": year, "b_cat": category}).first()
        return (r[0], r[1]) if r else (0, 0)

    def accumulators_of(self, person_id: int, year: int) -> dict[str, tuple[int, int]]:
        rows = self.conn.execute(
            select(accumulators.c.category, accumulators.c.deductible_used, accumulators.c.fund_paid).where(
                accumulators.c.person_id == person_id, accumulators.c.year == year
            )
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    def add_to_accumulator(self, person_id: int, year: int, category: str, deductible: int, fund: int) -> None:
        """Add to the year's accumulator, creating it: one upsert (one round trip)."""
        raw.later(
            self.tx,
            _ACC_UPSERT[self.tx.sqlite],
            dict(person_id=person_id, year=year, category=category, deductible_used=deductible, fund_paid=fund),
        )

    # What the HIS sent, kept for audit and later queries ------------------------------------------

    def replace_diagnoses(self, visit_id: int, infno: str, rows: list[dict], at: datetime) -> None:
        """A later upload of the same kind (2203, 2401, 2402) replaces the earlier diagnoses."""
        self.conn.execute(delete(diagnoses).where(diagnoses.c.visit_id == visit_id, diagnoses.c.infno == infno))
        if rows:
            self.conn.execute(
                diagnoses.insert(), [{**r, "visit_id": visit_id, "infno": infno, "recorded_at": at} for r in rows]
            )

    def diagnoses_of(self, visit_id: int) -> list[dict]:
        stmt = select(diagnoses).where(diagnoses.c.visit_id == visit_id).order_by(diagnoses.c.id)
        return [dict(r._mapping) for r in self.conn.execute(stmt)]

    def add_trace_codes(self, visit_id: int, rows: list[dict], at: datetime) -> None:
        raw.insert_later(self.tx, drug_trace_codes, [{**r, "visit_id": visit_id, "recorded_at": at} for r in rows])

    def trace_codes_of(self, visit_id: int) -> list[dict]:
        stmt = select(drug_trace_codes).where(drug_trace_codes.c.visit_id == visit_id).order_by(drug_trace_codes.c.id)
        return [dict(r._mapping) for r in self.conn.execute(stmt)]

    def add_reconciliation(self, **values) -> int:
        return self.conn.execute(reconciliations.insert(), values).inserted_primary_key[0]

    def line_audit(self, visit_id: int) -> list[dict]:
        cols = (
            fee_lines.c.feedetl_sn,
            fee_lines.c.rxno,
            fee_lines.c.rx_circ_flag,
            fee_lines.c.bilg_dept_codg,
            fee_lines.c.bilg_dept_name,
            fee_lines.c.bilg_dr_codg,
            fee_lines.c.bilg_dr_name,
            fee_lines.c.hosp_appr_flag,
            fee_lines.c.info,
        )
        stmt = select(*cols).where(fee_lines.c.visit_id == visit_id).order_by(fee_lines.c.id)
        return [dict(r._mapping) for r in self.conn.execute(stmt)]

    # Sums for statements and reconciliation ------------------------------------------------------

    def settlement_totals(
        self, institution: str, insutype: str, clr_type: str, start: datetime, stop: datetime
    ) -> tuple[int, int, int, int, int]:
        """(medfee, fund, own account, mutual aid, count) made in [start, stop), less those cancelled in it."""
        base = and_(
            settlements.c.institution_code == institution,
            settlements.c.insutype == insutype,
            settlements.c.clr_type == clr_type,
        )
        sums = (
            func.coalesce(func.sum(settlements.c.medfee), 0),
            func.coalesce(func.sum(settlements.c.fund_pay), 0),
            func.coalesce(func.sum(settlements.c.acct_pay), 0),
            func.coalesce(func.sum(settlements.c.mulaid_pay), 0),
            func.count(),
        )
        made = self.conn.execute(
            select(*sums).where(base, settlements.c.setl_time >= start, settlements.c.setl_time < stop)
        ).one()
        undone = self.conn.execute(
            select(*sums).where(base, settlements.c.cancelled_at >= start, settlements.c.cancelled_at < stop)
        ).one()
        return tuple(int(a - b) for a, b in zip(made, undone, strict=True))  # PostgreSQL sums are NUMERIC

    def sums_by_category(self, person_id: int, year: int) -> dict[str, tuple[int, int]]:
        """category → (medfee, count) of the person's standing settlements in the medical year."""
        stmt = (
            select(settlements.c.category, func.sum(settlements.c.medfee), func.count())
            .where(settlements.c.person_id == person_id, settlements.c.year == year, settlements.c.status == "settled")
            .group_by(settlements.c.category)
        )
        return {r[0]: (int(r[1]), int(r[2])) for r in self.conn.execute(stmt)}

    def catalog_page(self, limit: int, offset: int) -> list[CatalogItem]:
        stmt = select(catalog_items).order_by(catalog_items.c.code).limit(limit).offset(offset)
        return [_catalog_item(r) for r in self.conn.execute(stmt)]
