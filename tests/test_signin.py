"""Portal sign-in counters and server-side sessions through the services, with a clock that moves
(the HTTP suite, tests/test_web_access.py, covers parallel clients on a live server)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from support import person, setup_region
from yibao.errors import DomainError
from yibao.services import sessions
from yibao.services.identity import check_password, encrypt_password, public_key_pem
from yibao.services.platform import SignInLimits
from yibao.services.signin import (
    add_staff,
    client_subject,
    remove_staff,
    set_staff_role,
    sign_in_person,
)


def code(fn, *args, **kw) -> str | None:
    try:
        fn(*args, **kw)
    except DomainError as exc:
        return exc.code
    return None


@pytest.fixture
def someone(platform):
    setup_region(platform)  # credential.max_failures 5, lock_minutes 1440
    return person(platform, "甲某").person


def test_five_wrong_passwords_lock_the_portal_for_the_policys_period(platform, someone):
    certno = someone.certno
    assert [code(sign_in_person, platform, certno, "000000") for _ in range(4)] == ["E7301-009"] * 4
    assert code(sign_in_person, platform, certno, "000000") == "E7301-011"
    assert code(sign_in_person, platform, certno, "123456") == "E7301-011"  # the right one waits too
    platform.clock.set(platform.now() + timedelta(minutes=1440))
    assert sign_in_person(platform, certno, "123456").psn_no == someone.psn_no
    # a success starts the count again
    assert [code(sign_in_person, platform, certno, "000000") for _ in range(4)] == ["E7301-009"] * 4
    assert sign_in_person(platform, certno, "123456").psn_no == someone.psn_no
    assert code(sign_in_person, platform, certno, "000000") == "E7301-009"


def test_the_portal_lock_leaves_the_counter_password_alone(platform, someone):
    for _ in range(6):
        code(sign_in_person, platform, someone.certno, "000000")
    with platform.store.uow() as tx:
        state = tx.credentials.password(someone.id)
    assert (state.failures, state.locked_until) == (0, None)
    cainfo = encrypt_password(public_key_pem(platform), "123456")
    check_password(platform, someone.psn_no, cainfo, platform.now().date())  # the pharmacy still takes it


def test_a_client_address_is_limited_per_window(platform, someone):
    platform.sign_in_limits = SignInLimits(client_max_failures=3, client_window_minutes=15)
    for i in range(3):
        assert code(sign_in_person, platform, f"36019919900101{i:03d}X", "123456", "203.0.113.7") == "E7301-009"
    assert code(sign_in_person, platform, someone.certno, "123456", "203.0.113.7") == "E7301-014"
    assert sign_in_person(platform, someone.certno, "123456", "203.0.113.8").id == someone.id  # another address
    platform.clock.set(platform.now() + timedelta(minutes=15))
    assert sign_in_person(platform, someone.certno, "123456", "203.0.113.7").id == someone.id


def test_a_success_gives_back_only_its_own_count(platform, someone):
    platform.sign_in_limits = SignInLimits(client_max_failures=3, client_window_minutes=15)
    ip = "198.51.100.1"
    assert code(sign_in_person, platform, someone.certno, "000000", ip) == "E7301-009"
    for _ in range(5):
        sign_in_person(platform, someone.certno, "123456", ip)  # signing in again and again costs nothing
    assert code(sign_in_person, platform, "360199199001010000", "1", ip) == "E7301-009"
    assert code(sign_in_person, platform, someone.certno, "000000", ip) == "E7301-009"
    assert code(sign_in_person, platform, someone.certno, "123456", ip) == "E7301-014"


def test_client_addresses_are_counted_by_household():
    assert client_subject("203.0.113.7") == "203.0.113.7"
    assert client_subject("2001:db8:1:2:3:4:5:6") == client_subject("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert client_subject("::ffff:203.0.113.7") == "203.0.113.7"
    assert client_subject(None) is None
    assert client_subject("testclient") == "testclient"


def test_sessions_end_and_follow_the_staff_table(platform):
    add_staff(platform, "op_one", "经办一", "operator", "password123")
    token = sessions.start(platform, sessions.CONSOLE, "op_one")
    assert sessions.staff_of(platform, token).role == "operator"
    set_staff_role(platform, "op_one", "viewer")
    assert sessions.staff_of(platform, token).role == "viewer"
    remove_staff(platform, "op_one")
    assert sessions.staff_of(platform, token) is None
    assert code(remove_staff, platform, "op_one") == "E7301-015"

    mine = sessions.start(platform, sessions.PORTAL, "36019900000000000001")
    assert sessions.person_of(platform, mine) == "36019900000000000001"
    assert sessions.person_of(platform, "forged") is None
    with platform.store.uow() as tx:  # only the token's hash is kept
        assert tx.access.session_subject(mine, sessions.PORTAL, platform.now()) is None
    sessions.end(platform, mine)
    assert sessions.person_of(platform, mine) is None
    later = sessions.start(platform, sessions.PORTAL, "36019900000000000001")
    platform.clock.set(platform.now() + timedelta(hours=sessions.SESSION_HOURS))
    assert sessions.person_of(platform, later) is None


def test_sign_in_limits_are_read_from_the_environment():
    assert SignInLimits.from_env({}) == SignInLimits(20, 15)
    got = SignInLimits.from_env({"YIBAO_PORTAL_CLIENT_MAX_FAILURES": "50", "YIBAO_PORTAL_CLIENT_WINDOW_MINUTES": "5"})
    assert got == SignInLimits(50, 5)
    for bad in ({"YIBAO_PORTAL_CLIENT_MAX_FAILURES": "abc"}, {"YIBAO_PORTAL_CLIENT_WINDOW_MINUTES": "0"}):
        with pytest.raises(ValueError):
            SignInLimits.from_env(bad)
