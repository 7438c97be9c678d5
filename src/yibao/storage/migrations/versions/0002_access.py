"""web sessions, sign-in counters, 亲情账户 verifications

Sessions become server-side records (logout and a later sign-in end them; the console re-reads the
staff row on every request); portal sign-in failures get counters of their own, per person and per
client address, apart from the counter PIN's; an adult's 亲情账户 binding waits for a confirmed
verification.

Revision ID: 0002_access
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa


revision = "0002_access"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_counters",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=True),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "subject", name=op.f("pk_sign_in_counters")),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("area", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
    )
    op.create_index("ix_web_sessions_subject", "web_sessions", ["area", "subject"], unique=False)
    op.create_table(
        "proxy_verifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_via", sa.String(length=16), nullable=True),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'confirmed', 'rejected')", name=op.f("ck_proxy_verifications_status")
        ),
        sa.ForeignKeyConstraint(["holder_id"], ["people.id"], name=op.f("fk_proxy_verifications_holder_id_people")),
        sa.ForeignKeyConstraint(["member_id"], ["people.id"], name=op.f("fk_proxy_verifications_member_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proxy_verifications")),
    )
    op.create_index(op.f("ix_proxy_verifications_holder_id"), "proxy_verifications", ["holder_id"], unique=False)
    op.create_index("ix_proxy_verifications_status", "proxy_verifications", ["status", "requested_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_proxy_verifications_status", table_name="proxy_verifications")
    op.drop_index(op.f("ix_proxy_verifications_holder_id"), table_name="proxy_verifications")
    op.drop_table("proxy_verifications")
    op.drop_index("ix_web_sessions_subject", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_table("sign_in_counters")
