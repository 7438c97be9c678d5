"""The double-entry ledger: accounts, immutable transfers, idempotent entries, floors, invariants."""

from yibao.ledger.model import Entry, LedgerError, Transfer, net_changes, reversal, validate
from yibao.ledger.postings import settlement_entry

__all__ = ["Entry", "LedgerError", "Transfer", "net_changes", "reversal", "settlement_entry", "validate"]
