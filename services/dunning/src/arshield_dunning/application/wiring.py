"""Dunning on the kernel: the translation table (public event -> commands for buyers), the decider,
the state's codec and the configuration a business day needs. The projections, the public mapping
and the claim rules and queries a business day asks are adapters, which the composition root
(`bootstrap`) passes in: imports point inward.

Wake-ups: `wake_on(state)` plans by the policy the buyer's last business day was decided under
(kept in its state by `PolicyApplied`). A buyer not known to be on the current policy (new, or moved
to another segment) wakes at the next tick. Policies are configuration on the log
(`DunningPolicyWritten`, read back from dunning's own topic): the kernel records each version and
wakes every buyer of the tenant on the day it takes effect.

Over 400 lines for a reason: the translation table maps ERP, ledger and risk events (instalments,
disputed amounts, unnamed payments, cash on account) into the decider's commands; kept in one
place so the one reading of each public event lives beside the decider it feeds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError

from arshield_dunning.application.ports import Claims, Publish, Queries, ReadModels
from arshield_dunning.domain.claims import ClaimCalculator
from arshield_dunning.domain.commands import (
    ApplyCreditNote,
    ApplyPayment,
    CancelInvoice,
    Command,
    ConfirmDelivery,
    DunningError,
    NoteCashOnAccount,
    NoteLedgerBalance,
    NoteSettlement,
    NoteUnnamedPayment,
    PutOnWatch,
    RaiseDispute,
    RecordPromise,
    RegisterBuyer,
    ResolveDispute,
    RestorePromise,
    StartBusinessDay,
    TrackInvoice,
)
from arshield_dunning.domain.day import wake_on
from arshield_dunning.domain.decide import decide
from arshield_dunning.domain.events import DomainEvent
from arshield_dunning.domain.evolve import evolve
from arshield_dunning.domain.policy import Policy, PolicyRules, Segment
from arshield_dunning.domain.state import (
    BillingContact,
    BuyerDunning,
    ContractTerms,
    InstalmentTerms,
    Money,
)
from arshield_events import dunning as dunning_events
from arshield_events import erp, ledger, risk
from arshield_events.envelope import CloudEvent
from arshield_runtime.kernel import TENANT, Kernel, Session, Translate, Wiring
from arshield_runtime.statestore import Configuration, PostgresStateStore, StateStore
from arshield_runtime.telemetry import consumed_traceparent

log = logging.getLogger(__name__)

DunningWiring = Wiring[BuyerDunning, Command, DomainEvent]
DunningKernel = Kernel[BuyerDunning, Command, DomainEvent]
Commands = Iterator[tuple[str, Command]]


@dataclass(frozen=True)
class DayContext:
    """What a tenant's business day is decided under: the policy in force per segment, the claim
    rules, and the agency new cases go to."""

    policies: dict[Segment, Policy]
    claims: ClaimCalculator
    agency_id: str | None


class DunningDecider:
    def initial(self, tenant_id: str, buyer_id: str) -> BuyerDunning:
        return BuyerDunning(tenant_id=tenant_id, buyer_id=buyer_id)

    def decide(self, state: BuyerDunning, command: Command) -> Sequence[DomainEvent]:
        if not isinstance(command, StartBusinessDay):
            return decide(state, command)
        try:
            return decide(state, command)
        except Exception:
            # One buyer's failure must not cost every other buyer of the tenant its day: it
            # decides nothing, keeps its wake-up and catches up on the next tick.
            log.exception(
                "business day %s failed for buyer %s/%s; it catches up on the next tick",
                command.on,
                state.tenant_id,
                state.buyer_id,
            )
            return []

    def evolve(self, state: BuyerDunning, event: DomainEvent) -> BuyerDunning:
        return evolve(state, event)

    def wake_on(self, state: BuyerDunning) -> date | None:
        return wake_on(state)

    def on_day(self, state: BuyerDunning, day: date, context: DayContext) -> Command:
        return StartBusinessDay(
            on=day,
            policy=context.policies[state.effective_segment],
            claims=context.claims,
            agency_id=context.agency_id,
        )


# --- the translation table: one function per public payload type -------------------------------


def buyer_registered(event: CloudEvent[Any]) -> Commands:
    e: erp.BuyerRegistered = event.data
    contact = (
        BillingContact(name=e.billing_contact.name, email=e.billing_contact.email)
        if e.billing_contact
        else None
    )
    yield (
        e.buyer_id,
        RegisterBuyer(
            legal_name=e.legal_name,
            country=e.country,
            segment=Segment(e.segment),
            language=e.preferred_language,
            billing_contact=contact,
        ),
    )


def invoice_issued(event: CloudEvent[Any]) -> Commands:
    e: erp.InvoiceIssued = event.data
    terms = None
    if e.contract_terms is not None:
        terms = ContractTerms(
            jurisdiction=str(e.contract_terms.jurisdiction),
            late_interest=str(e.contract_terms.late_interest),
            agreed_annual_rate=e.contract_terms.agreed_annual_rate,
            signed_on=e.contract_terms.signed_on,
            creditor_is_sme=e.contract_terms.creditor_is_sme,
            debtor_is_large_or_public=e.contract_terms.debtor_is_large_or_public,
        )
    yield (
        e.buyer_id,
        TrackInvoice(
            invoice_id=e.invoice_id,
            invoice_number=e.invoice_number,
            order_id=e.order_id,
            issued_on=e.issued_on,
            delivered_on=e.delivered_on,
            due_on=e.due_on,
            amount=Money(amount=e.amount.amount, currency=e.amount.currency),
            terms=terms,
            # the trace the invoice was issued in continues in its later decisions: the consumed
            # record's own, the same live and in a rebuild, sampled or not
            traceparent=consumed_traceparent(),
            instalments=tuple(
                InstalmentTerms(seq=p.seq, due_on=p.due_on, amount=p.amount.amount)
                for p in e.instalments
            ),
        ),
    )


def invoice_cancelled(event: CloudEvent[Any]) -> Commands:
    e: erp.InvoiceCancelled = event.data
    yield e.buyer_id, CancelInvoice(invoice_id=e.invoice_id, on=e.cancelled_on)


def credit_note_issued(event: CloudEvent[Any]) -> Commands:
    e: erp.CreditNoteIssued = event.data
    yield (
        e.buyer_id,
        ApplyCreditNote(
            credit_note_id=e.credit_note_id,
            invoice_id=e.invoice_id,
            amount=e.amount.amount,
            on=e.issued_on,
        ),
    )


def delivery_confirmed(event: CloudEvent[Any]) -> Commands:
    e: erp.DeliveryConfirmed = event.data
    yield (
        e.buyer_id,
        ConfirmDelivery(
            invoice_id=e.invoice_id,
            document_ref=e.proof_of_delivery.document_ref,
            on=e.confirmed_on,
        ),
    )


def payment_received(event: CloudEvent[Any]) -> Commands:
    # Payments that name no invoice are applied by the ledger (oldest first); its
    # InvoiceBalanceChanged reaches us then. Dunning never re-implements that rule.
    e: erp.PaymentReceived = event.data
    allocated = sum((a.amount.amount for a in e.allocations), Decimal(0))
    if allocated < e.amount.amount:
        # what it names no invoice for tells cash the ledger applied from cash on account
        yield (
            e.buyer_id,
            NoteUnnamedPayment(
                payment_id=e.payment_id,
                amount=Money(amount=e.amount.amount - allocated, currency=e.amount.currency),
                on=e.received_on,
            ),
        )
    if e.allocations:
        yield (
            e.buyer_id,
            ApplyPayment(
                payment_id=e.payment_id,
                allocations=tuple((a.invoice_id, a.amount.amount) for a in e.allocations),
                on=e.received_on,
            ),
        )


def dispute_raised(event: CloudEvent[Any]) -> Commands:
    e: erp.DisputeRaised = event.data
    yield (
        e.buyer_id,
        RaiseDispute(
            dispute_id=e.dispute_id,
            invoice_id=e.invoice_id,
            on=e.raised_on,
            amount=e.disputed_amount.amount,
        ),
    )


def dispute_resolved(event: CloudEvent[Any]) -> Commands:
    e: erp.DisputeResolved = event.data
    yield (
        e.buyer_id,
        ResolveDispute(
            dispute_id=e.dispute_id,
            invoice_id=e.invoice_id,
            outcome=str(e.outcome),
            on=e.resolved_on,
            credit_note_id=e.credit_note_id,
        ),
    )


def invoice_balance_changed(event: CloudEvent[Any]) -> Commands:
    e: ledger.InvoiceBalanceChanged = event.data
    yield (
        e.buyer_id,
        NoteLedgerBalance(
            invoice_id=e.invoice_id,
            outstanding=e.outstanding.amount,
            status=str(e.status),
            on=e.changed_on,
        ),
    )


def payment_unapplied(event: CloudEvent[Any]) -> Commands:
    e: ledger.PaymentUnapplied = event.data
    yield (
        e.buyer_id,
        NoteCashOnAccount(
            payment_id=e.payment_id,
            amount=Money(amount=e.unapplied.amount, currency=e.unapplied.currency),
            on=e.received_on,
        ),
    )


def invoice_settled(event: CloudEvent[Any]) -> Commands:
    e: ledger.InvoiceSettled = event.data
    yield e.buyer_id, NoteSettlement(invoice_id=e.invoice_id, on=e.settled_on)


def risk_alert_raised(event: CloudEvent[Any]) -> Commands:
    e: risk.RiskAlertRaised = event.data
    if e.level == "critical":
        yield e.buyer_id, PutOnWatch(on_watch=True, reason=f"critical {e.signal}")


def translations(*, source: str, watch_from_grade: int = 7) -> dict[type[Any], Translate[Command]]:
    """The translation table; `watch_from_grade` is the internal grade from which a downgraded
    buyer moves to the watch cycle, `source` dunning's own (its events read back)."""

    def downgraded(event: CloudEvent[Any]) -> Commands:
        e: risk.BuyerDowngraded = event.data
        if e.to_grade >= watch_from_grade:
            yield e.buyer_id, PutOnWatch(on_watch=True, reason=f"downgraded to grade {e.to_grade}")

    def upgraded(event: CloudEvent[Any]) -> Commands:
        e: risk.BuyerUpgraded = event.data
        if e.to_grade < watch_from_grade:
            yield e.buyer_id, PutOnWatch(on_watch=False, reason=f"upgraded to grade {e.to_grade}")

    def own_promise(event: CloudEvent[Any]) -> Commands:
        # Promises are recorded through the API, which applies them at once; reading our own event
        # back lets a rebuild from the log restore them (live, it changes nothing).
        e: dunning_events.PromiseToPayRecorded = event.data
        if event.source != source:
            return
        yield (
            e.buyer_id,
            RestorePromise(
                RecordPromise(
                    promise_id=e.promise_id,
                    invoice_ids=e.invoice_ids,
                    promised_on=e.promised_payment_on,
                    amount=e.promised_amount.amount,
                    recorded_on=e.recorded_on,
                    grace_days=e.grace_days,
                    recorded_by=e.recorded_by,
                )
            ),
        )

    return {
        erp.BuyerRegistered: buyer_registered,
        erp.InvoiceIssued: invoice_issued,
        erp.InvoiceCancelled: invoice_cancelled,
        erp.CreditNoteIssued: credit_note_issued,
        erp.DeliveryConfirmed: delivery_confirmed,
        erp.PaymentReceived: payment_received,
        erp.DisputeRaised: dispute_raised,
        erp.DisputeResolved: dispute_resolved,
        ledger.InvoiceBalanceChanged: invoice_balance_changed,
        ledger.InvoiceSettled: invoice_settled,
        ledger.PaymentUnapplied: payment_unapplied,
        risk.BuyerDowngraded: downgraded,
        risk.BuyerUpgraded: upgraded,
        risk.RiskAlertRaised: risk_alert_raised,
        dunning_events.PromiseToPayRecorded: own_promise,
    }


