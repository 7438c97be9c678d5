"""The store and its unit of work: one transaction per job, committed whole or rolled back whole."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DataError, OperationalError

from yibao.errors import DomainError, StoreUnavailable, StoreValueRefused
from yibao.storage import raw, tables
from yibao.storage.access_repo import AccessRepo
from yibao.storage.care_repo import CareRepo
from yibao.storage.clearing_repo import ClearingRepo
from yibao.storage.config_repo import ConfigRepo
from yibao.storage.credentials_repo import CredentialsRepo
from yibao.storage.db import is_sqlite, make_engine
from yibao.storage.family_repo import FamilyRepo
from yibao.storage.gateway_repo import GatewayRepo
from yibao.storage.ledger_store import LedgerStore
from yibao.storage.lifecycle_repo import LifecycleRepo
from yibao.storage.lists_repo import ListsRepo
from yibao.storage.migrate import upgrade
from yibao.storage.people_repo import PeopleRepo
from yibao.storage.records_repo import RecordsRepo
from yibao.storage.reference_repo import ReferenceRepo
from yibao.storage.regionlink_repo import RegionLinkRepo
from yibao.storage.reservation_repo import ReservationRepo
from yibao.storage.stock_repo import StockRepo


@contextmanager
def translated_errors() -> Iterator[None]:
    """The driver's failures as the core's (``errors.StoreError``): nothing above storage imports SQLAlchemy."""
    try:
        yield
    except OperationalError as exc:
        raise StoreUnavailable(str(exc)) from exc
    except DataError as exc:
        raise StoreValueRefused(str(exc)) from exc


class Store:
    """A database: create it, migrate it, and open units of work on it."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.sqlite = is_sqlite(engine)
        # SQLite admits one writer; queueing writers here is fairer and faster than SQLite's own
        # busy-wait back-off, which under many clients sends latencies into seconds.
        self._writer = threading.RLock() if self.sqlite else None
        if not self.sqlite:
            raw.install(engine)  # writes waiting in a unit of work go out before SQLAlchemy's next statement

    @property
    def one_writer(self) -> bool:
        """Whether a writing unit of work holds the store's one write lock from its start (SQLite):
        slow work that needs no lock is then best done before the unit opens."""
        return self._writer is not None

    @classmethod
    def open(cls, url: str = "sqlite://", *, migrate: bool = True, create: bool = False) -> Store:
        """``migrate`` runs Alembic to head; ``create`` builds the schema directly (fast, for tests)."""
        store = cls(make_engine(url))
        if create:
            tables.metadata.create_all(store.engine)
        elif migrate:
            upgrade(store.engine)
        return store

    @contextmanager
    def uow(self, *, read_only: bool = False) -> Iterator[Tx]:
        """One transaction. ``read_only`` on SQLite starts a deferred one that takes no write lock."""
        if self._writer is not None and not read_only:
            with self._writer, self._transaction(read_only) as tx:
                yield tx
        else:
            with self._transaction(read_only) as tx:
                yield tx

    @contextmanager
    def _transaction(self, read_only: bool) -> Iterator[Tx]:
        with translated_errors(), self.engine.connect() as conn:
            if read_only:
                conn = conn.execution_options(yibao_read_only=True)
            trans = conn.begin()
            tx = Tx(conn, self.sqlite)
            if not self.sqlite:  # writes waiting (raw.later) go out before SQLAlchemy's next statement
                conn.info[raw.LATER_KEY] = tx.later
            try:
                try:
                    yield tx
                except DomainError as exc:
                    if exc.keep_writes:
                        _commit(tx, trans)
                    else:
                        tx.later.clear()
                        trans.rollback()
                    tx.ended(exc.keep_writes)
                    raise
                except BaseException:
                    tx.later.clear()
                    trans.rollback()
                    tx.ended(False)
                    raise
                _commit(tx, trans)
                tx.ended(True)
            finally:
                conn.info.pop(raw.LATER_KEY, None)

    def dispose(self) -> None:
        self.engine.dispose()


def _commit(tx: Tx, trans) -> None:
    """The writes still waiting (``raw.later``), then the commit, in one round trip; a failure of
    either rolls back."""
    try:
        if not tx.sqlite:
            raw.flush(tx, commit=True)  # the COMMIT in the writes' round trip; trans.commit() then has nothing to send
    except BaseException:
        tx.later.clear()
        trans.rollback()
        tx.ended(False)
        raise
    trans.commit()


class Tx:
    """One open transaction and the repositories that work inside it."""

    def __init__(self, conn: Connection, sqlite: bool):
        self.conn = conn
        self.sqlite = sqlite
        self._after: list = []
        self.later: list[tuple] = []  # PostgreSQL writes (and reads sent ahead) waiting for a round trip (storage.raw)

    def after_end(self, fn) -> None:
        """Run ``fn(committed)`` once the transaction has ended (after the commit or the rollback):
        what must only happen once the writes are durable, or be undone elsewhere when they are not
        (a cross-region reservation's post or void). Failures are logged, never raised."""
        self._after.append(fn)

    def ended(self, committed: bool) -> None:
        hooks, self._after = self._after, []
        for fn in hooks:
            try:
                fn(committed)
            except Exception:
                logging.getLogger("yibao.storage").exception("after-transaction hook failed")

    @cached_property
    def people(self) -> PeopleRepo:
        return PeopleRepo(self)

    @cached_property
    def family(self) -> FamilyRepo:
        return FamilyRepo(self)

    @cached_property
    def credentials(self) -> CredentialsRepo:
        return CredentialsRepo(self)

    @cached_property
    def care(self) -> CareRepo:
        return CareRepo(self)

    @cached_property
    def lifecycle(self) -> LifecycleRepo:
        return LifecycleRepo(self)

    @cached_property
    def ledger(self) -> LedgerStore:
        return LedgerStore(self)

    @cached_property
    def gateway(self) -> GatewayRepo:
        return GatewayRepo(self)

    @cached_property
    def config(self) -> ConfigRepo:
        return ConfigRepo(self)

    @cached_property
    def access(self) -> AccessRepo:
        return AccessRepo(self)

    @cached_property
    def regionlink(self) -> RegionLinkRepo:
        return RegionLinkRepo(self)

    @cached_property
    def reference(self) -> ReferenceRepo:
        return ReferenceRepo(self)

    @cached_property
    def records(self) -> RecordsRepo:
        return RecordsRepo(self)

    @cached_property
    def lists(self) -> ListsRepo:
        return ListsRepo(self)

    @cached_property
    def clearing(self) -> ClearingRepo:
        return ClearingRepo(self)

    @cached_property
    def stock(self) -> StockRepo:
        return StockRepo(self)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: what fails inside it is undone, the rest of the unit of work stays."""
        with self.conn.begin_nested():
            yield

    @cached_property
    def reservations(self) -> ReservationRepo:
        return ReservationRepo(self)

    def for_update(self, stmt):
        """Row locks on PostgreSQL; SQLite already holds the write lock from BEGIN IMMEDIATE."""
        return stmt if self.sqlite else stmt.with_for_update()
