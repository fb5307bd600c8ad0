"""The worklist names a missed deadline: the day it was found missed and its consequence.

Revision 0001 creates the tables from `adapters/tables.py` as it stands, so on a new database the
columns already exist: they are added only where missing.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE insurance_deadlines ADD COLUMN IF NOT EXISTS missed_on date")
    op.execute("ALTER TABLE insurance_deadlines ADD COLUMN IF NOT EXISTS consequence text")


def downgrade() -> None:
    op.execute("ALTER TABLE insurance_deadlines DROP COLUMN IF EXISTS consequence")
    op.execute("ALTER TABLE insurance_deadlines DROP COLUMN IF EXISTS missed_on")
