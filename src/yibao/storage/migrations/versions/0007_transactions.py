"""the daily transactions: catalogue entries and matches, exchanged files, filings, and what later
steps of issue 13 keep

Revision ID: 0007_transactions
Revises: 0006_perf
"""

from alembic import op
import sqlalchemy as sa


revision = "0007_transactions"
down_revision = "0006_perf"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("list_type", sa.String(length=6), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("ver", sa.Integer(), nullable=False),
        sa.Column("columns", sa.Text(), nullable=False),
        sa.Column("vali_flag", sa.String(length=3), nullable=False),
        sa.Column("begndate", sa.Date(), nullable=True),
        sa.Column("enddate", sa.Date(), nullable=True),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_entries")),
        sa.UniqueConstraint("list_type", "code", "ver", name="uq_catalog_entries_list_type_code_ver"),
    )
    with op.batch_alter_table("catalog_entries", schema=None) as batch_op:
        batch_op.create_index("ix_catalog_entries_list_type_ver", ["list_type", "ver"], unique=False)

    op.create_table(
        "catalog_matches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("institution_code", sa.String(length=30), nullable=False),
        sa.Column("medins_list_codg", sa.String(length=30), nullable=False),
        sa.Column("medins_list_name", sa.String(length=200), nullable=False),
        sa.Column("list_type", sa.String(length=6), nullable=False),
        sa.Column("med_list_codg", sa.String(length=50), nullable=False),
        sa.Column("begndate", sa.Date(), nullable=False),
        sa.Column("enddate", sa.Date(), nullable=True),
        sa.Column("info", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["institution_code"], ["institutions.code"], name=op.f("fk_catalog_matches_institution_code_institutions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_matches")),
    )
    with op.batch_alter_table("catalog_matches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_matches_institution_code"), ["institution_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalog_matches_med_list_codg"), ["med_list_codg"], unique=False)

    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("institution_code", sa.String(length=30), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("caty", sa.String(length=10), nullable=False),
        sa.Column("begntime", sa.Date(), nullable=False),
        sa.Column("endtime", sa.Date(), nullable=True),
        sa.Column("info", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["institution_code"], ["institutions.code"], name=op.f("fk_departments_institution_code_institutions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
    )
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_departments_institution_code"), ["institution_code"], unique=False)

    op.create_table(
        "exchanged_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("file_qury_no", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("institution_code", sa.String(length=30), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_code"], ["institutions.code"], name=op.f("fk_exchanged_files_institution_code_institutions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchanged_files")),
        sa.UniqueConstraint("file_qury_no", name=op.f("uq_exchanged_files_file_qury_no")),
    )
    with op.batch_alter_table("exchanged_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchanged_files_institution_code"), ["institution_code"], unique=False)

    op.create_table(
        "reconciliation_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("institution_code", sa.String(length=30), nullable=False),
        sa.Column("clr_type", sa.String(length=6), nullable=False),
        sa.Column("begin_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("mismatches", sa.Integer(), nullable=False),
        sa.Column("result_file", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_code"],
            ["institutions.code"],
            name=op.f("fk_reconciliation_runs_institution_code_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_runs")),
    )
    with op.batch_alter_table("reconciliation_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reconciliation_runs_institution_code"), ["institution_code"], unique=False)

    op.create_table(
        "review_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("jr_id", sa.String(length=40), nullable=False),
        sa.Column("institution_code", sa.String(length=30), nullable=False),
        sa.Column("infno", sa.String(length=6), nullable=False),
        sa.Column("rule_id", sa.String(length=20), nullable=False),
        sa.Column("patn_id", sa.String(length=30), nullable=False),
        sa.Column("mdtrt_id", sa.String(length=30), nullable=True),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_code"], ["institutions.code"], name=op.f("fk_review_results_institution_code_institutions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_results")),
        sa.UniqueConstraint("jr_id", name=op.f("uq_review_results_jr_id")),
    )
    with op.batch_alter_table("review_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_results_institution_code"), ["institution_code"], unique=False)

    op.create_table(
        "stock_moves",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("institution_code", sa.String(length=30), nullable=False),
        sa.Column("batch", sa.String(length=30), nullable=False),
        sa.Column("med_list_codg", sa.String(length=50), nullable=False),
        sa.Column("medins_list_codg", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("delta", sa.String(length=24), nullable=False),
        sa.Column("price", sa.String(length=24), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("setl_id", sa.String(length=30), nullable=True),
        sa.Column("psn_no", sa.String(length=30), nullable=True),
        sa.Column("info", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["institution_code"], ["institutions.code"], name=op.f("fk_stock_moves_institution_code_institutions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_moves")),
    )
    with op.batch_alter_table("stock_moves", schema=None) as batch_op:
        batch_op.create_index("ix_stock_moves_institution_code_batch", ["institution_code", "batch"], unique=False)

    op.create_table(
        "clearing_applications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("institution_code", sa.String(length=30), nullable=False),
        sa.Column("clr_type", sa.String(length=6), nullable=False),
        sa.Column("setlym", sa.String(length=6), nullable=False),
        sa.Column("begin_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("medfee", sa.BigInteger(), nullable=False),
        sa.Column("fund", sa.BigInteger(), nullable=False),
        sa.Column("acct", sa.BigInteger(), nullable=False),
        sa.Column("cash", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["institution_code"],
            ["institutions.code"],
            name=op.f("fk_clearing_applications_institution_code_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["reconciliation_runs.id"], name=op.f("fk_clearing_applications_run_id_reconciliation_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clearing_applications")),
    )
    with op.batch_alter_table("clearing_applications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_clearing_applications_institution_code"), ["institution_code"], unique=False
        )

    op.create_table(
        "filings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("institution_code", sa.String(length=30), nullable=False),
        sa.Column("insutype", sa.String(length=6), nullable=True),
        sa.Column("code", sa.String(length=30), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("target_code", sa.String(length=30), nullable=True),
        sa.Column("target_name", sa.String(length=200), nullable=True),
        sa.Column("begndate", sa.Date(), nullable=False),
        sa.Column("enddate", sa.Date(), nullable=True),
        sa.Column("info", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.Column("cancel_memo", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["institution_code"], ["institutions.code"], name=op.f("fk_filings_institution_code_institutions")
        ),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_filings_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filings")),
    )
    with op.batch_alter_table("filings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_filings_person_id"), ["person_id"], unique=False)

    op.create_table(
        "reconciliation_lines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("setl_id", sa.String(length=30), nullable=False),
        sa.Column("refd_setl_flag", sa.String(length=3), nullable=False),
        sa.Column("memo", sa.String(length=200), nullable=False),
        sa.Column("their_medfee", sa.BigInteger(), nullable=True),
        sa.Column("our_medfee", sa.BigInteger(), nullable=True),
        sa.Column("their_fund", sa.BigInteger(), nullable=True),
        sa.Column("our_fund", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["reconciliation_runs.id"], name=op.f("fk_reconciliation_lines_run_id_reconciliation_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_lines")),
    )
    with op.batch_alter_table("reconciliation_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reconciliation_lines_run_id"), ["run_id"], unique=False)

    op.create_table(
        "review_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("jr_id", sa.String(length=40), nullable=False),
        sa.Column("institution_code", sa.String(length=30), nullable=False),
        sa.Column("warn_type", sa.String(length=3), nullable=False),
        sa.Column("dspo_way", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_code"], ["institutions.code"], name=op.f("fk_review_feedback_institution_code_institutions")
        ),
        sa.ForeignKeyConstraint(
            ["jr_id"], ["review_results.jr_id"], name=op.f("fk_review_feedback_jr_id_review_results")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_feedback")),
        sa.UniqueConstraint("jr_id", name=op.f("uq_review_feedback_jr_id")),
    )
    op.create_table(
        "stock_trace_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("move_id", sa.Integer(), nullable=False),
        sa.Column("drug_trac_codg", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["move_id"], ["stock_moves.id"], name=op.f("fk_stock_trace_codes_move_id_stock_moves")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_trace_codes")),
    )
    with op.batch_alter_table("stock_trace_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_trace_codes_drug_trac_codg"), ["drug_trac_codg"], unique=False)
        batch_op.create_index(batch_op.f("ix_stock_trace_codes_move_id"), ["move_id"], unique=False)

    op.create_table(
        "visit_flags",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("institution_code", sa.String(length=30), nullable=False),
        sa.Column("flag_type", sa.String(length=30), nullable=False),
        sa.Column("flag", sa.String(length=30), nullable=False),
        sa.Column("memo", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_code"], ["institutions.code"], name=op.f("fk_visit_flags_institution_code_institutions")
        ),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name=op.f("fk_visit_flags_visit_id_visits")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_flags")),
    )
    with op.batch_alter_table("visit_flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_flags_institution_code"), ["institution_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_visit_flags_visit_id"), ["visit_id"], unique=False)

    op.create_table(
        "settlement_lists",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("settlement_id", sa.Integer(), nullable=False),
        sa.Column("institution_code", sa.String(length=30), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=3), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("qc", sa.Text(), nullable=False),
        sa.Column("qc_version", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_code"], ["institutions.code"], name=op.f("fk_settlement_lists_institution_code_institutions")
        ),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_settlement_lists_person_id_people")),
        sa.ForeignKeyConstraint(
            ["settlement_id"], ["settlements.id"], name=op.f("fk_settlement_lists_settlement_id_settlements")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_lists")),
        sa.UniqueConstraint("settlement_id", name=op.f("uq_settlement_lists_settlement_id")),
    )
    with op.batch_alter_table("settlement_lists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_settlement_lists_institution_code"), ["institution_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_settlement_lists_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("settlement_lists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_settlement_lists_person_id"))
        batch_op.drop_index(batch_op.f("ix_settlement_lists_institution_code"))

    op.drop_table("settlement_lists")
    with op.batch_alter_table("visit_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_flags_visit_id"))
        batch_op.drop_index(batch_op.f("ix_visit_flags_institution_code"))

    op.drop_table("visit_flags")
    with op.batch_alter_table("stock_trace_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_trace_codes_move_id"))
        batch_op.drop_index(batch_op.f("ix_stock_trace_codes_drug_trac_codg"))

    op.drop_table("stock_trace_codes")
    op.drop_table("review_feedback")
    with op.batch_alter_table("reconciliation_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reconciliation_lines_run_id"))

    op.drop_table("reconciliation_lines")
    with op.batch_alter_table("filings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_filings_person_id"))

    op.drop_table("filings")
    with op.batch_alter_table("clearing_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clearing_applications_institution_code"))

    op.drop_table("clearing_applications")
    with op.batch_alter_table("stock_moves", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_moves_institution_code_batch")

    op.drop_table("stock_moves")
    with op.batch_alter_table("review_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_results_institution_code"))

    op.drop_table("review_results")
    with op.batch_alter_table("reconciliation_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reconciliation_runs_institution_code"))

    op.drop_table("reconciliation_runs")
    with op.batch_alter_table("exchanged_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchanged_files_institution_code"))

    op.drop_table("exchanged_files")
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_departments_institution_code"))

    op.drop_table("departments")
    with op.batch_alter_table("catalog_matches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_matches_med_list_codg"))
        batch_op.drop_index(batch_op.f("ix_catalog_matches_institution_code"))

    op.drop_table("catalog_matches")
    with op.batch_alter_table("catalog_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_catalog_entries_list_type_ver")

    op.drop_table("catalog_entries")
