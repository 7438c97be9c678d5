"""cross-region settlement: reservations at the 参保地, cross settlements at the 就医地, clearings (issue 15)

Revision ID: 0008_cross_region
Revises: 0005_gateway_dialects
"""

from alembic import op
import sqlalchemy as sa


revision = "0008_cross_region"
down_revision = "0005_gateway_dialects"
branch_labels = None
depends_on = None


def _money(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "reservations",
        sa.Column("reservation_id", sa.String(length=80), nullable=False),
        sa.Column("care_region", sa.String(length=6), nullable=False),
        sa.Column("setl_ref", sa.String(length=40), nullable=False),
        sa.Column("institution", sa.String(length=30), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("movements", sa.Text(), nullable=False),
        _money("medfee"),
        _money("fund_pay"),
        _money("acct_pay"),
        _money("mulaid_pay"),
        _money("cash_pay"),
        _money("deductible_delta"),
        _money("fund_delta"),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("void_reason", sa.String(length=24), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_reservations_person_id_people")),
        sa.PrimaryKeyConstraint("reservation_id", name=op.f("pk_reservations")),
    )
    op.create_index(op.f("ix_reservations_person_id"), "reservations", ["person_id"])
    op.create_index("ix_reservations_status_expires", "reservations", ["status", "expires_at"])
    op.create_index("ix_reservations_region_status", "reservations", ["care_region", "status"])
    op.create_table(
        "cross_settlements",
        sa.Column("settlement_id", sa.Integer(), nullable=False),
        sa.Column("setl_id", sa.String(length=40), nullable=False),
        sa.Column("reservation_id", sa.String(length=80), nullable=False),
        sa.Column("insured_region", sa.String(length=6), nullable=False),
        sa.Column("institution", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _money("fund_pay"),
        _money("acct_pay"),
        _money("mulaid_pay"),
        _money("cash_pay"),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["settlement_id"], ["settlements.id"], name=op.f("fk_cross_settlements_settlement_id_settlements")
        ),
        sa.PrimaryKeyConstraint("settlement_id", name=op.f("pk_cross_settlements")),
        sa.UniqueConstraint("setl_id", name=op.f("uq_cross_settlements_setl_id")),
        sa.UniqueConstraint("reservation_id", name=op.f("uq_cross_settlements_reservation_id")),
    )
    op.create_index("ix_cross_settlements_status", "cross_settlements", ["status"])
    op.create_table(
        "clearings",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("counterpart", sa.String(length=6), nullable=False),
        sa.Column("role", sa.String(length=6), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        _money("total"),
        sa.Column("settlements", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("month", "counterpart", "role", name=op.f("pk_clearings")),
    )

    op.create_table(
        "claim_backs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("care_region", sa.String(length=6), nullable=False),
        sa.Column("institution", sa.String(length=30), nullable=False),
        sa.Column("receipt_no", sa.String(length=50), nullable=False),
        sa.Column("case", sa.String(length=10), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        _money("medfee"),
        _money("fund_pay"),
        _money("deductible_delta"),
        _money("fund_delta"),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("filed_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_claim_backs_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_backs")),
        sa.UniqueConstraint("institution", "receipt_no", name="uq_claim_backs_receipt"),
    )
    op.create_index(op.f("ix_claim_backs_person_id"), "claim_backs", ["person_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_claim_backs_person_id"), table_name="claim_backs")
    op.drop_table("claim_backs")
    op.drop_table("clearings")
    op.drop_index("ix_cross_settlements_status", table_name="cross_settlements")
    op.drop_table("cross_settlements")
    op.drop_index("ix_reservations_region_status", table_name="reservations")
    op.drop_index("ix_reservations_status_expires", table_name="reservations")
    op.drop_index(op.f("ix_reservations_person_id"), table_name="reservations")
    op.drop_table("reservations")
