"""The one ``MetaData`` every table is declared on, and the money column type.

Its own module so that ``tables`` and ``tx_tables`` (issue 13's tables, which ``tables`` imports so
that ``tables.metadata`` holds every table) both build on it without an import circle.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, MetaData

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Money = BigInteger  # fen
