"""Tenant-bound API keys, hashed at rest, with scopes, an optional expiry and revocation."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, Literal, TypeVar

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
    expires_at: datetime | None = None


@dataclass(frozen=True)
class ApiKeyInfo:
    """A stored key as an operator sees it: never its secret nor its hash."""

    key_id: str
    tenant_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


def hash_key(secret: str) -> str:
    # Keys are 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_api_key(
    engine: AsyncEngine,
    *,
    tenant_id: str,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
) -> str:
    """Store a new key's hash and return the key itself (shown once, never stored)."""
    unknown = set(scopes) - set(SCOPES)
    if unknown or not scopes:
        raise ValueError(f"scopes must be a non-empty subset of {SCOPES}, not {sorted(unknown)}")
    if expires_at is not None and expires_at.tzinfo is None:
        raise ValueError("expires_at must carry a time zone")
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
                expires_at=expires_at,
            )
        )
    return secret


def expiry_in_days(days: float | None) -> datetime | None:
    return None if days is None else datetime.now(UTC) + timedelta(days=days)


async def revoke_api_key(engine: AsyncEngine, key_id: str) -> bool:
    """Revoke a key; False when no live key has that id.

    Running services trust a key they looked up for `key_cache_seconds` (see `KeyCache`), so a
    revocation takes effect everywhere within that time.
    """
    async with engine.begin() as connection:
        result = await connection.execute(
            api_keys.update()
            .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=sa.func.now())
        )
    return bool(result.rowcount)


async def list_api_keys(engine: AsyncEngine, *, tenant_id: str | None = None) -> list[ApiKeyInfo]:
    query = sa.select(
        api_keys.c.key_id,
        api_keys.c.tenant_id,
        api_keys.c.name,
        api_keys.c.scopes,
        api_keys.c.created_at,
        api_keys.c.expires_at,
        api_keys.c.revoked_at,
    ).order_by(api_keys.c.tenant_id, api_keys.c.created_at, api_keys.c.key_id)
    if tenant_id is not None:
        query = query.where(api_keys.c.tenant_id == tenant_id)
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [
        ApiKeyInfo(
            r.key_id,
            r.tenant_id,
            r.name,
            tuple(r.scopes),
            r.created_at,
            r.expires_at,
            r.revoked_at,
        )
        for r in rows
    ]


async def _lookup(engine: AsyncEngine, digest: str) -> Principal | None:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                sa.select(api_keys).where(
                    api_keys.c.key_hash == digest,
                    api_keys.c.revoked_at.is_(None),
                    sa.or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > sa.func.now()),
                )
            )
        ).first()
    if row is None:
        return None
    return Principal(row.key_id, row.tenant_id, row.name, frozenset(row.scopes), row.expires_at)


K = TypeVar("K")
V = TypeVar("V")


class BoundedTtlMap(Generic[K, V]):
    """A map whose entries lapse after their own time to live and that holds at most `size`.

    When full, the least recently written entry goes first. Small and dependency-free, because
    what it guards (key lookups, rate-limit buckets) needs only get, put and a bound.
    """

    def __init__(self, size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.size, self.clock = size, clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def find(self, key: K) -> tuple[bool, V | None]:
        """(whether a live entry exists, its value)."""
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        if entry[0] <= self.clock():
            del self._entries[key]
            return False, None
        return True, entry[1]

    def get(self, key: K) -> V | None:
        return self.find(key)[1]

    def put(self, key: K, value: V, ttl: float) -> None:
        self._entries[key] = (self.clock() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def pop(self, key: K) -> None:
        self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)


class KeyCache:
    """Recent key lookups by hash, so a request checks its key without a database round trip.

    Valid keys are trusted for `positive_seconds` (never past their expiry), unknown ones refused
    for `negative_seconds`; so a revoked key stops working within `positive_seconds`. The cache is
    per process. Concurrent lookups of one uncached key share a single query.
    """

    def __init__(
        self,
        *,
        positive_seconds: float = 30.0,
        negative_seconds: float = 3.0,
        size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.positive_seconds, self.negative_seconds = positive_seconds, negative_seconds
        self._known: BoundedTtlMap[str, Principal | None] = BoundedTtlMap(size, clock)
        self._pending: dict[str, asyncio.Future[Principal | None]] = {}

    def cached(self, digest: str) -> tuple[bool, Principal | None]:
        """(whether the lookup is cached, its principal)."""
        hit, principal = self._known.find(digest)
        if principal is not None and _expired(principal):
            self._known.pop(digest)
            return True, None
        return hit, principal

    async def lookup(self, engine: AsyncEngine, digest: str) -> Principal | None:
        pending = self._pending.get(digest)
        if pending is not None:
            with contextlib.suppress(Exception):  # the first caller failed: look it up ourselves
                return await asyncio.shield(pending)
            return await _lookup(engine, digest)
        future: asyncio.Future[Principal | None] = asyncio.get_running_loop().create_future()
        self._pending[digest] = future
        try:
            principal = await _lookup(engine, digest)
        except BaseException as error:
            future.set_exception(
                error if isinstance(error, Exception) else RuntimeError("lookup interrupted")
            )
            future.exception()  # mark it retrieved: waiters see it, nobody else must
            raise
        finally:
            self._pending.pop(digest, None)
        ttl = self.negative_seconds if principal is None else self.positive_seconds
        if principal is not None and principal.expires_at is not None:
            ttl = min(ttl, (principal.expires_at - datetime.now(UTC)).total_seconds())
        if ttl > 0:
            self._known.put(digest, principal, ttl)
        future.set_result(principal)
        return principal

    def forget(self, digest: str) -> None:
        self._known.pop(digest)


def _expired(principal: Principal) -> bool:
    return principal.expires_at is not None and principal.expires_at <= datetime.now(UTC)


async def authenticate(
    engine: AsyncEngine, secret: str, cache: KeyCache | None = None
) -> Principal | None:
    """The principal of a live (unrevoked, unexpired) key, else None.

    With a `cache`, a recent answer is reused; the lookup holds a pooled connection only for its
    one query, never while waiting for another.
    """
    digest = hash_key(secret)
    if cache is None:
        return await _lookup(engine, digest)
    hit, principal = cache.cached(digest)
    if hit:
        return principal
    return await cache.lookup(engine, digest)