def wiring(
    claims: Claims,
    *,
    source: str,
    read_models: ReadModels,
    publish: Publish,
    queries: Queries,
    watch_from_grade: int = 7,
    store: StateStore | None = None,
) -> DunningWiring:
    """`store` is the kernel's (the tenant's profile is read from it: the law of invoices without
    contract terms, the same rule the ledger asks); `queries` tell a business day the agency new
    cases go to."""
    configured = store if store is not None else PostgresStateStore()

    async def day_context(session: Session, tenant_id: str, day: date) -> DayContext:
        profile = await configured.in_force(session, tenant_id, TENANT, day)
        return DayContext(
            policies=await policies_from(configured, session, tenant_id, day),
            claims=claims.for_tenant(
                profile.body.get("jurisdiction") if profile else None,
                profile.body.get("is_sme") if profile else None,
            ),
            agency_id=await queries.delivery_target(session, tenant_id),
        )

    def policy_written(event: CloudEvent[Any]) -> Configuration | None:
        if event.source != source:
            return None  # only dunning's own configuration counts
        e: dunning_events.DunningPolicyWritten = event.data
        return Configuration(
            tenant_id=event.tenantid,
            kind=policy_kind(Segment(e.segment)),
            event_id=event.id,
            version=str(e.version),
            effective_on=e.effective_on,
            body=e.rules,
        )

    return Wiring(
        decider=DunningDecider(),
        state=TypeAdapter(BuyerDunning),
        translate=translations(source=source, watch_from_grade=watch_from_grade),
        projections=read_models,
        publish=publish,
        refusals=(DunningError,),
        day_context=day_context,
        configure={dunning_events.DunningPolicyWritten: policy_written},
    )


