"""Catalogue entries and matches, files exchanged with institutions (9101/9102), and filings."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import and_, func, or_, select

from yibao.care.model import Filing
from yibao.care.reference import CatalogEntry, Match, StoredFile
from yibao.settlement.model import CatalogItem
from yibao.storage.tables import catalog_items
from yibao.storage.tx_tables import (
    catalog_entries,
    catalog_matches,
    exchanged_files,
    filings,
    review_feedback,
    review_results,
)


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _entry(r) -> CatalogEntry:
    return CatalogEntry(
        r.list_type, r.code, r.name, r.ver, json.loads(r.columns), r.vali_flag, r.begndate, r.enddate, r.loaded_at
    )


def _match(r) -> Match:
    return Match(**{**r._mapping, "info": json.loads(r.info or "{}")})


def _filing(r) -> Filing:
    values = dict(r._mapping)
    values["info"] = json.loads(values["info"])
    return Filing(**values)


class ReferenceRepo:
    def __init__(self, tx):
        self.tx = tx
        self.conn = tx.conn

    # Catalogue entries ---------------------------------------------------------------------------

    def latest_version(self, list_type: str) -> int:
        stmt = select(func.max(catalog_entries.c.ver)).where(catalog_entries.c.list_type == list_type)
        return int(self.conn.execute(stmt).scalar() or 0)

    def add_entries(self, rows: list[dict]) -> None:
        if rows:
            self.conn.execute(catalog_entries.insert(), [{**r, "columns": json.dumps(r["columns"])} for r in rows])

    def entries_between(self, list_type: str, after: int, upto: int) -> list[CatalogEntry]:
        """Entries of versions in (after, upto], in version then code order: a download's rows."""
        stmt = (
            select(catalog_entries)
            .where(
                catalog_entries.c.list_type == list_type,
                catalog_entries.c.ver > after,
                catalog_entries.c.ver <= upto,
            )
            .order_by(catalog_entries.c.ver, catalog_entries.c.code)
        )
        return [_entry(r) for r in self.conn.execute(stmt)]

    def count_between(self, list_type: str, after: int, upto: int) -> int:
        stmt = select(func.count()).where(
            catalog_entries.c.list_type == list_type, catalog_entries.c.ver > after, catalog_entries.c.ver <= upto
        )
        return int(self.conn.execute(stmt).scalar())

    def current_entries(
        self,
        *,
        list_types: tuple[str, ...] | None = None,
        code: str | None = None,
        name: str | None = None,
        updated_since: datetime | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[int, list[CatalogEntry]]:
        """The newest version of each entry, filtered, paged: (how many match, this page)."""
        newest = (
            select(catalog_entries.c.list_type, catalog_entries.c.code, func.max(catalog_entries.c.ver).label("ver"))
            .group_by(catalog_entries.c.list_type, catalog_entries.c.code)
            .subquery()
        )
        cond = [
            catalog_entries.c.list_type == newest.c.list_type,
            catalog_entries.c.code == newest.c.code,
            catalog_entries.c.ver == newest.c.ver,
        ]
        if list_types:
            cond.append(catalog_entries.c.list_type.in_(list_types))
        if code:
            cond.append(catalog_entries.c.code == code)
        if name:
            cond.append(catalog_entries.c.name.contains(name, autoescape=True))
        if updated_since:
            cond.append(catalog_entries.c.loaded_at >= updated_since)
        base = select(catalog_entries).join(newest, and_(*cond))
        total = int(self.conn.execute(select(func.count()).select_from(base.subquery())).scalar())
        page = base.order_by(catalog_entries.c.code, catalog_entries.c.list_type).offset(offset).limit(limit)
        return total, [_entry(r) for r in self.conn.execute(page)]

    def entry(self, code: str) -> CatalogEntry | None:
        stmt = (
            select(catalog_entries)
            .where(catalog_entries.c.code == code)
            .order_by(catalog_entries.c.ver.desc())
            .limit(1)
        )
        r = self.conn.execute(stmt).first()
        return _entry(r) if r else None

    # The settlement catalogue (catalog_items), as the queries and the import see it ----------------

    def items_page(
        self,
        *,
        code: str | None = None,
        name: str | None = None,
        chrgitm_lv: str | None = None,
        with_ceiling: bool = False,
        with_selfpay: bool = False,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[int, list[CatalogItem]]:
        cond = []
        if code:
            cond.append(catalog_items.c.code == code)
        if name:
            cond.append(catalog_items.c.name.contains(name, autoescape=True))
        if chrgitm_lv:
            cond.append(catalog_items.c.chrgitm_lv == chrgitm_lv)
        if with_ceiling:
            cond.append(catalog_items.c.price_ceiling.is_not(None))
        if with_selfpay:
            cond.append(catalog_items.c.selfpay_prop > 0)
        base = select(catalog_items).where(*cond)
        total = int(self.conn.execute(select(func.count()).select_from(base.subquery())).scalar())
        rows = self.conn.execute(base.order_by(catalog_items.c.code).offset(offset).limit(limit))
        items = [
            CatalogItem(
                r.code,
                r.name,
                r.chrgitm_lv,
                r.selfpay_prop,
                None if r.price_ceiling is None else Decimal(r.price_ceiling),
            )
            for r in rows
        ]
        return total, items

    def put_item(self, item: CatalogItem) -> None:
        """Insert or replace one settlement catalogue item (the agency's import)."""
        values = {
            "name": item.name,
            "chrgitm_lv": item.chrgitm_lv,
            "selfpay_prop": item.selfpay_bp,
            "price_ceiling": None if item.price_ceiling is None else str(item.price_ceiling),
        }
        self.tx.__dict__.pop("_catalog", None)  # what CareRepo.catalog() read in this transaction
        self.tx.__dict__.pop("_catalog_ahead", None)
        done = self.conn.execute(catalog_items.update().where(catalog_items.c.code == item.code).values(**values))
        if done.rowcount == 0:
            self.conn.execute(catalog_items.insert().values(code=item.code, **values))

    def newest_entries(self, codes: list[str]) -> dict[str, CatalogEntry]:
        """The newest entry of each code (any list type)."""
        if not codes:
            return {}
        stmt = select(catalog_entries).where(catalog_entries.c.code.in_(sorted(set(codes))))
        out: dict[str, CatalogEntry] = {}
        for r in self.conn.execute(stmt.order_by(catalog_entries.c.ver)):
            out[r.code] = _entry(r)
        return out

    # Matches (3301/3302) -------------------------------------------------------------------------

    def add_match(self, **values) -> int:
        values["info"] = json.dumps(values.get("info") or {}, ensure_ascii=False)
        return int(self.conn.execute(catalog_matches.insert().values(**values)).inserted_primary_key[0])

    def active_match(self, institution: str, medins_code: str, list_type: str | None = None) -> Match | None:
        cond = [
            catalog_matches.c.institution_code == institution,
            catalog_matches.c.medins_list_codg == medins_code,
            catalog_matches.c.cancelled_at.is_(None),
        ]
        if list_type:
            cond.append(catalog_matches.c.list_type == list_type)
        r = self.conn.execute(select(catalog_matches).where(*cond).order_by(catalog_matches.c.id.desc())).first()
        return _match(r) if r else None

    def cancel_match(self, pk: int, at: datetime) -> None:
        self.conn.execute(catalog_matches.update().where(catalog_matches.c.id == pk).values(cancelled_at=at))

    def matches(
        self,
        *,
        institution: str | None = None,
        medins_code: str | None = None,
        med_list_codg: str | None = None,
        list_type: str | None = None,
        active_only: bool = True,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[int, list[Match]]:
        cond = []
        if institution:
            cond.append(catalog_matches.c.institution_code == institution)
        if medins_code:
            cond.append(catalog_matches.c.medins_list_codg == medins_code)
        if med_list_codg:
            cond.append(catalog_matches.c.med_list_codg == med_list_codg)
        if list_type:
            cond.append(catalog_matches.c.list_type == list_type)
        if active_only:
            cond.append(catalog_matches.c.cancelled_at.is_(None))
        base = select(catalog_matches).where(*cond)
        total = int(self.conn.execute(select(func.count()).select_from(base.subquery())).scalar())
        rows = self.conn.execute(base.order_by(catalog_matches.c.id).offset(offset).limit(limit))
        return total, [_match(r) for r in rows]

    # Files (9101/9102) ---------------------------------------------------------------------------

    def add_file(self, **values) -> None:
        self.conn.execute(exchanged_files.insert().values(**values))

    def file(self, file_qury_no: str) -> StoredFile | None:
        cols = [exchanged_files.c[k] for k in StoredFile.__dataclass_fields__]
        r = self.conn.execute(select(*cols).where(exchanged_files.c.file_qury_no == file_qury_no)).first()
        return StoredFile(*r) if r else None

    def count_files(self, institution: str) -> int:
        stmt = select(func.count()).where(exchanged_files.c.institution_code == institution)
        return int(self.conn.execute(stmt).scalar())

    # Filings (2501–2507) -------------------------------------------------------------------------

    def add_filing(self, **values) -> int:
        values["info"] = json.dumps(values["info"], ensure_ascii=False, default=str)
        return int(self.conn.execute(filings.insert().values(**values)).inserted_primary_key[0])

    def filing(self, pk: int, *, lock: bool = False) -> Filing | None:
        stmt = select(filings).where(filings.c.id == pk)
        r = self.conn.execute(self.tx.for_update(stmt) if lock else stmt).first()
        return _filing(r) if r else None

    def cancel_filing(self, pk: int, at: datetime, memo: str | None) -> None:
        self.conn.execute(filings.update().where(filings.c.id == pk).values(cancelled_at=at, cancel_memo=memo))

    def filings_of(self, person_id: int, kind: str | None = None, *, active_only: bool = False) -> list[Filing]:
        cond = [filings.c.person_id == person_id]
        if kind:
            cond.append(filings.c.kind == kind)
        if active_only:
            cond.append(filings.c.cancelled_at.is_(None))
        return [_filing(r) for r in self.conn.execute(select(filings).where(*cond).order_by(filings.c.id))]

    def overlapping(self, person_id: int, kind: str, begin: date, end: date | None, code: str | None) -> Filing | None:
        """An active filing of the same kind (and disease, when given) whose period meets [begin, end]."""
        cond = [
            filings.c.person_id == person_id,
            filings.c.kind == kind,
            filings.c.cancelled_at.is_(None),
            or_(filings.c.enddate.is_(None), filings.c.enddate >= begin),
        ]
        if end is not None:
            cond.append(filings.c.begndate <= end)
        if code is not None:
            cond.append(filings.c.code == code)
        r = self.conn.execute(select(filings).where(*cond).limit(1)).first()
        return _filing(r) if r else None

    # Review results (3101/3102) and feedback (3103) -----------------------------------------------

    def add_review_result(self, **values) -> None:
        self.conn.execute(review_results.insert().values(**values))

    def review_result(self, jr_id: str) -> dict | None:
        r = self.conn.execute(select(review_results).where(review_results.c.jr_id == jr_id)).first()
        return dict(r._mapping) if r else None

    def review_feedback_of(self, jr_id: str) -> dict | None:
        r = self.conn.execute(select(review_feedback).where(review_feedback.c.jr_id == jr_id)).first()
        return dict(r._mapping) if r else None

    def add_review_feedback(self, **values) -> None:
        self.conn.execute(review_feedback.insert().values(**values))
