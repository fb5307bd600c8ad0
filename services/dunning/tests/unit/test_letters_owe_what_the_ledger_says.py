"""Letters claim what the ledger's `/interest` says is owed, where the ledger's rules move money
between the parts of a debt (hand-computed figures, the law named in each test).

1. A partial payment pays the costs, then the interest, then the principal where the invoice's
law orders it (BGB § 367 Abs. 1, Code civil art. 1343-1, Civil Code art. 561), by the one rule
both ask (`arshield_latepay.split_payment`). The invoice: 10,000 EUR under German law (statutory
interest), issued 1 January 2025, due Friday 31 January 2025. The Basiszinssatz of 1 January 2025
is 2.27 %, so § 288 Abs. 2 BGB gives 11.27 % a year; § 288 Abs. 5 BGB a fixed 40 EUR. 5,000 EUR is
paid on 2 March 2025, naming the invoice. Interest 1 February-2 March (30 days) on 10,000:
10,000 x 11.27 % x 30/365 = 92.6301 -> 92.63. The payment settles 40 + 92.63, then 4,867.37 of
the principal: 5,132.63 left.

2. A credit note that corrects an invoice (an upheld dispute names it) reduces the interest from
the invoice's due date, not from the note's date (DOMAIN.md, Ledger): what it credits was never
owed. The invoice: 10,000 EUR without contract terms (the tenant has not said its jurisdiction:
the Late Payment Directive 2011/7/EU), issued 1 January 2024, due 31 January 2024. ECB MRO rate on
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
    ApplyPayment,
    Command,
    NoteLedgerBalance,
    RaiseDispute,
    ResolveDispute,
    StartBusinessDay,
    TrackInvoice,
)
from arshield_dunning.domain.decide import decide
from arshield_dunning.domain.events import ActionTaken, DomainEvent
from arshield_dunning.domain.evolve import evolve
from arshield_dunning.domain.policy import Action, Policy, Segment
from arshield_dunning.domain.state import BuyerDunning, ContractTerms, Money
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


class Buyer:
    def __init__(self) -> None:
        self.state = BuyerDunning(tenant_id="t1", buyer_id="b1", legal_name="Muster GmbH")
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


# --- 1. partial payments in law ------------------------------------------------------------


def _german_invoice(jurisdiction: str = "DE") -> TrackInvoice:
    return TrackInvoice(
        invoice_id="inv-1",
        invoice_number="R-1",
        order_id=None,
        issued_on=date(2025, 1, 1),
        delivered_on=None,
        due_on=date(2025, 1, 31),
        amount=Money(amount=D("10000.00"), currency="EUR"),
        terms=ContractTerms(jurisdiction=jurisdiction),
    )


def _paid_half(*, ledger_heard: bool, jurisdiction: str = "DE") -> Buyer:
    b = Buyer()
    b.do(_german_invoice(jurisdiction))
    b.days(date(2025, 1, 1), date(2025, 3, 1))
    b.do(ApplyPayment(payment_id="p1", allocations=(("inv-1", D("5000.00")),), on=date(2025, 3, 2)))
    if ledger_heard:  # the ledger's InvoiceBalanceChanged: the principal it says is still owed
        b.do(
            NoteLedgerBalance(
                invoice_id="inv-1",
                outstanding=D("5132.63"),
                status="overdue",
                on=date(2025, 3, 2),
            )
        )
    return b


@pytest.mark.parametrize("ledger_heard", [True, False])
def test_the_formal_notice_claims_the_principal_the_split_left_and_no_interest_paid_twice(
    ledger_heard: bool,
) -> None:
    """BGB § 367 Abs. 1. Formal notice on 2 March 2025 (due + 30), after the payment: principal
    5,132.63 (not 5,000); interest accrued 92.63, all paid, so 0 claimed; the 40 EUR paid, so 0.
    The same whether or not the ledger's balance has reached dunning yet."""
    b = _paid_half(ledger_heard=ledger_heard)
    b.days(date(2025, 3, 2), date(2025, 3, 2))
    notice = b.taken(Action.FORMAL_NOTICE)
    assert notice.on == date(2025, 3, 2)
    assert notice.outstanding.amount == D("5132.63")
    assert notice.claim is not None
    assert (notice.claim.interest, notice.claim.compensation) == (D(0), D(0))
    assert notice.letter is not None
    assert notice.letter.grand_totals() == {"EUR": D("5132.63")}
    assert b.state.invoices["inv-1"].interest_paid == D("92.63")
    assert b.state.invoices["inv-1"].costs_paid == D(40)


def test_the_agency_case_claims_interest_on_the_principal_left_from_the_payment() -> None:
    """BGB § 367 Abs. 1 and § 288 Abs. 2. Hand-over on 1 April 2025 (due + 60): interest accrued
    92.6301 + 5,132.63 x 11.27 % x 30/365 (3 March-1 April) = 92.6301 + 47.5436 = 140.1737 ->
    140.17; 92.63 of it was paid, so 47.54 is claimed (on 5,000 it would be 46.32, and before the
    split dunning claimed all 138.95 and the 40 EUR again); no compensation; principal 5,132.63."""
    b = _paid_half(ledger_heard=True)
    b.days(date(2025, 3, 2), date(2025, 4, 1))
    handover = b.taken(Action.AGENCY_HANDOVER)
    assert handover.on == date(2025, 4, 1)
    assert handover.claim is not None
    assert (handover.outstanding.amount, handover.claim.interest, handover.claim.compensation) == (
        D("5132.63"),
        D("47.54"),
        D(0),
    )


def test_under_the_directive_the_payment_goes_to_the_principal() -> None:
    """Directive 2011/7/EU orders nothing: the 5,000 goes to the principal, 5,000 left; the formal
    notice on 2 March claims the interest of 1 February-2 March on 10,000 at the ECB MRO rate of
    1 January 2025 (3.15 %) + 8 = 11.15 %: 10,000 x 11.15 % x 30/365 = 91.6438 -> 91.64, and
    40 EUR."""
    b = _paid_half(ledger_heard=False, jurisdiction="EU")
    b.days(date(2025, 3, 2), date(2025, 3, 2))
    notice = b.taken(Action.FORMAL_NOTICE)
    assert notice.claim is not None
    assert (notice.outstanding.amount, notice.claim.interest, notice.claim.compensation) == (
        D("5000.00"),
        D("91.64"),
        D(40),
    )


# --- 2. corrective credit notes --------------------------------------------------------------

ISSUED, DUE = date(2024, 1, 1), date(2024, 1, 31)


def _tracked() -> Buyer:
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
    return b


def _dunning(*, resolution_first: bool = False) -> Buyer:
    b = _tracked()
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
    b = _tracked()
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
