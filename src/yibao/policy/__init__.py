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
from yibao.policy.reform import Change, Reform, combine_reforms, load_reform_file, reform_from_texts, reformed_policy

__all__ = [
    "Change",
    "DatedValue",
    "InForce",
    "Parameter",
    "Policy",
    "PolicyError",
    "Reform",
    "Source",
    "apply_overrides",
    "combine_reforms",
    "load_policy",
    "load_policy_file",
    "load_policy_text",
    "load_reform_file",
    "reform_from_texts",
    "reformed_policy",
    "shipped_region_ids",
]
