"""The error catalogue is the contract HIS developers code against: every code used exists, every
code listed is used, and every message is Chinese."""

import re
from pathlib import Path

from yibao.errors import CATALOGUE, DomainError, refuse

SRC = Path(__file__).resolve().parents[1] / "src" / "yibao"
USED = re.compile(r'"(E\d{4}-\d{3})"')


def used_codes() -> set[str]:
    """Every code written in the source outside the catalogue itself."""
    found = set()
    for path in SRC.rglob("*.py"):
        if path.name != "errors.py":
            found |= set(USED.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_code_used_is_in_the_catalogue():
    assert used_codes() - set(CATALOGUE) == set()


def test_every_catalogued_code_is_used():
    assert set(CATALOGUE) - used_codes() == set()


def test_codes_and_messages_are_well_formed():
    for code, text in CATALOGUE.items():
        assert re.fullmatch(r"E\d{4}-\d{3}", code)
        assert re.search(r"[\u4e00-\u9fff]", text), code


def test_refusal_message_starts_with_its_bracketed_code():
    exc = refuse("E2207-001", declared="10.00", actual="9.99")
    assert isinstance(exc, DomainError)
    assert exc.err_msg == "[E2207-001] 医疗费总额与上传明细合计不符：报文10.00元，明细9.99元"
