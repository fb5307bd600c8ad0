"""Risk-monitor on the kernel: the translation table (public event -> commands for buyers), the
decider, the state's codec, the scorecard version a business day is decided under, the
projections and the public mapping.

The scorecard version in force is configuration on the log: the service's own
`ScorecardActivated` is recorded by the kernel (kind `scorecard`), read back by business date, and
the business day it takes effect wakes every buyer of the tenant. An insolvency notice has a
handler of its own beside the kernel's: it is checked against the tenant's business date (a notice
dated later is dead-lettered).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from pydantic import TypeAdapter

from arshield_events import erp, external, ledger, risk
from arshield_events.envelope import CloudEvent
from arshield_risk_monitor.domain.commands import (
    Command,
    NoteBalance,
    NoteFinancials,
    NoteInsolvency,
    NoteRating,
    NoteSettlement,
    RaiseDispute,
    ReceivePayment,
    RegisterBuyer,
    RiskRefused,
    StartBusinessDay,
    TrackInvoice,
    VoidInvoice,
)
from arshield_risk_monitor.domain.decide import DayContext, RiskDecider
from arshield_risk_monitor.domain.events import DomainEvent
from arshield_risk_monitor.domain.scorecard import Scorecard
from arshield_risk_monitor.domain.state import BuyerRisk, Insolvency, Rating
from arshield_runtime.kernel import (
    Change,
    Configure,
    Emit,
    Kernel,
    Projection,
    Session,
    Translate,
    Wiring,
)
from arshield_runtime.messaging import EventRouter, HandlerContext, Rejected
from arshield_runtime.statestore import Configuration, StateStore

log = logging.getLogger(__name__)

RiskWiring = Wiring[BuyerRisk, Command, DomainEvent]
RiskKernel = Kernel[BuyerRisk, Command, DomainEvent]
Commands = Iterator[tuple[str, Command]]
Labels = Callable[[str], list[tuple[str, str]]]
"""A scorecard version -> its factors' (signal, label): what the read models and events name."""
ReadModels = Callable[[Labels], Sequence[Projection[BuyerRisk, DomainEvent]]]
Publish = Callable[[Labels], Callable[[Change[BuyerRisk, DomainEvent]], Iterable[Emit]]]
VOID_STATUSES = ("cancelled", "credited")
SCORECARD = "scorecard"
"""The configuration kind of the scorecard version in force."""


def buyer_registered(event: CloudEvent[Any]) -> Commands:
    e: erp.BuyerRegistered = event.data
    yield e.buyer_id, RegisterBuyer(on=e.registered_on)


def invoice_issued(event: CloudEvent[Any]) -> Commands:
    e: erp.InvoiceIssued = event.data
    yield (
        e.buyer_id,
        TrackInvoice(
            invoice_id=e.invoice_id, due_on=e.due_on, amount=e.amount.amount, on=e.issued_on
        ),
    )


def invoice_cancelled(event: CloudEvent[Any]) -> Commands:
    e: erp.InvoiceCancelled = event.data
    yield e.buyer_id, VoidInvoice(invoice_id=e.invoice_id, on=e.cancelled_on)


def payment_received(event: CloudEvent[Any]) -> Commands:
    e: erp.PaymentReceived = event.data
    yield (
        e.buyer_id,
        ReceivePayment(
            payment_id=e.payment_id,
            amount=e.amount.amount,
            allocations=tuple((a.invoice_id, a.amount.amount) for a in e.allocations),
            on=e.received_on,
        ),
    )


def dispute_raised(event: CloudEvent[Any]) -> Commands:
    e: erp.DisputeRaised = event.data
    yield e.buyer_id, RaiseDispute(dispute_id=e.dispute_id, on=e.raised_on)


def balance_changed(event: CloudEvent[Any]) -> Commands:
    e: ledger.InvoiceBalanceChanged = event.data
    if str(e.status) in VOID_STATUSES:
        yield e.buyer_id, VoidInvoice(invoice_id=e.invoice_id, on=e.changed_on)
    else:
        yield (
            e.buyer_id,
            NoteBalance(invoice_id=e.invoice_id, outstanding=e.outstanding.amount, on=e.changed_on),
        )


def invoice_settled(event: CloudEvent[Any]) -> Commands:
    e: ledger.InvoiceSettled = event.data
    yield e.buyer_id, NoteSettlement(invoice_id=e.invoice_id, on=e.settled_on)


def rating_published(event: CloudEvent[Any]) -> Commands:
    e: external.BuyerRatingPublished = event.data
    rating = Rating(published_on=e.published_on, grade=e.grade)
    yield e.buyer_id, NoteRating(rating=rating, on=e.published_on)


def financials_reported(event: CloudEvent[Any]) -> Commands:
    e: external.BuyerFinancialsReported = event.data
    yield (
        e.buyer_id,
        NoteFinancials(
            period_end_on=e.period_end_on,
            total_assets=e.total_assets.amount if e.total_assets else None,
            equity=e.equity.amount if e.equity else None,
            net_income=e.net_income.amount if e.net_income else None,
            current_ratio=e.current_ratio,
            on=e.reported_on,
        ),
    )


