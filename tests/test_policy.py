"""Policy files: loading, dated lookup along ``by`` dimensions, overrides, and refusals that say where and why."""

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from support import TEST_REGION
from yibao.policy import PolicyError, apply_overrides, load_policy, load_policy_file, load_policy_text
from yibao.policy.loader import shipped_region_ids

BASE = TEST_REGION.read_text(encoding="utf-8")
ACCEPTANCE = TEST_REGION.parent.parent


@pytest.fixture(scope="module")
def test_region():
    return load_policy_file(TEST_REGION)


@pytest.fixture(scope="module")
def nanchang():
    return load_policy("jiangxi-nanchang")[0]


def mini(parameters: str) -> str:
    """A small valid policy with the given ``parameters:`` body (indented two spaces)."""
    return (
        "region: {id: mini, admdvs: '360999', name: 小测试}\n"
        "sources:\n"
        "  a: {title: 来源A, grade: A}\n"
        "  d: {title: 示意, grade: D}\n"
        "parameters:\n" + parameters
    )


# Loading ---------------------------------------------------------------------------------------


def test_shipped_region_loads(nanchang):
    assert "jiangxi-nanchang" in shipped_region_ids()
    assert nanchang.region_id == "jiangxi-nanchang"
    assert nanchang.admdvs == "360100"
    assert nanchang.name.startswith("南昌")
    day = date(2025, 6, 1)
    assert nanchang.value("benefit.employee.outpatient.ratio", day, person_class="retired", hospital_level=0) == 7000
    assert nanchang.value("benefit.employee.outpatient.deductible", day) == 30000
    assert nanchang.value("benefit.employee.inpatient.cap", day) == 10_000_000
    assert nanchang.value("mutual_aid.relations", day) == (
        "spouse",
        "parent",
        "child",
        "sibling",
        "grandparent",
        "grandchild",
    )
    # 居民普通门诊: 二级及以上不设门诊统筹 — the level is simply absent.
    assert nanchang.value("benefit.resident.outpatient.ratio", day, default=None, hospital_level=2) is None


def test_every_shipped_value_carries_a_graded_source(nanchang):
    assert nanchang.parameters
    for key, param in nanchang.parameters.items():
        assert param.values, key
        for entry in param.values:
            assert entry.source in nanchang.sources, f"{key}@{entry.since}: source {entry.source!r}"
            source = nanchang.sources[entry.source]
            assert source.grade in ("A", "B", "C", "D"), key
            assert source.title, key
            assert source.illustrative == (source.grade == "D")
    # The in-force listing shows each value with its source (grade D values are marked illustrative).
    shown = {f.key: f for f in nanchang.in_force(date(2025, 6, 1))}
    assert shown["account.retiree_credit"].source.illustrative
    assert not shown["mutual_aid.enabled"].source.illustrative


def test_test_region_loads_by_path_and_by_relative_reference(test_region):
    policy, text = load_policy("policies/test-region.yaml", base=ACCEPTANCE)
    assert text == BASE
    assert policy.region_id == test_region.region_id == "test-region"
    assert policy.admdvs == "360199"
    assert set(policy.parameters) == set(test_region.parameters)
    assert str(TEST_REGION) in test_region.origin


def test_program_form_of_values(test_region):
    day = date(2025, 6, 1)
    v = test_region.value
    assert v("account.year_start", day) == (1, 1)
    assert v("account.inservice_credit_rate", day) == 200
    assert v("account.retiree_credit", day) == 9000
    assert v("account.bucket_order", day) == ("current", "historical")
    assert v("account.allow_negative", day) is True
    assert v("mutual_aid.order", day) == "binding_order"
    assert v("proxy.max_members", day) == 5
    assert v("settlement.med_type_category", day)["41"] == "pharmacy"
    assert v("offsite.ratio_reduction", day) == {"filed": 0, "temporary": 1000, "unfiled": 2000}
    assert v("benefit.employee.outpatient.cap", day, person_class="retired") == 300000
    assert v("benefit.resident.outpatient.deductible", day) == 0


# Dated lookup ------------------------------------------------------------------------------------


def test_latest_start_not_after_the_day_wins(test_region):
    three = ("spouse", "parent", "child")
    assert test_region.value("mutual_aid.relations", date(2021, 4, 22)) == three
    assert test_region.value("mutual_aid.relations", date(2024, 12, 31)) == three
    assert len(test_region.value("mutual_aid.relations", date(2025, 1, 1))) == 6
    assert len(test_region.value("mutual_aid.relations", date(2030, 1, 1))) == 6


