"""The read side: what the pages, the admin API and the console show, one function per view.

Adapters read through these functions (each opens its own read-only unit of work) and never
through a repository or SQL; writes go through the service modules.
"""

from __future__ import annotations

from yibao.lifecycle.model import Person
from yibao.services.care import person_or_refuse
from yibao.services.platform import Platform
from yibao.settlement.model import CatalogItem


def catalog_page(p: Platform, limit: int, offset: int, *, tx=None) -> list[CatalogItem]:
    """The catalogue in code order, one page."""
    with p.unit(tx, read_only=True) as tx:
        return tx.care.catalog_page(limit, offset)


def person_of(p: Platform, psn_no: str, *, tx=None) -> Person:
    """The person with this 人员编号, or the refusal E1101-001."""
    with p.unit(tx, read_only=True) as tx:
        return person_or_refuse(tx, psn_no)
