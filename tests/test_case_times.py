"""One reader for every time in a case file: ``date``, ``clock`` steps and action days accept the
same forms (a YAML timestamp, a date, or the same text quoted)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from yibao.cases.driver import InProcessDriver
from yibao.cases.runner import run_case
from yibao.services.case_file import CaseError, case_time, load_case_file

POLICY = (Path(__file__).parent / "acceptance" / "policies" / "test-region.yaml").resolve()

CASE = """\
name: 时间写法
date: {date}
policy: {policy}
people:
  - {{id: kid, name: 张小宝, birth: 2015-09-01, gender: "1"}}
steps:
  - clock: {clock}
  - action: enroll
    person: kid
    insutype: "390"
    psn_type: "1403"
    date: {enrolled}
    in_collection_window: true
"""

FORMS = [
    "2025-12-28T09:00:00",
    "'2025-12-28T09:00:00'",
    '"2025-12-28 09:00:00"',
    "2025-12-28 09:00:00",
    "'2025-12-28T01:00:00Z'",
    "'2025-12-28T09:00:00+08:00'",
]


@pytest.mark.parametrize("written", FORMS)
def test_clock_and_date_accept_the_same_forms(tmp_path, written):
    path = tmp_path / "case.yaml"
    path.write_text(
        CASE.format(date=written.replace("12-28", "06-01"), policy=POLICY, clock=written, enrolled=written),
        encoding="utf-8",
    )
    case = load_case_file(path)
    assert case.date == datetime(2025, 6, 1, 9, 0, 0)
    assert case_time(case.steps[0]["clock"]) == datetime(2025, 12, 28, 9, 0, 0)
    outcome = run_case(path, InProcessDriver)
    assert outcome.passed, outcome.failures


def test_a_quoted_day_is_midnight():
    assert case_time("2025-12-28") == case_time("2025-12-28T00:00:00") == datetime(2025, 12, 28)


@pytest.mark.parametrize("bad", ["'2025-13-01T09:00:00'", "'yesterday'", "12"])
def test_an_unreadable_clock_fails_the_case_when_it_is_loaded(tmp_path, bad):
    path = tmp_path / "case.yaml"
    path.write_text(
        CASE.format(date="2025-06-01T09:00:00", policy=POLICY, clock=bad, enrolled="2025-12-28"), encoding="utf-8"
    )
    with pytest.raises(CaseError, match=r"steps\[0\].*无法识别"):
        load_case_file(path)