TRANSLATIONS: dict[type[Any], Translate[Command]] = {
    erp.BuyerRegistered: buyer_registered,
    erp.InvoiceIssued: invoice_issued,
    erp.InvoiceCancelled: invoice_cancelled,
    erp.PaymentReceived: payment_received,
    erp.DisputeRaised: dispute_raised,
    ledger.InvoiceBalanceChanged: balance_changed,
    ledger.InvoiceSettled: invoice_settled,
    external.BuyerRatingPublished: rating_published,
    external.BuyerFinancialsReported: financials_reported,
}
"""Credit notes and dispute outcomes reach the signals through the ledger's balances (a fully
credited invoice is settled by credit: `credited`, not paid late)."""


class GuardedDecider(RiskDecider):
    """One buyer's failure on a business day must not cost the tenant's other buyers their day:
    it decides nothing, keeps its wake-up and is rescored at the next tick or fact."""

    def decide(self, state: BuyerRisk, command: Command) -> list[DomainEvent]:
        if not isinstance(command, StartBusinessDay):
            return super().decide(state, command)
        try:
            return super().decide(state, command)
        except Exception:
            log.exception(
                "business day %s failed for buyer %s/%s; it is rescored later",
                command.on,
                state.tenant_id,
                state.buyer_id,
            )
            return []


def labels(scorecards: Mapping[str, Scorecard]) -> Labels:
    def labels_of(version: str) -> list[tuple[str, str]]:
        card = scorecards.get(version)
        return [] if card is None else [(f.signal, f.label) for f in card.factors]

    return labels_of


def scorecard_activated(source: str) -> Configure:
    """`ScorecardActivated` as configuration: only the service's own (its API wrote it)."""

    def configure(event: CloudEvent[Any]) -> Configuration | None:
        if event.source != source:
            return None
        e: risk.ScorecardActivated = event.data
        return Configuration(
            tenant_id=event.tenantid,
            kind=SCORECARD,
            event_id=event.id,
            version=e.scorecard_version,
            effective_on=e.effective_on,
            body=e.model_dump(mode="json"),
        )

    return configure


VersionAt = Callable[[Session, str, date], Awaitable[str | None]]


def version_at(decider: RiskDecider, store: StateStore) -> VersionAt:
    """The version in force for a tenant on a business day: the latest activated by then, else
    the service's default."""

    async def at(session: Session, tenant_id: str, day: date) -> str | None:
        entry = await store.in_force(session, tenant_id, SCORECARD, day)
        return entry.version if entry is not None else decider.default_version

    return at


def wiring(
    scorecards: Mapping[str, Scorecard],
    default_version: str | None,
    *,
    source: str,
    store: StateStore,
    read_models: ReadModels,
    publish: Publish,
) -> RiskWiring:
    """`store` is the kernel's (the scorecard version in force is read from it); the read models
    and the public mapping are adapters the composition root passes in, each made for the
    scorecards' factor labels: imports point inward."""
    decider = GuardedDecider(scorecards, default_version)
    in_force = version_at(decider, store)

    async def day_context(session: Session, tenant_id: str, day: date) -> DayContext:
        return DayContext(scorecard_version=await in_force(session, tenant_id, day))

    labels_of = labels(scorecards)
    return Wiring(
        decider=decider,
        state=TypeAdapter(BuyerRisk),
        translate=TRANSLATIONS,
        projections=read_models(labels_of),
        publish=publish(labels_of),
        refusals=(RiskRefused,),
        day_context=day_context,
        configure={risk.ScorecardActivated: scorecard_activated(source)},
    )


def kernel(
    scorecards: Mapping[str, Scorecard],
    default_version: str | None,
    store: StateStore,
    *,
    source: str,
    read_models: ReadModels,
    publish: Publish,
) -> RiskKernel:
    wired = wiring(
        scorecards,
        default_version,
        source=source,
        store=store,
        read_models=read_models,
        publish=publish,
    )
    return Kernel(wired, store)


def router(kernel: RiskKernel) -> EventRouter:
    """The kernel's router, with the insolvency notice's handler (it needs the tenant's business
    date, not only the buyer's state)."""
    events = kernel.router()

    @events.handles(external.InsolvencyNoticePublished)
    async def insolvency_notice(ctx: HandlerContext) -> None:
        e: external.InsolvencyNoticePublished = ctx.event.data
        tenant_id = ctx.event.tenantid
        today = await kernel.today(ctx)
        if today is not None and e.published_on > today:
            raise Rejected(
                f"insolvency notice published on {e.published_on}, after the tenant's business "
                f"date {today}"
            )
        notice = Insolvency(
            on=e.published_on, proceeding=e.proceeding, notice_ref=e.notice_ref, detail=e.detail
        )
        command = NoteInsolvency(insolvency=notice, on=today or e.published_on)
        unit = kernel.unit_of_work(ctx.session, ctx.batch)
        await unit.execute(tenant_id, e.buyer_id, command, ctx, ctx.event)

    return events
