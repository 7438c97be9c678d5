"""relations.to_person_id indexed: relations_of() looks a person up on both sides

Revision ID: 0003_relations_index
Revises: 0002_access
Create Date: 2026-12-02 14:30:00

``relations_of`` filters ``of_person_id IN … OR to_person_id IN …``. ``of_person_id`` leads the
unique (of_person_id, to_person_id) index; ``to_person_id`` had no index of its own, so every
settlement read the whole relations table (or that index end to end), a cost that grows with the
population. See bench/results/ for the plans before and after.
"""

from alembic import op


revision = "0003_relations_index"
down_revision = "0002_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_relations_to_person_id"), "relations", ["to_person_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_relations_to_person_id"), table_name="relations")
