"""The gateway finds its transaction modules itself: no list to forget, no import circle."""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

import yibao.gateway
from yibao.gateway.registry import TRANSACTIONS, load_handlers


def _registering_modules() -> set[str]:
    """Modules of the gateway package whose source applies ``@transaction``."""
    found = set()
    for info in pkgutil.iter_modules(yibao.gateway.__path__, "yibao.gateway."):
        path = Path(yibao.gateway.__path__[0]) / f"{info.name.rsplit('.', 1)[1]}.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "transaction":
                found.add(info.name)
    return found


def test_every_transaction_module_is_loaded():
    load_handlers()
    loaded = {t.handler.__module__ for t in TRANSACTIONS.values()}
    assert _registering_modules() == loaded
    assert len(loaded) >= 7


def test_handler_modules_import_the_registry_not_the_dispatcher():
    for info in pkgutil.iter_modules(yibao.gateway.__path__, "yibao.gateway."):
        if info.name == "yibao.gateway.dispatcher":
            continue
        path = Path(yibao.gateway.__path__[0]) / f"{info.name.rsplit('.', 1)[1]}.py"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert "yibao.gateway.dispatcher" not in imported, info.name
