"""Application handlers: load the buyer, decide, apply, persist, project and publish."""

from __future__ import annotations

import logging
from datetime import date

from arshield_dunning.adapters.store import DunningStore
from arshield_dunning.application.publishing import Emitter, Publisher
from arshield_dunning.domain.claims import ClaimCalculator
from arshield_dunning.domain.dunning import (
    Command,
    StartBusinessDay,
    decide,
    evolve,
    next_wake,
)
from arshield_dunning.domain.events import DomainEvent
from arshield_dunning.domain.model import BuyerDunning
from arshield_dunning.domain.policy import Policy, Segment
from arshield_runtime.consumer import is_transient

log = logging.getLogger(__name__)


class Dunning:
    """One unit of work over the store (a consumer batch's or a request's transaction)."""

    def __init__(
        self, store: DunningStore, emitter: Emitter, claims: ClaimCalculator, cause_id: str
    ) -> None:
        self.store = store
        self.claims = claims
        self.publisher = Publisher(store, emitter, cause_id)
        self._policies: dict[str, dict[Segment, Policy]] = {}

    async def policies(self, tenant_id: str) -> dict[Segment, Policy]:
        if tenant_id not in self._policies:
            self._policies[tenant_id] = await self.store.current_policies(tenant_id)
        return self._policies[tenant_id]

    async def handle(self, tenant_id: str, buyer_id: str, command: Command) -> list[DomainEvent]:
        """Apply one command to one buyer (DunningError propagates, nothing is written)."""
        state = await self.store.load_buyer(tenant_id, buyer_id)
        events = decide(state, command)
        await self._commit(state, events)
        return events

    async def _commit(
        self, state: BuyerDunning, events: list[DomainEvent], *, on_tick: bool = False
    ) -> BuyerDunning:
        for event in events:
            state = evolve(state, event)
        policies = await self.policies(state.tenant_id)
        await self.store.save_buyer(
            state, next_wake(state, policies[state.effective_segment].rules)
        )
        # A tick's decisions about an invoice continue the trace the invoice was issued in.
        await self.publisher.publish(state, events, continue_invoice_traces=on_tick)
        return state

    async def start_business_day(self, tenant_id: str, day: date) -> int:
        """Fire everything due on `day` for the tenant's buyers; returns how many buyers acted."""
        await self.store.advance_business_date(tenant_id, day)
        policies = await self.policies(tenant_id)
        agency_id = await self.store.delivery_target(tenant_id)
        acted = 0
        for buyer_id in await self.store.buyers_due(tenant_id, day):
            # One buyer's failure must not cost every other buyer of the tenant its day: its
            # changes roll back to a savepoint and, not having been evaluated, it catches up on
            # the next tick.
            mark = self.publisher.mark()
            try:
                async with self.store.session.begin_nested():
                    state = await self.store.load_buyer(tenant_id, buyer_id)
                    command = StartBusinessDay(
                        on=day,
                        policy=policies[state.effective_segment],
                        claims=self.claims,
                        agency_id=agency_id,
                    )
                    events = decide(state, command)
                    await self._commit(state, events, on_tick=True)
            except Exception as error:
                if is_transient(error):
                    raise
                self.publisher.rollback(mark)
                log.exception(
                    "business day %s failed for buyer %s/%s; it catches up on the next tick",
                    day,
                    tenant_id,
                    buyer_id,
                )
                continue
            acted += bool(events)
        return acted
