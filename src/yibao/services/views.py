"""The read side: what the pages, the admin API and the console show, one function per view.

Adapters read through these functions (each opens its own read-only unit of work) and never
through a repository or SQL; writes go through the service modules.
"""

from __future__ import annotations

from yibao.care.model import Institution, SettlementRow
from yibao.ledger.model import person_buckets
from yibao.lifecycle.model import Insurance, Person
from yibao.policy.model import RegionRow
from yibao.services.care import person_or_refuse
from yibao.services.filings import filings_in_words
from yibao.services.platform import Platform
from yibao.services.settle import settlement_or_refuse, view_of
from yibao.services.statements import account_movements
from yibao.settlement.model import Buckets, CatalogItem
from yibao.storage.uow import Tx


def catalog_page(platform: Platform, limit: int, offset: int, *, tx: Tx | None = None) -> list[CatalogItem]:
    """The catalogue in code order, one page."""
    with platform.unit(tx, read_only=True) as tx:
        return tx.care.catalog_page(limit, offset)


def person_of(platform: Platform, psn_no: str, *, tx: Tx | None = None) -> Person:
    """The person with this 人员编号, or the refusal E1101-001."""
    with platform.unit(tx, read_only=True) as tx:
        return person_or_refuse(tx, psn_no)


def account_of(tx: Tx, psn_no: str) -> Buckets | None:
    """A person's 当年/历年账户 balances, or None when they have no personal account (one reading for
    every page, slip, answer and case)."""
    current, historical = person_buckets(psn_no)
    if tx.ledger.account(current) is None:
        return None
    got = tx.ledger.balances([current, historical])
    return Buckets(got[current], got[historical])


def balances_of(platform: Platform, psn_no: str, *, tx: Tx | None = None) -> Buckets | None:
    with platform.unit(tx, read_only=True) as tx:
        return account_of(tx, psn_no)


def regions(platform: Platform, *, tx: Tx | None = None) -> list[RegionRow]:
    with platform.unit(tx, read_only=True) as tx:
        return tx.config.regions()


def institutions(platform: Platform, *, tx: Tx | None = None) -> list[Institution]:
    with platform.unit(tx, read_only=True) as tx:
        return tx.care.institutions()


def people(
    platform: Platform, q: str | None, limit: int, offset: int, *, tx: Tx | None = None
) -> list[tuple[Person, list[Insurance]]]:
    """People found by name, 人员编号 or ID number, each with their insurance history."""
    with platform.unit(tx, read_only=True) as tx:
        return [(x, tx.people.insurances(x.id)) for x in tx.people.search(q, limit, offset)]


def person_with_insurances(platform: Platform, psn_no: str, *, tx: Tx | None = None) -> tuple[Person, list[Insurance]]:
    with platform.unit(tx, read_only=True) as tx:
        person = person_or_refuse(tx, psn_no)
        return person, tx.people.insurances(person.id)


def settlements(
    platform: Platform,
    *,
    institution: str | None = None,
    psn_no: str | None = None,
    limit: int = 50,
    offset: int = 0,
    tx: Tx | None = None,
) -> list[tuple[SettlementRow, Person]]:
    """Settlements, newest first, each with its patient; by institution and/or person."""
    with platform.unit(tx, read_only=True) as tx:
        pid = person_or_refuse(tx, psn_no).id if psn_no else None
        rows = tx.care.search_settlements(institution=institution, person_id=pid, limit=limit, offset=offset)
        return [(r, tx.people.by_id(r.person_id)) for r in rows]


def settlements_of(
    platform: Platform, psn_no: str, limit: int, *, tx: Tx | None = None
) -> list[tuple[SettlementRow, Person]]:
    with platform.unit(tx, read_only=True) as tx:
        person = person_or_refuse(tx, psn_no)
        return [(r, person) for r in tx.care.settlements_of_person(person.id, limit)]


def settlement(platform: Platform, setl_id: str, *, tx: Tx | None = None) -> tuple[SettlementRow, Person]:
    with platform.unit(tx, read_only=True) as tx:
        row = settlement_or_refuse(tx, setl_id)
        return row, tx.people.by_id(row.person_id)


def search_people(platform: Platform, q: str | None, limit: int = 50, *, tx: Tx | None = None) -> list[Person]:
    with platform.unit(tx, read_only=True) as tx:
        return tx.people.search(q, limit=limit)


def institution(platform: Platform, code: str, *, tx: Tx | None = None) -> Institution | None:
    with platform.unit(tx, read_only=True) as tx:
        return tx.care.institution(code)


def person_record(
    platform: Platform, psn_no: str, *, settlements: int = 30, movements: int = 100, tx: Tx | None = None
) -> dict:
    """Everything the console's person page shows from the books, read in one unit of work."""
    with platform.unit(tx, read_only=True) as tx:
        who = person_or_refuse(tx, psn_no)
        return {
            "who": who,
            "insurances": tx.people.insurances(who.id),
            "account": account_of(tx, psn_no),
            "ledger": account_movements(platform, psn_no, movements, masked=False, tx=tx),
            "settlements": [view_of(tx, r) for r in tx.care.settlements_of_person(who.id, settlements)],
        }


def settlement_view(platform: Platform, setl_id: str, *, with_entry: bool = False, tx: Tx | None = None):
    """The settlement as shown (and, ``with_entry``, its ledger entry)."""
    with platform.unit(tx, read_only=True) as tx:
        view = view_of(tx, settlement_or_refuse(tx, setl_id))
        return (view, tx.ledger.entry(f"setl:{setl_id}")) if with_entry else view


def portal_home(platform: Platform, psn_no: str, *, recent: int = 5, movements: int = 20, tx: Tx | None = None) -> dict:
    """The portal's home page: the person, their insurance, balances, recent settlements and movements."""
    with platform.unit(tx, read_only=True) as tx:
        person = person_or_refuse(tx, psn_no)
        account = account_of(tx, psn_no)
        return {
            "person": person,
            "insurances": tx.people.insurances(person.id),
            "account": account,
            "recent": [view_of(tx, r) for r in tx.care.settlements_of_person(person.id, recent)],
            "movements": account_movements(platform, psn_no, movements, tx=tx) if account else [],
            "filed": filings_in_words(tx, person),
        }


def insurances_of(tx: Tx, person: Person) -> list[Insurance]:
    """A person's insurance history, oldest first (1101 answers each)."""
    return tx.people.insurances(person.id)


def health(platform: Platform) -> str:
    """The database answers a read (``GET /healthz``): its kind (``sqlite``, ``postgresql``);
    ``StoreUnavailable`` when it does not."""
    with platform.unit(read_only=True) as tx:
        tx.config.get("health")
    return platform.store.engine.dialect.name


def ledger_problems(platform: Platform) -> list[str]:
    """What breaks the ledger's invariants (debits = credits, no account below its floor), in words;
    empty when it holds."""
    with platform.unit(read_only=True) as tx:
        return tx.ledger.check_invariants()
