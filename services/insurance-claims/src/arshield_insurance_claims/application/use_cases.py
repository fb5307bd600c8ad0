"""The HTTP commands: writing a policy version, requesting a limit, setting a discretionary limit,
and the insurer's callbacks (a cover decision, a claim outcome). Buyer commands run through the
kernel's unit of work in the request's transaction, so their public events reach the outbox in
that same transaction; errors are problem documents."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from arshield_events.fields import FIRST_BUSINESS_DATE
from arshield_insurance_claims.application.ports import Ports
from arshield_insurance_claims.application.wiring import InsuranceKernel, forget_policy
from arshield_insurance_claims.domain.commands import (
    Command,
    InsuranceError,
    RecordCover,
    RequestLimit,
)
from arshield_insurance_claims.domain.policy import InsurancePolicy, PolicyRules
from arshield_insurance_claims.domain.state import BuyerInsurance, Decision
from arshield_runtime.http import ProblemError
from arshield_runtime.kernel import Session
from arshield_runtime.messaging import BatchScope, RequestEmitter
from arshield_runtime.webhooks import store as webhook_store

Wake = Callable[[], None] | None


async def business_date(session: Session, kernel: InsuranceKernel, tenant_id: str) -> date:
    """The tenant's business date (the latest tick consumed), else today's date."""
    return await kernel.business_date(session, tenant_id) or datetime.now(UTC).date()


async def buyer_state(
    session: Session, kernel: InsuranceKernel, tenant_id: str, buyer_id: str
) -> BuyerInsurance:
    unit = kernel.unit_of_work(session, BatchScope())
    await unit.load([(tenant_id, buyer_id)])
    return unit.states[(tenant_id, buyer_id)]


async def write_policy(
    session: Session,
    kernel: InsuranceKernel,
    ports: Ports,
    tenant_id: str,
    policy_id: str,
    rules: PolicyRules,
    *,
    written_by: str,
    source: str,
    wake: Wake,
) -> InsurancePolicy:
    """Write the policy's next version: it applies from the next business day (from the first
    one when the tenant has none yet), and travels on the log as `InsurancePolicyWritten`."""
    if rules.insurer_id is not None and (
        await webhook_store.endpoint(session, ports.insurers.tables, tenant_id, rules.insurer_id)
        is None
    ):
        raise ProblemError(
            422,
            "Unknown insurer",
            f"insurer {rules.insurer_id} is not registered (POST /v1/insurers)",
            errors=[{"loc": "insurer_id", "msg": "no such insurer endpoint"}],
        )
    version = await ports.policies.next_version(session, tenant_id, policy_id)
    today = await kernel.business_date(session, tenant_id)
    effective_on = FIRST_BUSINESS_DATE if today is None else today + timedelta(days=1)
    policy = InsurancePolicy(
        policy_id=policy_id, version=version, effective_on=effective_on, **rules.model_dump()
    )
    await ports.policies.save_policy(session, tenant_id, policy, written_by)
    scope = BatchScope()
    await forget_policy(session, kernel, ports.queries, scope, tenant_id, policy_id)
    await scope.flush(session)
    emitter = RequestEmitter(source, tenant_id, f"policy:{policy_id}:v{version}")
    emitter.emit(ports.policies.policy_event(policy, written_by), purpose="policy-written")
    await emitter.flush(session, wake)
    return policy


async def policy_named(
    session: Session, ports: Ports, tenant_id: str, policy_id: str
) -> InsurancePolicy:
    policy = (await ports.policies.policies_in_force(session, tenant_id)).get(policy_id)
    if policy is None:
        raise ProblemError(
            422,
            "Unknown policy",
            f"policy {policy_id} does not exist",
            errors=[{"loc": "policy_id", "msg": "no such policy"}],
        )
    return policy


async def run(
    session: Session,
    kernel: InsuranceKernel,
    tenant_id: str,
    buyer_id: str,
    command: Command,
    *,
    cause_id: str,
    source: str,
    wake: Wake,
) -> BuyerInsurance:
    """Decide `command` for the buyer in the request's transaction; a refusal is a 409."""
    scope = BatchScope()
    unit = kernel.unit_of_work(session, scope)
    emitter = RequestEmitter(source, tenant_id, cause_id)
    try:
        change = await unit.execute(tenant_id, buyer_id, command, emitter)
    except InsuranceError as refused:
        raise ProblemError(409, "Refused", str(refused)) from None
    await scope.flush(session)
    await emitter.flush(session, wake)
    return change.after


