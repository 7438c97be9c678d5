"""Loading a case's world (policy, institutions, catalogue, people, family) through the services."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from yibao.errors import DomainError
from yibao.family.proxy import SandboxVerifier
from yibao.lifecycle.model import medical_year_of
from yibao.money import MoneyFormatError, parse_fen, parse_price, parse_ratio
from yibao.policy import load_policy
from yibao.policy.loader import parse_policy
from yibao.services import family, jobs, proxy, world
from yibao.services.case_file import Case, CaseError
from yibao.services.platform import Platform
from yibao.settlement.model import CatalogItem
from yibao.yamlio import dump_yaml


@dataclass(frozen=True)
class Handle:
    psn_no: str
    certno: str
    card_no: str
    card_sn: str
    ec_token: str
    name: str


def read_policy_text(case: Case, base: Path | None, origin: str) -> str:
    if isinstance(case.policy, dict):
        parse_policy(case.policy, f"{origin}:policy")  # validated here, named after the case
        return dump_yaml(case.policy)
    _, text = load_policy(case.policy, base)
    return text


def load_world(
    platform: Platform, case: Case, base: Path | None, origin: str, *, policy_text: str | None = None
) -> dict[str, Handle]:
    """Build the world the case describes; any refusal is a load failure naming the place.

    ``policy_text`` supplies the policy file's text when the case file is not on this machine
    (a case run against a server sends it along)."""
    where = "policy"
    try:
        text = policy_text if policy_text is not None else read_policy_text(case, base, origin)
        admdvs = world.put_region(platform, text, origin, case.policy_overrides)
        for i, inst in enumerate(case.institutions):
            where = f"institutions[{i}]"
            world.add_institution(platform, inst.code, inst.name, inst.kind, inst.level, inst.admdvs or admdvs)
        for i, c in enumerate(case.catalog):
            where = f"catalog[{i}]"
            world.add_catalog_item(
                platform,
                CatalogItem(
                    c.code,
                    c.name,
                    c.chrgitm_lv,
                    parse_ratio(c.selfpay_prop, "自付比例") if c.selfpay_prop is not None else 0,
                    parse_price(c.pric_uplmt, "限价") if c.pric_uplmt is not None else None,
                ),
            )
        handles: dict[str, Handle] = {}
        for i, person in enumerate(case.people):
            where = f"people[{i}]"
            acct = person.account
            made = world.add_person(
                platform,
                world.NewPerson(
                    name=person.name,
                    birth=person.birth,
                    gender=person.gender,
                    admdvs=person.admdvs or admdvs,
                    certno=person.certno,
                    insutype=person.insutype,
                    psn_type=person.psn_type,
                    insured_since=person.insured_since,
                    insured_until=person.insured_until,
                    current=parse_fen(acct.current, "当年账户余额") if acct else 0,
                    historical=parse_fen(acct.historical, "历年账户余额") if acct else 0,
                    password=person.password,
                    card_no=person.card_no,
                    card_sn=person.card_sn,
                    ec_token=person.ec_token,
                    emp_name=person.emp_name,
                ),
            )
            handles[person.id] = Handle(
                made.person.psn_no, made.person.certno, made.card_no, made.card_sn, made.ec_token, made.person.name
            )
        for i, r in enumerate(case.relations):
            where = f"relations[{i}]"
            family.declare_relation(platform, handles[r.of].psn_no, handles[r.to].psn_no, r.relation, "case")
        for i, m in enumerate(sorted(case.mutual_aid, key=lambda m: (m.order is None, m.order or 0))):
            where = f"mutual_aid[{i}]"
            family.authorize_mutual_aid(platform, handles[m.payer].psn_no, handles[m.beneficiary].psn_no, m.order)
        for i, b in enumerate(case.proxy_bindings):
            where = f"proxy_bindings[{i}]"
            proxy.bind(
                platform,
                handles[b.holder].psn_no,
                handles[b.member].psn_no,
                face_verified=b.face_verified,
                commitment_letter=b.commitment_letter,
                verifier=SandboxVerifier(),  # a case's world declares its bindings checked
            )
        year = medical_year_of(platform.policy_for_admdvs(admdvs), case.date.date())
        for i, a in enumerate(case.accumulators):
            where = f"accumulators[{i}]"
            world.seed_accumulator(
                platform,
                handles[a.person].psn_no,
                a.year or year,
                a.category,
                parse_fen(a.deductible_used, "起付线累计"),
                parse_fen(a.fund_paid, "统筹累计"),
            )
        jobs.mark_done_until(platform, case.date)
        return handles
    except CaseError:
        raise
    except DomainError as exc:
        raise CaseError(origin, where, exc.err_msg) from exc
    except (MoneyFormatError, ValueError) as exc:
        raise CaseError(origin, where, str(exc)) from exc
