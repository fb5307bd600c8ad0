"""The ledger on the runtime's kernel: what each public ERP fact asks of which buyer, the decider,
the state's codec, the read models and the public mapping.

The kernel handles `BusinessDayStarted` itself: it advances the tenant's business date and gives
the day command to each buyer whose `wake_on` date has come (an instalment's next overdue
announcement falls due).

The tenant's law (its `TenantProfiled` jurisdiction and SME flag, the law of an invoice without
contract terms) is configuration the decider needs to split a partial payment: the wiring reads it
from the kernel's store and passes it in a command, to a buyer before its first decision
(`AdoptTenantLaw`) and to every buyer's business day (`StartBusinessDay.law`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from typing import Any

from pydantic import TypeAdapter

from arshield_events import erp
from arshield_events.envelope import CloudEvent
from arshield_latepay import ReferenceRates
from arshield_ledger.domain.commands import (
    AdoptTenantLaw,
    Allocation,
    CancelInvoice,
    Command,
    InstalmentTerms,
    IssueCreditNote,
    IssueInvoice,
    RaiseDispute,
    ReceivePayment,
    ResolveDispute,
    StartBusinessDay,
    TenantLaw,
    WriteOffInvoice,
)
from arshield_ledger.domain.decide import Refused, decide
from arshield_ledger.domain.events import Event
from arshield_ledger.domain.evolve import evolve
from arshield_ledger.domain.state import BuyerLedger, fingerprint
from arshield_runtime.kernel import TENANT, Change, Emit, Projection, Wiring
from arshield_runtime.statestore import Configuration, StateStore

Commands = Iterator[tuple[str, Command]]


class LedgerDecider:
    """The ledger's pure domain in the shape the kernel runs."""

    def __init__(self, rates: ReferenceRates | None = None) -> None:
        self.rates = rates

    def initial(self, tenant_id: str, buyer_id: str) -> BuyerLedger:
        return BuyerLedger()

    def decide(self, state: BuyerLedger, command: Command) -> list[Event]:
        return decide(state, command, self.rates)

    def evolve(self, state: BuyerLedger, event: Event) -> BuyerLedger:
        return evolve(state, event)

    def wake_on(self, state: BuyerLedger) -> date | None:
        return state.wake_on()

    def on_day(self, state: BuyerLedger, day: date, context: Any) -> Command | None:
        return StartBusinessDay(day, context if isinstance(context, TenantLaw) else None)


def _law(profile: Configuration | None) -> TenantLaw:
    if profile is None:
        return TenantLaw()
    return TenantLaw(profile.body.get("jurisdiction"), profile.body.get("is_sme"))


