"""A credit note that corrects an invoice (an upheld dispute names it) reduces the interest from
the invoice's due date, not from the note's date (DOMAIN.md, Ledger): what it credits was never
owed. Letters claim the same as the ledger's `/interest` answer.

The invoice: 10,000 EUR without contract terms (the tenant has not said its jurisdiction: the
Late Payment Directive 2011/7/EU), issued 1 January 2024, due 31 January 2024. ECB MRO rate on
1 January 2024 4.50 % + 8 points = 12.50 % a year; 40 EUR (art. 6). 2,000 EUR is disputed on
10 February, the dispute upheld on 15 March with credit note CN-1 of 2,000 EUR dated 15 March.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from arshield_dunning.adapters.latepay_claims import LatepayClaims
from arshield_dunning.domain.commands import (
    ApplyCreditNote,
    Command,
    RaiseDispute,
    ResolveDispute,
    StartBusinessDay,
    TrackInvoice,
)
from arshield_dunning.domain.decide import decide
from arshield_dunning.domain.events import ActionTaken, DomainEvent
from arshield_dunning.domain.evolve import evolve
from arshield_dunning.domain.policy import Action, Policy, Segment
from arshield_dunning.domain.state import BuyerDunning, Money
from arshield_latepay import ReferenceRates
from arshield_ledger.domain import commands as ledger
from arshield_ledger.domain.decide import work
from arshield_ledger.domain.events import EntryPosted
from arshield_ledger.domain.evolve import evolve_all
from arshield_ledger.domain.interest import InvoiceTerms, invoice_interest
from arshield_ledger.domain.reports import EntryRow
from arshield_ledger.domain.state import BuyerLedger

pytestmark = pytest.mark.unit
D = Decimal
RATES = ReferenceRates.shipped()
CLAIMS = LatepayClaims(RATES)
ISSUED, DUE = date(2024, 1, 1), date(2024, 1, 31)


class Buyer:
    def __init__(self) -> None:
        self.state = BuyerDunning(tenant_id="t1", buyer_id="b1", legal_name="Acme BV")
        self.events: list[DomainEvent] = []

    def do(self, command: Command) -> None:
        for event in decide(self.state, command):
            self.state = evolve(self.state, event)
            self.events.append(event)

    def days(self, start: date, end: date) -> None:
        policy = Policy.default(Segment.STANDARD)
        while start <= end:
            self.do(StartBusinessDay(on=start, policy=policy, claims=CLAIMS))
            start += timedelta(days=1)

    def taken(self, action: Action) -> ActionTaken:
        (found,) = [e for e in self.events if isinstance(e, ActionTaken) and e.action is action]
        return found


def _dunning(*, resolution_first: bool = False) -> Buyer:
    b = Buyer()
    b.do(
        TrackInvoice(
            invoice_id="inv-1",
            invoice_number="N-1",
            order_id=None,
            issued_on=ISSUED,
            delivered_on=None,
            due_on=DUE,
            amount=Money(amount=D("10000.00"), currency="EUR"),
        )
    )
    b.days(date(2024, 1, 1), date(2024, 3, 14))
    b.do(RaiseDispute(dispute_id="d1", invoice_id="inv-1", on=date(2024, 2, 10), amount=D(2000)))
    facts: list[Command] = [
        ApplyCreditNote(
            credit_note_id="CN-1", invoice_id="inv-1", amount=D(2000), on=date(2024, 3, 15)
        ),
        ResolveDispute(
            dispute_id="d1",
            invoice_id="inv-1",
            outcome="upheld",
            on=date(2024, 3, 15),
            credit_note_id="CN-1",
        ),
    ]
    for fact in reversed(facts) if resolution_first else facts:
        b.do(fact)
    b.days(date(2024, 3, 15), date(2024, 3, 31))
    return b


@pytest.mark.parametrize("resolution_first", [False, True])
def test_the_hand_over_charges_no_interest_on_the_credited_part(resolution_first: bool) -> None:
    """Hand-over on 31 March 2024 (due + 60): 8,000 x 12.50 % x 60/365 (1 February-31 March) =
    164.3836 -> 164.38 EUR. Dated from the note (15 March), the 2,000 would add 2,000 x 12.50 %
    x 44/365 (1 February-15 March) = 30.1370, 194.52 in all. Principal 8,000; 40 EUR."""
    handover = _dunning(resolution_first=resolution_first).taken(Action.AGENCY_HANDOVER)
    assert handover.on == date(2024, 3, 31)
    assert handover.claim is not None
    assert (handover.outstanding.amount, handover.claim.interest, handover.claim.compensation) == (
        D("8000.00"),
        D("164.38"),
        D(40),
    )


def test_a_credit_note_no_dispute_names_still_counts_from_its_own_date() -> None:
    """An ordinary credit note (no upheld dispute names it) of 2,000 on 15 March: 8,000 x 12.50 %
    x 60/365 + 2,000 x 12.50 % x 44/365 = 164.3836 + 30.1370 = 194.5206 -> 194.52 EUR."""
    b = Buyer()
    b.do(
        TrackInvoice(
            invoice_id="inv-1",
            invoice_number="N-1",
            order_id=None,
            issued_on=ISSUED,
            delivered_on=None,
            due_on=DUE,
            amount=Money(amount=D("10000.00"), currency="EUR"),
        )
    )
    b.do(
        ApplyCreditNote(
            credit_note_id="CN-1", invoice_id="inv-1", amount=D(2000), on=date(2024, 3, 15)
        )
    )
    b.days(date(2024, 1, 1), date(2024, 3, 31))
    handover = b.taken(Action.AGENCY_HANDOVER)
    assert handover.claim is not None
    assert handover.claim.interest == D("194.52")


def test_the_letter_equals_the_ledgers_interest_for_the_corrected_invoice() -> None:
    """The ledger's `/interest` for the same facts on 31 March: 164.38 EUR and 40 EUR."""
    state, entries = BuyerLedger(), []
    for command in (
        ledger.IssueInvoice("inv-1", "N-1", "EUR", D(10000), ISSUED, DUE, (), "i"),
        ledger.RaiseDispute("d1", "inv-1", "EUR", D(2000), date(2024, 2, 10), "damaged"),
        ledger.IssueCreditNote("CN-1", "inv-1", "EUR", D(2000), date(2024, 3, 15), "c"),
        ledger.ResolveDispute("d1", "inv-1", "upheld", date(2024, 3, 15), "CN-1"),
    ):
        working = work(state, command)
        state = evolve_all(state, working.events)
        entries += [
            EntryRow(
                e.entry.invoice_id,
                e.entry.seq,
                e.entry.currency,
                e.entry.effective_on,
                e.entry.kind,
                e.entry.amount,
                e.entry.ref,
                e.entry.detail,
            )
            for e in working.events
            if isinstance(e, EntryPosted)
        ]
    answer = invoice_interest(
        InvoiceTerms("EUR", D(10000), ISSUED, None, None),
        entries,
        {p.seq: p.due_on for p in state.invoices["inv-1"].instalments},
        date(2024, 3, 31),
        RATES,
    )
    assert answer.claim is not None
    handover = _dunning().taken(Action.AGENCY_HANDOVER)
    assert handover.claim is not None
    assert (answer.claim.interest, answer.claim.compensation) == (D("164.38"), D(40))
    assert (handover.claim.interest, handover.claim.compensation) == (
        answer.claim.interest,
        answer.claim.compensation,
    )
