"""One law, one figure, for any history (hypothesis): what a letter claims on an invoice in
instalments equals the ledger's `/interest` answer for it on the same day (the interest and the
compensation still owed, after what partial payments settled of them where the law orders it:
BGB § 367, Code civil art. 1343-1), and the cash on account a letter nets equals the ledger's.

The ledger side is the ledger's own domain (`decide`/`evolve` and `invoice_interest`, as its
service runs them); dunning sees what it would see in production: the ERP's facts and the ledger's
published balances and unapplied cash.
"""

from __future__ import annotations

import contextlib
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arshield_dunning.adapters.latepay_claims import LatepayClaims
from arshield_dunning.domain.commands import (
    ApplyCreditNote,
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
from arshield_dunning.domain.day import owed_claim
from arshield_dunning.domain.decide import decide
from arshield_dunning.domain.evolve import evolve
from arshield_dunning.domain.policy import Policy, Segment
from arshield_dunning.domain.state import BuyerDunning, InstalmentTerms, Money
from arshield_latepay import ReferenceRates
from arshield_ledger.domain import commands as ledger
from arshield_ledger.domain.decide import Refused, work
from arshield_ledger.domain.events import EntryPosted, InvoiceBalanceChanged, PaymentLeftUnapplied
from arshield_ledger.domain.evolve import evolve_all
from arshield_ledger.domain.interest import InvoiceTerms, TenantLaw, invoice_interest
from arshield_ledger.domain.reports import EntryRow
from arshield_ledger.domain.state import BuyerLedger, fingerprint

pytestmark = pytest.mark.unit

RATES = ReferenceRates.shipped()
ISSUED = date(2024, 1, 1)
EUR = "EUR"


@st.composite
def histories(draw: st.DrawFn) -> dict[str, Any]:
    amount = Decimal(draw(st.integers(10, 5000)))
    count = draw(st.integers(1, 3))
    share = (amount / count).quantize(Decimal("0.01"))
    parts = [
        (
            n + 1,
            ISSUED + timedelta(days=30 * (n + 1)),
            share if n < count - 1 else amount - share * n,
        )
        for n in range(count)
    ]
    jurisdiction = draw(st.sampled_from(["DE", "EU", "FR", "UK"]))
    # A payment that names no invoice is split by the ledger alone: dunning sees the principal it
    # left (the ledger's balance), not what it settled of the interest (not covered here).
    kinds = ["named", "credit", "correction"]
    kinds += ["unnamed"] if jurisdiction in ("EU", "UK") else []
    facts = []
    for n in range(draw(st.integers(0, 5))):
        on = ISSUED + timedelta(days=draw(st.integers(0, 200)))
        paid = draw(st.decimals("0.01", str(amount), places=2))
        kind = draw(st.sampled_from(kinds))
        facts.append((on, n, kind, paid))
    facts.sort()
    return {
        "amount": amount,
        "parts": parts if count > 1 else [],
        "due": parts[-1][1],
        "facts": facts,
        "jurisdiction": jurisdiction,
        "as_of": ISSUED + timedelta(days=draw(st.integers(31, 300))),
    }


class Both:
    """The ledger's domain and dunning's, fed the same facts the way production feeds them."""

    def __init__(self) -> None:
        self.ledger = BuyerLedger()
        self.dunning = BuyerDunning(tenant_id="t", buyer_id="b")
        self.entries: list[EntryRow] = []

    def to_dunning(self, command: Command) -> None:
        for event in decide(self.dunning, command):
            self.dunning = evolve(self.dunning, event)

    def to_ledger(self, command: Any) -> None:
        working = work(self.ledger, command)
        self.ledger = evolve_all(self.ledger, working.events)
        for e in working.events:
            if isinstance(e, EntryPosted):
                x = e.entry
                self.entries.append(
                    EntryRow(
                        x.invoice_id,
                        x.seq,
                        x.currency,
                        x.effective_on,
                        x.kind,
                        x.amount,
                        x.ref,
                        x.detail,
                    )
                )
            elif isinstance(e, InvoiceBalanceChanged):  # published as InvoiceBalanceChanged
                self.to_dunning(
                    NoteLedgerBalance(
                        invoice_id=e.invoice_id,
                        outstanding=e.outstanding,
                        status=str(e.status),
                        on=e.changed_on,
                    )
                )
            elif isinstance(e, PaymentLeftUnapplied):  # published as PaymentUnapplied
                self.to_dunning(
                    NoteCashOnAccount(
                        payment_id=e.payment_id,
                        amount=Money(amount=e.amount, currency=e.currency),
                        on=e.received_on,
                    )
                )


def _content(**fields: Any) -> str:
    return fingerprint(fields)


@settings(max_examples=150, deadline=None)
@given(histories())
def test_a_letters_claim_and_cash_on_account_equal_the_ledgers(history: dict[str, Any]) -> None:
    both = Both()
    amount: Decimal = history["amount"]
    parts = history["parts"]
    jurisdiction = history["jurisdiction"]
    both.to_ledger(ledger.AdoptTenantLaw(TenantLaw(jurisdiction)))
    both.to_ledger(
        ledger.IssueInvoice(
            "i",
            "N-i",
            EUR,
            amount,
            ISSUED,
            history["due"],
            tuple(ledger.InstalmentTerms(s, d, a) for s, d, a in parts),
            _content(id="i", amount=str(amount), parts=str(parts)),
        )
    )
    both.to_dunning(
        TrackInvoice(
            invoice_id="i",
            invoice_number="N-i",
            order_id=None,
            issued_on=ISSUED,
            delivered_on=None,
            due_on=history["due"],
            amount=Money(amount=amount, currency=EUR),
            instalments=tuple(InstalmentTerms(seq=s, due_on=d, amount=a) for s, d, a in parts),
        )
    )
    for on, n, kind, paid in history["facts"]:
        if kind in ("credit", "correction"):
            credit = min(paid, amount / 4).quantize(Decimal("0.01"))
            with contextlib.suppress(Refused):  # beyond what is creditable: the ledger refuses it
                if kind == "correction":  # an upheld dispute names the note: it corrects
                    both.to_ledger(ledger.RaiseDispute(f"d{n}", "i", EUR, credit, on, "x"))
                    both.to_dunning(
                        RaiseDispute(dispute_id=f"d{n}", invoice_id="i", on=on, amount=credit)
                    )
                both.to_ledger(
                    ledger.IssueCreditNote(f"c{n}", "i", EUR, credit, on, _content(id=f"c{n}"))
                )
                both.to_dunning(
                    ApplyCreditNote(credit_note_id=f"c{n}", invoice_id="i", amount=credit, on=on)
                )
                if kind == "correction":
                    both.to_ledger(ledger.ResolveDispute(f"d{n}", "i", "upheld", on, f"c{n}"))
                    both.to_dunning(
                        ResolveDispute(
                            dispute_id=f"d{n}",
                            invoice_id="i",
                            outcome="upheld",
                            on=on,
                            credit_note_id=f"c{n}",
                        )
                    )
            continue
        named = kind == "named"
        allocations = (ledger.Allocation("i", paid),) if named else ()
        both.to_dunning(
            ApplyPayment(payment_id=f"p{n}", allocations=(("i", paid),), on=on)
            if named
            else NoteUnnamedPayment(
                payment_id=f"p{n}", amount=Money(amount=paid, currency=EUR), on=on
            )
        )
        both.to_ledger(
            ledger.ReceivePayment(f"p{n}", EUR, paid, on, allocations, _content(id=f"p{n}"))
        )

    as_of: date = history["as_of"]
    letter = LatepayClaims(RATES).for_tenant(jurisdiction, None)
    # dunning splits each payment on the first business day that sees it
    both.to_dunning(
        StartBusinessDay(on=as_of, policy=Policy.default(Segment.STANDARD), claims=letter)
    )
    inv = both.ledger.invoices["i"]
    answer = invoice_interest(
        InvoiceTerms(EUR, amount, ISSUED, None, None),
        [e for e in both.entries if e.invoice_id == "i"],
        {p.seq: p.due_on for p in inv.instalments},
        as_of,
        RATES,
        TenantLaw(jurisdiction),
    )
    assert answer.claim is not None
    seen = both.dunning.invoices["i"]
    claim = owed_claim(seen, as_of, letter)
    assert (claim.interest, claim.compensation, claim.compensation_currency) == (
        answer.interest_owed,
        answer.compensation_owed,
        answer.claim.compensation_currency,
    )
    assert seen.outstanding == inv.outstanding
    assert both.dunning.on_account(EUR) == both.ledger.unapplied(EUR)


@st.composite
def accounts(draw: st.DrawFn) -> list[tuple[date, int, str, str, Decimal]]:
    """Two invoices of one buyer, disputes raised and rejected, payments naming an invoice or
    none: the ledger keeps cash on account while the invoices are disputed and applies it when a
    dispute is rejected."""
    facts = []
    for n in range(draw(st.integers(1, 8))):
        on = ISSUED + timedelta(days=draw(st.integers(0, 120)))
        kind = draw(st.sampled_from(["named", "unnamed", "dispute", "reject"]))
        invoice_id = draw(st.sampled_from(["i", "j"]))
        facts.append((on, n, kind, invoice_id, draw(st.decimals("0.01", "1500", places=2))))
    facts.sort()
    return facts


@settings(max_examples=150, deadline=None)
@given(accounts())
def test_the_cash_on_account_a_letter_nets_equals_the_ledgers(
    facts: list[tuple[date, int, str, str, Decimal]],
) -> None:
    both = Both()
    for invoice_id, amount in (("i", Decimal(1000)), ("j", Decimal(600))):
        due = ISSUED + timedelta(days=30)
        both.to_ledger(
            ledger.IssueInvoice(
                invoice_id, invoice_id, EUR, amount, ISSUED, due, (), _content(id=invoice_id)
            )
        )
        both.to_dunning(
            TrackInvoice(
                invoice_id=invoice_id,
                invoice_number=invoice_id,
                order_id=None,
                issued_on=ISSUED,
                delivered_on=None,
                due_on=due,
                amount=Money(amount=amount, currency=EUR),
            )
        )
    open_disputes: dict[str, str] = {}
    for on, n, kind, invoice_id, amount in facts:
        if kind == "dispute" and invoice_id not in open_disputes:
            with contextlib.suppress(Refused):
                both.to_ledger(ledger.RaiseDispute(f"d{n}", invoice_id, EUR, amount, on, "x"))
                both.to_dunning(
                    RaiseDispute(dispute_id=f"d{n}", invoice_id=invoice_id, on=on, amount=amount)
                )
                open_disputes[invoice_id] = f"d{n}"
        elif kind == "reject" and invoice_id in open_disputes:
            dispute_id = open_disputes.pop(invoice_id)
            both.to_ledger(ledger.ResolveDispute(dispute_id, invoice_id, "rejected", on))
            both.to_dunning(
                ResolveDispute(
                    dispute_id=dispute_id, invoice_id=invoice_id, outcome="rejected", on=on
                )
            )
        elif kind in ("named", "unnamed"):
            named = kind == "named"
            both.to_dunning(
                ApplyPayment(payment_id=f"p{n}", allocations=((invoice_id, amount),), on=on)
                if named
                else NoteUnnamedPayment(
                    payment_id=f"p{n}", amount=Money(amount=amount, currency=EUR), on=on
                )
            )
            allocations = (ledger.Allocation(invoice_id, amount),) if named else ()
            both.to_ledger(
                ledger.ReceivePayment(f"p{n}", EUR, amount, on, allocations, _content(id=f"p{n}"))
            )
        assert both.dunning.on_account(EUR) == both.ledger.unapplied(EUR), "\n".join(
            map(str, facts)
        )
