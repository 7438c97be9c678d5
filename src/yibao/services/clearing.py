"""Monthly clearing between regions (issue 15 phase 2): filled in by step 4."""

from __future__ import annotations


def cleared_total(tx, region: str, side: str) -> int:
    """What the clearing has settled with ``region`` so far (fen)."""
    return 0
