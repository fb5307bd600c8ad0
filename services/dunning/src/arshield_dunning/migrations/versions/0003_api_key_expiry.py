"""API keys may expire: the runtime's `api_keys` table gains a nullable `expires_at`.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from arshield_runtime.migrations import add_api_key_expiry, drop_api_key_expiry

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_api_key_expiry(op)


def downgrade() -> None:
    drop_api_key_expiry(op)
