"""What ``yibao serve --demo`` keeps about its seeding: whether this database holds the demo world,
someone else's data or nothing, and undoing a seeding that failed."""

from __future__ import annotations

from yibao.services.platform import Platform
from yibao.storage.wipe import holds_data, wipe

DEMO_KEY = "demo_seeded_at"  # settings: when ``serve --demo`` finished seeding this database


def demo_state(platform: Platform) -> str | None:
    """``"seeded"`` (when, as text), ``"other"`` (someone else's data), or None (an empty database)."""
    with platform.unit(read_only=True) as tx:
        seeded = tx.config.get(DEMO_KEY)
        if seeded:
            return seeded
        return "other" if holds_data(tx) else None


def mark_seeded(platform: Platform) -> None:
    with platform.unit() as tx:
        tx.config.put(DEMO_KEY, f"{platform.now():%Y-%m-%d %H:%M:%S}")


def undo_seeding(platform: Platform) -> None:
    """Every row a failed seeding wrote removed (the database was empty: exactly a rollback); the
    platform's keys kept."""
    with platform.unit() as tx:
        wipe(tx, keep_keys=True)
    platform._policies.clear()
