"""Whole-database questions: is anything stored yet, and emptying it (sandbox reset, a demo seed
that failed half-way). ``settings`` holds the platform's keys, not business data."""

from __future__ import annotations

from sqlalchemy import select

from yibao.storage import tables

KEYS_TABLE = "settings"


def holds_data(tx) -> bool:
    """Whether any table but ``settings`` has a row."""
    return any(
        tx.conn.execute(select(1).select_from(table).limit(1)).first() is not None
        for table in tables.metadata.sorted_tables
        if table.name != KEYS_TABLE
    )


def wipe(tx, *, keep_keys: bool) -> None:
    """Delete every row (children first); ``keep_keys`` keeps ``settings``."""
    tx.__dict__.pop("_catalog", None)  # what CareRepo.catalog() read in this transaction
    tx.__dict__.pop("_catalog_ahead", None)
    tx.__dict__.pop("_insurances_ahead", None)  # what PeopleRepo.by_psn_no(lock=True) read
    tx.__dict__.pop("_credential_ahead", None)  # and the credential read with it
    for table in reversed(tables.metadata.sorted_tables):
        if not (keep_keys and table.name == KEYS_TABLE):
            tx.conn.execute(table.delete())
