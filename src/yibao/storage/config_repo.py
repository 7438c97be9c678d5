"""Regions (with the policy text in force) and platform settings."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from yibao.policy.model import RegionRow
from yibao.storage.tables import regions, settings

_REGION_VERSION = select(regions.c.version).where(regions.c.admdvs == bindparam("v"))

# Per database (URL), how many times a process has changed a region's policy: a policy cached in
# this process is stale as soon as the count moves (see ``Platform.policy``).
_CHANGES: dict[str, int] = {}


def policy_changes(conn) -> int:
    return _CHANGES.get(str(conn.engine.url), 0)


class ConfigRepo:
    def __init__(self, tx):
        self.conn = tx.conn
        self.sqlite = tx.sqlite

    def put_region(self, row: RegionRow) -> None:
        key = str(self.conn.engine.url)
        _CHANGES[key] = _CHANGES.get(key, 0) + 1
        values = dict(
            region_id=row.region_id,
            name=row.name,
            policy_text=row.policy_text,
            overrides=row.overrides,
            updated_at=row.updated_at,
        )
        if self.region(row.admdvs) is None:
            self.conn.execute(regions.insert().values(admdvs=row.admdvs, version=1, **values))
        else:
            self.conn.execute(
                regions.update().where(regions.c.admdvs == row.admdvs).values(version=regions.c.version + 1, **values)
            )

    def region(self, admdvs: str) -> RegionRow | None:
        r = self.conn.execute(select(regions).where(regions.c.admdvs == admdvs)).first()
        return RegionRow(*r) if r else None

    def region_version(self, admdvs: str):
        """The region's policy version, bumped on every change (cheap: the policy text is not read)."""
        return self.conn.execute(_REGION_VERSION, {"v": admdvs}).scalar()

    def regions(self) -> list[RegionRow]:
        return [RegionRow(*r) for r in self.conn.execute(select(regions).order_by(regions.c.admdvs))]

    def get(self, name: str) -> str | None:
        return self.conn.execute(select(settings.c.value).where(settings.c.name == name)).scalar()

    def put_new(self, name: str, value: str) -> str:
        """Keep ``value`` under ``name`` unless a value is kept there already; the value kept. Safe
        when several processes make a key at once (``serve --workers``): one insert wins, every
        process reads the winner's."""
        ins = (sqlite_insert if self.sqlite else pg_insert)(settings)
        self.conn.execute(ins.values(name=name, value=value).on_conflict_do_nothing(index_elements=["name"]))
        kept = self.get(name)
        assert kept is not None
        return kept

    def put(self, name: str, value: str) -> None:
        if self.get(name) is None:
            self.conn.execute(settings.insert().values(name=name, value=value))
        else:
            self.conn.execute(settings.update().where(settings.c.name == name).values(value=value))
