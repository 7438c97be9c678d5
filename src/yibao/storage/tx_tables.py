"""Tables of the reference data, files and filings the gateway's daily transactions keep (issue 13).

Declared on the shared ``storage.metadata`` (``tables`` imports this module, so ``tables.metadata``
holds them too), in their own module so the transactions' storage stays out of the settlement's
schema file.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from yibao.storage.metadata import metadata

# A catalogue entry as the agency loaded it: one row per (download transaction, code, version); a
# changed entry is a new row with a higher version, so a download "newer than ver" is a range.
catalog_entries = Table(
    "catalog_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("list_type", String(6), nullable=False),  # the download transaction: 1301 西药中成药 …
    Column("code", String(50), nullable=False),
    Column("name", String(200), nullable=False),
    Column("ver", Integer, nullable=False),
    Column("columns", Text, nullable=False),  # JSON {spec column label: text}, the file's row
    Column("vali_flag", String(3), nullable=False),
    Column("begndate", Date, nullable=True),
    Column("enddate", Date, nullable=True),
    Column("loaded_at", DateTime, nullable=False),
    UniqueConstraint("list_type", "code", "ver", name="uq_catalog_entries_list_type_code_ver"),
    Index("ix_catalog_entries_list_type_ver", "list_type", "ver"),
)

# 3301/3302: an institution's own code matched to a national one (目录对照).
catalog_matches = Table(
    "catalog_matches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("institution_code", String(30), ForeignKey("institutions.code"), nullable=False, index=True),
    Column("medins_list_codg", String(30), nullable=False),
    Column("medins_list_name", String(200), nullable=False),
    Column("list_type", String(6), nullable=False),
    Column("med_list_codg", String(50), nullable=False, index=True),
    Column("begndate", Date, nullable=False),
    Column("enddate", Date, nullable=True),
    Column("info", Text, nullable=True),  # what else was sent (剂型, 规格 …), JSON
    Column("created_at", DateTime, nullable=False),
    Column("cancelled_at", DateTime, nullable=True),
)

# 9101 uploads and files the platform produces for 9102 (3202 results).
exchanged_files = Table(
    "exchanged_files",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("file_qury_no", String(40), nullable=False, unique=True),
    Column("filename", String(200), nullable=False),
    Column("institution_code", String(30), ForeignKey("institutions.code"), nullable=False, index=True),
    Column("purpose", String(10), nullable=False),  # upload | result
    Column("content", LargeBinary, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

# 2501–2507: transfer, chronic/special disease, designated institution and accident filings (备案).
filings = Table(
    "filings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(12), nullable=False),  # transfer | chronic | designated | accident
    Column("person_id", Integer, ForeignKey("people.id"), nullable=False, index=True),
    Column("institution_code", String(30), ForeignKey("institutions.code"), nullable=False),  # who filed it
    Column("insutype", String(6), nullable=True),
    Column("code", String(30), nullable=True),  # the disease (chronic) or diagnosis (transfer)
    Column("name", String(300), nullable=True),
    Column("target_code", String(30), nullable=True),  # transfer: to; designated: the chosen institution
    Column("target_name", String(200), nullable=True),
    Column("begndate", Date, nullable=False),
    Column("enddate", Date, nullable=True),
    Column("info", Text, nullable=False),  # the request as sent, JSON
    Column("created_at", DateTime, nullable=False),
    Column("cancelled_at", DateTime, nullable=True),
    Column("cancel_memo", String(500), nullable=True),
)

# 4101–4105: 医疗保障基金结算清单, one per settlement, with its quality-control results.
settlement_lists = Table(
    "settlement_lists",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("settlement_id", Integer, ForeignKey("settlements.id"), nullable=False, unique=True),
    Column("institution_code", String(30), ForeignKey("institutions.code"), nullable=False, index=True),
    Column("person_id", Integer, ForeignKey("people.id"), nullable=False, index=True),
    Column("status", String(3), nullable=False),  # stas_type: 0 未提交, 1 已提交
    Column("record", Text, nullable=False),  # every node as sent, JSON
    Column("qc", Text, nullable=False),  # the quality-control findings, JSON
    Column("qc_version", String(20), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# 3401–3403, 5101: an institution's departments.
departments = Table(
    "departments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("institution_code", String(30), ForeignKey("institutions.code"), nullable=False, index=True),
    Column("code", String(30), nullable=False),
    Column("name", String(100), nullable=False),
    Column("caty", String(10), nullable=False),
    Column("begntime", Date, nullable=False),
    Column("endtime", Date, nullable=True),
    Column("info", Text, nullable=False),  # the deptinfo as sent, JSON
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("cancelled_at", DateTime, nullable=True),
)

# 3101/3102 findings (each a jr_id) and the institution's 3103 feedback on them.
review_results = Table(
    "review_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("jr_id", String(40), nullable=False, unique=True),
    Column("institution_code", String(30), ForeignKey("institutions.code"), nullable=False, index=True),
    Column("infno", String(6), nullable=False),
    Column("rule_id", String(20), nullable=False),
    Column("patn_id", String(30), nullable=False),
    Column("mdtrt_id", String(30), nullable=True),
    Column("ref", String(40), nullable=False),  # the order line (rx_id)
    Column("content", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

review_feedback = Table(
    "review_feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("jr_id", String(40), ForeignKey("review_results.jr_id"), nullable=False, unique=True),
    Column("institution_code", String(30), ForeignKey("institutions.code"), nullable=False),
    Column("warn_type", String(3), nullable=False),  # 1 事前, 2 事中
    Column("dspo_way", String(3), nullable=False),  # 1 继续执行医嘱, 2 返回修改医嘱
    Column("reason", String(500), nullable=True),
    Column("created_at", DateTime, nullable=False),
)

# 3202: each line of a detail reconciliation that did not agree (and a row per run with its counts).
reconciliation_runs = Table(
    "reconciliation_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("institution_code", String(30), ForeignKey("institutions.code"), nullable=False, index=True),
    Column("clr_type", String(6), nullable=False),
    Column("begin_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("lines", Integer, nullable=False),
    Column("mismatches", Integer, nullable=False),
    Column("result_file", String(40), nullable=False),
    Column("at", DateTime, nullable=False),
)

reconciliation_lines = Table(
    "reconciliation_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("reconciliation_runs.id"), nullable=False, index=True),
    Column("setl_id", String(30), nullable=False),
    Column("refd_setl_flag", String(3), nullable=False),
    Column("memo", String(200), nullable=False),
    Column("their_medfee", BigInteger, nullable=True),
    Column("our_medfee", BigInteger, nullable=True),
    Column("their_fund", BigInteger, nullable=True),
    Column("our_fund", BigInteger, nullable=True),
)

# Clearing (清算) for a month: what the fund owes an institution, applied for after it agreed line by line.
clearing_applications = Table(
    "clearing_applications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("institution_code", String(30), ForeignKey("institutions.code"), nullable=False, index=True),
    Column("clr_type", String(6), nullable=False),
    Column("setlym", String(6), nullable=False),
    Column("begin_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("count", Integer, nullable=False),
    Column("medfee", BigInteger, nullable=False),
    Column("fund", BigInteger, nullable=False),
    Column("acct", BigInteger, nullable=False),
    Column("cash", BigInteger, nullable=False),
    Column("run_id", Integer, ForeignKey("reconciliation_runs.id"), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("cancelled_at", DateTime, nullable=True),
)

# 2406/2407: special attributes of a visit (就医特殊属性).
visit_flags = Table(
    "visit_flags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("visit_id", Integer, ForeignKey("visits.id"), nullable=False, index=True),
    Column("institution_code", String(30), ForeignKey("institutions.code"), nullable=False, index=True),
    Column("flag_type", String(30), nullable=False),
    Column("flag", String(30), nullable=False),
    Column("memo", String(500), nullable=True),
    Column("created_at", DateTime, nullable=False),
)

# 3501–3513: a pharmacy's stock as moves per batch (进销存), with drug traceability codes.
stock_moves = Table(
    "stock_moves",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("institution_code", String(30), ForeignKey("institutions.code"), nullable=False),
    Column("batch", String(30), nullable=False),  # fixmedins_bchno
    Column("med_list_codg", String(50), nullable=False),
    Column("medins_list_codg", String(30), nullable=False),  # fixmedins_hilist_id
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),  # count | change | purchase | purchase_return | sale | sale_return
    Column("delta", String(24), nullable=False),  # exact signed quantity, text
    Column("price", String(24), nullable=True),
    Column("at", DateTime, nullable=False),  # when it happened, as the pharmacy says
    Column("setl_id", String(30), nullable=True),
    Column("psn_no", String(30), nullable=True),
    Column("info", Text, nullable=False),  # the node as sent, JSON
    Column("created_at", DateTime, nullable=False),
    Column("deleted_at", DateTime, nullable=True),
    Index("ix_stock_moves_institution_code_batch", "institution_code", "batch"),
)

stock_trace_codes = Table(
    "stock_trace_codes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("move_id", Integer, ForeignKey("stock_moves.id"), nullable=False, index=True),
    Column("drug_trac_codg", String(100), nullable=False, index=True),
)
