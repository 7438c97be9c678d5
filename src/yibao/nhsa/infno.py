"""The settlement transactions of the national interface and the cancellation that undoes each."""

from __future__ import annotations

CANCEL_INFNO = {"2207": "2208", "2102": "2103", "2304": "2305"}  # settlement → its cancellation
CANCEL_OF = {cancel: settle for settle, cancel in CANCEL_INFNO.items()}  # cancellation → what it undoes
SETTLEMENT_INFNOS = frozenset(CANCEL_INFNO)
CANCELLATION_INFNOS = frozenset(CANCEL_OF)
