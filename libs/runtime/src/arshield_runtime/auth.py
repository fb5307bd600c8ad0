"""Tenant-bound API keys, hashed at rest, with scopes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from arshield_runtime.db import api_keys

Scope = Literal["read", "write", "agency", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "write", "agency", "admin")
_PREFIX = "ars"


@dataclass(frozen=True)
class Principal:
    """Who is calling: one tenant, some scopes (and for agencies, which agency)."""

    key_id: str
    tenant_id: str
    name: str
    scopes: frozenset[str]


def hash_key(secret: str) -> str:
    # Keys are 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_api_key(
    engine: AsyncEngine, *, tenant_id: str, name: str, scopes: list[str]
) -> str:
    """Store a new key's hash and return the key itself (shown once, never stored)."""
    unknown = set(scopes) - set(SCOPES)
    if unknown or not scopes:
        raise ValueError(f"scopes must be a non-empty subset of {SCOPES}, not {sorted(unknown)}")
    key_id = secrets.token_hex(6)
    secret = f"{_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    async with engine.begin() as connection:
        await connection.execute(
            api_keys.insert().values(
                key_id=key_id,
                key_hash=hash_key(secret),
                tenant_id=tenant_id,
                name=name,
                scopes=sorted(set(scopes)),
            )
        )
    return secret


async def authenticate(engine: AsyncEngine, secret: str) -> Principal | None:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                sa.select(api_keys).where(
                    api_keys.c.key_hash == hash_key(secret), api_keys.c.revoked_at.is_(None)
                )
            )
        ).first()
    if row is None:
        return None
    return Principal(row.key_id, row.tenant_id, row.name, frozenset(row.scopes))