def in_policy_currency(policy: InsurancePolicy, currency: str) -> None:
    if currency != policy.currency:
        raise ProblemError(
            422,
            "Invalid request",
            f"policy {policy.policy_id} insures in {policy.currency}, not {currency}",
            errors=[{"loc": "amount.currency", "msg": f"must be {policy.currency}"}],
        )


async def request_limit(
    session: Session,
    kernel: InsuranceKernel,
    ports: Ports,
    tenant_id: str,
    buyer_id: str,
    *,
    policy_id: str,
    amount: Decimal,
    currency: str,
    requested_by: str,
    source: str,
    wake: Wake,
) -> str:
    """Ask the insurer for a limit on the buyer (sent by webhook); returns the request's id."""
    policy = await policy_named(session, ports, tenant_id, policy_id)
    in_policy_currency(policy, currency)
    request_id = f"lrq_{uuid.uuid4().hex[:20]}"
    command = RequestLimit(
        request_id=request_id,
        policy=policy,
        amount=amount,
        requested_on=await business_date(session, kernel, tenant_id),
        requested_by=requested_by,
    )
    await run(
        session, kernel, tenant_id, buyer_id, command, cause_id=request_id, source=source, wake=wake
    )
    return request_id


async def set_discretionary_limit(
    session: Session,
    kernel: InsuranceKernel,
    ports: Ports,
    tenant_id: str,
    buyer_id: str,
    *,
    policy_id: str,
    amount: Decimal,
    currency: str,
    source: str,
    wake: Wake,
) -> str:
    """The insured's own limit (from a credit report or payment experience), in force today."""
    policy = await policy_named(session, ports, tenant_id, policy_id)
    in_policy_currency(policy, currency)
    today = await business_date(session, kernel, tenant_id)
    decision_id = f"dsc_{uuid.uuid4().hex[:20]}"
    command = RecordCover(
        decision_id=decision_id,
        decided_by="insured",
        decision="discretionary",
        amount=amount,
        currency=policy.currency,
        notified_on=today,
        effective_on=today,
        policy=policy,
    )
    await run(
        session,
        kernel,
        tenant_id,
        buyer_id,
        command,
        cause_id=decision_id,
        source=source,
        wake=wake,
    )
    return decision_id


async def insurer_decides_cover(
    session: Session,
    kernel: InsuranceKernel,
    ports: Ports,
    tenant_id: str,
    buyer_id: str,
    *,
    insurer_id: str,
    decision_id: str,
    decision: Decision,
    amount: Decimal | None,
    currency: str | None,
    effective_on: date | None,
    request_id: str | None,
    source: str,
    wake: Wake,
) -> BuyerInsurance:
    state = await buyer_state(session, kernel, tenant_id, buyer_id)
    request = next((r for r in state.requests if r.request_id == request_id), None)
    if request_id is not None and request is None:
        raise ProblemError(
            404, "Not found", f"limit request {request_id} is not one of buyer {buyer_id}"
        )
    policy_id = request.policy_id if request is not None else state.policy_id
    if policy_id is None:
        raise ProblemError(404, "Not found", f"buyer {buyer_id} has no cover under any policy")
    policy = await policy_named(session, ports, tenant_id, policy_id)
    if policy.insurer_id != insurer_id:
        raise ProblemError(404, "Not found", f"policy {policy_id} is not insured by {insurer_id}")
    if decision == "refused" or decision == "withdrawn":
        amount = Decimal(0)
    elif amount is None:
        if request is None:
            raise ProblemError(
                422,
                "Invalid request",
                "a decision without a request names its amount",
                errors=[{"loc": "amount", "msg": "required"}],
            )
        amount = request.amount
    today = await business_date(session, kernel, tenant_id)
    command = RecordCover(
        decision_id=decision_id,
        decided_by="insurer",
        decision=decision,
        amount=amount,
        currency=currency or policy.currency,
        notified_on=today,
        effective_on=effective_on or today,
        policy=policy,
        request_id=request_id,
    )
    return await run(
        session,
        kernel,
        tenant_id,
        buyer_id,
        command,
        cause_id=f"cover:{insurer_id}:{decision_id}",
        source=source,
        wake=wake,
    )
