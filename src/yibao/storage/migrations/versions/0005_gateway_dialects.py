"""gateway dialects: provincial AK/SK, SM2/SM4 keys, sign-in option; audit fields of requests

Revision ID: 0005_gateway_dialects
Revises: 0004_region_link
"""

from alembic import op
import sqlalchemy as sa


revision = "0005_gateway_dialects"
down_revision = "0004_region_link"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("institution_credentials") as b:
        b.add_column(sa.Column("gateway_ak", sa.String(length=64), nullable=True))
        b.add_column(sa.Column("gateway_sk", sa.Text(), nullable=True))
        b.add_column(sa.Column("variant", sa.String(length=8), server_default="plain", nullable=False))
        b.add_column(sa.Column("sm4_key", sa.Text(), nullable=True))
        b.add_column(sa.Column("sm2_public_key", sa.String(length=130), nullable=True))
        b.add_column(sa.Column("sign_in", sa.String(length=10), server_default="required", nullable=False))
        b.create_unique_constraint(op.f("uq_institution_credentials_gateway_ak"), ["gateway_ak"])
    with op.batch_alter_table("fee_lines") as b:
        b.add_column(sa.Column("rxno", sa.String(length=30), nullable=True))
        b.add_column(sa.Column("rx_circ_flag", sa.String(length=3), nullable=True))
        b.add_column(sa.Column("bilg_dept_codg", sa.String(length=30), nullable=True))
        b.add_column(sa.Column("bilg_dept_name", sa.String(length=100), nullable=True))
        b.add_column(sa.Column("bilg_dr_codg", sa.String(length=30), nullable=True))
        b.add_column(sa.Column("bilg_dr_name", sa.String(length=50), nullable=True))
        b.add_column(sa.Column("hosp_appr_flag", sa.String(length=3), nullable=True))
        b.add_column(sa.Column("info", sa.Text(), nullable=True))
    with op.batch_alter_table("settlements") as b:
        b.add_column(sa.Column("info", sa.Text(), nullable=True))
    op.create_table(
        "diagnoses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("infno", sa.String(length=6), nullable=False),
        sa.Column("diag_type", sa.String(length=3), nullable=True),
        sa.Column("diag_srt_no", sa.Integer(), nullable=True),
        sa.Column("diag_code", sa.String(length=30), nullable=False),
        sa.Column("diag_name", sa.String(length=300), nullable=True),
        sa.Column("diag_dept", sa.String(length=100), nullable=True),
        sa.Column("dise_dor_no", sa.String(length=30), nullable=True),
        sa.Column("dise_dor_name", sa.String(length=50), nullable=True),
        sa.Column("diag_time", sa.DateTime(), nullable=True),
        sa.Column("vali_flag", sa.String(length=3), nullable=True),
        sa.Column("maindiag_flag", sa.String(length=3), nullable=True),
        sa.Column("adm_cond", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name=op.f("fk_diagnoses_visit_id_visits")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnoses")),
    )
    op.create_index(op.f("ix_diagnoses_visit_id"), "diagnoses", ["visit_id"], unique=False)
    op.create_table(
        "drug_trace_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("feedetl_sn", sa.String(length=30), nullable=False),
        sa.Column("drug_trac_codg", sa.String(length=100), nullable=False),
        sa.Column("trdn_flag", sa.String(length=3), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name=op.f("fk_drug_trace_codes_visit_id_visits")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drug_trace_codes")),
    )
    op.create_index(op.f("ix_drug_trace_codes_visit_id"), "drug_trace_codes", ["visit_id"], unique=False)
    op.create_index(op.f("ix_drug_trace_codes_drug_trac_codg"), "drug_trace_codes", ["drug_trac_codg"], unique=False)
    op.create_table(
        "reconciliations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("institution_code", sa.String(length=30), nullable=False),
        sa.Column("msgid", sa.String(length=40), nullable=True),
        sa.Column("insutype", sa.String(length=6), nullable=False),
        sa.Column("clr_type", sa.String(length=6), nullable=False),
        sa.Column("setl_optins", sa.String(length=6), nullable=False),
        sa.Column("begin_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("refd_setl_flag", sa.String(length=6), nullable=True),
        sa.Column("fixmedins_refd_setl_flag", sa.String(length=6), nullable=True),
        sa.Column("their_medfee", sa.BigInteger(), nullable=False),
        sa.Column("their_fund", sa.BigInteger(), nullable=False),
        sa.Column("their_acct", sa.BigInteger(), nullable=False),
        sa.Column("their_count", sa.Integer(), nullable=False),
        sa.Column("our_medfee", sa.BigInteger(), nullable=False),
        sa.Column("our_fund", sa.BigInteger(), nullable=False),
        sa.Column("our_acct", sa.BigInteger(), nullable=False),
        sa.Column("our_count", sa.Integer(), nullable=False),
        sa.Column("stmt_rslt", sa.String(length=6), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_code"], ["institutions.code"], name=op.f("fk_reconciliations_institution_code_institutions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliations")),
    )
    op.create_index(op.f("ix_reconciliations_institution_code"), "reconciliations", ["institution_code"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_reconciliations_institution_code"), table_name="reconciliations")
    op.drop_table("reconciliations")
    op.drop_index(op.f("ix_drug_trace_codes_drug_trac_codg"), table_name="drug_trace_codes")
    op.drop_index(op.f("ix_drug_trace_codes_visit_id"), table_name="drug_trace_codes")
    op.drop_table("drug_trace_codes")
    op.drop_index(op.f("ix_diagnoses_visit_id"), table_name="diagnoses")
    op.drop_table("diagnoses")
    with op.batch_alter_table("settlements") as b:
        b.drop_column("info")
    with op.batch_alter_table("fee_lines") as b:
        for name in (
            "info",
            "hosp_appr_flag",
            "bilg_dr_name",
            "bilg_dr_codg",
            "bilg_dept_name",
            "bilg_dept_codg",
            "rx_circ_flag",
            "rxno",
        ):
            b.drop_column(name)
    with op.batch_alter_table("institution_credentials") as b:
        b.drop_constraint(op.f("uq_institution_credentials_gateway_ak"), type_="unique")
        for name in ("sign_in", "sm2_public_key", "sm4_key", "variant", "gateway_sk", "gateway_ak"):
            b.drop_column(name)
