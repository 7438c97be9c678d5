"""Words for explanations: the Chinese names and masked names the calculation writes with.

The vocabulary itself lives in ``yibao.words`` (one place for every page, slip and explanation);
this module hands the calculation what it needs from there.
"""

from __future__ import annotations

from yibao.money import fmt_percent
from yibao.words import (
    BUCKET_NAMES,
    CATEGORY_NAMES,
    CLASS_NAMES,
    LEVEL_NAMES,
    OFFSITE_NAMES,
    RELATION_NAMES,
    SCHEME_NAMES,
    mask_name,
    relation_word,
    yuan,
)

__all__ = [
    "BUCKET_NAMES",
    "CATEGORY_NAMES",
    "CLASS_NAMES",
    "LEVEL_NAMES",
    "OFFSITE_NAMES",
    "RELATION_NAMES",
    "SCHEME_NAMES",
    "mask_name",
    "pct",
    "relation_word",
    "yuan",
]


def pct(ratio: int) -> str:
    return fmt_percent(ratio)
