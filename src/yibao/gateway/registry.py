"""The transaction registry: ``@transaction`` registers a handler under its ``infno``.

Handler modules import this module, never the dispatcher, so there is no import circle. Every
module of the ``yibao.gateway`` package is imported by ``load_handlers`` (found with ``pkgutil``):
a new transaction module is found without editing a list.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from yibao.nhsa.dictionary import NATIONAL, Dictionary
from yibao.nhsa.reader import NO_RULES, Reader, Row, Rules
from yibao.nhsa.spec import InterfaceSpec, interface
from yibao.services.platform import Platform


@dataclass(frozen=True)
class Call:
    infno: str
    msgid: str
    institution: str
    input: dict[str, Any]
    cainfo: str | None  # where the patient's password travels (dev_safe_info on the SM variant)
    sign_no: str | None
    envelope: dict[str, Any]
    spec: InterfaceSpec | None = None
    rules: Rules = NO_RULES
    dictionary: Dictionary = NATIONAL
    strict: bool = False
    received: datetime | None = field(default=None, compare=False)
    sign_in_relaxed: bool = False
    early: Any = field(default=None, compare=False, repr=False)  # what ``Transaction.ahead`` prepared
    api_key: str | None = field(default=None, compare=False, repr=False)  # checked in the unit (``dispatch``)

    def _reader(self) -> Reader:
        assert self.spec is not None, f"{self.infno} has no field table"
        return Reader(self.spec, self.input, self.rules, self.dictionary, self.strict)

    def read(self, name: str | None) -> Row:
        """One object node, read and checked against the transaction's table."""
        return self._reader().node(name)

    def rows(self, name: str, *, min_rows: int = 0) -> list[Row]:
        """One list node (an object is read as one row)."""
        return self._reader().rows(name, min_rows=min_rows)

    def nested(self, name: str, sent: Any, where: str) -> list[Row]:
        """The rows of a node nested in another node's field, read against its own table."""
        return self._reader().nested(name, sent, where)


Handler = Callable[[Platform, Call, Any], Any]


@dataclass(frozen=True)
class Transaction:
    infno: str
    name: str
    handler: Handler
    writes: bool  # False: a query or a pre-settlement; it records nothing, not even its msgid
    rules: Rules = NO_RULES
    # Work done before the call's unit of work opens, holding no lock, from the input as sent (only
    # a hint: the handler checks everything again): returns what the handler finds in ``call.early``,
    # which may have reads to send with the unit's first round trip (``expect(tx)``).
    ahead: Callable[[Platform, Call], Any] | None = None

    @property
    def spec(self) -> InterfaceSpec | None:
        return interface(self.infno)


TRANSACTIONS: dict[str, Transaction] = {}


def transaction(
    infno: str,
    name: str,
    *,
    writes: bool = True,
    filled: tuple[str, ...] = (),
    signed: tuple[str, ...] = (),
    ahead: Callable[[Platform, Call], Any] | None = None,
) -> Callable[[Handler], Handler]:
    """Register a handler. ``filled``: fields the spec requires that the platform takes from its own
    records (``node.field``; the handler fills them and cross-checks them when sent); ``signed``:
    numbers that may be negative; ``ahead``: see ``Transaction.ahead``. Everything else about the
    fields comes from the table."""

    def register(fn: Handler) -> Handler:
        rules = Rules(frozenset(filled), frozenset(signed))
        TRANSACTIONS[infno] = Transaction(infno, name, fn, writes, rules, ahead)
        return fn

    return register


_LOADED: list[bool] = []  # set once every module was imported (listing the package costs ~0.4 ms a call)


def load_handlers() -> dict[str, Transaction]:
    """Import every module of the gateway package once; handler modules register themselves."""
    if _LOADED:
        return TRANSACTIONS
    package = importlib.import_module("yibao.gateway")
    for module in pkgutil.iter_modules(package.__path__, "yibao.gateway."):
        importlib.import_module(module.name)
    _LOADED.append(True)
    return TRANSACTIONS
