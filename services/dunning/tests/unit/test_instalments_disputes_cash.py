"""Instalments, partly disputed invoices and cash on account, with hand-computed figures.

The tenant has not said its jurisdiction, so a EUR invoice without contract terms falls under the
Late Payment Directive 2011/7/EU: the ECB MRO rate on 1 January 2024 (4.50 %) + 8 points = 12.50 %
a year over the first half of 2024, simple interest on a 365-day year, and a fixed 40 EUR.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from arshield_dunning.adapters.latepay_claims import LatepayClaims
from arshield_dunning.domain.commands import (
    ApplyPayment,
    Command,
    NoteCashOnAccount,
    NoteLedgerBalance,
    NoteUnnamedPayment,
    RaiseDispute,
    ResolveDispute,
    StartBusinessDay,
    TrackInvoice,
)
from arshield_dunning.domain.decide import decide
from arshield_dunning.domain.events import ActionTaken, DomainEvent, Paused, Resumed
from arshield_dunning.domain.evolve import evolve
from arshield_dunning.domain.letters import render
from arshield_dunning.domain.policy import Action, Policy, Segment
from arshield_dunning.domain.state import BuyerDunning, InstalmentTerms, Money
from arshield_latepay import ReferenceRates

D = date
EUR = "EUR"
CLAIMS = LatepayClaims(ReferenceRates.shipped())


class Buyer:
    def __init__(self) -> None:
        self.state = BuyerDunning(tenant_id="t1", buyer_id="b1", legal_name="Acme BV")
        self.policy = Policy.default(Segment.STANDARD)
        self.events: list[DomainEvent] = []

    def do(self, command: Command) -> list[DomainEvent]:
        events = decide(self.state, command)
        for event in events:
            self.state = evolve(self.state, event)
        self.events += events
        return events

    def days(self, start: date, end: date) -> None:
        day = start
        while day <= end:
            self.do(StartBusinessDay(on=day, policy=self.policy, claims=CLAIMS))
            day += timedelta(days=1)

    def actions(self) -> list[ActionTaken]:
        return [e for e in self.events if isinstance(e, ActionTaken)]

    def taken(self, action: Action) -> ActionTaken:
        (found,) = [e for e in self.actions() if e.action is action]
        return found


def _money(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency=EUR)


def _instalment_invoice() -> TrackInvoice:
    """3,000 EUR issued on 1 January 2024 in three instalments of 1,000 due on 1 February,
    1 March and 1 April (the invoice's own due date is the last one)."""
    return TrackInvoice(
        invoice_id="inv-1",
        invoice_number="N-1",
        order_id=None,
        issued_on=D(2024, 1, 1),
        delivered_on=None,
        due_on=D(2024, 4, 1),
        amount=_money("3000.00"),
        instalments=(
            InstalmentTerms(seq=1, due_on=D(2024, 2, 1), amount=Decimal("1000.00")),
            InstalmentTerms(seq=2, due_on=D(2024, 3, 1), amount=Decimal("1000.00")),
            InstalmentTerms(seq=3, due_on=D(2024, 4, 1), amount=Decimal("1000.00")),
        ),
    )


def test_an_overdue_instalment_is_dunned_from_its_own_due_date() -> None:
    """DOMAIN.md (Dunning): the timeline runs per instalment. Instalment 1 is due on 1 February:
    the reminder comes 15 days before it (17 January), the first notice on 2 February (not on
    2 April after the invoice's last due date), the formal notice 30 days after, on 2 March.

    The formal notice names instalments 1 (30 days overdue) and 2 (due 1 March, 1 day) and claims
    interest per instalment, as the ledger's `/interest` does:
    1,000 x 12.50 % x 30/365 + 1,000 x 12.50 % x 1/365 = 3,875/365 = 10.6164 -> 10.62 EUR,
    plus the Directive's 40 EUR (art. 6) once per invoice; the principal claimed is all that is
    still owed, 3,000 EUR."""
    b = Buyer()
    b.do(_instalment_invoice())
    b.days(D(2024, 1, 1), D(2024, 3, 2))
    assert [(a.action.value, a.on) for a in b.actions()] == [
        ("reminder", D(2024, 1, 17)),
        ("first_overdue_notice", D(2024, 2, 2)),
        ("formal_notice", D(2024, 3, 2)),
    ]
    notice = b.taken(Action.FORMAL_NOTICE)
    assert notice.claim is not None
    assert (notice.claim.interest, notice.claim.compensation) == (
        Decimal("10.62"),
        Decimal("40"),
    )
    assert notice.days_overdue == 30
    assert notice.letter is not None
    (line,) = notice.letter.lines
    assert line.due_on == D(2024, 2, 1)
    assert [(p.seq, p.due_on, p.outstanding, p.days_overdue) for p in line.instalments] == [
        (1, D(2024, 2, 1), Decimal("1000.00"), 30),
        (2, D(2024, 3, 1), Decimal("1000.00"), 1),
    ]
    text = render(notice.letter)
    assert "instalment 1 due 01/02/2024: €1,000.00 outstanding, 30 days overdue" in text
    assert "instalment 2 due 01/03/2024: €1,000.00 outstanding, 1 days overdue" in text
    assert "Total due: €3,050.62" in text  # 3,000 + 10.62 + 40


def test_a_paid_instalment_hands_the_timeline_to_the_next_and_keeps_its_interest() -> None:
    """Instalment 1 (1,000 EUR due 1 February) had its first notice on 2 February and is paid on
    20 February: the timeline starts again from instalment 2 (due 1 March), which gets its own
    first notice on 2 March and formal notice on 31 March. Its interest keeps what instalment 1
    owed while late (interest already owed stays owed, DOMAIN.md Ledger):
    1,000 x 12.50 % x 19/365 (2-20 February) + 1,000 x 12.50 % x 30/365 (2-31 March)
    = 6,125/365 = 16.7808 -> 16.78 EUR, on a principal of 2,000 EUR."""
    b = Buyer()
    b.do(_instalment_invoice())
    b.days(D(2024, 1, 1), D(2024, 2, 19))
    b.do(
        ApplyPayment(
            payment_id="p-1", allocations=(("inv-1", Decimal("1000.00")),), on=D(2024, 2, 20)
        )
    )
    b.days(D(2024, 2, 20), D(2024, 3, 31))
    assert [(a.action.value, a.on, a.facts["due_on"]) for a in b.actions() if a.level] == [
        ("first_overdue_notice", D(2024, 2, 2), "2024-02-01"),
        ("first_overdue_notice", D(2024, 3, 2), "2024-03-01"),
        ("formal_notice", D(2024, 3, 31), "2024-03-01"),
    ]
    notice = b.taken(Action.FORMAL_NOTICE)
    assert notice.on == D(2024, 3, 31)
    assert notice.claim is not None
    assert notice.claim.interest == Decimal("16.78")
    assert notice.outstanding == _money("2000.00")
    assert notice.letter is not None
    assert [(p.seq, p.days_overdue) for p in notice.letter.lines[0].instalments] == [(2, 30)]


def _single_invoice(invoice_id: str = "inv-1", amount: str = "1000.00") -> TrackInvoice:
    return TrackInvoice(
        invoice_id=invoice_id,
        invoice_number=f"N-{invoice_id}",
        order_id=None,
        issued_on=D(2024, 1, 1),
        delivered_on=None,
        due_on=D(2024, 1, 31),
        amount=_money(amount),
    )


def test_the_undisputed_part_of_a_partly_disputed_invoice_keeps_its_timeline() -> None:
    """DOMAIN.md: a dispute pauses dunning only for what it contests. 1,000 EUR due 31 January,
    400 disputed on 20 January: 600 EUR is still pursued on the default timeline (first notice
    1 February, formal notice 1 March) with interest on the 600 alone:
    600 x 12.50 % x 30/365 = 2,250/365 = 6.1644 -> 6.16 EUR, plus 40 EUR. The dispute pauses
    nothing, so no pause is announced; the letter shows the 400 apart."""
    b = Buyer()
    b.do(_single_invoice())
    b.do(RaiseDispute(dispute_id="d-1", invoice_id="inv-1", on=D(2024, 1, 20), amount=Decimal(400)))
    b.days(D(2024, 1, 1), D(2024, 3, 1))
    assert not [e for e in b.events if isinstance(e, Paused)]
    assert [(a.action.value, a.on) for a in b.actions() if a.level] == [
        ("first_overdue_notice", D(2024, 2, 1)),
        ("formal_notice", D(2024, 3, 1)),
    ]
    notice = b.taken(Action.FORMAL_NOTICE)
    assert notice.outstanding == _money("600.00")
    assert notice.claim is not None
    assert notice.claim.interest == Decimal("6.16")
    assert notice.letter is not None
    assert notice.letter.lines[0].disputed == Decimal("400")
    assert "of which disputed, not claimed while the dispute is open: €400.00" in render(
        notice.letter
    )


def test_a_dispute_of_the_whole_amount_pauses_and_its_rejection_resumes() -> None:
    """Contesting all 1,000 EUR pauses the invoice (nothing is pursued); rejected on 10 February,
    it resumes and, several levels having come due, takes the first notice at once."""
    b = Buyer()
    b.do(_single_invoice())
    b.do(
        RaiseDispute(dispute_id="d-1", invoice_id="inv-1", on=D(2024, 1, 20), amount=Decimal(1000))
    )
    assert [type(e) for e in b.events[-2:]][-1] is Paused
    b.days(D(2024, 1, 20), D(2024, 2, 9))
    assert not [a for a in b.actions() if a.level]
    b.do(
        ResolveDispute(dispute_id="d-1", invoice_id="inv-1", outcome="rejected", on=D(2024, 2, 10))
    )
    assert isinstance(b.events[-1], Resumed)
    b.days(D(2024, 2, 10), D(2024, 2, 10))
    assert [(a.action.value, a.on, a.outstanding.amount) for a in b.actions() if a.level] == [
        ("first_overdue_notice", D(2024, 2, 10), Decimal("1000.00"))
    ]


def test_cash_on_account_is_shown_and_deducted_in_a_letter() -> None:
    """DOMAIN.md: cash on account is netted in letters. The buyer paid 250 EUR naming no invoice
    on 25 January; its only invoice (1,000 EUR due 31 January) was partly disputed (400), so the
    ledger could apply none of it and left it on account. The formal notice of 1 March claims
    600 EUR and 6.16 EUR interest (600 x 12.50 % x 30/365; the cash was not applied, so it does
    not reduce interest), shows the 250 on account and asks for 600 - 250 + 6.16 + 40 = 396.16."""
    b = Buyer()
    b.do(_single_invoice())
    b.do(RaiseDispute(dispute_id="d-1", invoice_id="inv-1", on=D(2024, 1, 20), amount=Decimal(400)))
    b.do(NoteUnnamedPayment(payment_id="p-1", amount=_money("250.00"), on=D(2024, 1, 25)))
    b.do(NoteCashOnAccount(payment_id="p-1", amount=_money("250.00"), on=D(2024, 1, 25)))
    b.days(D(2024, 1, 1), D(2024, 3, 1))
    notice = b.taken(Action.FORMAL_NOTICE)
    assert notice.letter is not None
    assert notice.letter.on_account == Decimal("250.00")
    assert notice.letter.grand_totals() == {EUR: Decimal("396.16")}
    text = render(notice.letter)
    assert "Less your payments on account: €250.00" in text
    assert "Balance after payments on account: €350.00" in text
    assert "Total due: €396.16" in text


def test_cash_on_account_is_gone_once_the_ledger_applies_it() -> None:
    """250 EUR on account (p-1); the dispute is rejected and the ledger applies the 250 to the
    invoice (its balance 1,000 -> 750 with no payment naming it): nothing is left on account. A
    later unnamed 300 EUR payment the ledger applies in full to the same invoice (750 -> 450)
    leaves nothing on account either; 100 EUR of a 500 EUR payment the ledger cannot apply
    (p-3) is on account again."""
    b = Buyer()
    b.do(_single_invoice())
    b.do(RaiseDispute(dispute_id="d-1", invoice_id="inv-1", on=D(2024, 1, 20), amount=Decimal(400)))
    b.do(NoteUnnamedPayment(payment_id="p-1", amount=_money("250.00"), on=D(2024, 1, 25)))
    b.do(NoteCashOnAccount(payment_id="p-1", amount=_money("250.00"), on=D(2024, 1, 25)))
    assert b.state.on_account(EUR) == Decimal("250.00")
    b.do(ResolveDispute(dispute_id="d-1", invoice_id="inv-1", outcome="rejected", on=D(2024, 2, 5)))
    b.do(
        NoteLedgerBalance(
            invoice_id="inv-1", outstanding=Decimal(750), status="overdue", on=D(2024, 2, 5)
        )
    )
    assert b.state.on_account(EUR) == Decimal(0)
    # whichever of the ERP's and the ledger's facts comes first, the figure ends the same
    b.do(
        NoteLedgerBalance(
            invoice_id="inv-1", outstanding=Decimal(450), status="overdue", on=D(2024, 2, 6)
        )
    )
    b.do(NoteUnnamedPayment(payment_id="p-2", amount=_money("300.00"), on=D(2024, 2, 6)))
    assert b.state.on_account(EUR) == Decimal(0)
    b.do(_single_invoice("inv-2", "400.00"))
    b.do(NoteUnnamedPayment(payment_id="p-3", amount=_money("500.00"), on=D(2024, 2, 7)))
    b.do(
        NoteLedgerBalance(
            invoice_id="inv-1", outstanding=Decimal(50), status="overdue", on=D(2024, 2, 7)
        )
    )
    b.do(NoteCashOnAccount(payment_id="p-3", amount=_money("100.00"), on=D(2024, 2, 7)))
    assert b.state.on_account(EUR) == Decimal("100.00")
