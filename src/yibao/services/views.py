"""The read side: what the pages, the admin API and the console show, one function per view.

Adapters read through these functions (each opens its own read-only unit of work) and never
through a repository or SQL; writes go through the service modules.
"""

from __future__ import annotations

from yibao.ledger.model import person_buckets
from yibao.lifecycle.model import Person
from yibao.services.care import person_or_refuse
from yibao.services.platform import Platform
from yibao.settlement.model import Buckets, CatalogItem


def catalog_page(p: Platform, limit: int, offset: int, *, tx=None) -> list[CatalogItem]:
    """The catalogue in code order, one page."""
    with p.unit(tx, read_only=True) as tx:
        return tx.care.catalog_page(limit, offset)


def person_of(p: Platform, psn_no: str, *, tx=None) -> Person:
    """The person with this 人员编号, or the refusal E1101-001."""
    with p.unit(tx, read_only=True) as tx:
        return person_or_refuse(tx, psn_no)


def account_of(tx, psn_no: str) -> Buckets | None:
    """A person's 当年/历年账户 balances, or None when they have no personal account (one reading for
    every page, slip, answer and case)."""
    current, historical = person_buckets(psn_no)
    if tx.ledger.account(current) is None:
        return None
    got = tx.ledger.balances([current, historical])
    return Buckets(got[current], got[historical])


def balances_of(p: Platform, psn_no: str, *, tx=None) -> Buckets | None:
    with p.unit(tx, read_only=True) as tx:
        return account_of(tx, psn_no)
