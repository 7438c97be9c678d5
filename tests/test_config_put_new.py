"""A setting made on first use (the cookie secret, the platform keys) by several server processes
at once: one value is kept and every maker gets it — no unique-key error (``serve --workers``)."""

from __future__ import annotations

import threading

import pytest


def test_the_first_value_kept_is_the_value(store):
    with store.uow() as tx:
        assert tx.config.put_new("k", "first") == "first"
    with store.uow() as tx:
        assert tx.config.put_new("k", "second") == "first"
        assert tx.config.get("k") == "first"


@pytest.mark.pg
def test_two_makers_at_once_both_get_the_winner(pg_store):
    got: dict[str, str] = {}
    errors: list[BaseException] = []
    inserted = threading.Event()

    def second():
        try:
            with pg_store.uow() as tx:
                assert inserted.wait(30)
                got["second"] = tx.config.put_new("cookie", "b")  # waits for the first to commit
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    t = threading.Thread(target=second, daemon=True)
    t.start()
    with pg_store.uow() as tx:
        got["first"] = tx.config.put_new("cookie", "a")
        inserted.set()
    t.join(60)
    assert not t.is_alive() and not errors, errors
    assert got == {"first": "a", "second": "a"}