def test_before_the_first_date_the_parameter_is_missing(test_region):
    day = date(2021, 4, 21)
    assert not test_region.has("mutual_aid.enabled", day)
    assert test_region.has("mutual_aid.enabled", date(2021, 4, 22))
    with pytest.raises(KeyError):
        test_region.value("mutual_aid.enabled", day)
    assert test_region.value("mutual_aid.enabled", day, default="none") == "none"
    assert "mutual_aid.enabled" not in {f.key for f in test_region.in_force(day)}
    with pytest.raises(KeyError):
        test_region.value("no.such.key", date(2025, 1, 1))


def test_null_value_ends_a_parameter_and_a_later_value_restarts_it():
    policy = load_policy_text(
        mini(
            "  account.retiree_credit:\n"
            "    values:\n"
            "      2022-01-01: {value: 90.00, source: a}\n"
            "      2023-07-01: {value: null, source: a}\n"
            "      2024-01-01: {value: 100.50, source: d}\n"
        ),
        "mini.yaml",
    )
    assert not policy.has("account.retiree_credit", date(2021, 12, 31))
    assert policy.value("account.retiree_credit", date(2022, 1, 1)) == 9000
    assert policy.value("account.retiree_credit", date(2023, 6, 30)) == 9000
    assert not policy.has("account.retiree_credit", date(2023, 7, 1))
    assert policy.value("account.retiree_credit", date(2023, 12, 31), default=None) is None
    assert policy.value("account.retiree_credit", date(2024, 1, 1)) == 10050
    assert [f.source.grade for f in policy.in_force(date(2024, 2, 1))] == ["D"]


def test_values_may_be_written_out_of_date_order():
    policy = load_policy_text(
        mini(
            "  proxy.max_members:\n"
            "    values:\n"
            "      2024-01-01: {value: 6, source: a}\n"
            "      2020-01-01: {value: 5, source: a}\n"
        ),
        "mini.yaml",
    )
    assert policy.value("proxy.max_members", date(2023, 1, 1)) == 5
    assert policy.value("proxy.max_members", date(2024, 1, 1)) == 6


# by dimensions -------------------------------------------------------------------------------------


def test_by_dimensions_outermost_first(test_region):
    day = date(2025, 6, 1)
    key = "benefit.employee.outpatient.ratio"
    assert test_region.parameters[key].by == ("person_class", "hospital_level")
    expected = {("in_service", 1): 6500, ("in_service", 3): 5500, ("retired", 2): 6500, ("retired", 3): 6000}
    for (cls, level), ratio in expected.items():
        assert test_region.value(key, day, person_class=cls, hospital_level=level) == ratio
    # Callers may pass more dimensions than the parameter uses.
    deductible = "benefit.employee.outpatient.deductible"
    assert test_region.value(deductible, day, person_class="retired", hospital_level=3) == 20000
    # A scalar is the same for everyone, whatever dimensions are passed.
    assert test_region.value("benefit.employee.inpatient.cap", day, person_class="retired", hospital_level=1) == (
        30_000_000
    )


def test_missing_dimension_entry_is_missing(test_region):
    day = date(2025, 6, 1)
    key = "benefit.employee.outpatient.ratio"
    with pytest.raises(KeyError):
        test_region.value(key, day, person_class="in_service", hospital_level=0)
    with pytest.raises(KeyError):
        test_region.value(key, day, person_class="resident", hospital_level=1)
    with pytest.raises(KeyError):
        test_region.value(key, day, hospital_level=1)  # person_class not given
    assert test_region.value(key, day, default=None, person_class="in_service", hospital_level=0) is None


def test_hospital_level_keys_may_be_quoted():
    policy = load_policy_text(
        mini(
            "  benefit.resident.inpatient.ratio:\n"
            "    by: [hospital_level]\n"
            "    values: {2024-01-01: {value: {'0': 0.9, '3': 0.6}, source: a}}\n"
        ),
        "mini.yaml",
    )
    assert policy.value("benefit.resident.inpatient.ratio", date(2024, 1, 1), hospital_level=0) == 9000
    assert policy.value("benefit.resident.inpatient.ratio", date(2024, 1, 1), hospital_level=3) == 6000


# Overrides -----------------------------------------------------------------------------------------


