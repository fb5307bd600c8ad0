"""Partner webhook secrets at rest: sealed with Fernet (AES-128-CBC with an HMAC) under the
deployment's `secrets_key`, so a database dump does not hand out the keys to sign callbacks.

A stored value starts with `fernet:` when sealed. Rows written before sealing existed hold the
plain `whsec_` secret; they are still read as they are, and `seal_plaintext_secrets` (run when the
service starts) rewrites them sealed.
"""

from __future__ import annotations

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.ext.asyncio import AsyncEngine

from arshield_runtime.webhooks.tables import WebhookTables

SEALED = "fernet:"


class SecretUnreadable(ValueError):  # noqa: N818 - reads as the verdict it is
    """A sealed secret this deployment's key cannot open (the key changed)."""


class SecretBox:
    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key)

    def seal(self, secret: str) -> str:
        return SEALED + self._fernet.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(SEALED):
            return stored  # written before sealing; sealed at the next start
        try:
            return self._fernet.decrypt(stored[len(SEALED) :].encode()).decode()
        except InvalidToken:
            raise SecretUnreadable("the partner's secret does not open with this key") from None

    def open_optional(self, stored: str | None) -> str | None:
        return None if stored is None else self.open(stored)


async def seal_plaintext_secrets(engine: AsyncEngine, box: SecretBox, tables: WebhookTables) -> int:
    """Seal every endpoint secret still stored in plain text; returns how many rows changed."""
    a = tables.endpoints
    key = a.c[tables.key]
    changed = 0
    async with engine.begin() as connection:
        rows = (
            await connection.execute(
                sa.select(key, a.c.secret, a.c.previous_secret)
                .where(
                    sa.or_(
                        sa.not_(a.c.secret.startswith(SEALED)),
                        sa.and_(
                            a.c.previous_secret.is_not(None),
                            sa.not_(a.c.previous_secret.startswith(SEALED)),
                        ),
                    )
                )
                .with_for_update()
            )
        ).all()
        for row in rows:
            values = {
                "secret": row.secret if row.secret.startswith(SEALED) else box.seal(row.secret),
                "previous_secret": row.previous_secret
                if row.previous_secret is None or row.previous_secret.startswith(SEALED)
                else box.seal(row.previous_secret),
            }
            await connection.execute(a.update().where(key == row[0]).values(values))
            changed += 1
    return changed