def policy_kind(segment: Segment) -> str:
    return f"policy:{segment.value}"


async def policies_from(
    store: StateStore, session: Session, tenant_id: str, day: date
) -> dict[Segment, Policy]:
    """The policy in force on `day` per segment, as read from the log (version 0, the built-in
    default, where none was written). A version whose rules no longer validate (written under an
    older release) gives way to the default rather than stopping the tenant's day."""
    policies: dict[Segment, Policy] = {}
    for segment in Segment:
        entry = await store.in_force(session, tenant_id, policy_kind(segment), day)
        policy = Policy.default(segment)
        if entry is not None:
            try:
                rules = PolicyRules.model_validate(entry.body)
            except ValidationError:
                log.error("policy %s v%s does not validate", segment.value, entry.version)
            else:
                policy = Policy(segment=segment, version=int(entry.version), rules=rules)
        policies[segment] = policy
    return policies


async def policies_in_force(
    session: Session, kernel: DunningKernel, tenant_id: str, day: date
) -> dict[Segment, Policy]:
    return await policies_from(kernel.store, session, tenant_id, day)


def kernel(
    claims: Claims,
    store: StateStore,
    *,
    source: str,
    read_models: ReadModels,
    publish: Publish,
    queries: Queries,
    watch_from_grade: int = 7,
) -> DunningKernel:
    wired = wiring(
        claims,
        source=source,
        read_models=read_models,
        publish=publish,
        queries=queries,
        watch_from_grade=watch_from_grade,
        store=store,
    )
    return Kernel(wired, store)
