"""The adapters reach storage only through services (docs/architecture.md, issue 10).

``lint-imports`` keeps the adapters from importing ``yibao.storage``; this keeps them from using it
without an import: no repository of a unit of work (``tx.care.…``, ``tx.conn.…``) is touched in
``api/``, ``web/``, ``gateway/`` or ``regionlink/``, and none opens a unit of work of its own
(``p.store``, ``p.store.uow()``): the gateway's handlers get the dispatcher's ``tx`` and hand it to a service.
"""

from __future__ import annotations

import ast
from functools import cached_property
from pathlib import Path

import pytest

import yibao
from yibao.storage.uow import Tx

ADAPTERS = ("api", "web", "gateway", "regionlink")
SRC = Path(yibao.__file__).parent


def repositories() -> set[str]:
    """What a unit of work holds: its repositories (``tx.people``, ``tx.care``, …) and its connection."""
    return {n for n, v in vars(Tx).items() if isinstance(v, property | cached_property)} | {"conn"}


def storage_uses(text: str, repos: set[str]) -> list[tuple[int, str]]:
    """(line, expression) of each repository reached or unit of work opened in a module's source.

    ``name.<repository>`` counts unless ``name`` is an imported module (``views.people(…)`` is the
    read side's function, not ``tx.people``); a chain ``….<repository>.…`` counts whatever it hangs
    from; ``p.store`` and ``….uow(`` reach the store, or open a unit of work, outside the services."""
    tree = ast.parse(text)
    modules = {
        (a.asname or a.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for a in node.names
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        inner = node.value
        if (
            (node.attr in repos and isinstance(inner, ast.Name) and inner.id not in modules)
            or (isinstance(inner, ast.Attribute) and inner.attr in repos and not isinstance(inner.value, ast.Name))
            or node.attr in ("store", "uow")
        ):
            found.append((node.lineno, ast.unparse(node)))
    return sorted(set(found))


def test_the_check_sees_what_it_must():
    repos = repositories()
    assert {"people", "care", "gateway", "config", "records", "stock", "ledger", "conn"} <= repos
    source = (
        "from yibao.services import views\n"
        "def handler(p, call, tx):\n"
        "    views.people(p, None, 10, 0)\n"  # the read side: allowed
        "    inst = tx.care.institution(call.institution)\n"
        "    t = tx\n"
        "    t.people.by_id(1)\n"
        "    call.tx.stock.moves('x')\n"
        "    rows = tx.conn.execute('select 1')\n"
        "    with p.store.uow() as own:\n"
        "        return own.config\n"
    )
    assert sorted({line for line, _ in storage_uses(source, repos)}) == [4, 6, 7, 8, 9, 10]


@pytest.mark.parametrize("package", ADAPTERS)
def test_adapters_reach_storage_only_through_services(package):
    repos = repositories()
    found = [
        f"{path.relative_to(SRC.parent)}:{line}: {expr}"
        for path in sorted((SRC / package).rglob("*.py"))
        for line, expr in storage_uses(path.read_text(encoding="utf-8"), repos)
    ]
    assert not found, "an adapter reaches a repository or opens a unit of work; call a service instead:\n" + "\n".join(
        found
    )
