"""insurance-claims on the kernel: the translation table (public event -> commands for buyers),
the decider, the state's codec, what a business day needs (the policies in force and what is
left of their aggregate limits, read through the application's ports), with the read models and
the public mapping the composition root passes in.

The service reads its own topic back: the events its API and the insurer's callbacks decided
(limit requests, cover decisions, claim outcomes) restore the state on a rebuild and change
nothing live (the same decision is already recorded). Policy versions are configuration events,
kept by their own handler (`configuration_router`).

Over 400 lines for a reason: the translation table reads five topics (ERP, ledger, risk, dunning's
evidence, its own decisions read back), kept beside the decider so what changes a buyer's cover
and deadlines is read in one place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter

from arshield_events import dunning, erp, ledger, risk
from arshield_events import insurance as public
from arshield_events.envelope import CloudEvent
from arshield_insurance_claims.application.ports import Ports, Queries
from arshield_insurance_claims.domain.commands import (
    AggregateBudget,
    ApplyCreditNote,
    CancelInvoice,
    Command,
    ConfirmDelivery,
    ForgetPolicy,
    InsuranceError,
    NoteBalance,
    NoteEvidence,
    NoteHandover,
    NoteInsolvency,
    RaiseDispute,
    ReceivePayment,
    RecordCover,
    RequestLimit,
    ResolveDispute,
    SettleClaim,
    StartBusinessDay,
    TrackInvoice,
)
from arshield_insurance_claims.domain.day import business_day_steps, wake_on
from arshield_insurance_claims.domain.decide import decide
from arshield_insurance_claims.domain.events import ClaimFiled, DomainEvent
from arshield_insurance_claims.domain.evolve import evolve
from arshield_insurance_claims.domain.policy import InsurancePolicy
from arshield_insurance_claims.domain.state import BuyerInsurance, Evidence, Invoice
from arshield_runtime.kernel import Change, Emit, Kernel, Projection, Session, Translate, Wiring
from arshield_runtime.messaging import BatchScope, EventRouter, HandlerContext
from arshield_runtime.statestore import StateStore

log = logging.getLogger(__name__)

InsuranceWiring = Wiring[BuyerInsurance, Command, DomainEvent]
InsuranceKernel = Kernel[BuyerInsurance, Command, DomainEvent]
Commands = Iterator[tuple[str, Command]]
Publish = Callable[[Change[BuyerInsurance, DomainEvent]], Iterable[Emit]]


@dataclass(frozen=True)
class DayContext:
    """What a tenant's business day is decided under."""

    policies: dict[str, InsurancePolicy]
    budget: AggregateBudget


class InsuranceDecider:
    """The domain for the kernel. A business day evolves the state as it decides (a stop-supply or
    a notification changes what is insured for the claim after it), so it hands the kernel the
    state it reached (`decide_evolved`) rather than have each event evolved a second time."""

    def initial(self, tenant_id: str, buyer_id: str) -> BuyerInsurance:
        return BuyerInsurance(tenant_id=tenant_id, buyer_id=buyer_id)

    def decide(self, state: BuyerInsurance, command: Command) -> Sequence[DomainEvent]:
        return self.decide_evolved(state, command)[0]

    def decide_evolved(
        self, state: BuyerInsurance, command: Command
    ) -> tuple[list[DomainEvent], BuyerInsurance]:
        if not isinstance(command, StartBusinessDay):
            events = list(decide(state, command))
            for event in events:
                state = evolve(state, event)
            return events, state
        try:
            steps = business_day_steps(state, command)
        except Exception:
            # One buyer's failure must not cost every other buyer of the tenant its day.
            log.exception(
                "business day %s failed for buyer %s/%s; it catches up on the next tick",
                command.on,
                state.tenant_id,
                state.buyer_id,
            )
            return [], state
        events = [event for event, _ in steps]
        if command.budget is not None:
            for event in events:
                if isinstance(event, ClaimFiled):
                    command.budget.spend(event.claim.policy_id, event.claim.claimed_indemnity)
        return events, (steps[-1][1] if steps else state)

    def evolve(self, state: BuyerInsurance, event: DomainEvent) -> BuyerInsurance:
        return evolve(state, event)

    def wake_on(self, state: BuyerInsurance) -> date | None:
        return wake_on(state)

    def on_day(self, state: BuyerInsurance, day: date, context: DayContext) -> Command | None:
        policy_id = state.policy_id
        policy = None if policy_id is None else context.policies.get(policy_id)
        if policy is None:
            return None
        return StartBusinessDay(on=day, policy=policy, budget=context.budget)


