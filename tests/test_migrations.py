"""The Alembic migrations produce exactly the schema the code declares, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from yibao.storage import tables
from yibao.storage.migrate import current_revision, head_revision, upgrade
from yibao.storage.uow import Store


def test_sqlite_migrations_match_metadata(tmp_path):
    store = Store.open(str(tmp_path / "m.sqlite"))
    assert current_revision(store.engine) == head_revision()
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), tables.metadata)
    assert diff == []
    upgrade(store.engine)  # idempotent at head
    assert current_revision(store.engine) == head_revision()


def test_pg_migrations_match_metadata(pg_store):
    assert current_revision(pg_store.engine) == head_revision()
    with pg_store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), tables.metadata)
    assert diff == []


def test_sqlite_file_uses_wal(tmp_path):
    store = Store.open(str(tmp_path / "w.sqlite"))
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
