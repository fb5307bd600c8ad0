"""The API's commands. Each answers from the service's own state and writes its decision to the
outbox only: the decision reaches the buyer's state when read back from the log (see wiring),
so live state and a rebuild come from the same events. Ids derive from what was decided, so a
retried request writes the very same event."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cached_property

from arshield_credit_assessment.application.ports import Connection, PublicEvents, Records
from arshield_credit_assessment.application.wiring import CreditKernel, InForce
from arshield_credit_assessment.domain.check import CheckRequest, check
from arshield_credit_assessment.domain.decide import policy_of
from arshield_credit_assessment.domain.events import Decision
from arshield_credit_assessment.domain.policy import CreditPolicy
from arshield_credit_assessment.domain.review import ContractReviewer, Review, Terms
from arshield_credit_assessment.domain.state import BuyerCredit
from arshield_events import credit
from arshield_events.money import Money
from arshield_runtime.kernel import Session
from arshield_runtime.messaging import RequestEmitter

Wake = Callable[[], None] | None


class NotFound(Exception):  # noqa: N818 - an answer, not a program error
    pass


class Conflict(Exception):  # noqa: N818 - an answer, not a program error
    pass


@dataclass(frozen=True)
class CreditDesk:
    """What the use cases decide with, put together by the composition root: the kernel (buyer
    states and the configuration in force), the contract reviewer, the service's own records, the
    public mapping, and the service's `source` (what it writes comes back to it from the log)."""

    kernel: CreditKernel
    reviewer: ContractReviewer
    records: Records
    public: PublicEvents
    source: str

    @cached_property
    def in_force(self) -> InForce:
        return InForce(self.kernel.store, self.public)


async def today(session: Session, kernel: CreditKernel, tenant_id: str) -> date:
    """The tenant's business date (the latest tick consumed), else today's date."""
    return await kernel.business_date(session, tenant_id) or datetime.now(UTC).date()


async def buyer_state(
    session: Session, kernel: CreditKernel, tenant_id: str, buyer_id: str
) -> BuyerCredit:
    raw = (await kernel.store.load(session, [(tenant_id, buyer_id)])).get((tenant_id, buyer_id))
    return state_of(kernel, tenant_id, buyer_id, raw)


def state_of(kernel: CreditKernel, tenant_id: str, buyer_id: str, raw: str | None) -> BuyerCredit:
    """The buyer's state from its stored JSON, else a buyer not yet seen."""
    if raw is None:
        return kernel.wiring.decider.initial(tenant_id, buyer_id)
    return kernel.wiring.state.validate_json(raw)


async def _policy(
    session: Connection, desk: CreditDesk, state: BuyerCredit, on: date
) -> CreditPolicy:
    """The version the buyer was decided under, else the one in force (a buyer not yet ticked)."""
    return state.policy or await desk.in_force.policy(session, state.tenant_id, on)


@dataclass(frozen=True)
class CheckAsked:
    """A credit check as asked; contract `terms` are dated when the check runs."""

    buyer_id: str
    order_id: str | None
    amount: Decimal
    currency: str
    payment_terms_days: int | None
    terms: Terms | None


async def credit_check(
    connection: Connection, desk: CreditDesk, tenant_id: str, asked: CheckAsked, *, wake: Wake
) -> tuple[Decision, Review | None]:
    kernel = desk.kernel
    raw, business_date = await desk.records.state_and_date(connection, tenant_id, asked.buyer_id)
    state = state_of(kernel, tenant_id, asked.buyer_id, raw)
    on = business_date or datetime.now(UTC).date()
    policy = await _policy(connection, desk, state, on)
    review = None
    if asked.terms is not None:
        terms = replace(
            asked.terms, on=on, buyer_country=asked.terms.buyer_country or state.country
        )
        law = state.tenant_law or await desk.in_force.tenant_law(connection, tenant_id, on)
        review = desk.reviewer.review(terms, policy.retention_of_title_required, law)
    request_id = f"order-{asked.order_id}" if asked.order_id else "check"
    request = CheckRequest(
        request_id=request_id,
        order_id=asked.order_id,
        amount=asked.amount,
        currency=asked.currency,
        terms_days=asked.payment_terms_days,
        on=on,
        review=review,
    )
    decision = check(state, policy, request)
    if asked.order_id is None:  # an anonymous check is its own request
        decision = replace(decision, request_id=decision.decision_id)
    emitter = RequestEmitter(desk.source, tenant_id, decision.decision_id)
    emitter.emit(desk.public.decision_event(asked.buyer_id, decision), purpose="decision")
    if review is not None:
        subject = asked.order_id or decision.decision_id
        emitter.emit(
            desk.public.review_event(
                asked.buyer_id, f"rev-{subject}", subject, review, decision.policy_version, on
            ),
            purpose="review",
        )
    await emitter.flush(connection, wake)
    return decision, review


