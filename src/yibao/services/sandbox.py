"""The sandbox's own jobs: empty the world, say where its data came from, load a case's world."""

from __future__ import annotations

from typing import Any

from yibao.services.case_file import CaseError, parse_case
from yibao.services.case_world import Handle, load_world
from yibao.services.platform import Platform
from yibao.storage.wipe import holds_data, wipe
from yibao.yamlio import load_yaml_text

WORLD_KEY = "sandbox_world"  # settings: the case file whose world the sandbox holds (gone on reset)


def reset(platform: Platform) -> None:
    """Every row gone, the platform's keys too; cached policies and keys forgotten."""
    with platform.store.uow() as tx:
        wipe(tx, keep_keys=False)
    platform._policies.clear()
    platform._rsa_key = None


def world_state(platform: Platform) -> dict[str, Any]:
    """Whether anything is stored, which case file's world it is (None: data from elsewhere), how many people."""
    with platform.store.uow(read_only=True) as tx:
        return {"holds_data": holds_data(tx), "case_origin": tx.config.get(WORLD_KEY), "people": tx.people.count()}


def load_case_world(
    platform: Platform, case_yaml: str, origin: str, policy_text: str | None = None
) -> tuple[str, dict[str, Handle]]:
    """Load the world a case file describes (its steps are not run); the region's admdvs and the handles."""
    try:
        doc = load_yaml_text(case_yaml)
    except Exception as exc:
        raise CaseError(origin, "", f"YAML 语法错误：{exc}") from exc
    case = parse_case(doc, origin)
    if hasattr(platform.clock, "set"):
        platform.clock.set(case.date)
    handles = load_world(platform, case, None, origin, policy_text=policy_text)
    with platform.store.uow() as tx:
        admdvs = tx.config.regions()[0].admdvs
        tx.config.put(WORLD_KEY, origin)
    return admdvs, handles