class TenantLawInForce:
    """The tenant's law read from the kernel's store (its `TenantProfiled` versions)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    async def on(self, session: Any, tenant_id: str, day: date) -> TenantLaw:
        """The law in force on the tenant's business day `day` (the kernel's day context)."""
        return _law(await self.store.in_force(session, tenant_id, TENANT, day))

    async def adopt(
        self, session: Any, tenant_id: str, on: date | None, state: BuyerLedger, command: Command
    ) -> Command | None:
        """A buyer that has not adopted the tenant's law adopts the one in force on the business
        day `on` its command arrives in (before its first tick: the first version recorded). Read
        in the transaction, so a rebuild, which records the profiles again as it replays the log,
        sees what live saw at the same event."""
        if state.law_adopted or isinstance(command, StartBusinessDay | AdoptTenantLaw):
            return None
        if on is not None:
            return AdoptTenantLaw(await self.on(session, tenant_id, on))
        profiles = await self.store.configurations(session, tenant_id, TENANT)
        return AdoptTenantLaw(_law(profiles[0] if profiles else None))


def invoice_issued(event: CloudEvent[Any]) -> Commands:
    data: erp.InvoiceIssued = event.data
    terms = data.contract_terms
    yield (
        data.buyer_id,
        IssueInvoice(
            invoice_id=data.invoice_id,
            invoice_number=data.invoice_number,
            currency=data.amount.currency,
            amount=data.amount.amount,
            issued_on=data.issued_on,
            due_on=data.due_on,
            instalments=tuple(
                InstalmentTerms(p.seq, p.due_on, p.amount.amount) for p in data.instalments
            ),
            content=fingerprint(data.model_dump(mode="json")),
            payment_terms_days=data.payment_terms_days,
            jurisdiction=terms.jurisdiction if terms else None,
            agreed_annual_rate=terms.agreed_annual_rate if terms else None,
            signed_on=terms.signed_on if terms else None,
            creditor_is_sme=terms.creditor_is_sme if terms else None,
            debtor_is_large_or_public=terms.debtor_is_large_or_public if terms else None,
        ),
    )


def payment_received(event: CloudEvent[Any]) -> Commands:
    data: erp.PaymentReceived = event.data
    yield (
        data.buyer_id,
        ReceivePayment(
            payment_id=data.payment_id,
            currency=data.amount.currency,
            amount=data.amount.amount,
            received_on=data.received_on,
            allocations=tuple(Allocation(a.invoice_id, a.amount.amount) for a in data.allocations),
            content=fingerprint(data.model_dump(mode="json")),
        ),
    )


def credit_note_issued(event: CloudEvent[Any]) -> Commands:
    data: erp.CreditNoteIssued = event.data
    yield (
        data.buyer_id,
        IssueCreditNote(
            credit_note_id=data.credit_note_id,
            invoice_id=data.invoice_id,
            currency=data.amount.currency,
            amount=data.amount.amount,
            issued_on=data.issued_on,
            content=fingerprint(data.model_dump(mode="json")),
        ),
    )


def invoice_cancelled(event: CloudEvent[Any]) -> Commands:
    data: erp.InvoiceCancelled = event.data
    yield data.buyer_id, CancelInvoice(data.invoice_id, data.cancelled_on, data.reason)


def invoice_written_off(event: CloudEvent[Any]) -> Commands:
    data: erp.InvoiceWrittenOff = event.data
    yield data.buyer_id, WriteOffInvoice(data.invoice_id, data.written_off_on, data.reason)


def dispute_raised(event: CloudEvent[Any]) -> Commands:
    data: erp.DisputeRaised = event.data
    amount = data.disputed_amount
    yield (
        data.buyer_id,
        RaiseDispute(
            data.dispute_id,
            data.invoice_id,
            amount.currency,
            amount.amount,
            data.raised_on,
            data.reason,
        ),
    )


def dispute_resolved(event: CloudEvent[Any]) -> Commands:
    data: erp.DisputeResolved = event.data
    yield (
        data.buyer_id,
        ResolveDispute(
            data.dispute_id, data.invoice_id, data.outcome, data.resolved_on, data.credit_note_id
        ),
    )


STATE = TypeAdapter(BuyerLedger)
"""The state's codec (the kernel stores its JSON)."""


def wiring(
    projections: Sequence[Projection[BuyerLedger, Event]] = (),
    publish: Callable[[Change[BuyerLedger, Event]], Iterable[Emit]] = lambda change: (),
    *,
    store: StateStore | None = None,
    rates: ReferenceRates | None = None,
) -> Wiring[BuyerLedger, Command, Event]:
    """The kernel's wiring; the read models and the public mapping are adapters, which the
    composition root (`bootstrap`) passes in: imports point inward. `store`: the kernel's, which
    the tenant's law is read from (None: no tenant law, invoices without contract terms follow
    their currency's statute); `rates`: the reference rates partial payments are split with."""
    law = None if store is None else TenantLawInForce(store)
    return Wiring(
        decider=LedgerDecider(rates),
        state=STATE,
        translate={
            erp.InvoiceIssued: invoice_issued,
            erp.PaymentReceived: payment_received,
            erp.CreditNoteIssued: credit_note_issued,
            erp.InvoiceCancelled: invoice_cancelled,
            erp.InvoiceWrittenOff: invoice_written_off,
            erp.DisputeRaised: dispute_raised,
            erp.DisputeResolved: dispute_resolved,
        },
        projections=projections,
        publish=publish,
        refusals=(Refused,),
        day_context=None if law is None else law.on,
        adopt=None if law is None else law.adopt,
    )