# --- the translation table -----------------------------------------------------------------------


def invoice_issued(event: CloudEvent[Any]) -> Commands:
    e: erp.InvoiceIssued = event.data
    yield (
        e.buyer_id,
        TrackInvoice(
            Invoice(
                invoice_id=e.invoice_id,
                number=e.invoice_number,
                currency=e.amount.currency,
                amount=e.amount.amount,
                outstanding=e.amount.amount,
                issued_on=e.issued_on,
                delivered_on=e.delivered_on,
                due_on=e.due_on,
                terms_days=e.payment_terms_days,
            )
        ),
    )


def invoice_cancelled(event: CloudEvent[Any]) -> Commands:
    e: erp.InvoiceCancelled = event.data
    yield e.buyer_id, CancelInvoice(e.invoice_id)


def credit_note_issued(event: CloudEvent[Any]) -> Commands:
    e: erp.CreditNoteIssued = event.data
    yield e.buyer_id, ApplyCreditNote(e.credit_note_id, e.invoice_id, e.amount.amount)


def delivery_confirmed(event: CloudEvent[Any]) -> Commands:
    e: erp.DeliveryConfirmed = event.data
    yield (
        e.buyer_id,
        ConfirmDelivery(e.invoice_id, e.confirmed_on, e.proof_of_delivery.document_ref),
    )


def payment_received(event: CloudEvent[Any]) -> Commands:
    e: erp.PaymentReceived = event.data
    yield (
        e.buyer_id,
        ReceivePayment(
            payment_id=e.payment_id,
            amount=e.amount.amount,
            currency=e.amount.currency,
            received_on=e.received_on,
            allocations=tuple((a.invoice_id, a.amount.amount) for a in e.allocations),
        ),
    )


def dispute_raised(event: CloudEvent[Any]) -> Commands:
    e: erp.DisputeRaised = event.data
    yield e.buyer_id, RaiseDispute(e.invoice_id, e.dispute_id, e.disputed_amount.amount)


def dispute_resolved(event: CloudEvent[Any]) -> Commands:
    e: erp.DisputeResolved = event.data
    yield e.buyer_id, ResolveDispute(e.invoice_id, e.dispute_id)


def balance_changed(event: CloudEvent[Any]) -> Commands:
    e: ledger.InvoiceBalanceChanged = event.data
    yield e.buyer_id, NoteBalance(e.invoice_id, e.outstanding.amount, str(e.status))


def buyer_insolvent(event: CloudEvent[Any]) -> Commands:
    e: risk.BuyerInsolvent = event.data
    yield e.buyer_id, NoteInsolvency(e.insolvent_on, e.notice_ref)


def level_reached(event: CloudEvent[Any]) -> Commands:
    e: dunning.DunningLevelReached = event.data
    ref = f"letter:{e.letter_id}" if e.letter_id else f"dunning:{e.invoice_id}:{e.level}"
    evidence = Evidence(kind=str(e.action), ref=ref, on=e.reached_on, invoice_ids=(e.invoice_id,))
    yield e.buyer_id, NoteEvidence(evidence)


