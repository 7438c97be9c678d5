"""cross-region tables speak the domain's names: acct_pay → own_account_pay, mulaid_pay → mutual_aid_pay

The reservations (参保地) and cross settlements (就医地) of issue 15 were created with the national
field names; every other domain table and dataclass says own_account_pay / mutual_aid_pay
(docs/glossary.md), and the national names live only at the gateway boundary.

Revision ID: 0009_cross_region_names
Revises: 0007_transactions
"""

from alembic import op


revision = "0009_cross_region_names"
down_revision = "0007_transactions"
branch_labels = None
depends_on = None

RENAMES = (("acct_pay", "own_account_pay"), ("mulaid_pay", "mutual_aid_pay"))
TABLES = ("reservations", "cross_settlements")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for old, new in RENAMES:
                batch.alter_column(old, new_column_name=new)


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for old, new in RENAMES:
                batch.alter_column(new, new_column_name=old)
