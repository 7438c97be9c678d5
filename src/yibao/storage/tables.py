"""The schema: SQLAlchemy Core tables shared by SQLite and PostgreSQL (Alembic migrates them).

Money columns are BIGINT fen. Public identifiers that the national interface carries (``psn_no``)
are stored; ``mdtrt_id`` and ``setl_id`` are derived from the integer key (see ``care.ids``) so
that no counter row becomes a point every settlement must lock.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from yibao.storage.metadata import Money, metadata

settings = Table(
    "settings",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

regions = Table(
    "regions",
    metadata,
    Column("admdvs", String(6), primary_key=True),
    Column("region_id", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("policy_text", Text, nullable=False),
    Column("overrides", Text, nullable=False, default=""),  # YAML of policy_overrides
    Column("updated_at", DateTime, nullable=False),
    Column("version", Integer, nullable=False, default=1),  # bumped on every change: what caches key on
)

people = Table(
    "people",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("psn_no", String(30), nullable=False, unique=True),
    Column("certno", String(50), nullable=False, unique=True),
    Column("psn_cert_type", String(6), nullable=False, default="01"),
    Column("name", String(50), nullable=False),
    Column("gender", String(1), nullable=False),
    Column("birth", Date, nullable=False),
    Column("naty", String(3), nullable=False, default="01"),
    Column("admdvs", String(6), ForeignKey("regions.admdvs"), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

insurances = Table(
    "insurances",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person_id", Integer, ForeignKey("people.id"), nullable=False, index=True),
    Column("insutype", String(6), nullable=False),
    Column("psn_type", String(6), nullable=False),
    Column("begin", Date, nullable=False),
    Column("end", Date, nullable=True),  # last insured day; NULL while it lasts
    Column("benefit_start", Date, nullable=False),
    Column("suspended_from", Date, nullable=True),
    Column("emp_name", String(200), nullable=True),
    Column("created_at", DateTime, nullable=False),
)

institutions = Table(
    "institutions",
    metadata,
    Column("code", String(30), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),  # hospital | pharmacy
    Column("level", Integer, nullable=False),  # 0 pharmacy / community, 1, 2, 3
    Column("admdvs", String(6), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False),
    CheckConstraint("level BETWEEN 0 AND 3", name="level"),
)

catalog_items = Table(
    "catalog_items",
    metadata,
    Column("code", String(50), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("chrgitm_lv", String(2), nullable=False),
    Column("selfpay_prop", Integer, nullable=False, default=0),  # parts per ten thousand
    Column("price_ceiling", String(24), nullable=True),  # exact decimal text, yuan per unit
    CheckConstraint("chrgitm_lv IN ('01', '02', '03')", name="chrgitm_lv"),
    CheckConstraint("selfpay_prop BETWEEN 0 AND 10000", name="selfpay_prop"),
)

relations = Table(
    "relations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("of_person_id", Integer, ForeignKey("people.id"), nullable=False),
    Column("to_person_id", Integer, ForeignKey("people.id"), nullable=False, index=True),  # relations_of: both sides
    Column("relation", String(16), nullable=False),  # "of is to's <relation>"
    Column("declared_by", String(64), nullable=False),
    Column("declared_at", DateTime, nullable=False),
    UniqueConstraint("of_person_id", "to_person_id", name="uq_relations_pair"),
)

mutual_aid_grants = Table(
    "mutual_aid_grants",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("payer_id", Integer, ForeignKey("people.id"), nullable=False),
    Column("beneficiary_id", Integer, ForeignKey("people.id"), nullable=False),
    Column("position", Integer, nullable=False),  # binding order among the beneficiary's payers
    Column("granted_at", DateTime, nullable=False),
    Column("ended_at", DateTime, nullable=True),
    Column("end_reason", String(64), nullable=True),
    Index("ix_grants_beneficiary", "beneficiary_id", "ended_at"),
    Index("ix_grants_payer", "payer_id", "ended_at"),
)

grant_events = Table(
    "grant_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("grant_id", Integer, ForeignKey("mutual_aid_grants.id"), nullable=True),
    Column("payer_id", Integer, ForeignKey("people.id"), nullable=True),
    Column("beneficiary_id", Integer, ForeignKey("people.id"), nullable=False),
    Column("event", String(32), nullable=False),  # granted | revoked | reordered | ended
    Column("detail", Text, nullable=True),
    Column("at", DateTime, nullable=False),
)

proxy_bindings = Table(
    "proxy_bindings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("holder_id", Integer, ForeignKey("people.id"), nullable=False),
    Column("member_id", Integer, ForeignKey("people.id"), nullable=False),
    Column("relation", String(16), nullable=False),
    Column("verified_by", String(24), nullable=False),  # face | commitment_letter
    Column("bound_at", DateTime, nullable=False),
    Column("unbound_at", DateTime, nullable=True),
    Index("ix_proxy_holder", "holder_id", "unbound_at"),
)

cards = Table(
    "cards",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person_id", Integer, ForeignKey("people.id"), nullable=False, index=True),
    Column("card_no", String(50), nullable=False, unique=True),
    Column("card_sn", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # active | temp_lost | lost | replaced
    Column("status_until", DateTime, nullable=True),  # end of a temporary loss report
    Column("issued_at", DateTime, nullable=False),
    Column("status_at", DateTime, nullable=False),
)

ec_tokens = Table(
    "ec_tokens",
    metadata,
    Column("token", String(64), primary_key=True),
    Column("person_id", Integer, ForeignKey("people.id"), nullable=False, index=True),
    Column("issued_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
)

passwords = Table(
    "passwords",
    metadata,
    Column("person_id", Integer, ForeignKey("people.id"), primary_key=True),
    Column("hash", String(200), nullable=False),
    Column("failures", Integer, nullable=False, default=0),
    Column("locked_until", DateTime, nullable=True),
    Column("updated_at", DateTime, nullable=False),
)

# The ledger ----------------------------------------------------------------------------------

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(80), nullable=False, unique=True),
    Column("kind", String(24), nullable=False),  # person_bucket | fund | institution | cash | external
    Column("person_id", Integer, ForeignKey("people.id"), nullable=True, index=True),
    Column("bucket", String(16), nullable=True),  # current | historical for person buckets
    Column("floor", BigInteger, nullable=True),  # lowest balance (credits − debits) allowed; NULL: none
    Column("debits", Money, nullable=False, default=0),
    Column("credits", Money, nullable=False, default=0),
    Column("created_at", DateTime, nullable=False),
    CheckConstraint("floor IS NULL OR credits - debits >= floor", name="floor"),
    CheckConstraint("debits >= 0 AND credits >= 0", name="posted_non_negative"),
)

# The running totals of an account without a floor (pooled fund, institution, cash, external), split
# over ``ledger.model.SHARDS`` rows: a settlement adds to the one row its key picks, so settlements
# never queue on one fund's or one institution's row. Its totals are the ``accounts`` row's (what
# ``roll_up`` folded in) plus every shard's.
account_shards = Table(
    "account_shards",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("shard", Integer, primary_key=True, autoincrement=False),
    Column("debits", Money, nullable=False, default=0),
    Column("credits", Money, nullable=False, default=0),
    CheckConstraint("debits >= 0 AND credits >= 0", name="posted_non_negative"),
)

journal_entries = Table(
    "journal_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(120), nullable=False, unique=True),  # idempotency key
    Column("kind", String(32), nullable=False),
    Column("ref", String(64), nullable=True),
    Column("digest", String(64), nullable=False),  # what the entry posts, to tell a replay from a clash
    Column("posted_at", DateTime, nullable=False),
    Column("memo", Text, nullable=True),
)

transfers = Table(
    "transfers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entry_id", Integer, ForeignKey("journal_entries.id"), nullable=False, index=True),
    Column("debit_account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("credit_account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("amount", Money, nullable=False),
    Column("code", String(32), nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("debit_account_id <> credit_account_id", name="distinct_accounts"),
)

accumulators = Table(
    "accumulators",
    metadata,
    Column("person_id", Integer, ForeignKey("people.id"), primary_key=True),
    Column("year", Integer, primary_key=True),  # the medical year, named by the year it starts in
    Column("category", String(16), primary_key=True),
    Column("deductible_used", Money, nullable=False, default=0),
    Column("fund_paid", Money, nullable=False, default=0),
)

# Visits and settlements ------------------------------------------------------------------------

visits = Table(
    "visits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person_id", Integer, ForeignKey("people.id"), nullable=False, index=True),
    Column("institution_code", String(30), ForeignKey("institutions.code"), nullable=False),
    Column("kind", String(16), nullable=False),  # outpatient | inpatient | pharmacy
    Column("insutype", String(6), nullable=False),
    Column("med_type", String(6), nullable=True),
    Column("begntime", DateTime, nullable=False),
    Column("endtime", DateTime, nullable=True),
    Column("status", String(16), nullable=False),  # open | cancelled | discharged
    Column("ipt_otp_no", String(30), nullable=True),
    Column("mdtrt_cert_type", String(3), nullable=True),
    Column("info", Text, nullable=True),  # JSON: registration, 2203 mdtrtinfo/diseinfo
    Column("created_at", DateTime, nullable=False),
)

fee_lines = Table(
    "fee_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("visit_id", Integer, ForeignKey("visits.id"), nullable=False),
    Column("feedetl_sn", String(30), nullable=False),
    Column("chrg_bchno", String(30), nullable=True),
    Column("med_list_codg", String(50), ForeignKey("catalog_items.code"), nullable=False),
    Column("medins_list_codg", String(50), nullable=True),
    Column("amount", Money, nullable=False),
    Column("price", String(24), nullable=False),
    Column("count", String(24), nullable=False),
    Column("init_feedetl_sn", String(30), nullable=True),
    Column("fee_ocur_time", DateTime, nullable=True),
    # Kept for audit and later queries (issue 12): prescription, billing department and doctor, approval
    Column("rxno", String(30), nullable=True),
    Column("rx_circ_flag", String(3), nullable=True),
    Column("bilg_dept_codg", String(30), nullable=True),
    Column("bilg_dept_name", String(100), nullable=True),
    Column("bilg_dr_codg", String(30), nullable=True),
    Column("bilg_dr_name", String(50), nullable=True),
    Column("hosp_appr_flag", String(3), nullable=True),
    Column("info", Text, nullable=True),  # JSON: every other field the HIS sent for the line
    Column("settlement_id", Integer, ForeignKey("settlements.id"), nullable=True),
    Column("uploaded_at", DateTime, nullable=False),
    UniqueConstraint("visit_id", "feedetl_sn", name="uq_fee_lines_visit_sn"),
)

settlements = Table(
    "settlements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("visit_id", Integer, ForeignKey("visits.id"), nullable=False, index=True),
    Column("person_id", Integer, ForeignKey("people.id"), nullable=False, index=True),
    Column("institution_code", String(30), ForeignKey("institutions.code"), nullable=False),
    Column("infno", String(6), nullable=False),
    Column("msgid", String(40), nullable=True),
    Column("insutype", String(6), nullable=False),
    Column("psn_type", String(6), nullable=False),
    Column("mdtrt_cert_type", String(3), nullable=True),
    Column("med_type", String(6), nullable=False),
    Column("category", String(16), nullable=False),
    Column("clr_type", String(6), nullable=False),
    Column("year", Integer, nullable=False),
    Column("setl_time", DateTime, nullable=False, index=True),
    Column("medfee", Money, nullable=False),
    Column("fund_pay", Money, nullable=False),
    Column("acct_pay", Money, nullable=False),
    Column("mulaid_pay", Money, nullable=False),
    Column("cash_pay", Money, nullable=False),
    Column("deductible", Money, nullable=False),
    Column("mid_setl", Boolean, nullable=False, default=False),
    Column("output", Text, nullable=False),  # JSON: the calculation's record (settlement.record); ledger key setl:<id>
    Column("explanation", Text, nullable=False),
    Column("status", String(16), nullable=False),  # settled | cancelled
    Column("cancelled_at", DateTime, nullable=True),
    Column("cancel_infno", String(6), nullable=True),
    Column("revision", Integer, nullable=False, default=0),  # cancels and reinstatements so far
    Column("info", Text, nullable=True),  # JSON: the request fields kept for audit (invono, psn_setlway …)
)

job_runs = Table(
    "job_runs",
    metadata,
    Column("job", String(32), primary_key=True),
    Column("period", String(16), primary_key=True),
    Column("subject", String(64), primary_key=True),  # one unit of work inside the period ("*" for all)
    Column("done_at", DateTime, nullable=False),
)

# The gateway: messages applied (idempotency, 冲正), sign-ins, institution credentials, nonces ------

messages = Table(
    "messages",
    metadata,
    Column("institution_code", String(30), primary_key=True),
    Column("msgid", String(40), primary_key=True),
    Column("infno", String(6), nullable=False),
    Column("digest", String(64), nullable=False),  # of infno + input: a resend must match it
    Column("answer", Text, nullable=False),  # the envelope answered, returned again on a resend
    Column("ref", String(64), nullable=True),  # what the call created or changed (setl_id, mdtrt_id)
    Column("psn_no", String(30), nullable=True),
    Column("received_at", DateTime, nullable=False),
    Column("reversed_by", String(40), nullable=True),  # the 2601 msgid that reversed it
)

sign_ins = Table(
    "sign_ins",
    metadata,
    Column("sign_no", String(30), primary_key=True),
    Column("institution_code", String(30), ForeignKey("institutions.code"), nullable=False, index=True),
    Column("opter_no", String(30), nullable=True),
    Column("mac", String(40), nullable=True),
    Column("ip", String(40), nullable=True),
    Column("signed_in_at", DateTime, nullable=False),
    Column("signed_out_at", DateTime, nullable=True),
)

institution_credentials = Table(
    "institution_credentials",
    metadata,
    Column("institution_code", String(30), ForeignKey("institutions.code"), primary_key=True),
    Column("api_key_hash", String(64), nullable=True, unique=True),  # sha256 of the API key
    Column("tif_paasid", String(64), nullable=True, unique=True),
    Column("tif_token", String(128), nullable=True),  # shared secret of the TIF signature
    Column("created_at", DateTime, nullable=False),
    # The provincial service gateway: AK in clear, SK encrypted with the platform secret (HMAC needs it)
    Column("gateway_ak", String(64), nullable=True, unique=True),
    Column("gateway_sk", Text, nullable=True),
    # plain | sm (SM4-encrypted input/output, SM2-signed cainfo): chosen here, never by the message
    Column("variant", String(8), nullable=False, server_default="plain"),
    Column("sm4_key", Text, nullable=True),  # encrypted with the platform secret
    Column("sm2_public_key", String(130), nullable=True),  # the institution's, to verify its cainfo
    Column("sign_in", String(10), nullable=False, server_default="required"),  # required | optional
)

nonces = Table(
    "nonces",
    metadata,
    Column("paasid", String(64), primary_key=True),
    Column("nonce", String(64), primary_key=True),
    Column("seen_at", DateTime, nullable=False, index=True),
)

# What the HIS sent that the platform keeps for audit and later queries (5202, 3202, 3513) ---------

diagnoses = Table(
    "diagnoses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("visit_id", Integer, ForeignKey("visits.id"), nullable=False, index=True),
    Column("infno", String(6), nullable=False),  # 2203 | 2401 | 2402: a later upload of the same kind replaces
    Column("diag_type", String(3), nullable=True),
    Column("diag_srt_no", Integer, nullable=True),
    Column("diag_code", String(30), nullable=False),
    Column("diag_name", String(300), nullable=True),
    Column("diag_dept", String(100), nullable=True),
    Column("dise_dor_no", String(30), nullable=True),
    Column("dise_dor_name", String(50), nullable=True),
    Column("diag_time", DateTime, nullable=True),
    Column("vali_flag", String(3), nullable=True),
    Column("maindiag_flag", String(3), nullable=True),
    Column("adm_cond", Text, nullable=True),
    Column("recorded_at", DateTime, nullable=False),
)

drug_trace_codes = Table(
    "drug_trace_codes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("visit_id", Integer, ForeignKey("visits.id"), nullable=False, index=True),
    Column("feedetl_sn", String(30), nullable=False),
    Column("drug_trac_codg", String(100), nullable=False, index=True),
    Column("trdn_flag", String(3), nullable=True),  # 拆零标志
    Column("recorded_at", DateTime, nullable=False),
)

reconciliations = Table(
    "reconciliations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("institution_code", String(30), ForeignKey("institutions.code"), nullable=False, index=True),
    Column("msgid", String(40), nullable=True),
    Column("insutype", String(6), nullable=False),
    Column("clr_type", String(6), nullable=False),
    Column("setl_optins", String(6), nullable=False),
    Column("begin_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("refd_setl_flag", String(6), nullable=True),
    Column("fixmedins_refd_setl_flag", String(6), nullable=True),
    Column("their_medfee", Money, nullable=False),
    Column("their_fund", Money, nullable=False),
    Column("their_acct", Money, nullable=False),
    Column("their_count", Integer, nullable=False),
    Column("our_medfee", Money, nullable=False),
    Column("our_fund", Money, nullable=False),
    Column("our_acct", Money, nullable=False),
    Column("our_count", Integer, nullable=False),
    Column("stmt_rslt", String(6), nullable=False),
    Column("at", DateTime, nullable=False),
)

# The lifecycle: contributions, pre-allocations, off-site filings ---------------------------------

contributions = Table(
    "contributions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person_id", Integer, ForeignKey("people.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # employee_month | resident_year
    Column("period", String(7), nullable=False),  # YYYY-MM (employee) or YYYY (resident)
    Column("base", Money, nullable=True),  # monthly contribution base (employee)
    Column("amount", Money, nullable=False),  # premium paid (resident) or base × rate credited
    Column("credited", Money, nullable=False, default=0),  # what went to the personal account
    Column("paid_on", Date, nullable=False),
    Column("paid_by_id", Integer, ForeignKey("people.id"), nullable=True),  # a relative via mutual aid
    Column("in_window", Boolean, nullable=True),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("person_id", "kind", "period", name="uq_contributions_period"),
)

preallocations = Table(
    "preallocations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person_id", Integer, ForeignKey("people.id"), nullable=False, index=True),
    Column("first_month", String(7), nullable=False),
    Column("last_month", String(7), nullable=False),
    Column("monthly", Money, nullable=False),
    Column("credited", Money, nullable=False),
    Column("settled_at", DateTime, nullable=True),  # when a clawback (or the year's end) closed it
    Column("created_at", DateTime, nullable=False),
)

offsite_filings = Table(
    "offsite_filings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person_id", Integer, ForeignKey("people.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # filed (long-term) | temporary
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=True),
    Column("admdvs", String(6), nullable=True),  # where the care happens; NULL: anywhere
    Column("created_at", DateTime, nullable=False),
    Column("cancelled_at", DateTime, nullable=True),
)

# The agency console's staff -------------------------------------------------------------------------

staff = Table(
    "staff",
    metadata,
    Column("username", String(40), primary_key=True),
    Column("name", String(50), nullable=False),
    Column("role", String(16), nullable=False),  # viewer | operator
    Column("password_hash", String(200), nullable=False),
    Column("failures", Integer, nullable=False, default=0),
    Column("locked_until", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False),
    CheckConstraint("role IN ('viewer', 'operator')", name="role"),
)

# Web sessions, sign-in counters and 亲情账户 verifications -------------------------------------------

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # sha256 of the cookie's token: the table opens no session
    Column("area", String(8), nullable=False),  # portal | console
    Column("subject", String(40), nullable=False),  # a person's psn_no | a staff username
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("ended_at", DateTime, nullable=True),  # logout, a later sign-in in the same browser, staff removed
    Index("ix_web_sessions_subject", "area", "subject"),
)

sign_in_counters = Table(
    "sign_in_counters",
    metadata,
    Column("scope", String(16), primary_key=True),  # portal_person (subject: person id) | portal_client (address)
    Column("subject", String(64), primary_key=True),
    Column("failures", Integer, nullable=False, default=0),  # claimed before the password is checked
    Column("window_start", DateTime, nullable=True),
    Column("locked_until", DateTime, nullable=True),
    Column("updated_at", DateTime, nullable=False),
)

proxy_verifications = Table(
    "proxy_verifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("holder_id", Integer, ForeignKey("people.id"), nullable=False, index=True),
    Column("member_id", Integer, ForeignKey("people.id"), nullable=False),
    Column("relation", String(16), nullable=False),  # how the member relates to the holder
    Column("status", String(16), nullable=False),  # pending | confirmed | rejected
    Column("requested_at", DateTime, nullable=False),
    Column("decided_at", DateTime, nullable=True),
    Column("decided_via", String(16), nullable=True),  # console | service | api
    Column("decided_by", String(120), nullable=True),  # who: "演示经办员（operator）", a service's name
    Column("note", Text, nullable=True),
    CheckConstraint("status IN ('pending', 'confirmed', 'rejected')", name="status"),
    Index("ix_proxy_verifications_status", "status", "requested_at"),
)

# The region link (issue 15): the peer regions this instance talks to, and every cross-region
# message it has applied — the record that makes a message take effect once, even when JetStream
# delivers it again after its duplicate window.
region_peers = Table(
    "region_peers",
    metadata,
    Column("admdvs", String(6), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("added_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=True),  # the last message applied from that region
    Column("active", Boolean, nullable=False, default=True),
)

region_messages = Table(
    "region_messages",
    metadata,
    Column("msg_id", String(80), primary_key=True),  # the sender's message id (also Nats-Msg-Id)
    Column("from_region", String(6), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("received_at", DateTime, nullable=False),
    Column("answer", Text, nullable=False),  # the JSON answer, returned as-is to a redelivery
    Column("deliveries", Integer, nullable=False, default=1),  # how many times it arrived
)

# Cross-region settlement (issue 15 phase 2). At the 参保地: one row per reservation — a pending
# transfer (TigerBeetle's pending/post/void) whose amounts are held in the escrow account
# ``X:held:<care region>`` until posted to ``X:due-to:<care region>`` or returned. At the 就医地:
# one row per settlement it booked for another region's insured, and where its post stands.
reservations = Table(
    "reservations",
    metadata,
    Column("reservation_id", String(80), primary_key=True),  # the 就医地's setl_id + revision
    Column("care_region", String(6), nullable=False),
    Column("setl_ref", String(40), nullable=False),  # the 就医地's setl_id
    Column("institution", String(30), nullable=False),
    Column("person_id", Integer, ForeignKey("people.id"), nullable=True, index=True),  # NULL: a void's tombstone
    Column("year", Integer, nullable=False),
    Column("category", String(16), nullable=False),
    Column("status", String(10), nullable=False),  # pending | posted | voided | reversed
    Column("movements", Text, nullable=False),  # JSON [[account, amount, code], …]
    Column("medfee", Money, nullable=False),
    Column("fund_pay", Money, nullable=False),
    Column("own_account_pay", Money, nullable=False),
    Column("mutual_aid_pay", Money, nullable=False),
    Column("cash_pay", Money, nullable=False),
    Column("deductible_delta", Money, nullable=False),
    Column("fund_delta", Money, nullable=False),
    Column("result", Text, nullable=False),  # JSON: the calculation's record, explained like any settlement
    Column("digest", String(64), nullable=False),  # of what was asked, to tell a resend from a clash
    Column("expires_at", DateTime, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("resolved_at", DateTime, nullable=True),  # posted or voided at
    Column("void_reason", String(24), nullable=True),  # failed | timeout | cancelled_before_post | expired
    Column("revision", Integer, nullable=False, default=0),  # cancels and reinstatements after the post
    Index("ix_reservations_status_expires", "status", "expires_at"),
    Index("ix_reservations_region_status", "care_region", "status"),
)

cross_settlements = Table(
    "cross_settlements",
    metadata,
    Column("settlement_id", Integer, ForeignKey("settlements.id"), primary_key=True),
    Column("setl_id", String(40), nullable=False, unique=True),
    Column("reservation_id", String(80), nullable=False, unique=True),
    Column("insured_region", String(6), nullable=False),
    Column("institution", String(30), nullable=False),
    Column("status", String(16), nullable=False),  # awaiting_post | posted | voided
    Column("fund_pay", Money, nullable=False),
    Column("own_account_pay", Money, nullable=False),
    Column("mutual_aid_pay", Money, nullable=False),
    Column("cash_pay", Money, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_cross_settlements_status", "status"),
)

# The monthly clearing between two regions, as each side booked it (one row per month, counterpart
# and role): what was agreed to the fen, or the disagreement and the settlements behind it.
clearings = Table(
    "clearings",
    metadata,
    Column("month", String(7), primary_key=True),
    Column("counterpart", String(6), primary_key=True),
    Column("role", String(6), primary_key=True),  # payer (参保地) | payee (就医地)
    Column("status", String(10), nullable=False),  # agreed | disputed
    Column("total", Money, nullable=False),
    Column("settlements", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("detail", Text, nullable=False),  # JSON: lines per institution, or the differences
    Column("created_at", DateTime, nullable=False),
)

# Pay first, claim back (手工报销) at the 参保地: one row per receipt (care institution + receipt
# number), the same calculation as a direct settlement, the payment to the person in the ledger.
claim_backs = Table(
    "claim_backs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person_id", Integer, ForeignKey("people.id"), nullable=False, index=True),
    Column("care_region", String(6), nullable=False),
    Column("institution", String(30), nullable=False),
    Column("receipt_no", String(50), nullable=False),
    Column("case", String(10), nullable=False),  # unfiled | emergency | filed
    Column("day", Date, nullable=False),
    Column("year", Integer, nullable=False),
    Column("category", String(16), nullable=False),
    Column("medfee", Money, nullable=False),
    Column("fund_pay", Money, nullable=False),
    Column("deductible_delta", Money, nullable=False),
    Column("fund_delta", Money, nullable=False),
    Column("result", Text, nullable=False),  # JSON: the calculation's record
    Column("filed_by", String(60), nullable=False),  # portal:<psn_no> | console:<operator>
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("institution", "receipt_no", name="uq_claim_backs_receipt"),
)

# The daily transactions' tables (issue 13) live in their own module on the same metadata.
from yibao.storage import tx_tables  # noqa: E402, F401