def test_overrides_hold_for_every_day_and_leave_the_original_alone(test_region):
    reformed = apply_overrides(
        test_region,
        {
            "mutual_aid.order": "balance_desc",
            "benefit.employee.outpatient.ratio": {"in_service": {1: "0.80", 2: "0.75"}},
            "benefit.employee.outpatient.deductible": {"in_service": "100.00", "retired": "50.00"},
            "local.pilot_flag": "on",
        },
    )
    for day in (date(1990, 1, 1), date(2025, 6, 1), date(2099, 12, 31)):
        assert reformed.value("mutual_aid.order", day) == "balance_desc"
        assert reformed.value("local.pilot_flag", day) == "on"
    day = date(2025, 6, 1)
    ratio = "benefit.employee.outpatient.ratio"
    assert reformed.value(ratio, day, person_class="in_service", hospital_level=2) == 7500
    assert reformed.value(ratio, day, default=None, person_class="in_service", hospital_level=3) is None
    assert reformed.value("benefit.employee.outpatient.deductible", day, person_class="retired") == 5000
    shown = {f.key: f for f in reformed.in_force(day)}
    assert shown["mutual_aid.order"].source.id == "override"
    assert shown["mutual_aid.order"].source.grade == "D"
    # The original is untouched.
    assert test_region.value("mutual_aid.order", day) == "binding_order"
    assert test_region.value(ratio, day, person_class="in_service", hospital_level=2) == 6000
    assert "override" not in test_region.sources
    # Untouched parameters keep their dated history.
    assert len(reformed.value("mutual_aid.relations", date(2024, 1, 1))) == 3


def test_override_with_null_ends_the_parameter(test_region):
    reformed = apply_overrides(test_region, {"mutual_aid.enabled": None})
    assert not reformed.has("mutual_aid.enabled", date(2025, 6, 1))
    assert reformed.value("mutual_aid.enabled", date(2025, 6, 1), default=False) is False


@pytest.mark.parametrize(
    ("overrides", "key", "reason"),
    [
        ({"mutual_aid.order": "random"}, "mutual_aid.order", "binding_order/balance_desc"),
        ({"mutual_aid.oder": "balance_desc"}, "mutual_aid.oder", "未知参数"),
        ({"benefit.employee.outpatient.ratio": "0.5"}, "benefit.employee.outpatient.ratio", "非空映射"),
        (
            {"benefit.employee.outpatient.ratio": {"in_service": {1: "1.5"}}},
            "benefit.employee.outpatient.ratio",
            "0到1",
        ),
        ({"account.retiree_credit": "1.234"}, "account.retiree_credit", "两位小数"),
        ({"benefit.employee.dental.cap": "100.00"}, "benefit.employee.dental.cap", "dental"),
        ({"mutual_aid.buckets": "historical"}, "mutual_aid.buckets", "列表"),
    ],
)
def test_bad_overrides_are_refused_naming_the_key(test_region, overrides, key, reason):
    with pytest.raises(PolicyError) as info:
        apply_overrides(test_region, overrides, origin="case.yaml policy_overrides")
    err = info.value
    assert err.code == "E8001-001"
    assert err.key == key
    assert "case.yaml policy_overrides" in err.err_msg
    assert key in err.err_msg and reason in err.err_msg


# Refusals ------------------------------------------------------------------------------------------


def _sub(old: str, new: str) -> Callable[[str], str]:
    def mutate(text: str) -> str:
        assert old in text, f"test setup: {old!r} is not in the test region"
        return text.replace(old, new, 1)

    return mutate


def _append(extra: str) -> Callable[[str], str]:
    return lambda text: text + extra


