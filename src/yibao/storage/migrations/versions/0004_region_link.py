"""region link: peer regions and applied cross-region messages (issue 15)

Revision ID: 0004_region_link
Revises: 0003_relations_index
"""

from alembic import op
import sqlalchemy as sa


revision = "0004_region_link"
down_revision = "0003_relations_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "region_peers",
        sa.Column("admdvs", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("admdvs", name=op.f("pk_region_peers")),
    )
    op.create_table(
        "region_messages",
        sa.Column("msg_id", sa.String(length=80), nullable=False),
        sa.Column("from_region", sa.String(length=6), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("msg_id", name=op.f("pk_region_messages")),
    )


def downgrade() -> None:
    op.drop_table("region_messages")
    op.drop_table("region_peers")