async def decide_referral(
    session: Session,
    desk: CreditDesk,
    tenant_id: str,
    decision_id: str,
    *,
    outcome: str,
    reason: str,
    decided_by: str,
    wake: Wake,
) -> Decision:
    found = await desk.records.decision(session, tenant_id, decision_id)
    if found is None:
        raise NotFound(f"credit check {decision_id} does not exist")
    state = await buyer_state(session, desk.kernel, tenant_id, found["buyer_id"])
    referral = next((r for r in state.referrals if r.decision_id == decision_id), None)
    if referral is None:
        raise Conflict(f"credit check {decision_id} is not a referral waiting for a decision")
    on = await today(session, desk.kernel, tenant_id)
    decided = Decision(
        decision_id=f"{decision_id}-{outcome}",
        request_id=found["request_id"],
        order_id=found["order_id"],
        currency=found["currency"],
        requested=found["requested"],
        decision=outcome,
        reason_codes=("decided_by_person",),
        reasons=(f"{decided_by}: {reason}",),
        credit_limit=found["credit_limit"],
        exposure_before=found["exposure_before"],
        exposure_after=found["exposure_after"],
        policy_version=found["policy_version"],
        decided_on=on,
        decided_by=decided_by,
        referred_decision_id=decision_id,
    )
    emitter = RequestEmitter(desk.source, tenant_id, f"referral:{decision_id}")
    emitter.emit(desk.public.decision_event(found["buyer_id"], decided), purpose="decision")
    await emitter.flush(session, wake)
    return decided


async def release_hold(
    session: Session,
    desk: CreditDesk,
    tenant_id: str,
    buyer_id: str,
    hold_id: str,
    *,
    reason: str,
    released_by: str,
    wake: Wake,
) -> date:
    state = await buyer_state(session, desk.kernel, tenant_id, buyer_id)
    hold = state.hold(hold_id)
    if hold is None:
        raise NotFound(f"buyer {buyer_id} has no active hold {hold_id}")
    on = await today(session, desk.kernel, tenant_id)
    emitter = RequestEmitter(desk.source, tenant_id, f"release:{buyer_id}:{hold_id}")
    emitter.emit(
        credit.CreditHoldReleased(
            hold_id=hold_id,
            buyer_id=buyer_id,
            reason=reason,
            released_on=on,
            released_by=released_by,
        ),
        purpose="release",
    )
    await emitter.flush(session, wake)
    return on


async def review_contract(
    session: Session,
    desk: CreditDesk,
    tenant_id: str,
    buyer_id: str,
    subject: str,
    terms: Terms,
    *,
    wake: Wake,
) -> tuple[str, Review, str, date]:
    state = await buyer_state(session, desk.kernel, tenant_id, buyer_id)
    on = await today(session, desk.kernel, tenant_id)
    policy = await _policy(session, desk, state, on)
    terms = replace(terms, buyer_country=terms.buyer_country or state.country)
    law = await desk.in_force.tenant_law(session, tenant_id, on)
    review = desk.reviewer.review(terms, policy.retention_of_title_required, law)
    digest = hashlib.sha256(repr((subject, terms, review)).encode()).hexdigest()[:16]
    review_id = f"rev-{subject}-{digest}"
    emitter = RequestEmitter(desk.source, tenant_id, review_id)
    emitter.emit(
        desk.public.review_event(buyer_id, review_id, subject, review, policy_of(state).ref, on),
        purpose="review",
    )
    await emitter.flush(session, wake)
    return review_id, review, policy.ref, on


async def publish_policy(
    session: Session,
    desk: CreditDesk,
    tenant_id: str,
    rules: dict[str, object],
    *,
    published_by: str,
    wake: Wake,
) -> credit.CreditPolicyPublished:
    """Write the next version: it travels on the log and is in force from the next business day
    (the kernel records it when read back and wakes every buyer that day, live and in a rebuild
    alike)."""
    version = await desk.records.next_policy_version(session, tenant_id)
    on = await today(session, desk.kernel, tenant_id)
    event = credit.CreditPolicyPublished.model_validate(
        {
            **rules,
            "version": version,
            "policy_version": f"credit-v{version}",
            "published_by": published_by,
            "published_on": on,
            "effective_on": on + timedelta(days=1),
        }
    )
    await desk.records.record_written_policy(session, tenant_id, event)
    emitter = RequestEmitter(desk.source, tenant_id, f"credit-policy:{version}")
    emitter.emit(event, purpose="policy", subject=tenant_id)
    await emitter.flush(session, wake)
    return event


async def record_expected_sales(
    session: Session,
    desk: CreditDesk,
    tenant_id: str,
    buyer_id: str,
    monthly_sales: Money,
    *,
    recorded_by: str,
    wake: Wake,
) -> credit.ExpectedSalesRecorded:
    on = await today(session, desk.kernel, tenant_id)
    event = credit.ExpectedSalesRecorded(
        buyer_id=buyer_id, monthly_sales=monthly_sales, recorded_by=recorded_by, recorded_on=on
    )
    cause = hashlib.sha256(event.model_dump_json().encode()).hexdigest()[:24]
    emitter = RequestEmitter(desk.source, tenant_id, f"sales:{cause}")
    emitter.emit(event, purpose="sales")
    await emitter.flush(session, wake)
    return event
