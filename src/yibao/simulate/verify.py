"""``--verify``: replay sampled families through the real settlement services and compare every figure.

The sampled families are built in an in-memory SQLite database through the services (people with
their opening balances, relations, mutual-aid grants in their order, the scenario's policy text),
then the period is played in time order exactly as the platform would live it: the scheduled jobs
(retiree credit, rollover) at each calendar instant, each in-service employee's monthly
contribution at the first of the month, and each claim as a hospital or pharmacy would send it
(registration or admission, fee lines, discharge, settlement; off-site filings where the claim was
off-site). For every claim, every part the kernel computed is compared with the ``Settlement`` the
service returned — the split, deductible, fund before and after the cap, coinsurance, the part
accounts may pay, each bucket of the own account, each relative's payment in order, cash — and at
the end every person's two balances. A service refusal is a mismatch too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yibao.errors import DomainError
from yibao.family.model import RELATIONS
from yibao.ledger.model import person_bucket
from yibao.lifecycle.model import age_on
from yibao.money import fen_to_decimal
from yibao.policy.schema import CATEGORIES
from yibao.services import care, family, jobs, lifecycle, settle, world
from yibao.services.care import FeeInput
from yibao.services.platform import FixedClock, Platform
from yibao.settlement.model import CatalogItem
from yibao.simulate import kernel
from yibao.simulate.data import OFFSITE_KINDS, Partition
from yibao.simulate.engine import Prepared, prepare, run_scenario
from yibao.simulate.tables import INSERVICE_CREDIT, PolicyTables
from yibao.storage.uow import Store

OFFSITE_ADMDVS = ("110100", "440300")  # the first that is not the region's: care there is off-site
ITEMS = {
    "inscp": CatalogItem("SIM-A", "模拟甲类项目", "01"),
    "preselfpay": CatalogItem("SIM-B", "模拟乙类项目（全部先行自付）", "02", 10_000),
    "ownpay": CatalogItem("SIM-S", "模拟自费项目", "03"),
    "overlimit": CatalogItem("SIM-L", "模拟限价项目（限价0元）", "01", 0, Decimal("0")),
}
COMPARED = (
    ("medfee", kernel.C_MEDFEE, lambda s: s.medfee),
    ("ownpay", kernel.C_OWNPAY, lambda s: s.ownpay),
    ("overlimit", kernel.C_OVERLIMIT, lambda s: s.overlimit),
    ("preselfpay", kernel.C_PRESELFPAY, lambda s: s.preselfpay),
    ("inscp", kernel.C_INSCP, lambda s: s.in_scope),
    ("deductible", kernel.C_DEDUCTIBLE, lambda s: s.deductible),
    ("fund_before_cap", kernel.C_FUND_BEFORE_CAP, lambda s: s.fund_before_cap),
    ("hifp_pay", kernel.C_FUND, lambda s: s.fund_pay),
    ("coinsurance", kernel.C_COINSURANCE, lambda s: s.coinsurance),
    ("over_cap", kernel.C_OVER_CAP, lambda s: s.over_cap),
    ("payable", kernel.C_PAYABLE, lambda s: s.payable),
    ("acct_pay.current", kernel.C_OWN_CURRENT, lambda s: _bucket(s.own, "current")),
    ("acct_pay.historical", kernel.C_OWN_HISTORICAL, lambda s: _bucket(s.own, "historical")),
    ("acct_mulaid_pay", kernel.C_MUTUAL_AID, lambda s: s.mutual_aid_pay),
    ("psn_cash_pay", kernel.C_CASH, lambda s: s.cash),
    ("ratio", kernel.C_RATIO, lambda s: s.ratio_bp),
    ("account_segment", kernel.C_SEGMENT, lambda s: s.account_segment),
)


def _bucket(payment, bucket: str) -> int:
    if payment is None:
        return 0
    return sum(d.amount for d in payment.draws if d.bucket == bucket)


@dataclass
class VerifyReport:
    families: int = 0
    people: int = 0
    claims: int = 0
    compared_figures: int = 0
    mismatched_claims: int = 0
    mismatched_balances: int = 0
    refused: int = 0
    with_mutual_aid: int = 0
    over_cap: int = 0
    later_year: int = 0  # claims in a later medical year than the period's first
    upper_age_band: int = 0  # claims whose patient is in an age band above the first (the policy bands by age)
    with_segment: int = 0  # claims with a 当年账户段
    rollovers: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def mismatches(self) -> int:
        return self.mismatched_claims + self.mismatched_balances

    def merge(self, other: VerifyReport) -> None:
        for name in [
            "families",
            "people",
            "claims",
            "compared_figures",
            "mismatched_claims",
            "mismatched_balances",
            "refused",
            "with_mutual_aid",
            "over_cap",
            "later_year",
            "upper_age_band",
            "with_segment",
            "rollovers",
        ]:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.examples.extend(other.examples[: max(0, 20 - len(self.examples))])


def sample_families(part: Partition, count: int, seed: int) -> np.ndarray:
    """Up to ``count`` family ids of this partition that have claims, chosen with ``seed``."""
    with_claims = np.unique(part.claims["family_id"].to_numpy())
    rng = np.random.default_rng([seed, part.index])
    if len(with_claims) <= count:
        return with_claims
    return np.sort(rng.choice(with_claims, size=count, replace=False))


def subset(part: Partition, family_ids: np.ndarray) -> Partition:
    ids = pa.array(family_ids, pa.int64())
    people = part.people.filter(pc.is_in(part.people["family_id"], value_set=ids))
    person_ids = people["person_id"].combine_chunks()
    grants = part.grants.filter(pc.is_in(part.grants["beneficiary_id"], value_set=person_ids))
    claims = part.claims.filter(pc.is_in(part.claims["family_id"], value_set=ids))
    return Partition(part.index, people, grants, claims)


def verify_partition(
    part: Partition,
    tables: PolicyTables,
    policy_text: str,
    income_edges: np.ndarray,
    progress: Callable[[int, int], None] | None = None,
) -> VerifyReport:
    """Run the kernel and the services on the same families (``part`` should already be a sample)."""
    prep = prepare(part, tables.start, income_edges)
    run = run_scenario(prep, tables, detail=True)
    replay = _Replay(prep, tables, policy_text, part)
    return replay.play(run, progress)


class _Replay:
    def __init__(self, prep: Prepared, tables: PolicyTables, policy_text: str, part: Partition):
        self.prep, self.tables, self.part = prep, tables, part
        self.start = datetime.combine(tables.start, datetime.min.time())
        self.store = Store.open("sqlite://", create=True)
        self.p = Platform(self.store, FixedClock(self.start))
        self.policy_text = policy_text
        self.psn: list[str] = []
        self.insutype: list[str] = []
        self.birth: list = []

    def build(self) -> None:
        p, prep, people = self.p, self.prep, self.part.people
        # Grants are the families' choices; whether each may pay is the policy's decision on the claim
        # day. Build them under a policy that admits every relation, then install the scenario's.
        permissive = {"mutual_aid.enabled": True, "mutual_aid.relations": list(RELATIONS)}
        admdvs = world.put_region(p, self.policy_text, "verify", permissive)
        self.admdvs = admdvs
        away = next(a for a in OFFSITE_ADMDVS if a != admdvs)
        for level in range(4):
            for kind in ("hospital", "pharmacy"):
                world.add_institution(p, f"{kind[0].upper()}-{level}", f"模拟{kind}{level}", kind, level, admdvs)
                world.add_institution(p, f"{kind[0].upper()}-{level}-X", f"异地模拟{kind}{level}", kind, level, away)
        for item in ITEMS.values():
            world.add_catalog_item(p, item)
        order = np.argsort(people["person_id"].to_numpy())
        ids = people["person_id"].to_numpy()[order]
        row_of = {int(pid): int(order[i]) for i, pid in enumerate(ids.tolist())}
        cols = {c: people[c].to_pylist() for c in people.column_names}
        for pid in prep.person_id.tolist():
            r = row_of[pid]
            made = world.add_person(
                p,
                world.NewPerson(
                    name=f"模拟{pid}",
                    birth=cols["birth"][r],
                    gender=cols["gender"][r],
                    admdvs=admdvs,
                    insutype=cols["insutype"][r],
                    psn_type=cols["psn_type"][r],
                    insured_since=cols["insured_since"][r],
                    current=cols["current_fen"][r],
                    historical=cols["historical_fen"][r],
                ),
            )
            self.psn.append(made.person.psn_no)
            self.birth.append(made.person.birth)
            self.insutype.append(cols["insutype"][r])
        declared: set[frozenset[int]] = set()
        for g in range(len(prep.g_payer)):
            payer, bene = int(prep.g_payer[g]), int(prep.g_beneficiary[g])
            relation = RELATIONS[prep.g_rel[g]]
            if frozenset((payer, bene)) not in declared:
                family.declare_relation(p, self.psn[payer], self.psn[bene], relation, "simulate")
                declared.add(frozenset((payer, bene)))
            position = g - int(prep.g0[bene]) + 1
            family.authorize_mutual_aid(p, self.psn[payer], self.psn[bene], position)
        world.put_region(p, self.policy_text, "verify")
        jobs.mark_done_until(p, self.start)

    def play(self, run, progress) -> VerifyReport:
        self.build()
        prep, tables = self.prep, self.tables
        report = VerifyReport(families=prep.families, people=len(prep.person_id), claims=len(prep.claim_id))
        timeline = [(int(t), 0, e) for e, t in enumerate(tables.e_time.tolist())]
        timeline += [(int(t), 1, c) for c, t in enumerate(prep.c_time.tolist())]
        timeline.sort(key=lambda x: (x[0], x[1], prep.claim_id[x[2]] if x[1] else x[2]))
        c_year = tables.day_year[prep.c_day]
        done = 0
        for moment, what, index in timeline:
            at = datetime(1970, 1, 1) + timedelta(seconds=moment)
            self.p.clock.set(at)
            if what == 0:
                self._event(index, at, report)
            else:
                self._claim(index, at, run, report)
                report.later_year += int(c_year[index] > 0)
                done += 1
                if progress:
                    progress(done, report.claims)
        end = datetime.combine(tables.end, datetime.min.time())
        self.p.clock.set(end)
        jobs.run_until(self.p, end)
        self._balances(run, report)
        self.store.dispose()
        return report

    def _event(self, e: int, at: datetime, report: VerifyReport) -> None:
        jobs.run_until(self.p, at)
        if self.tables.e_kind[e] == INSERVICE_CREDIT:
            month = f"{at:%Y-%m}"
            for i, psn in enumerate(self.psn):
                if self.prep.p_cls[i] == 0 and self.prep.p_scheme[i] == 0 and self.prep.p_base[i] > 0:
                    lifecycle.contribute_employee(self.p, psn, month, int(self.prep.p_base[i]), paid_on=at.date())
        elif self.tables.e_kind[e] == 1:
            report.rollovers += 1

    def _claim(self, c: int, at: datetime, run, report: VerifyReport) -> None:
        prep = self.prep
        person = int(prep.c_person[c])
        psn, insutype = self.psn[person], self.insutype[person]
        med_type = prep.c_mt_names[prep.c_mt_codes[c]]
        level = int(prep.c_level[c])
        offsite = OFFSITE_KINDS[prep.c_off[c]]
        amounts = {
            "inscp": int(prep.c_ins[c]),
            "preselfpay": int(prep.c_pre[c]),
            "ownpay": int(prep.c_own[c]),
            "overlimit": int(prep.c_ol[c]),
        }
        lines = tuple(
            FeeInput(str(n), ITEMS[k].code, v, fen_to_decimal(v), Decimal(1), fee_ocur_time=at)
            for n, (k, v) in enumerate(((k, v) for k, v in amounts.items() if v > 0), start=1)
        )
        medfee = sum(amounts.values())
        row = run.out_claims[c]
        category = self._category(c)
        suffix = "-X" if offsite else ""
        try:
            if offsite in ("filed", "temporary"):
                lifecycle.file_offsite(self.p, psn, offsite, at.date(), at.date())
            if category == "pharmacy":
                req = settle.SettleRequest(
                    f"P-{level}{suffix}", psn, insutype, med_type, medfee, bool(prep.c_acct[c]),
                    begntime=at, lines=lines, infno="2102",
                )  # fmt: skip
            elif category == "inpatient":
                mdtrt = care.admit(
                    self.p, care.Admission(f"H-{level}{suffix}", psn, insutype, med_type, at, None, None, None, {})
                )
                care.upload_fees(self.p, f"H-{level}{suffix}", mdtrt, psn, list(lines))
                care.discharge(self.p, f"H-{level}{suffix}", mdtrt, psn, at, {})
                req = settle.SettleRequest(
                    f"H-{level}{suffix}", psn, insutype, med_type, medfee, bool(prep.c_acct[c]),
                    mdtrt_id=mdtrt, infno="2304",
                )  # fmt: skip
            else:
                mdtrt = care.register_visit(
                    self.p, care.Registration(f"H-{level}{suffix}", psn, insutype, at, None, None, None, {})
                )
                care.upload_fees(self.p, f"H-{level}{suffix}", mdtrt, psn, list(lines))
                req = settle.SettleRequest(
                    f"H-{level}{suffix}", psn, insutype, med_type, medfee, bool(prep.c_acct[c]),
                    mdtrt_id=mdtrt, infno="2207",
                )  # fmt: skip
            result = settle.settle_claim(self.p, req).result
        except DomainError as exc:
            report.refused += 1
            report.mismatched_claims += 1
            self._example(report, f"结算 {prep.claim_id[c]} 被拒绝：{exc.err_msg}")
            return
        differences = []
        for name, col, get in COMPARED:
            if int(row[col]) != get(result):
                differences.append(f"{name} 内核 {int(row[col])} / 服务 {get(result)}")
        kernel_aid = [
            (self.psn[int(r[1])], int(r[2]), int(r[3]))
            for r in run.out_ma[run.claim_ma_offset[c] : run.claim_ma_offset[c + 1]]
            if r[0] == c
        ]
        service_aid = [(m.psn_no, _bucket(m, "current"), _bucket(m, "historical")) for m in result.mutual_aid]
        if kernel_aid != service_aid:
            differences.append(f"共济明细 内核 {kernel_aid} / 服务 {service_aid}")
        report.compared_figures += len(COMPARED) + 1
        report.with_mutual_aid += int(bool(service_aid))
        report.with_segment += int(result.account_segment > 0)
        report.upper_age_band += int(self._age_band(person, at.date()) > 0)
        report.over_cap += int(result.over_cap > 0)
        if differences:
            report.mismatched_claims += 1
            self._example(report, f"结算 {prep.claim_id[c]}（{at}）：" + "；".join(differences))

    def _age_band(self, person: int, day) -> int:
        """The patient's age band on the claim day, from the person as the service stored them."""
        age = age_on(self.birth[person], day)
        return int(np.searchsorted(self.tables.age_starts, age, side="right") - 1)

    def _category(self, c: int) -> str:
        seg = self.tables.day_seg[self.prep.c_day[c]]
        return CATEGORIES[self.tables.med_types[self.prep.c_mt_names[self.prep.c_mt_codes[c]]][seg]]

    def _balances(self, run, report: VerifyReport) -> None:
        with self.store.uow() as tx:
            for i, psn in enumerate(self.psn):
                if self.prep.p_scheme[i] != 0:
                    continue
                codes = [person_bucket(psn, "current"), person_bucket(psn, "historical")]
                got = tx.ledger.balances(codes)
                want = (int(run.closing_cur[i]), int(run.closing_hist[i]))
                report.compared_figures += 2
                if (got[codes[0]], got[codes[1]]) != want:
                    report.mismatched_balances += 1
                    self._example(
                        report,
                        f"人员 {self.prep.person_id[i]} 期末余额 内核 {want} / 服务 {(got[codes[0]], got[codes[1]])}",
                    )

    @staticmethod
    def _example(report: VerifyReport, text: str) -> None:
        if len(report.examples) < 20:
            report.examples.append(text)
