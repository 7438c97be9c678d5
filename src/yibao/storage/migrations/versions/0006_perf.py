"""account_shards: the totals of accounts without a floor, appended to by shard (issue 11)

Revision ID: 0006_perf
Revises: 0008_cross_region
Create Date: 2026-12-02 18:40:00

A pooled fund's, an institution's and a cash account's totals were one row every settlement
updated: settlements of different families queued on it. Their postings now add to one of
``ledger.model.SHARDS`` rows picked by the entry's key; an account's totals are its own row plus
its shards (``LedgerStore.roll_up`` folds the shards back in). Person buckets keep their floor and
their single locked row.
"""

from alembic import op
import sqlalchemy as sa


revision = "0006_perf"
down_revision = "0008_cross_region"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_shards",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("debits", sa.BigInteger(), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("debits >= 0 AND credits >= 0", name=op.f("ck_account_shards_posted_non_negative")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_account_shards_account_id_accounts")),
        sa.PrimaryKeyConstraint("account_id", "shard", name=op.f("pk_account_shards")),
    )


def downgrade() -> None:
    # Fold the shards back into their accounts before dropping them.
    op.execute(
        "UPDATE accounts SET debits = debits + (SELECT COALESCE(SUM(s.debits), 0) FROM account_shards s"
        " WHERE s.account_id = accounts.id), credits = credits + (SELECT COALESCE(SUM(s.credits), 0)"
        " FROM account_shards s WHERE s.account_id = accounts.id)"
    )
    op.drop_table("account_shards")
