"""``yibao simulate export``: a yibao database's people, balances, grants and settlements as a dataset.

The reading is a service (``services.population``); here the rows become one partition of whole
families (people linked by grants belong together).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pyarrow as pa

from yibao.services.platform import Platform
from yibao.services.population import population
from yibao.simulate.data import Manifest, Partition, check_partition, check_period, write_manifest, write_partition
from yibao.storage.uow import Store


def export(db: str, out: Path, start: date, end: date, fmt: str = "parquet") -> Manifest:
    check_period(start, end)
    store = Store.open(db, migrate=False)
    try:
        people, grants, claims = population(
            Platform(store), datetime.combine(start, datetime.min.time()), datetime.combine(end, datetime.min.time())
        )
    finally:
        store.dispose()
    ids = [p.person_id for p in people]
    family = _families(ids, [(g.payer_id, g.beneficiary_id) for g in grants])
    known = set(ids)
    grants = [g for g in grants if g.payer_id in known and g.beneficiary_id in known]
    claims = sorted(
        (c for c in claims if c.person_id in known), key=lambda c: (family[c.person_id], c.time, c.claim_id)
    )
    people_t = pa.table(
        {
            "person_id": pa.array(ids, pa.int64()),
            "family_id": pa.array([family[i] for i in ids], pa.int64()),
            "birth": pa.array([p.birth for p in people], pa.date32()),
            "gender": [p.gender for p in people],
            "insutype": [p.insutype for p in people],
            "psn_type": [p.psn_type for p in people],
            "insured_since": pa.array([min(p.insured_since, start) for p in people], pa.date32()),
            "current_fen": pa.array([p.current for p in people], pa.int64()),
            "historical_fen": pa.array([p.historical for p in people], pa.int64()),
            "base_fen": pa.array([0] * len(people), pa.int64()),
            "income_fen": pa.array([0] * len(people), pa.int64()),
        }
    )
    grants_t = pa.table(
        {
            "payer_id": pa.array([g.payer_id for g in grants], pa.int64()),
            "beneficiary_id": pa.array([g.beneficiary_id for g in grants], pa.int64()),
            "relation": pa.array([g.relation for g in grants], pa.string()),
            "position": pa.array([g.position for g in grants], pa.int32()),
        }
    )
    claims_t = pa.table(
        {
            "claim_id": pa.array([c.claim_id for c in claims], pa.int64()),
            "family_id": pa.array([family[c.person_id] for c in claims], pa.int64()),
            "person_id": pa.array([c.person_id for c in claims], pa.int64()),
            "time": pa.array([c.time for c in claims], pa.timestamp("s")),
            "med_type": pa.array([c.med_type for c in claims], pa.string()),
            "hospital_level": pa.array([c.hospital_level for c in claims], pa.int8()),
            "acct_used": pa.array([c.acct_used for c in claims], pa.bool_()),
            "offsite": pa.array([c.offsite for c in claims], pa.string()),
            "ownpay_fen": pa.array([c.ownpay for c in claims], pa.int64()),
            "overlimit_fen": pa.array([c.overlimit for c in claims], pa.int64()),
            "preselfpay_fen": pa.array([c.preselfpay for c in claims], pa.int64()),
            "inscp_fen": pa.array([c.inscp for c in claims], pa.int64()),
        }
    )
    manifest = Manifest(
        start,
        end,
        1,
        fmt,
        {"people": len(ids), "families": len(set(family.values())), "grants": len(grants), "claims": len(claims)},
        {"exported_from": "yibao database", "note": "在职职工缴费基数未导出（base_fen=0），重算不含在职月度划入"},
    )
    part = Partition(0, people_t, grants_t, claims_t)
    check_partition(part, manifest, str(out))
    write_partition(out, part, fmt)
    write_manifest(out, manifest)
    return manifest


def _families(ids: list[int], links: list[tuple[int, int]]) -> dict[int, int]:
    """Connected groups of people linked by grants (union–find); a family id is its smallest member id."""
    parent = {i: i for i in ids}

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in links:
        if a in parent and b in parent:
            ra, rb = root(a), root(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    return {i: root(i) for i in ids}


__all__ = ["export"]
