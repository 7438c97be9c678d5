"""Family rules from seeds 000, 001 and 004: relations, mutual-aid grants, 亲情账户, credentials."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import balances, call, family_world, ledger_problems, person, pharmacy_input, setup_region
from yibao.errors import DomainError
from yibao.family.proxy import SandboxVerifier, verifier_from_setting
from yibao.services import credentials, family, lifecycle, proxy
from yibao.services.platform import FixedClock, Platform
from yibao.storage import tables
from yibao.storage.uow import Store


def code_of(fn, *args, **kw) -> str | None:
    try:
        fn(*args, **kw)
    except DomainError as exc:
        return exc.code
    return None


def snapshot(p):
    """Everything a refused family action must leave as it was."""
    with p.store.uow() as tx:
        conn = tx.conn
        return {
            t.name: sorted(map(tuple, conn.execute(t.select()).all()), key=repr) for t in tables.metadata.sorted_tables
        }


# Relations and grants ----------------------------------------------------------------------------------------


def test_relation_is_read_from_either_direction(platform):
    fam = family_world(platform)
    view = family.grants_view(platform, fam.son.person.psn_no)
    assert [(x.psn_no, order) for x, order in view["payers"]] == [(fam.father.person.psn_no, 1)]
    assert [x.psn_no for x in view["beneficiaries"]] == [fam.child.person.psn_no]


def test_spouse_parent_is_not_a_relative_for_mutual_aid(platform):
    """001 §4: 共济不包含配偶的父母."""
    setup_region(platform)
    wife = person(platform, "郑太太", current=60000)
    husband = person(platform, "郑先生")
    mil = person(platform, "郑老太", insutype="390", psn_type="1501", birth=date(1958, 8, 8))
    family.declare_relation(platform, wife.person.psn_no, husband.person.psn_no, "spouse")
    family.declare_relation(platform, mil.person.psn_no, husband.person.psn_no, "parent")
    before = snapshot(platform)
    assert code_of(family.authorize_mutual_aid, platform, wife.person.psn_no, mil.person.psn_no) == "E7101-001"
    assert snapshot(platform) == before


@pytest.mark.parametrize(("day", "allowed"), [(datetime(2024, 12, 31, 12), False), (datetime(2025, 1, 2, 12), True)])
def test_sibling_mutual_aid_follows_the_dated_policy(store, day, allowed):
    """国办发〔2024〕38号 widened mutual aid to near relatives from 2025 (test region's dated list)."""
    p = Platform(store, FixedClock(day))
    setup_region(p)
    a = person(p, "姐姐", current=10000)
    b = person(p, "弟弟")
    family.declare_relation(p, a.person.psn_no, b.person.psn_no, "sibling")
    got = code_of(family.authorize_mutual_aid, p, a.person.psn_no, b.person.psn_no)
    assert got == (None if allowed else "E7101-002")


def test_grant_refusals_write_nothing(platform):
    fam = family_world(platform)
    resident = fam.child.person.psn_no
    before = snapshot(platform)
    assert code_of(family.authorize_mutual_aid, platform, fam.son.person.psn_no, fam.son.person.psn_no) == "E7101-004"
    # a resident has no employee account: cannot be a payer
    family_before = snapshot(platform)
    assert code_of(family.authorize_mutual_aid, platform, resident, fam.son.person.psn_no) in ("E7101-001", "E7101-003")
    assert snapshot(platform) == family_before
    assert (
        code_of(family.authorize_mutual_aid, platform, fam.father.person.psn_no, fam.son.person.psn_no) == "E7101-006"
    )
    assert code_of(family.revoke_mutual_aid, platform, fam.son.person.psn_no, fam.father.person.psn_no) == "E7101-005"
    assert code_of(family.authorize_mutual_aid, platform, "nobody", fam.son.person.psn_no) == "E1101-001"
    assert code_of(family.set_mutual_aid_order, platform, fam.son.person.psn_no, []) == "E7101-007"
    assert snapshot(platform) == before


def test_revocation_stops_payments_and_is_kept_in_history(platform):
    fam = family_world(platform, son_current=0)
    assert call(platform, "2102", pharmacy_input(fam.son, "20.00"), password="123456")["output"]["setlinfo"][
        "acct_mulaid_pay"
    ] == Decimal("20.00")
    family.revoke_mutual_aid(platform, fam.father.person.psn_no, fam.son.person.psn_no)
    out = call(platform, "2102", pharmacy_input(fam.son, "20.00"), password="123456")["output"]["setlinfo"]
    assert (out["acct_mulaid_pay"], out["psn_cash_pay"]) == (Decimal("0.00"), Decimal("20.00"))
    with platform.store.uow() as tx:
        events = [e["event"] for e in tx.family.events_for(fam.son.person.id)]
    assert events.count("granted") >= 1 and "revoked" in events


def test_grant_ends_when_the_payer_leaves_employee_insurance(platform):
    fam = family_world(platform, son_current=0)
    out = lifecycle.end_insurance(platform, fam.father.person.psn_no, "310", date(2025, 5, 31))
    assert out["grants_ended"] == 1
    answer = call(platform, "2102", pharmacy_input(fam.son, "20.00"), password="123456")["output"]["setlinfo"]
    assert answer["acct_mulaid_pay"] == Decimal("0.00")
    assert family.grants_view(platform, fam.son.person.psn_no)["payers"] == []


def test_paid_for_others_this_year(platform):
    fam = family_world(platform, son_current=0)
    call(platform, "2102", pharmacy_input(fam.son, "35.00"), password="123456")
    paid = family.paid_for_others(platform, fam.father.person.psn_no, 2025)
    assert [(x["person"].psn_no, x["settlements"]) for x in paid] == [(fam.son.person.psn_no, 3500)]


# 亲情账户 -------------------------------------------------------------------------------------------------------


def _household(p):
    setup_region(p)
    holder = person(p, "吴家长", birth=date(1985, 1, 1))
    kin = {
        "wife": person(p, "吴太太", birth=date(1987, 1, 1), gender="2"),
        "father": person(p, "吴爷爷", insutype="390", psn_type="1501", birth=date(1955, 1, 1)),
        "mother": person(p, "吴奶奶", insutype="390", psn_type="1501", birth=date(1957, 1, 1), gender="2"),
        "teen": person(p, "吴大宝", insutype="390", psn_type="1403", birth=date(2008, 3, 1)),
        "kid": person(p, "吴二宝", insutype="390", psn_type="1403", birth=date(2015, 3, 1), gender="2"),
        "baby": person(p, "吴三宝", insutype="390", psn_type="1402", birth=date(2021, 3, 1)),
    }
    family.declare_relation(p, kin["wife"].person.psn_no, holder.person.psn_no, "spouse")
    for k in ("father", "mother"):
        family.declare_relation(p, kin[k].person.psn_no, holder.person.psn_no, "parent")
    for k in ("teen", "kid", "baby"):
        family.declare_relation(p, holder.person.psn_no, kin[k].person.psn_no, "parent")
    return holder, kin


def test_proxy_binding_rules(platform):
    """004 §5: at most 5 members; spouse/parents/children only; face check from 16; unbind any time."""
    platform.proxy_verifier = SandboxVerifier()  # the rules here, with the face check taken as given
    holder, kin = _household(platform)
    h = holder.person.psn_no
    for k in ("wife", "father", "mother"):
        proxy.bind(platform, h, kin[k].person.psn_no, face_verified=True)
    assert code_of(proxy.bind, platform, h, kin["teen"].person.psn_no, commitment_letter=True) == "E7201-005"
    assert code_of(proxy.bind, platform, h, kin["kid"].person.psn_no) == "E7201-006"
    proxy.bind(platform, h, kin["kid"].person.psn_no, commitment_letter=True)
    proxy.bind(platform, h, kin["teen"].person.psn_no, face_verified=True)
    before = snapshot(platform)
    assert code_of(proxy.bind, platform, h, kin["baby"].person.psn_no, commitment_letter=True) == "E7201-003"
    assert code_of(proxy.bind, platform, h, kin["kid"].person.psn_no, commitment_letter=True) == "E7201-004"
    assert code_of(proxy.bind, platform, h, h, face_verified=True) == "E7201-001"
    assert code_of(proxy.bind, platform, h, "unknown-psn", face_verified=True) == "E1101-001"
    assert snapshot(platform) == before
    proxy.unbind(platform, h, kin["father"].person.psn_no)
    assert code_of(proxy.unbind, platform, h, kin["father"].person.psn_no) == "E7201-008"
    proxy.bind(platform, h, kin["baby"].person.psn_no, commitment_letter=True)
    assert len(proxy.members(platform, h)) == 5


def test_proxy_binding_refuses_a_non_relative(platform):
    platform.proxy_verifier = SandboxVerifier()
    holder, _ = _household(platform)
    stranger = person(platform, "邻居老郑", insutype="390", psn_type="1501", birth=date(1980, 1, 1))
    assert (
        code_of(proxy.bind, platform, holder.person.psn_no, stranger.person.psn_no, face_verified=True) == "E7201-002"
    )


def test_proxy_holder_sees_member_voucher_and_expenses_but_moves_no_money(platform):
    """004 §1, §4 and 002: 亲情账户 shows the QR and the expenses; it shares no balance."""
    platform.proxy_verifier = SandboxVerifier()
    setup_region(platform)
    son = person(platform, "钱小军", current=0, password="444444")
    mother = person(platform, "钱妈妈", psn_type="1201", current=80000, birth=date(1962, 12, 12), gender="2",
                    password="555555")  # fmt: skip
    stranger = person(platform, "路人")
    family.declare_relation(platform, mother.person.psn_no, son.person.psn_no, "parent")
    proxy.bind(platform, son.person.psn_no, mother.person.psn_no, face_verified=True)
    own = call(platform, "2102", pharmacy_input(son, "100.00"), password="444444")["output"]["setlinfo"]
    assert (own["acct_pay"], own["acct_mulaid_pay"], own["psn_cash_pay"]) == (Decimal("0.00"),) * 2 + (
        Decimal("100.00"),
    )
    qr = proxy.member_voucher(platform, son.person.psn_no, mother.person.psn_no)
    token = call(platform, "1162", {"data": {"ecQrCode": qr}})["output"]["data"]["ecToken"]
    inp = pharmacy_input(mother, "100.00")
    inp["druginfo"].update(mdtrt_cert_type="01", mdtrt_cert_no=token)
    shown = call(platform, "2102", inp, password="555555")["output"]["setlinfo"]
    assert shown["psn_no"] == mother.person.psn_no and shown["acct_pay"] == Decimal("100.00")
    assert balances(platform, mother) == (70000, 0) and balances(platform, son) == (0, 0)
    spent = proxy.member_expenses(platform, son.person.psn_no, mother.person.psn_no, 2025)
    assert spent["totals"]["medfee"] == 10000 and spent["count"] == 1
    assert code_of(proxy.member_voucher, platform, stranger.person.psn_no, mother.person.psn_no) == "E7201-009"
    assert ledger_problems(platform) == []


def test_production_binds_an_adult_only_after_a_confirmed_verification(platform):
    """Issue 9 item 7: in production the form's face_verified is evidence, not a decision. The request
    waits; an operator's confirmation makes the binding and is kept with the operator's name."""
    assert platform.verifier().name == "operator"
    holder, kin = _household(platform)
    h, wife, father = holder.person.psn_no, kin["wife"].person.psn_no, kin["father"].person.psn_no
    first = proxy.bind(platform, h, wife, face_verified=True)
    assert first.status == "pending" and proxy.members(platform, h) == []
    assert code_of(proxy.member_voucher, platform, h, wife) == "E7201-009"
    assert proxy.bind(platform, h, wife, face_verified=True) == first  # asking again: the same request
    # a child under 16 is still bound on the holder's signed commitment letter
    assert proxy.bind(platform, h, kin["kid"].person.psn_no, commitment_letter=True).status == "bound"
    # the other rules are checked when the request is made, not only when it is confirmed
    assert code_of(proxy.bind, platform, h, kin["teen"].person.psn_no) is None  # 17: face check, pending
    stranger = person(platform, "邻居老郑", insutype="390", psn_type="1501", birth=date(1980, 1, 1))
    assert code_of(proxy.bind, platform, h, stranger.person.psn_no, face_verified=True) == "E7201-002"

    proxy.confirm_verification(platform, first.verification_id, via="console", by="演示经办员（operator）")
    assert [m["person"].psn_no for m in proxy.members(platform, h)][-1] == wife
    assert proxy.member_voucher(platform, h, wife)
    record = proxy.verifications(platform, psn_no=wife)[0]["v"]
    assert (record.status, record.decided_via, record.decided_by) == ("confirmed", "console", "演示经办员（operator）")
    before = snapshot(platform)
    assert code_of(proxy.confirm_verification, platform, first.verification_id, via="console", by="x") == "E7201-011"
    assert code_of(proxy.confirm_verification, platform, 999_999, via="console", by="x") == "E7201-010"
    assert snapshot(platform) == before

    asked = proxy.bind(platform, h, father, face_verified=True)
    proxy.reject_verification(platform, asked.verification_id, via="console", by="经办员", note="本人未到场")
    assert father not in {m["person"].psn_no for m in proxy.members(platform, h)}
    assert proxy.verifications(platform, psn_no=father)[0]["v"].note == "本人未到场"


def test_a_confirmation_rechecks_the_rules(platform):
    holder, kin = _household(platform)
    h = holder.person.psn_no
    waiting = proxy.bind(platform, h, kin["wife"].person.psn_no)
    sandbox = SandboxVerifier()
    for k in ("father", "mother", "teen"):
        proxy.bind(platform, h, kin[k].person.psn_no, face_verified=True, verifier=sandbox)
    for k in ("kid", "baby"):
        proxy.bind(platform, h, kin[k].person.psn_no, commitment_letter=True)
    assert code_of(proxy.confirm_verification, platform, waiting.verification_id, via="api", by="x") == "E7201-003"
    assert proxy.verifications(platform, psn_no=h)[-1]["v"].status == "pending"


class TokenService:
    """A verification service stand-in: confirms a face token it issued, for the member it names."""

    name = "face-service"

    def face(self, member_psn_no, evidence):
        return "confirmed" if evidence == f"token-for-{member_psn_no}" else "refused"

    def commitment_letter(self, member_psn_no, evidence):
        return False


def test_a_configured_verification_service_decides(platform):
    platform.proxy_verifier = TokenService()
    holder, kin = _household(platform)
    h, wife = holder.person.psn_no, kin["wife"].person.psn_no
    assert code_of(proxy.bind, platform, h, wife, face_verified=True) == "E7201-005"
    assert code_of(proxy.bind, platform, h, wife, face_verified="token-for-someone-else") == "E7201-005"
    assert proxy.bind(platform, h, wife, face_verified=f"token-for-{wife}").status == "bound"


def test_the_verifier_is_chosen_by_setting():
    assert verifier_from_setting("test_family:TokenService").name == "face-service"
    for bad in ("test_family", "no_such_module:x", "test_family:nothing", "json:dumps"):
        with pytest.raises(ValueError):
            verifier_from_setting(bad)
    sandbox = Platform(Store.open("sqlite://", create=True), sandbox=True)
    assert sandbox.verifier().name == "sandbox"


# Credentials ----------------------------------------------------------------------------------------------------


def test_card_loss_replacement_and_password_lockout(platform):
    fam = family_world(platform)
    son = fam.son
    card_query = {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": son.card_no, "card_sn": son.card_sn,
                           "psn_cert_type": "01"}}  # fmt: skip
    assert call(platform, "1101", card_query)["infcode"] == 0
    credentials.report_card_lost(platform, son.person.psn_no, "formal")
    assert call(platform, "1101", card_query)["err_msg"].startswith("[E1101-003]")
    card_no, card_sn = credentials.replace_card(platform, son.person.psn_no)
    assert card_no != son.card_no
    new_query = {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": card_no, "card_sn": card_sn, "psn_cert_type": "01"}}
    assert call(platform, "1101", new_query)["infcode"] == 0
    assert call(platform, "1101", card_query)["infcode"] == -1  # the old card stays dead
    # five wrong passwords lock the credential; the right one is then refused too, and nothing is paid
    for _ in range(4):
        assert call(platform, "2102", pharmacy_input(son, "1.00"), password="000000")["err_msg"].startswith(
            "[E2207-003]"
        )
    assert call(platform, "2102", pharmacy_input(son, "1.00"), password="000000")["err_msg"].startswith("[E2207-004]")
    assert call(platform, "2102", pharmacy_input(son, "1.00"), password="123456")["err_msg"].startswith("[E2207-004]")
    assert balances(platform, son) == (10000, 0)
    credentials.set_password(platform, son.person.psn_no, "112233", reset=True)
    assert call(platform, "2102", pharmacy_input(son, "1.00"), password="112233")["infcode"] == 0


def test_password_change_needs_the_old_password(platform):
    setup_region(platform)
    c = person(platform, "改密码")
    assert code_of(credentials.set_password, platform, c.person.psn_no, "654321", old="000000") == "E7301-004"
    assert code_of(credentials.set_password, platform, c.person.psn_no, "12ab56", old="123456") == "E7301-003"
    credentials.set_password(platform, c.person.psn_no, "654321", old="123456")
    with platform.store.uow() as tx:
        state = tx.credentials.password(c.person.id)
    assert "654321" not in state.hash and state.hash.startswith("$argon2id$")


# Property: mutual aid never pays without a grant in force at that moment -----------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["grant", "revoke", "settle"]), st.integers(0, 2), st.integers(1, 300)),
                min_size=1, max_size=12))  # fmt: skip
