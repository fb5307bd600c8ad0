"""Webhook hardening: remembered callback `webhook-id`s, a grace period for rotated-out agency
secrets, and attempt errors that no longer hold what the endpoint answered.

Agency secrets are sealed at rest too, but not here: the key is the running deployment's setting,
which a migration does not read. Rows stay readable as they are and the service seals them when it
starts (stored values start with `fernet:` once sealed).

Revision ID: 0002b
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002b"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("dunning_agency_callbacks", sa.Column("webhook_id", sa.Text(), nullable=True))
    op.create_unique_constraint(
        "uq_dunning_agency_callbacks_webhook_id",
        "dunning_agency_callbacks",
        ["tenant_id", "agency_id", "webhook_id"],
    )
    op.add_column(
        "dunning_agencies",
        sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True),
    )
    # a secret rotated out before the grace period existed gets the default grace from now
    op.execute(
        "UPDATE dunning_agencies SET previous_secret_until = now() + interval '24 hours' "
        "WHERE previous_secret IS NOT NULL"
    )
    # response bodies of failed attempts were stored; keep the status only
    op.execute(
        "UPDATE dunning_webhook_attempts SET error = 'HTTP ' || status_code "
        "WHERE status_code IS NOT NULL AND error IS NOT NULL"
    )
    op.execute(
        "UPDATE dunning_webhook_deliveries SET last_error = 'HTTP ' || last_status_code "
        "WHERE last_status_code IS NOT NULL AND last_error IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_column("dunning_agencies", "previous_secret_until")
    op.drop_constraint(
        "uq_dunning_agency_callbacks_webhook_id", "dunning_agency_callbacks", type_="unique"
    )
    op.drop_column("dunning_agency_callbacks", "webhook_id")
