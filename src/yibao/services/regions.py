"""A region per instance: which shipped region a reference names, and installing it with its sites.

``yibao serve --region 310000`` and the region-aware demo call ``install_region``: the region's
policy (the shipped file), and — for a sandbox or a demo — a pharmacy and one hospital per level
with codes derived from the admdvs, plus the demo catalogue. Everything goes through the world
services, so it is validated and written in one unit of work per step like any other job.
"""

from __future__ import annotations

from dataclasses import dataclass

from yibao.errors import refuse
from yibao.policy import Policy, load_policy, shipped_region_ids
from yibao.services import world
from yibao.services.platform import Platform
from yibao.settlement.model import CatalogItem

DEFAULT_REGION = "jiangxi-nanchang"  # what `yibao serve` and `yibao demo` ran before regions existed

# The demo catalogue: national codes, so the same in every region (就医地目录 differ in real life by
# local additions; a region's own items are loaded with `yibao cases load` or the admin API).
DEMO_CATALOGUE = (
    CatalogItem("XJ01CAA0001", "阿莫西林胶囊", "01"),
    CatalogItem("XB02BAA0002", "蒙脱石散（乙类）", "02", 1000),
    CatalogItem("ZZ0000000003", "保健食品（自费）", "03"),
)


@dataclass(frozen=True)
class Site:
    code: str
    name: str
    kind: str
    level: int


def resolve_region(ref: str) -> tuple[Policy, str]:
    """A shipped region by id (``shanghai``) or by admdvs (``310000``): its policy and file text."""
    if ref in shipped_region_ids():
        return load_policy(ref)
    for region_id in shipped_region_ids():
        policy, text = load_policy(region_id)
        if policy.admdvs == ref:
            return policy, text
    known = "、".join(f"{r}（{load_policy(r)[0].admdvs}）" for r in shipped_region_ids())
    raise refuse("E8001-001", detail=f"{ref}：没有这个内置统筹区（可用：{known}）")


def demo_sites(policy: Policy) -> list[Site]:
    """A pharmacy and a hospital per level, coded ``P<admdvs>00001`` / ``H<admdvs>0000<level>``."""
    city = policy.name.split("（")[0]
    names = {1: "示例社区卫生服务中心", 2: "示例区人民医院", 3: "示例大学附属医院"}
    sites = [Site(f"P{policy.admdvs}00001", f"{city}示例大药房", "pharmacy", 0)]
    sites += [Site(f"H{policy.admdvs}0000{level}", f"{city}{names[level]}", "hospital", level) for level in (1, 2, 3)]
    return sites


def install_region(platform: Platform, ref: str, *, sites: bool = False) -> Policy:
    """Put the region's shipped policy in the store unless the region is already there (an agency's
    later edits and overrides are kept); with ``sites``, also the demo pharmacy, hospitals and
    catalogue where they are missing. Idempotent."""
    policy, text = resolve_region(ref)
    with platform.store.uow(read_only=True) as tx:
        present = tx.config.region(policy.admdvs) is not None
    if not present:
        world.put_region(platform, text, f"yibao/regions/{policy.region_id}.yaml")
    if sites:
        with platform.store.uow(read_only=True) as tx:
            have = {s.code for s in demo_sites(policy) if tx.care.institution(s.code) is not None}
            items = set(tx.care.catalog([i.code for i in DEMO_CATALOGUE]))
        for s in demo_sites(policy):
            if s.code not in have:
                world.add_institution(platform, s.code, s.name, s.kind, s.level, policy.admdvs)
        for item in DEMO_CATALOGUE:
            if item.code not in items:
                world.add_catalog_item(platform, item)
    return policy


def home_policy(platform: Platform) -> Policy | None:
    """The policy of the region this instance runs, as stored; ``None`` without ``--region``."""
    return platform.policy_for_admdvs(platform.region) if platform.region else None
