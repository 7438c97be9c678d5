"""Public identifiers derived from integer keys: ``mdtrt_id`` and ``setl_id``.

The national interface carries them as opaque strings (up to 30 characters). Deriving them from
the table's own key keeps them unique on every database without a shared counter row. Parsing is
strict: ASCII digits only, and a serial no row can have (0, or above ``limits.MAX_ROW_ID``, the
largest 32-bit key) names nothing — the caller answers "not found", never a database error.
"""

from __future__ import annotations

import re

from yibao.limits import MAX_ROW_ID

_VISIT = re.compile(r"MD([0-9]{6})([0-9]{10})")
_SETTLEMENT = re.compile(r"ST([0-9]{6})([0-9]{10})")
_FILING = re.compile(r"BA([0-9]{6})([0-9]{10})")  # 待遇申报明细流水号 of a filing (2501–2507)


def visit_public_id(admdvs: str, pk: int) -> str:
    return f"MD{admdvs}{pk:010d}"


def settlement_public_id(admdvs: str, pk: int) -> str:
    return f"ST{admdvs}{pk:010d}"


def _serial(pattern: re.Pattern[str], text: object) -> int | None:
    m = pattern.fullmatch(text) if isinstance(text, str) else None
    pk = int(m[2]) if m else 0
    return pk if 0 < pk <= MAX_ROW_ID else None


def parse_visit_id(text: object) -> int | None:
    return _serial(_VISIT, text)


def parse_settlement_id(text: object) -> int | None:
    return _serial(_SETTLEMENT, text)


def person_number(admdvs: str, pk: int) -> str:
    """A ``psn_no``: the insured region's code and a serial (the national field is 30 characters)."""
    return f"{admdvs}{pk:014d}"


def filing_public_id(admdvs: str, pk: int) -> str:
    return f"BA{admdvs}{pk:010d}"


def parse_filing_id(text: object) -> int | None:
    return _serial(_FILING, text)
