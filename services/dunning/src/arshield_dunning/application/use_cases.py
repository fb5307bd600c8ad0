"""Dunning's HTTP commands that change buyers' states, run through the kernel's unit of work in
the request's transaction (its public events go to the outbox in that same transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from arshield_dunning.application.ports import PolicyBook, Queries
from arshield_dunning.application.wiring import DunningKernel, policies_in_force
from arshield_dunning.domain.commands import RecordPromise
from arshield_dunning.domain.policy import Policy, PolicyRules, Segment
from arshield_dunning.domain.state import BuyerDunning
from arshield_events.dunning import DunningPolicyWritten
from arshield_runtime.kernel import Session
from arshield_runtime.messaging import BatchScope, RequestEmitter

PROMISE_HORIZON = timedelta(days=366)
"""A promise to pay falls within a year either side of the tenant's business date."""


class UnknownInvoices(Exception):  # noqa: N818 - an answer, not a program error
    def __init__(self, invoice_ids: list[str]) -> None:
        super().__init__(", ".join(invoice_ids))
        self.invoice_ids = invoice_ids


class PromiseInvalid(Exception):  # noqa: N818 - an answer, not a program error
    def __init__(self, detail: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.detail, self.errors = detail, errors or []


async def business_date(session: Session, kernel: DunningKernel, tenant_id: str) -> date:
    """The tenant's business date (the latest tick consumed), else today's date."""
    return await kernel.business_date(session, tenant_id) or datetime.now(UTC).date()


async def buyer_state(
    session: Session, kernel: DunningKernel, tenant_id: str, buyer_id: str
) -> BuyerDunning:
    unit = kernel.unit_of_work(session, BatchScope())
    await unit.load([(tenant_id, buyer_id)])
    return unit.states[(tenant_id, buyer_id)]


async def buyer_known(
    session: Session, kernel: DunningKernel, tenant_id: str, buyer_id: str
) -> bool:
    return bool(await kernel.store.load(session, [(tenant_id, buyer_id)]))


async def record_promise(
    session: Session,
    kernel: DunningKernel,
    queries: Queries,
    tenant_id: str,
    *,
    invoice_ids: tuple[str, ...],
    promised_on: date,
    amount: Decimal | None,
    grace_days: int | None,
    recorded_by: str,
    source: str,
    wake: Callable[[], None] | None,
) -> str:
    """Record a promise to pay for invoices of one buyer; returns its id. Raises
    `UnknownInvoices`, `PromiseInvalid` or the domain's `DunningError`."""
    buyers = {i: await queries.buyer_of_invoice(session, tenant_id, i) for i in invoice_ids}
    missing = [i for i, buyer in buyers.items() if buyer is None]
    if missing:
        raise UnknownInvoices(missing)
    if len(set(buyers.values())) != 1:
        raise PromiseInvalid("a promise covers invoices of one buyer")
    buyer_id = str(next(iter(buyers.values())))
    today = await business_date(session, kernel, tenant_id)
    if not today - PROMISE_HORIZON <= promised_on <= today + PROMISE_HORIZON:
        raise PromiseInvalid(
            f"promised_on must fall within a year of the business date {today.isoformat()}",
            [{"loc": "promised_on", "msg": "more than a year from the business date"}],
        )
    promise_id = f"ptp_{uuid.uuid4().hex}"
    scope = BatchScope()
    unit = kernel.unit_of_work(session, scope)
    await unit.load([(tenant_id, buyer_id)])
    state = unit.states[(tenant_id, buyer_id)]
    policy = (await policies_in_force(session, kernel, tenant_id, today))[state.effective_segment]
    command = RecordPromise(
        promise_id=promise_id,
        invoice_ids=invoice_ids,
        promised_on=promised_on,
        amount=amount,
        recorded_on=today,
        grace_days=grace_days if grace_days is not None else policy.rules.promise_grace_days,
        recorded_by=recorded_by,
    )
    emitter = RequestEmitter(source, tenant_id, promise_id)
    await unit.execute(tenant_id, buyer_id, command, emitter)
    await scope.flush(session)
    await emitter.flush(session, wake)
    return promise_id


FIRST_DAY = date(1900, 1, 1)
"""A policy written before the tenant's first business day is in force from its beginning."""


async def write_policy(
    session: Session,
    kernel: DunningKernel,
    policies: PolicyBook,
    tenant_id: str,
    segment: Segment,
    rules: PolicyRules,
    *,
    created_by: str,
    source: str,
    wake: Callable[[], None] | None,
) -> Policy:
    """Write the segment's next policy version. It travels on the log (`DunningPolicyWritten`,
    ARCHITECTURE decision 1) and is in force from the next business day: the kernel records it
    when consumed and wakes every buyer that day, live and in a rebuild alike."""
    policy = await policies.add_policy(session, tenant_id, segment, rules, created_by)
    today = await kernel.business_date(session, tenant_id)
    event = DunningPolicyWritten(
        segment=segment.value,
        version=policy.version,
        rules=rules.model_dump(mode="json"),
        written_by=created_by,
        effective_on=today + timedelta(days=1) if today else FIRST_DAY,
    )
    emitter = RequestEmitter(source, tenant_id, f"policy:{segment.value}:{policy.version}")
    emitter.emit(event, purpose="policy-written")
    await emitter.flush(session, wake)
    return policy
