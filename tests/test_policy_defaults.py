"""Defaults live in the policy schema; a region without a required parameter is refused when installed."""

from __future__ import annotations

from datetime import date

import pytest

from support import TEST_REGION
from yibao.policy import PolicyError, load_policy_text
from yibao.policy.schema import DEFAULTS, REQUIRED, default_of
from yibao.services import world

MINI = (
    "region: {id: mini, admdvs: '360999', name: 小}\nsources:\n  a: {title: A, grade: A}\nparameters:\n"
    "  proxy.max_members:\n    values:\n      2020-01-01: {value: 5, source: a}\n"
)


def test_an_unset_parameter_reads_the_schema_default():
    policy = load_policy_text(MINI, "mini.yaml")
    day = date(2025, 1, 1)
    for key, value in DEFAULTS.items():
        assert policy.setting(key, day) == value, key  # proxy.max_members is set to its default
    assert policy.setting("benefit.employee.outpatient.deductible", day) == 0
    assert policy.setting("benefit.employee.outpatient.cap", day) is None
    with pytest.raises(KeyError):
        policy.setting("settlement.med_type_category", day)


def test_required_keys_have_no_default():
    for key in REQUIRED:
        assert default_of(key) == (False, None)


def test_a_region_without_a_required_parameter_is_refused_with_its_place(platform):
    with pytest.raises(PolicyError) as refused:
        world.put_region(platform, MINI, "mini.yaml")
    assert refused.value.key == "settlement.med_type_category"
    assert "mini.yaml" in refused.value.message and "缺少必需参数" in refused.value.message
    assert world.put_region(platform, TEST_REGION.read_text(encoding="utf-8"), "test-region.yaml")
