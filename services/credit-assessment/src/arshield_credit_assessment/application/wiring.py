"""Credit-assessment on the kernel: the translation table (public event -> commands for buyers),
the decider, the state's codec and the policy a business day is decided under; the read models
and the public mapping are the adapters the composition root passes in.

What the API decides (credit checks, a person's answer to a referral, a hold lifted by a person,
a contract review, expected sales) is written to the outbox only and applied when read back from
`arshield.credit`: live and rebuilt state come from the very same log. A credit policy version is
configuration on the log: the kernel records it when read back and wakes every buyer of the
tenant on its effective date, whose day command carries the version in force that day.

Over 400 lines for a reason: the translation table covers five topics (ERP orders and invoices,
the ledger's balances, risk-monitor's grades, the insurer's cover, the clock), each entry a few
lines, kept beside the decider and the kernel's policy adoption so one place says what moves a
buyer's credit file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import TypeAdapter

from arshield_credit_assessment.application.ports import Connection, PublicEvents
from arshield_credit_assessment.domain import commands as c
from arshield_credit_assessment.domain.decide import decide, wake_on
from arshield_credit_assessment.domain.events import Event
from arshield_credit_assessment.domain.evolve import evolve
from arshield_credit_assessment.domain.policy import DEFAULT_POLICY, CreditPolicy
from arshield_credit_assessment.domain.review import ContractReviewer, InstalmentTerm, Terms
from arshield_credit_assessment.domain.state import BuyerCredit
from arshield_events import credit, erp, external, insurance, ledger, risk
from arshield_events.envelope import CloudEvent
from arshield_runtime.kernel import TENANT, Kernel, Projection, Session, Translate, Wiring
from arshield_runtime.statestore import Configuration, StateStore

CreditWiring = Wiring[BuyerCredit, c.Command, Event]
Commands = Iterator[tuple[str, c.Command]]


@dataclass(frozen=True)
class DayContext:
    """What a tenant's business day is decided under: the credit policy in force and the tenant's
    own law (its profile)."""

    policy: CreditPolicy
    tenant_law: str | None


class CreditDecider:
    def __init__(self, reviewer: ContractReviewer) -> None:
        self.reviewer = reviewer

    def initial(self, tenant_id: str, buyer_id: str) -> BuyerCredit:
        return BuyerCredit(tenant_id=tenant_id, buyer_id=buyer_id)

    def decide(self, state: BuyerCredit, command: c.Command) -> Sequence[Event]:
        return decide(state, command, self.reviewer.review)

    def evolve(self, state: BuyerCredit, event: Event) -> BuyerCredit:
        return evolve(state, event)

    def wake_on(self, state: BuyerCredit) -> date | None:
        return wake_on(state)

    def on_day(self, state: BuyerCredit, day: date, context: DayContext) -> c.Command:
        return c.StartDay(on=day, policy=context.policy, tenant_law=context.tenant_law)


def contract_terms(
    terms: erp.ContractTerms | None,
    *,
    days: int,
    amount: Any,
    on: date,
    instalments: Sequence[erp.Instalment] = (),
) -> Terms | None:
    if terms is None:
        return None
    return Terms(
        jurisdiction=str(terms.jurisdiction),
        payment_terms_days=days,
        amount=amount,
        on=on,
        late_interest=str(terms.late_interest),
        agreed_annual_rate=terms.agreed_annual_rate,
        retention_of_title=terms.retention_of_title,
        court=terms.court,
        signed_on=terms.signed_on,
        creditor_is_sme=terms.creditor_is_sme,
        debtor_is_large_or_public=terms.debtor_is_large_or_public,
        instalments=tuple(InstalmentTerm(i.seq, i.amount.amount, i.milestone) for i in instalments),
    )


# --- the translation table ----------------------------------------------------------------------


def buyer_registered(event: CloudEvent[Any]) -> Commands:
    e: erp.BuyerRegistered = event.data
    yield (
        e.buyer_id,
        c.RegisterBuyer(legal_name=e.legal_name, country=e.country, on=e.registered_on),
    )


def order_placed(event: CloudEvent[Any]) -> Commands:
    e: erp.OrderPlaced = event.data
    days = e.payment_terms_days
    terms = contract_terms(e.contract_terms, days=days or 0, amount=e.amount.amount, on=e.placed_on)
    yield (
        e.buyer_id,
        c.PlaceOrder(
            order_id=e.order_id,
            amount=e.amount.amount,
            currency=e.amount.currency,
            placed_on=e.placed_on,
            terms_days=days,
            terms=terms,
            request_id=f"order-{e.order_id}",
        ),
    )


def order_cancelled(event: CloudEvent[Any]) -> Commands:
    e: erp.OrderCancelled = event.data
    yield e.buyer_id, c.CancelOrder(order_id=e.order_id)


def invoice_issued(event: CloudEvent[Any]) -> Commands:
    e: erp.InvoiceIssued = event.data
    yield (
        e.buyer_id,
        c.TrackInvoice(
            invoice_id=e.invoice_id,
            currency=e.amount.currency,
            amount=e.amount.amount,
            due_on=e.due_on,
            order_id=e.order_id,
            on=e.issued_on,
            terms=contract_terms(
                e.contract_terms,
                days=e.payment_terms_days,
                amount=e.amount.amount,
                on=e.issued_on,
                instalments=e.instalments,
            ),
        ),
    )


def invoice_cancelled(event: CloudEvent[Any]) -> Commands:
    e: erp.InvoiceCancelled = event.data
    yield e.buyer_id, c.CloseInvoice(invoice_id=e.invoice_id, on=e.cancelled_on)


def balance_changed(event: CloudEvent[Any]) -> Commands:
    e: ledger.InvoiceBalanceChanged = event.data
    closed = e.status in ("paid", "credited", "cancelled", "written_off")
    yield (
        e.buyer_id,
        c.NoteBalance(
            invoice_id=e.invoice_id,
            currency=e.outstanding.currency,
            outstanding=e.outstanding.amount,
            on=e.changed_on,
            closed=closed,
        ),
    )


def payment_overdue(event: CloudEvent[Any]) -> Commands:
    e: ledger.PaymentOverdue = event.data
    yield (
        e.buyer_id,
        c.NoteBalance(
            invoice_id=e.invoice_id,
            currency=e.outstanding.currency,
            outstanding=e.outstanding.amount,
            on=e.as_of,
            due_on=e.due_on if e.instalment_seq is None else None,
            days_overdue=e.days_overdue,
        ),
    )


def invoice_settled(event: CloudEvent[Any]) -> Commands:
    e: ledger.InvoiceSettled = event.data
    yield e.buyer_id, c.NoteSettled(invoice_id=e.invoice_id, days_late=e.days_late, on=e.settled_on)


def downgraded(event: CloudEvent[Any]) -> Commands:
    e: risk.BuyerDowngraded = event.data
    yield e.buyer_id, c.NoteGrade(grade=e.to_grade, reason="; ".join(e.reasons), on=e.downgraded_on)


def upgraded(event: CloudEvent[Any]) -> Commands:
    e: risk.BuyerUpgraded = event.data
    yield e.buyer_id, c.NoteGrade(grade=e.to_grade, reason="; ".join(e.reasons), on=e.upgraded_on)


def alert_raised(event: CloudEvent[Any]) -> Commands:
    e: risk.RiskAlertRaised = event.data
    yield e.buyer_id, c.NoteAlert(level=e.level, detail=f"{e.signal}: {e.detail}", on=e.raised_on)


def insolvent(event: CloudEvent[Any]) -> Commands:
    e: risk.BuyerInsolvent = event.data
    yield (
        e.buyer_id,
        c.PlaceHold(
            cause="insolvency", reason=f"insolvent ({e.source})", on=e.insolvent_on, insolvent=True
        ),
    )


def insolvency_notice(event: CloudEvent[Any]) -> Commands:
    e: external.InsolvencyNoticePublished = event.data
    yield (
        e.buyer_id,
        c.PlaceHold(
            cause="insolvency",
            reason=f"insolvency notice: {e.proceeding}",
            on=e.published_on,
            insolvent=True,
        ),
    )


def financials(event: CloudEvent[Any]) -> Commands:
    e: external.BuyerFinancialsReported = event.data
    yield (
        e.buyer_id,
        c.NoteFinancials(
            equity=e.equity.amount if e.equity else None,
            currency=e.equity.currency if e.equity else None,
            period_end=e.period_end_on,
            on=e.reported_on,
        ),
    )


def cover_changed(event: CloudEvent[Any]) -> Commands:
    e: insurance.CoverChanged = event.data
    yield (
        e.buyer_id,
        c.NoteCover(
            amount=e.cover.amount,
            currency=e.cover.currency,
            effective_on=e.effective_on,
            notified_on=e.notified_on,
        ),
    )


def stop_supply(event: CloudEvent[Any]) -> Commands:
    e: insurance.StopSupplyRequired = event.data
    yield (
        e.buyer_id,
        c.PlaceHold(cause="stop_supply", reason=f"insurer: {e.reason}", on=e.required_on),
    )


def translations(source: str, public: PublicEvents) -> dict[type[Any], Translate[c.Command]]:
    """The table; `source` is credit-assessment's own (what it decided over HTTP comes back, and
    `public` says what it means)."""

    def own_decision(event: CloudEvent[Any]) -> Commands:
        if event.source == source:
            e: credit.CreditDecisionMade = event.data
            yield e.buyer_id, c.RestoreDecision(public.decision_of(e))

    def own_release(event: CloudEvent[Any]) -> Commands:
        e: credit.CreditHoldReleased = event.data
        if event.source == source and e.released_by is not None:
            yield (
                e.buyer_id,
                c.RestoreRelease(e.hold_id, e.reason, e.released_on, e.released_by),
            )

    def own_review(event: CloudEvent[Any]) -> Commands:
        if event.source == source:
            e: credit.ContractReviewed = event.data
            yield (
                e.buyer_id,
                c.RestoreReview(
                    e.review_id, e.subject, public.review_of(e), e.policy_version, e.reviewed_on
                ),
            )

    def expected_sales(event: CloudEvent[Any]) -> Commands:
        if event.source == source:
            e: credit.ExpectedSalesRecorded = event.data
            yield (
                e.buyer_id,
                c.SetExpectedSales(e.monthly_sales.amount, e.monthly_sales.currency, e.recorded_on),
            )

    return {
        erp.BuyerRegistered: buyer_registered,
        erp.OrderPlaced: order_placed,
        erp.OrderCancelled: order_cancelled,
        erp.InvoiceIssued: invoice_issued,
        erp.InvoiceCancelled: invoice_cancelled,
        ledger.InvoiceBalanceChanged: balance_changed,
        ledger.PaymentOverdue: payment_overdue,
        ledger.InvoiceSettled: invoice_settled,
        risk.BuyerDowngraded: downgraded,
        risk.BuyerUpgraded: upgraded,
        risk.RiskAlertRaised: alert_raised,
        risk.BuyerInsolvent: insolvent,
        external.InsolvencyNoticePublished: insolvency_notice,
        external.BuyerFinancialsReported: financials,
        insurance.CoverChanged: cover_changed,
        insurance.StopSupplyRequired: stop_supply,
        credit.CreditDecisionMade: own_decision,
        credit.CreditHoldReleased: own_release,
        credit.ContractReviewed: own_review,
        credit.ExpectedSalesRecorded: expected_sales,
    }


STATE = TypeAdapter(BuyerCredit)


POLICY = "credit-policy"
"""The configuration kind of a credit policy version."""


@dataclass(frozen=True)
class InForce:
    """The configuration in force for a tenant, read from the kernel's store: its credit policy
    version (its event's body, which the public mapping reads) and its own law."""

    store: StateStore
    public: PublicEvents

    async def policy(self, session: Connection, tenant_id: str, day: date) -> CreditPolicy:
        """The version in force on `day`, else the built-in default (version 0)."""
        entry = await self.store.in_force(session, tenant_id, POLICY, day)
        return DEFAULT_POLICY if entry is None else self._policy(entry)

    async def tenant_law(self, session: Connection, tenant_id: str, day: date) -> str | None:
        """The tenant's own jurisdiction on `day` (its `TenantProfiled`), if it has said."""
        return _law(await self.store.in_force(session, tenant_id, TENANT, day))

    async def on(self, session: Session, tenant_id: str, day: date) -> DayContext:
        """What the tenant's business day `day` is decided under (the kernel's day context)."""
        return DayContext(
            await self.policy(session, tenant_id, day),
            await self.tenant_law(session, tenant_id, day),
        )

    async def first_seen(self, session: Session, tenant_id: str, on: date | None) -> DayContext:
        """What a buyer first seen between two ticks is decided under: the versions in force on
        the business day `on` its first command arrives in; before its first tick, the first
        versions recorded; else the built-in default. Read in the transaction, so a rebuild
        (which records the configuration again as it replays the log) sees what live saw at the
        same event."""
        if on is not None:
            return await self.on(session, tenant_id, on)
        policies = await self.store.configurations(session, tenant_id, POLICY)
        profiles = await self.store.configurations(session, tenant_id, TENANT)
        return DayContext(
            self._policy(policies[0]) if policies else DEFAULT_POLICY,
            _law(profiles[0] if profiles else None),
        )

    def _policy(self, entry: Configuration) -> CreditPolicy:
        return self.public.policy_of_event(credit.CreditPolicyPublished.model_validate(entry.body))


def _law(profile: Configuration | None) -> str | None:
    law = profile.body.get("jurisdiction") if profile else None
    return law if isinstance(law, str) else None


def wiring(
    reviewer: ContractReviewer,
    *,
    source: str,
    store: StateStore,
    read_models: Sequence[Projection[BuyerCredit, Event]],
    public: PublicEvents,
) -> CreditWiring:
    """`store` is the kernel's (the credit policy in force is read from it); the read models and
    the public mapping are adapters the composition root passes in: imports point inward."""
    in_force = InForce(store, public)

    def policy_published(event: CloudEvent[Any]) -> Configuration | None:
        if event.source != source:
            return None  # only credit-assessment's own policy counts
        e: credit.CreditPolicyPublished = event.data
        return Configuration(
            tenant_id=event.tenantid,
            kind=POLICY,
            event_id=event.id,
            version=str(e.version),
            effective_on=e.effective_on,
            body=e.model_dump(mode="json"),
        )

    async def adopt(
        session: Session, tenant_id: str, on: date | None, state: BuyerCredit, command: c.Command
    ) -> c.Command | None:
        """A buyer without a policy adopts the one in force before its command is decided."""
        if state.policy is not None or isinstance(command, c.StartDay):
            return None
        context = await in_force.first_seen(session, tenant_id, on)
        return c.AdoptPolicy(context.policy, context.tenant_law)

    return Wiring(
        decider=CreditDecider(reviewer),
        state=STATE,
        translate=translations(source, public),
        projections=read_models,
        publish=public.publish,
        refusals=(c.CreditError,),
        day_context=in_force.on,
        adopt=adopt,
        configure={credit.CreditPolicyPublished: policy_published},
    )


CreditKernel = Kernel[BuyerCredit, c.Command, Event]


def kernel(
    reviewer: ContractReviewer,
    store: StateStore,
    *,
    source: str,
    read_models: Sequence[Projection[BuyerCredit, Event]],
    public: PublicEvents,
) -> CreditKernel:
    wired = wiring(reviewer, source=source, store=store, read_models=read_models, public=public)
    return Kernel(wired, store)
