"""The webhook dispatcher: sends pending deliveries outside any consumer transaction.

A delivery row is created exactly once (`store.enqueue`, in the transaction that decided it); this
background task claims due rows (SKIP LOCKED, with a lease so a crashed sender's row is picked up
again), sends them, and records every attempt. Retries follow the configured schedule with jitter,
at least as late as the receiver's Retry-After; 410 Gone disables the partner's endpoint.

Between rounds it sleeps until the next attempt falls due. A wake-up ends the sleep at once: a
re-delivery asked of this process (`wake`), or a notification on the deliveries table's channel,
sent by every transaction that enqueues, re-sends or changes an endpoint (the consumer's
projections, another instance). It looks at least every `dispatcher_poll_seconds` besides, for a
notification lost while its listener reconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from arshield_runtime.notify import Listener
from arshield_runtime.webhooks.secrets import SecretBox, SecretUnreadable
from arshield_runtime.webhooks.settings import WebhookSettings
from arshield_runtime.webhooks.signing import SendResult, secrets_in_force, send
from arshield_runtime.webhooks.store import channel
from arshield_runtime.webhooks.tables import WebhookTables
from arshield_runtime.webhooks.targets import (
    GuardedBackend,
    Resolver,
    guarded_client,
    system_resolver,
)

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Wake:
    """Wakes the dispatcher once it runs. Routes are given this before the dispatcher exists (the
    runtime copies the service's state onto the app before it starts background tasks)."""

    def __init__(self) -> None:
        self._targets: list[Callable[[], None]] = []

    def attach(self, target: Callable[[], None]) -> None:
        self._targets.append(target)

    def detach(self, target: Callable[[], None]) -> None:
        if target in self._targets:
            self._targets.remove(target)

    def wake(self) -> None:
        for target in self._targets:
            target()


class WebhookDispatcher:
    def __init__(
        self,
        engine: AsyncEngine,
        tables: WebhookTables,
        settings: WebhookSettings,
        *,
        client: httpx.AsyncClient | None = None,
        rng: random.Random | None = None,
        batch: int = 20,
        resolver: Resolver = system_resolver,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.engine = engine
        self.tables = tables
        self.settings = settings
        # every connection resolves once, is checked, and goes to the checked address
        self.client = client or guarded_client(
            GuardedBackend(
                allow_private=settings.allow_private_webhook_targets,
                refused_ports=settings.refused_ports,
                resolver=resolver,
            ),
            timeout=settings.webhook_timeout_seconds,
        )
        self.box = SecretBox(settings.secrets_key.get_secret_value())
        self.clock = clock
        self.rng = rng or random.Random()
        self.batch = batch
        self.lease = timedelta(seconds=settings.webhook_timeout_seconds + 30)
        self._wake = asyncio.Event()

    @functools.cached_property
    def listener(self) -> Listener:
        """The notifications that wake this dispatcher (made on first use: a unit test may build a
        dispatcher without a database)."""
        return Listener(
            self.engine,
            channel(self.tables),
            self.wake,
            application_name=f"arshield-{self.settings.service_name}-webhooks",
        )

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        listening = asyncio.create_task(self.listener.run(), name="webhook-listener")
        try:
            await self._dispatch_forever()
        finally:
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening

    async def _dispatch_forever(self) -> None:
        backoff = 0.5
        while True:
            # Cleared before looking, so a wake-up during the look is not lost.
            self._wake.clear()
            try:
                sent = await self.dispatch_due()
                sleep = 0.0 if sent else await self._sleep()
                backoff = 0.5
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook dispatch failed; retrying in %.1fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if sleep > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=sleep)

    async def _sleep(self) -> float:
        """Seconds until the next pending delivery falls due, within [0, poll seconds]."""
        d, e, key = self.tables.deliveries, self.tables.endpoints, self.tables.key
        async with self.engine.connect() as connection:
            due = await connection.scalar(
                sa.select(sa.func.min(d.c.next_attempt_at))
                .join(e, e.c[key] == d.c[key])
                .where(d.c.status == "pending", e.c.enabled.is_(True))
            )
        poll: float = self.settings.dispatcher_poll_seconds
        if not isinstance(due, datetime):
            return poll
        # a due row another instance is claiming right now: look again shortly, without spinning
        return min(max((due - datetime.now(UTC)).total_seconds(), 0.05), poll)

    async def dispatch_due(self) -> int:
        """Claim and send the deliveries that are due; returns how many were attempted."""
        claimed = await self._claim()
        if claimed:
            await asyncio.gather(*(self._attempt(row) for row in claimed))
        return len(claimed)

    async def _claim(self) -> list[Any]:
        now = datetime.now(UTC)
        d, e, key = self.tables.deliveries, self.tables.endpoints, self.tables.key
        async with self.engine.begin() as connection:
            rows = (
                await connection.execute(
                    sa.select(
                        d.c.delivery_id,
                        d.c.body,
                        d.c.attempts,
                        d.c.cycle_attempts,
                        d.c[key].label("endpoint_id"),
                        d.c.traceparent,
                        e.c.url,
                        e.c.secret,
                        e.c.previous_secret,
                        e.c.previous_secret_until,
                    )
                    .join(e, e.c[key] == d.c[key])
                    .where(
                        d.c.status == "pending", d.c.next_attempt_at <= now, e.c.enabled.is_(True)
                    )
                    .order_by(d.c.next_attempt_at)
                    .limit(self.batch)
                    .with_for_update(of=d, skip_locked=True)
                )
            ).all()
            if rows:
                await connection.execute(
                    d.update()
                    .where(d.c.delivery_id.in_([r.delivery_id for r in rows]))
                    .values(next_attempt_at=now + self.lease)
                )
        return list(rows)

    async def _attempt(self, row: Any) -> None:
        try:
            secrets_ = secrets_in_force(
                self.box.open(row.secret),
                self.box.open_optional(row.previous_secret),
                row.previous_secret_until,
                self.clock(),
            )
        except SecretUnreadable:
            result = SendResult(
                None, "endpoint secret unreadable", None, 0, int(datetime.now(UTC).timestamp())
            )
        else:
            result = await send(
                self.client,
                row.url,
                msg_id=row.delivery_id,
                body=row.body,
                secrets_=secrets_,
                traceparent=row.traceparent,
                user_agent=self.settings.user_agent,
            )
        await self._record(row, result)

    def _delay(self, cycle_attempt: int, retry_after: float | None) -> float | None:
        """Seconds until the next try after the `cycle_attempt`-th failed one (None: give up)."""
        schedule = self.settings.webhook_retry_schedule
        if cycle_attempt > len(schedule):
            return None
        jitter = self.settings.webhook_jitter
        delay = schedule[cycle_attempt - 1] * (1 + self.rng.uniform(-jitter, jitter))
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.settings.webhook_max_retry_after_seconds))
        return delay

    async def _record(self, row: Any, result: SendResult) -> None:
        now = datetime.now(UTC)
        attempt = row.attempts + 1
        cycle_attempt = row.cycle_attempts + 1
        code = result.status_code
        next_at: datetime | None = None
        values: dict[str, Any] = {
            "attempts": attempt,
            "cycle_attempts": cycle_attempt,
            "last_status_code": code,
            "last_error": result.error,
        }
        if code is not None and 200 <= code < 300:
            outcome = "delivered"
            values.update(status="delivered", delivered_at=now, next_attempt_at=None)
        elif code == 410:
            outcome = "disabled"
            values.update(status="failed", next_attempt_at=None)
        else:
            delay = self._delay(cycle_attempt, result.retry_after_seconds)
            if delay is None:
                outcome = "failed"
                values.update(status="failed", next_attempt_at=None)
            else:
                outcome = "retry"
                next_at = now + timedelta(seconds=delay)
                values.update(next_attempt_at=next_at)
        d, e = self.tables.deliveries, self.tables.endpoints
        async with self.engine.begin() as connection:
            await connection.execute(
                d.update().where(d.c.delivery_id == row.delivery_id).values(values)
            )
            await connection.execute(
                self.tables.attempts.insert().values(
                    delivery_id=row.delivery_id,
                    attempt=attempt,
                    attempted_at=now,
                    webhook_timestamp=result.timestamp,
                    status_code=code,
                    error=result.error,
                    duration_ms=result.duration_ms,
                    retry_after_seconds=result.retry_after_seconds,
                    next_attempt_at=next_at,
                    outcome=outcome,
                )
            )
            if outcome == "disabled":
                await connection.execute(
                    e.update()
                    .where(e.c[self.tables.key] == row.endpoint_id)
                    .values(
                        enabled=False,
                        disabled_reason=f"410 Gone from the endpoint on delivery {row.delivery_id}",
                    )
                )
        log.info(
            "webhook %s attempt %d: %s (%s)",
            row.delivery_id,
            attempt,
            outcome,
            code if code is not None else result.error,
        )

    async def close(self) -> None:
        await self.client.aclose()