def test_mutual_aid_only_from_payers_granting_at_that_moment(ops):
    p = Platform(Store.open("sqlite://", create=True), FixedClock(datetime(2025, 6, 1, 10)))
    setup_region(p)
    patient = person(p, "病人", current=0)
    payers = [person(p, f"亲属{i}", psn_type="1201", current=5000, birth=date(1960, 1, 1)) for i in range(3)]
    for payer in payers:
        family.declare_relation(p, payer.person.psn_no, patient.person.psn_no, "parent")
    active: set[str] = set()
    for minute, (op, who, amount) in enumerate(ops):
        p.clock.set(datetime(2025, 6, 1, 10, minute + 1))
        payer = payers[who].person.psn_no
        if op == "grant":
            if code_of(family.authorize_mutual_aid, p, payer, patient.person.psn_no) is None:
                active.add(payer)
        elif op == "revoke":
            if code_of(family.revoke_mutual_aid, p, payer, patient.person.psn_no) is None:
                active.discard(payer)
        else:
            out = call(p, "2102", pharmacy_input(patient, f"{amount}.00"), password="123456")
            assert out["infcode"] == 0, out["err_msg"]
            paying = {d["setl_proc_info"] for d in out["output"]["setldetail"] if "家庭共济" in d["setl_proc_info"]}
            with p.store.uow() as tx:
                row = tx.care.settlements_of_person(patient.person.id, 1)[0]
            payers_used = {m["psn_no"] for m in json.loads(row.output)["mutual_aid"]}
            assert payers_used <= active, (payers_used, active, paying)
    assert ledger_problems(p) == []
    p.store.dispose()
