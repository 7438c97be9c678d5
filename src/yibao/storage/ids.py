"""Public identifiers derived from integer keys: ``mdtrt_id`` and ``setl_id``.

The national interface carries them as opaque strings (up to 30 characters). Deriving them from
the table's own key keeps them unique on every database without a shared counter row.
"""

from __future__ import annotations

import re

_VISIT = re.compile(r"MD(\d{6})(\d{10})")
_SETTLEMENT = re.compile(r"ST(\d{6})(\d{10})")


def visit_public_id(admdvs: str, pk: int) -> str:
    return f"MD{admdvs}{pk:010d}"


def settlement_public_id(admdvs: str, pk: int) -> str:
    return f"ST{admdvs}{pk:010d}"


def parse_visit_id(text: object) -> int | None:
    m = _VISIT.fullmatch(text) if isinstance(text, str) else None
    return int(m[2]) if m else None


def parse_settlement_id(text: object) -> int | None:
    m = _SETTLEMENT.fullmatch(text) if isinstance(text, str) else None
    return int(m[2]) if m else None


def person_number(admdvs: str, pk: int) -> str:
    """A ``psn_no``: the insured region's code and a serial (the national field is 30 characters)."""
    return f"{admdvs}{pk:014d}"