def statement_issued(event: CloudEvent[Any]) -> Commands:
    e: dunning.StatementOfAccountIssued = event.data
    evidence = Evidence(
        kind="statement_of_account",
        ref=e.document_ref,
        on=e.issued_on,
        invoice_ids=tuple(e.invoice_ids),
    )
    yield e.buyer_id, NoteEvidence(evidence)


def case_opened(event: CloudEvent[Any]) -> Commands:
    e: dunning.CollectionCaseOpened = event.data
    evidence = Evidence(
        kind="collection_case", ref=f"case:{e.case_id}", on=e.opened_on, invoice_ids=e.invoice_ids
    )
    yield e.buyer_id, NoteEvidence(evidence)


def case_handed(event: CloudEvent[Any]) -> Commands:
    e: dunning.CaseHandedToAgency = event.data
    yield e.buyer_id, NoteHandover(e.handed_on)


def translations(source: str) -> dict[type[Any], Translate[Command]]:
    """The translation table; `source` is the service's own (its events read back)."""

    def own(event: CloudEvent[Any]) -> bool:
        return event.source == source

    def limit_requested(event: CloudEvent[Any]) -> Commands:
        e: public.CoverLimitRequested = event.data
        policy = _restored_policy(e.insurance_policy_id, e.requested.currency)
        if own(event):
            yield (
                e.buyer_id,
                RequestLimit(
                    request_id=e.request_id,
                    policy=policy,
                    amount=e.requested.amount,
                    requested_on=e.requested_on,
                    requested_by=e.requested_by,
                ),
            )

    def cover_changed(event: CloudEvent[Any]) -> Commands:
        e: public.CoverChanged = event.data
        if own(event) and e.decision_id is not None:
            yield (
                e.buyer_id,
                RecordCover(
                    decision_id=e.decision_id,
                    decided_by=e.decided_by,
                    decision=e.decision or "full",
                    amount=e.cover.amount,
                    currency=e.cover.currency,
                    notified_on=e.notified_on,
                    effective_on=e.effective_on,
                    policy=_restored_policy(e.insurance_policy_id, e.cover.currency),
                    request_id=e.request_id,
                ),
            )

    def claim_settled(event: CloudEvent[Any]) -> Commands:
        e: public.ClaimSettled = event.data
        if own(event):
            yield (
                e.buyer_id,
                SettleClaim(
                    claim_id=e.claim_id,
                    outcome=e.outcome,
                    indemnity_paid=e.indemnity_paid.amount,
                    settled_on=e.settled_on,
                    reason=e.reason,
                ),
            )

    return {
        erp.InvoiceIssued: invoice_issued,
        erp.InvoiceCancelled: invoice_cancelled,
        erp.CreditNoteIssued: credit_note_issued,
        erp.DeliveryConfirmed: delivery_confirmed,
        erp.PaymentReceived: payment_received,
        erp.DisputeRaised: dispute_raised,
        erp.DisputeResolved: dispute_resolved,
        ledger.InvoiceBalanceChanged: balance_changed,
        risk.BuyerInsolvent: buyer_insolvent,
        dunning.DunningLevelReached: level_reached,
        dunning.StatementOfAccountIssued: statement_issued,
        dunning.CollectionCaseOpened: case_opened,
        dunning.CaseHandedToAgency: case_handed,
        public.CoverLimitRequested: limit_requested,
        public.CoverChanged: cover_changed,
        public.ClaimSettled: claim_settled,
    }


def _restored_policy(policy_id: str, currency: str = "EUR") -> InsurancePolicy:
    """A stand-in for the policy when a decision is restored from the log: the decision's
    effective date was already settled when it was first recorded, so only its id and currency
    matter (no ceiling or notice period is applied again)."""
    return InsurancePolicy(
        policy_id=policy_id,
        version=0,
        effective_on=date(1900, 1, 1),
        insurer="restored",
        currency=currency,
        aggregate_limit=Decimal(1),
        period_start_on=date(1900, 1, 1),
        discretionary_limit_ceiling=Decimal("1e15"),
        reduction_notice_days=0,
    )


