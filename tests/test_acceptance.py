"""The hand-computed acceptance cases from ../shared/acceptance, run in-process.

``tests/acceptance`` is a verbatim copy so that CI runs them on a clean clone; when the shared
folder is present the copy must be identical (a case is never edited to match the program).
"""

import filecmp
from pathlib import Path

import pytest

from yibao.cases.driver import InProcessDriver
from yibao.cases.runner import run_case
from yibao.services.case_file import case_files

HERE = Path(__file__).parent / "acceptance"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "acceptance"
CASES = case_files([HERE])


def test_copy_matches_shared():
    if not SHARED.is_dir():
        pytest.skip("../shared/acceptance is not present in this checkout")
    for name in [p.name for p in case_files([SHARED])] + ["policies/test-region.yaml"]:
        assert filecmp.cmp(HERE / name, SHARED / name, shallow=False), name


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_acceptance_case(path):
    outcome = run_case(path, InProcessDriver)
    assert outcome.passed, "\n".join(outcome.failures)