BROKEN = [
    ("bad_yaml", _append("\n  : [\n"), "", "YAML 语法错误"),
    ("not_a_mapping", lambda _t: "- a\n- b\n", "", "应为映射"),
    ("unknown_top_level_key", _append("\nextras: 1\n"), "extras", "未知的顶层键"),
    ("bad_admdvs", _sub('admdvs: "360199"', 'admdvs: "36019"'), "region.admdvs", "6位数字"),
    ("bad_region_id", _sub("id: test-region", "id: Test_Region"), "region.id", "小写字母"),
    (
        "missing_source",
        _sub(
            "proxy.max_members:\n    values: {2021-01-01: {value: 5, source: test}}",
            "proxy.max_members:\n    values: {2021-01-01: {value: 5}}",
        ),
        "proxy.max_members.values.2021-01-01.source",
        "未在 sources 中列出",
    ),
    (
        "unknown_source_id",
        _sub("{value: 5, source: test}", "{value: 5, source: nope}"),
        "proxy.max_members.values.2021-01-01.source",
        "'nope'",
    ),
    ("bad_grade", _sub("grade: D}", "grade: E}"), "sources.test.grade", "A/B/C/D"),
    (
        "source_without_title",
        _sub("test: {title: 验收用参数（示意）, grade: D}", "test: {grade: D}"),
        "sources.test",
        "title",
    ),
    (
        "ratio_above_one",
        _sub("in_service: {1: 0.65,", "in_service: {1: 1.65,"),
        "benefit.employee.outpatient.ratio.values.2021-01-01.value",
        "0到1之间",
    ),
    (
        "ratio_five_places",
        _sub("in_service: {1: 0.65,", "in_service: {1: 0.65001,"),
        "benefit.employee.outpatient.ratio.values.2021-01-01.value",
        "四位小数",
    ),
    (
        "money_three_decimals",
        _sub("value: 90.00,", "value: 90.001,"),
        "account.retiree_credit.values.2021-01-01.value",
        "两位小数",
    ),
    (
        "money_negative",
        _sub("value: 90.00,", "value: -90.00,"),
        "account.retiree_credit.values.2021-01-01.value",
        "负数",
    ),
    ("money_nan", _sub("value: 90.00,", "value: .nan,"), "account.retiree_credit.values.2021-01-01.value", "格式错误"),
    (
        "unknown_dimension",
        _sub(
            "benefit.employee.outpatient.deductible:\n    by: [person_class]",
            "benefit.employee.outpatient.deductible:\n    by: [age_group]",
        ),
        "benefit.employee.outpatient.deductible.by",
        "未知维度 'age_group'",
    ),
    (
        "bad_hospital_level_key",
        _sub("in_service: {1: 0.65,", "in_service: {4: 0.65,"),
        "benefit.employee.outpatient.ratio.values.2021-01-01.value",
        "医院等级 4",
    ),
    (
        "duplicate_hospital_level_key",
        _sub("in_service: {1: 0.65, 2: 0.60,", "in_service: {1: 0.65, '1': 0.60,"),
        "benefit.employee.outpatient.ratio.values.2021-01-01.value",
        "重复",
    ),
    (
        "bad_person_class_key",
        _sub("retired: 200.00", "pensioner: 200.00"),
        "benefit.employee.outpatient.deductible.values.2021-01-01.value",
        "'pensioner'",
    ),
    (
        "mapping_without_by",
        _sub("benefit.employee.outpatient.cap:\n    by: [person_class]\n", "benefit.employee.outpatient.cap:\n"),
        "benefit.employee.outpatient.cap.values.2021-01-01.value",
        "没有声明 by 维度",
    ),
    (
        "scalar_where_by_expects_mapping",
        _sub("retired: {1: 0.70, 2: 0.65, 3: 0.60}", "retired: 0.70"),
        "benefit.employee.outpatient.ratio.values.2021-01-01.value",
        "person_class=retired",
    ),
    ("misspelt_mutual_aid_key", _sub("mutual_aid.order:", "mutual_aid.oder:"), "mutual_aid.oder", "未知参数"),
    ("misspelt_proxy_key", _sub("proxy.max_members:", "proxy.max_member:"), "proxy.max_member", "未知参数"),
    (
        "misspelt_credential_key",
        _sub("credential.lock_minutes:", "credential.lock_minute:"),
        "credential.lock_minute",
        "未知参数",
    ),
    (
        "unknown_benefit_category",
        _sub("benefit.resident.outpatient.cap:", "benefit.resident.dental.cap:"),
        "benefit.resident.dental.cap",
        "'dental'",
    ),
    (
        "unknown_benefit_scheme",
        _sub("benefit.resident.outpatient.cap:", "benefit.farmer.outpatient.cap:"),
        "benefit.farmer.outpatient.cap",
        "'farmer'",
    ),
    (
        "unknown_benefit_field",
        _sub("benefit.resident.outpatient.cap:", "benefit.resident.outpatient.capp:"),
        "benefit.resident.outpatient.capp",
        "'capp'",
    ),
    (
        "list_key_given_a_string",
        _sub(
            "value: [current, historical], source: test}}\n  account.payable",
            "value: current, source: test}}\n  account.payable",
        ),
        "account.bucket_order.values.2021-01-01.value",
        "应为列表",
    ),
    (
        "list_item_outside_vocabulary",
        _sub("value: [ownpay, overlimit,", "value: [ownpay, overlimits,"),
        "account.payable_parts.values.2021-01-01.value",
        "'overlimits'",
    ),
    (
        "boolean_key_given_text",
        _sub(
            "mutual_aid.enabled:\n    values: {2021-04-22: {value: true",
            "mutual_aid.enabled:\n    values: {2021-04-22: {value: sure",
        ),
        "mutual_aid.enabled.values.2021-04-22.value",
        "true/false",
    ),
    (
        "count_negative",
        _sub("{value: 5, source: test}", "{value: -5, source: test}"),
        "proxy.max_members.values.2021-01-01.value",
        "非负整数",
    ),
    ("bad_year_start", _sub('value: "01-01"', 'value: "02-30"'), "account.year_start.values.2021-01-01.value", "1–28"),
    (
        "bad_med_type_category",
        _sub('"41": pharmacy}', '"41": shop}'),
        "settlement.med_type_category.values.2021-01-01.value",
        "'shop'",
    ),
    (
        "offsite_missing_kind",
        _sub("{filed: 0.00, temporary: 0.10, unfiled: 0.20}", "{filed: 0.00, temporary: 0.10}"),
        "offsite.ratio_reduction.values.2021-01-01.value",
        "unfiled",
    ),
    (
        "unknown_parameter_field",
        _sub(
            "benefit.employee.outpatient.cap:\n    by: [person_class]\n",
            "benefit.employee.outpatient.cap:\n    by: [person_class]\n    colour: red\n",
        ),
        "benefit.employee.outpatient.cap.colour",
        "未知的参数字段",
    ),
    (
        "value_without_wrapper",
        _sub("{2021-01-01: {value: 5, source: test}}", "{2021-01-01: 5}"),
        "proxy.max_members.values.2021-01-01",
        "value",
    ),
    (
        "date_key_not_a_date",
        _sub("{2021-01-01: {value: 5, source: test}}", "{soon: {value: 5, source: test}}"),
        "proxy.max_members.values.soon",
        "YYYY-MM-DD",
    ),
    (
        "no_values",
        _sub(
            "proxy.max_members:\n    values: {2021-01-01: {value: 5, source: test}}",
            "proxy.max_members:\n    values: {}",
        ),
        "proxy.max_members.values",
        "缺少",
    ),
]