async def aggregate_used(
    session: Session,
    queries: Queries,
    tenant_id: str,
    policies: dict[str, InsurancePolicy],
    day: date,
) -> AggregateBudget:
    """What is left of each policy's aggregate limit in the policy year of `day`."""
    budget = AggregateBudget()
    for policy_id, policy in policies.items():
        since = policy.policy_year_start(day)
        used = await queries.claimed_since(session, tenant_id, policy_id, since)
        budget.remaining[policy_id] = policy.aggregate_limit - used
    return budget


READ_BACK = (public.CoverLimitRequested, public.CoverChanged, public.ClaimSettled)
"""The service's own events it reads back: they restore what the API and the insurer's callbacks
decided, and publish nothing again."""


def publisher(source: str, publish: Publish) -> Publish:
    def published(change: Change[BuyerInsurance, DomainEvent]) -> Iterable[Emit]:
        cause = change.cause
        if cause is not None and cause.source == source and isinstance(cause.data, READ_BACK):
            return ()
        return publish(change)

    return published


def wiring(
    source: str,
    ports: Ports,
    *,
    read_models: Sequence[Projection[BuyerInsurance, DomainEvent]],
    publish: Publish,
) -> InsuranceWiring:
    """The ports, the read models and the public mapping are adapters the composition root
    passes in: imports point inward."""

    async def day_context(session: Session, tenant_id: str, day: date) -> DayContext:
        policies = await ports.policies.policies_in_force(session, tenant_id, day)
        budget = await aggregate_used(session, ports.queries, tenant_id, policies, day)
        return DayContext(policies, budget)

    return Wiring(
        decider=InsuranceDecider(),
        state=TypeAdapter(BuyerInsurance),
        translate=translations(source),
        projections=read_models,
        publish=publisher(source, publish),
        refusals=(InsuranceError,),
        day_context=day_context,
    )


def kernel(
    store: StateStore,
    *,
    source: str,
    ports: Ports,
    read_models: Sequence[Projection[BuyerInsurance, DomainEvent]],
    publish: Publish,
) -> InsuranceKernel:
    return Kernel(wiring(source, ports, read_models=read_models, publish=publish), store)


async def forget_policy(
    session: Session,
    kernel: InsuranceKernel,
    queries: Queries,
    scope: BatchScope,
    tenant_id: str,
    policy_id: str,
) -> None:
    """Every buyer under the policy plans its deadlines afresh at the next business day."""
    unit = kernel.unit_of_work(session, scope)
    await unit.flush()  # the batch's earlier facts decide who is under the policy
    buyers = await queries.buyers_of_policy(session, tenant_id, policy_id)
    await unit.load((tenant_id, buyer) for buyer in buyers)
    for buyer_id in buyers:
        await unit.execute(tenant_id, buyer_id, ForgetPolicy(policy_id), None)


def configuration_router(kernel: InsuranceKernel, ports: Ports) -> EventRouter:
    """Policy versions read back from the log: kept in `insurance_policies` (a rebuild restores
    them there), and the policy's buyers plan their deadlines afresh (live, the API did both
    already, and doing them again changes nothing)."""
    router = EventRouter()

    @router.handles(public.InsurancePolicyWritten)
    async def policy_written(ctx: HandlerContext) -> None:
        e: public.InsurancePolicyWritten = ctx.event.data
        tenant = ctx.event.tenantid
        policies = ports.policies
        await policies.save_policy(ctx.session, tenant, policies.policy_of(e), e.written_by)
        await forget_policy(
            ctx.session, kernel, ports.queries, ctx.batch, tenant, e.insurance_policy_id
        )

    return router


def router(kernel: InsuranceKernel, ports: Ports) -> EventRouter:
    """The consumer's router: the kernel's, and the configuration events'."""
    combined = kernel.router()
    combined.include(configuration_router(kernel, ports))
    return combined
