"""fewer WAL bytes per settlement on PostgreSQL: compressed JSON kept in line, room for HOT updates (issue 11)

Revision ID: 0010_wal_lean
Revises: 0009_cross_region_names

Measured with pg_walinspect over 300 settlements (2102 with mutual aid): of ~8.7 KB of WAL each,
~2.4 KB was the settlement's record and explanation (JSON and text, ~1.9 KB a row) and the message's
stored answer (~1.4 KB, logged again by the update that fills it in), and ~0.6 KB the index entries
of the person buckets' rows: a full page cannot take an updated row (no HOT update), so every
update wrote a new entry into each of the accounts' three indexes.

- settlements and messages: every text column STORAGE MAIN (compressed and kept in the row: no TOAST
  rows and index entries to log), lz4 for the big ones (output, explanation, answer) where the
  server has it, and ``toast_tuple_target`` at its minimum so that rows are compressed at any size;
- accounts and account_shards: ``fillfactor`` 80 / 50, so that a bucket's or a shard's new version
  fits on its page (HOT: no index entries). Pages written before this keep their fill until rewritten.

SQLite: nothing (no TOAST, no fillfactor); the data and the schema's meaning are unchanged either way.
"""

from alembic import op


revision = "0010_wal_lean"
down_revision = "0009_cross_region_names"
branch_labels = None
depends_on = None

COMPRESSED = (("settlements", ("output", "explanation")), ("messages", ("answer",)))
FILLFACTOR = (("accounts", 80), ("account_shards", 50))
_TEXT_COLUMNS = (
    "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
    " AND table_name = %(t)s AND data_type IN ('text', 'character varying')"
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    lz4 = bind.exec_driver_sql(
        "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"
    ).first()
    for table, big in COMPRESSED:
        # every text column MAIN, not only the big ones: the toaster moves EXTENDED columns (a
        # 64-byte digest too) out of line before it compresses MAIN ones
        for (column,) in bind.exec_driver_sql(_TEXT_COLUMNS, {"t": table}).all():
            op.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" SET STORAGE MAIN')
        for column in big:
            if lz4:
                op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4")
        op.execute(f"ALTER TABLE {table} SET (toast_tuple_target = 128)")
    for table, percent in FILLFACTOR:
        op.execute(f"ALTER TABLE {table} SET (fillfactor = {percent})")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table, big in COMPRESSED:
        for (column,) in bind.exec_driver_sql(_TEXT_COLUMNS, {"t": table}).all():
            op.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" SET STORAGE EXTENDED')
        for column in big:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION default")
        op.execute(f"ALTER TABLE {table} RESET (toast_tuple_target)")
    for table, _ in FILLFACTOR:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
