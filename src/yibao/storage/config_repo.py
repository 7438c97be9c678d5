"""Regions (with the policy text in force) and platform settings."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from yibao.policy.model import RegionRow
from yibao.storage.tables import regions, settings

_REGION_VERSION = select(regions.c.version).where(regions.c.admdvs == bindparam("v"))


class ConfigRepo:
    def __init__(self, tx):
        self.conn = tx.conn

    def put_region(self, row: RegionRow) -> None:
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

    def put(self, name: str, value: str) -> None:
        if self.get(name) is None:
            self.conn.execute(settings.insert().values(name=name, value=value))
        else:
            self.conn.execute(settings.update().where(settings.c.name == name).values(value=value))
