"""Policy as data: region × date-effective parameters with their sources."""

from yibao.policy.loader import (
    PolicyError,
    apply_overrides,
    load_policy,
    load_policy_file,
    load_policy_text,
    shipped_region_ids,
)
from yibao.policy.model import DatedValue, InForce, Parameter, Policy, Source

__all__ = [
    "DatedValue",
    "InForce",
    "Parameter",
    "Policy",
    "PolicyError",
    "Source",
    "apply_overrides",
    "load_policy",
    "load_policy_file",
    "load_policy_text",
    "shipped_region_ids",
]