@pytest.mark.parametrize(("mutate", "key", "reason"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_file_is_refused_with_file_key_and_reason(mutate, key, reason):
    text = mutate(BASE)
    with pytest.raises(PolicyError) as info:
        load_policy_text(text, "bad-region.yaml")
    err = info.value
    assert err.code == "E8001-001"
    assert err.err_msg.startswith("[E8001-001] ")
    assert err.origin == "bad-region.yaml"
    assert err.key == key
    assert reason in err.reason
    assert "bad-region.yaml" in err.err_msg and key in err.err_msg and reason in err.err_msg


def test_broken_file_on_disk_names_its_path(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text(BASE.replace("mutual_aid.order:", "mutual_aid.oder:"), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy_file(path)
    assert str(path) in info.value.err_msg
    assert "mutual_aid.oder" in info.value.err_msg
    with pytest.raises(PolicyError, match="无法读取"):
        load_policy_file(tmp_path / "missing.yaml")
    with pytest.raises(PolicyError, match="既不是内置统筹区"):
        load_policy("no-such-region")


def test_regions_may_add_their_own_keys_outside_strict_families():
    policy = load_policy_text(
        BASE + "  local.extra_subsidy:\n    values: {2021-01-01: {value: 42, source: test}}\n", "x"
    )
    assert policy.value("local.extra_subsidy", date(2025, 1, 1)) == 42


def test_impossible_date_key_is_a_policy_error():
    # Regression: PyYAML's timestamp constructor raised a bare ValueError that escaped load_policy_text.
    text = BASE.replace("{2021-01-01: {value: 5, source: test}}", "{2021-13-01: {value: 5, source: test}}", 1)
    with pytest.raises(PolicyError) as info:
        load_policy_text(text, "bad-region.yaml")
    assert "bad-region.yaml" in info.value.err_msg


def test_duplicate_parameter_is_refused():
    # Regression: a YAML duplicate key was silently accepted, the first definition discarded.
    text = BASE + "  mutual_aid.order:\n    values: {2021-04-22: {value: balance_desc, source: test}}\n"
    with pytest.raises(PolicyError) as info:
        load_policy_text(text, "bad-region.yaml")
    assert "mutual_aid.order" in info.value.err_msg
