"""The rules an audit against DOMAIN.md corrected, each with a figure computed by hand."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

import pytest

from arshield_latepay import ReferenceRates
from arshield_ledger.domain.interest import InvoiceTerms, TenantLaw, invoice_interest
from arshield_ledger.domain.reports import (
    EntryRow,
    ageing,
    collection_metrics,
    instalment_balances,
    invoice_as_of,
    net_credit_sales,
)

from .factories import (
    STATE,
    Decided,
    LedgerDriver,
    cancel,
    credit_note,
    dispute,
    invoice,
    payment,
    resolve,
)

pytestmark = pytest.mark.unit
D = Decimal
RATES = ReferenceRates.shipped()


def rows(changes: Iterable[Decided]) -> list[EntryRow]:
    return [
        EntryRow(e.invoice_id, e.seq, e.currency, e.effective_on, e.kind, e.amount, e.ref, e.detail)
        for c in changes
        for e in c.entries
    ]


def dues(acc: LedgerDriver) -> dict[tuple[str, int], date]:
    return {(i.invoice_id, p.seq): p.due_on for i in acc.invoices.values() for p in i.instalments}


# -- 1. DSO, best possible DSO, ADD and CEI over net credit sales ------------------------------


def test_dso_and_cei_use_net_credit_sales() -> None:
    """DOMAIN.md (Ledger): DSO, best possible DSO and CEI use net credit sales (cancelled invoices
    and credit notes deducted, each in the period it happens).

    Period 2025-01-01..03-31 (90 days). Sales: A 1000 + B 500 + C 2000 issued; B cancelled (-500);
    credit notes 200 on C and 100 on D (D issued in December): net 2700 (gross would be 3500).
    Opening (12-31): D 300. Closing (03-31): A 400 + D 200 past due, C 1800 current = 2400.
    DSO 2400/2700*90 = 80.00; best 1800/2700*90 = 60.00; ADD 20.00;
    CEI (300 + 2700 - 2400) / (300 + 2700 - 1800) * 100 = 600/1200*100 = 50.00.
    """
    acc = LedgerDriver()
    changes = [
        acc.issue(invoice("D", 300, date(2025, 1, 15), issued_on=date(2024, 12, 1))),
        acc.issue(invoice("A", 1000, date(2025, 2, 4), issued_on=date(2025, 1, 5))),
        acc.issue(invoice("B", 500, date(2025, 3, 31), issued_on=date(2025, 1, 10))),
        acc.issue_credit_note(credit_note("cD", "D", 100, date(2025, 1, 10))),
        acc.cancel_invoice(cancel("B", date(2025, 1, 20))),
        acc.issue(invoice("C", 2000, date(2025, 4, 15), issued_on=date(2025, 2, 1))),
        acc.issue_credit_note(credit_note("cC", "C", 200, date(2025, 2, 15))),
        acc.receive_payment(payment("p", 600, date(2025, 2, 20), allocations=(("A", 600),))),
    ]
    entries = rows(changes)
    start, end = date(2025, 1, 1), date(2025, 3, 31)
    assert net_credit_sales(entries, start, end) == {"EUR": D(2700)}
    opening = ageing(instalment_balances("b", entries, dues(acc), date(2024, 12, 31)), start)
    closing = ageing(instalment_balances("b", entries, dues(acc), end), end)["EUR"]
    assert (opening["EUR"].total, closing.total, closing.buckets["current"]) == (
        D(300),
        D(2400),
        D(1800),
    )
    m = collection_metrics(
        currency="EUR",
        start=start,
        end=end,
        credit_sales=D(2700),
        opening_receivables=opening["EUR"].total,
        closing_receivables=closing.total,
        closing_current=closing.buckets["current"],
    )
    assert (m.dso, m.best_possible_dso, m.average_days_delinquent, m.cei) == (
        D("80.00"),
        D("60.00"),
        D("20.00"),
        D("50.00"),
    )


# -- 2. Credited is not paid late; days late per instalment --------------------------------------


def test_fully_credited_invoice_is_credited_not_paid_late() -> None:
    """DOMAIN.md (Ledger): a fully credited invoice is settled by credit, not "paid late".

    500 due 2025-01-31, credited in full on 03-15 (43 days after the due date): status
    `credited`, no settlement, no days late (the old rule reported it paid 43 days late).
    """
    acc = LedgerDriver()
    changes = [acc.issue(invoice("i", 500, date(2025, 1, 31)))]
    changes.append(acc.issue_credit_note(credit_note("c", "i", 500, date(2025, 3, 15))))
    inv = acc.invoices["i"]
    assert (inv.status, inv.outstanding, inv.days_late, inv.settled_on) == (
        "credited",
        D(0),
        None,
        None,
    )
    assert not changes[-1].settled
    assert [(b.status, b.outstanding) for b in changes[-1].balances] == [("credited", D(0))]
    state = invoice_as_of(rows(changes), {0: date(2025, 1, 31)}, date(2025, 4, 1))
    assert (state.status, state.days_late, state.settled_on) == ("credited", None, None)


def test_instalment_paid_43_days_late_makes_the_invoice_43_days_late() -> None:
    """DOMAIN.md (Ledger): instalments fall due individually; an invoice settled by payment is as
    late as its worst instalment, each measured by the last payment against its own due date.

    300 in three instalments due 01-31, 02-28, 03-31. 100 paid 03-15 (instalment 1: 43 days
    late), 200 paid 03-31 (instalment 2: 31 days, 3: 0). The invoice settles 43 days late (the old
    rule measured the last payment against the last due date: 0).
    """
    acc = LedgerDriver()
    parts = ((1, date(2025, 1, 31), 100), (2, date(2025, 2, 28), 100), (3, date(2025, 3, 31), 100))
    changes = [acc.issue(invoice("i", 300, date(2025, 3, 31), instalments=parts))]
    changes.append(
        acc.receive_payment(payment("p1", 100, date(2025, 3, 15), allocations=(("i", 100),)))
    )
    changes.append(
        acc.receive_payment(payment("p2", 200, date(2025, 3, 31), allocations=(("i", 200),)))
    )
    assert [p.days_late for p in acc.invoices["i"].instalments] == [43, 31, 0]
    [settled] = changes[-1].settled
    assert (settled.settled_on, settled.days_late, settled.amount) == (
        date(2025, 3, 31),
        43,
        D(300),
    )
    state = invoice_as_of(rows(changes), {s: d for s, d, _ in parts}, date(2025, 4, 30))
    assert (state.status, state.days_late) == ("paid", 43)


def test_paid_on_time_then_credited_is_paid_with_no_days_late() -> None:
    """DOMAIN.md (Ledger): only payments measure lateness. 1000 due 01-31: 600 paid on 01-25,
    the other 400 credited on 03-10 (38 days after the due date): paid, 0 days late."""
    acc = LedgerDriver()
    acc.issue(invoice("i", 1000, date(2025, 1, 31)))
    acc.receive_payment(payment("p", 600, date(2025, 1, 25), allocations=(("i", 600),)))
    changes = acc.issue_credit_note(credit_note("c", "i", 400, date(2025, 3, 10)))
    [settled] = changes.settled
    assert (settled.settled_on, settled.days_late, settled.amount) == (date(2025, 3, 10), 0, D(600))


# -- 3. A corrective credit note reduces interest from the due date ------------------------------


def _interest(acc: LedgerDriver, changes: list[Decided], invoice_id: str, as_of: date) -> Decimal:
    inv = acc.invoices[invoice_id]
    terms = InvoiceTerms(inv.currency, inv.amount, inv.issued_on, "DE", None)
    entries = [e for e in rows(changes) if e.invoice_id == invoice_id]
    answer = invoice_interest(
        terms, entries, {p.seq: p.due_on for p in inv.instalments}, as_of, RATES
    )
    assert answer.claim is not None
    return answer.claim.interest


@pytest.mark.parametrize("note_first", [True, False])
def test_credit_note_of_an_upheld_dispute_reduces_interest_from_the_due_date(
    note_first: bool,
) -> None:
    """DOMAIN.md (Ledger): a credit note that corrects an invoice (an upheld dispute) reduces
    interest from the invoice's due date, not from the note's date.

    DE (Basiszinssatz 2.27 + 9 = 11.27 %), 1000 due 2025-01-31, 400 credited on 02-20 by an
    upheld dispute; as of 03-02 (30 days late): 600 * 11.27 % * 30/365 = 5.56, the interest on a
    600 invoice. A commercial credit note of the same date: 1000 for 20 days + 600 for 10 days =
    6.1753 + 1.8526 = 8.03.
    """
    due, as_of = date(2025, 1, 31), date(2025, 3, 2)
    acc = LedgerDriver()
    changes = [
        acc.issue(invoice("i", 1000, due)),
        acc.raise_dispute(dispute("d", "i", 400, date(2025, 2, 10))),
    ]
    upheld = resolve("d", "i", date(2025, 2, 20), outcome="upheld", credit_note_id="c")
    note = credit_note("c", "i", 400, date(2025, 2, 20))
    if note_first:
        changes += [acc.issue_credit_note(note), acc.resolve_dispute(upheld)]
    else:
        changes += [acc.resolve_dispute(upheld), acc.issue_credit_note(note)]
    corrected = _interest(acc, changes, "i", as_of)

    plain = LedgerDriver()
    plain_changes = [plain.issue(invoice("i", 600, due))]
    assert corrected == _interest(plain, plain_changes, "i", as_of) == D("5.56")

    commercial = LedgerDriver()
    commercial_changes = [
        commercial.issue(invoice("i", 1000, due)),
        commercial.issue_credit_note(credit_note("c", "i", 400, date(2025, 2, 20))),
    ]
    assert _interest(commercial, commercial_changes, "i", as_of) == D("8.03")


# -- 4. Cash on account is applied when an invoice becomes payable again -------------------------


def test_cash_on_account_is_applied_when_a_dispute_is_rejected() -> None:
    """DOMAIN.md (Ledger): cash on account is applied to the buyer's oldest open invoice when one
    becomes payable again (a dispute rejected).

    200 due 03-01, disputed 02-15; 200 paid 02-20 naming no invoice stays on account; the dispute
    is rejected 03-10: the 200 settles the invoice as of 02-20 (0 days late), the account holds
    nothing, and the tick of 03-11 announces nothing overdue (the old rule: 10 days overdue).
    """
    acc = LedgerDriver()
    acc.issue(invoice("x", 200, date(2025, 3, 1), issued_on=date(2025, 2, 1)))
    acc.raise_dispute(dispute("d", "x", 200, date(2025, 2, 15)))
    kept = acc.receive_payment(payment("p", 200, date(2025, 2, 20)))
    assert [u.amount for u in kept.unapplied] == [D(200)]
    changes = acc.resolve_dispute(resolve("d", "x", date(2025, 3, 10)))
    assert acc.unapplied("EUR") == D(0)
    assert [(b.invoice_id, b.outstanding, b.status) for b in changes.balances] == [
        ("x", D(0), "paid")
    ]
    [settled] = changes.settled
    assert (settled.settled_on, settled.days_late) == (date(2025, 2, 20), 0)
    applied = [(e.kind, e.effective_on, e.amount) for e in changes.entries if e.amount]
    assert applied == [
        ("unapplied_cash", date(2025, 2, 20), D(-200)),
        ("cash_applied", date(2025, 2, 20), D(200)),
    ]
    tick = acc.start_business_day(date(2025, 3, 11))
    assert not tick.overdue


def test_cash_on_account_goes_to_the_oldest_due_date_first() -> None:
    """DOMAIN.md (Ledger): oldest due date first. 150 on account; invoices due 04-30 (100) and
    03-31 (100) become payable when the dispute on the older one is rejected: 100 to the 03-31
    invoice, 50 to the 04-30 one."""
    acc = LedgerDriver()
    acc.issue(invoice("old", 100, date(2025, 3, 31)))
    acc.raise_dispute(dispute("d", "old", 100, date(2025, 1, 2)))
    acc.issue(invoice("new", 100, date(2025, 4, 30)))
    acc.raise_dispute(dispute("e", "new", 100, date(2025, 1, 2)))
    acc.receive_payment(payment("p", 150, date(2025, 1, 10)))
    assert acc.unapplied("EUR") == D(150)
    acc.resolve_dispute(resolve("d", "old", date(2025, 2, 1)))
    assert (acc.invoices["old"].outstanding, acc.unapplied("EUR")) == (D(0), D(50))
    acc.resolve_dispute(resolve("e", "new", date(2025, 2, 2)))
    assert (acc.invoices["new"].outstanding, acc.unapplied("EUR")) == (D(50), D(0))


def test_credit_note_surplus_is_applied_to_other_open_invoices() -> None:
    """DOMAIN.md (Ledger): cash on account is applied when a credit note leaves a surplus.
    A (100) is paid in full; a 40 credit note on A leaves 40, which B (300) takes: B owes 260."""
    acc = LedgerDriver()
    acc.issue(invoice("A", 100, date(2025, 2, 1)))
    acc.issue(invoice("B", 300, date(2025, 3, 1)))
    acc.receive_payment(payment("p", 100, date(2025, 1, 20), allocations=(("A", 100),)))
    changes = acc.issue_credit_note(credit_note("c", "A", 40, date(2025, 1, 25)))
    assert (acc.invoices["B"].outstanding, acc.unapplied("EUR")) == (D(260), D(0))
    assert ("B", D(260), "partially_paid") in [
        (b.invoice_id, b.outstanding, b.status) for b in changes.balances
    ]


def test_a_state_stored_before_these_rules_still_loads() -> None:
    """States kept no payment date per instalment and no credit note on a pending resolution: they
    load with no payment dates (days late then falls back to the settlement date, the old rule)."""
    acc = LedgerDriver()
    acc.issue(invoice("i", 100, date(2025, 1, 31)))
    acc.receive_payment(payment("p", 100, date(2025, 2, 10), allocations=(("i", 100),)))
    acc.resolve_dispute(resolve("d", "later", date(2025, 2, 11)))
    state = json.loads(STATE.dump_json(acc.state))
    for raw in state["invoices"].values():
        for part in raw["instalments"]:
            part.pop("paid_on")
    for facts in state["pending"].values():
        for fact in facts:
            fact.pop("credit_note_id")
    old = STATE.validate_python(state)
    assert old.invoices["i"].instalments[0].paid_on is None
    assert old.invoices["i"].days_late == 10  # 02-10 - 01-31
    assert old.pending["later"][0] == resolve("d", "later", date(2025, 2, 11))


def test_interest_a_missing_rate_period_cannot_give_is_said_not_guessed() -> None:
    """Code de commerce L441-10 II: an agreed French rate is floored at 3x the legal rate of each
    half-year; a half-year whose legal rate is not yet in the shipped table gives no figure and
    says why (never a guess, never an error answer)."""
    acc = LedgerDriver()
    changes = [acc.issue(invoice("i", 1000, date(2026, 6, 30)))]
    inv = acc.invoices["i"]
    terms = InvoiceTerms(inv.currency, inv.amount, inv.issued_on, "FR", D("1"))
    entries = [e for e in rows(changes) if e.invoice_id == "i"]
    answer = invoice_interest(
        terms, entries, {p.seq: p.due_on for p in inv.instalments}, date(2026, 8, 31), RATES
    )
    assert answer.claim is None
    assert answer.note.startswith("interest cannot be computed yet")


# -- One rule for the law of an invoice without contract terms -----------------------------------


def _no_terms_interest(currency: str, tenant: TenantLaw | None) -> tuple[str, Decimal, Decimal]:
    acc = LedgerDriver()
    changes = [acc.issue(invoice("g", 5000, date(2024, 1, 31), date(2024, 1, 1), currency))]
    inv = acc.invoices["g"]
    terms = InvoiceTerms(inv.currency, inv.amount, inv.issued_on, None, None)
    entries = [e for e in rows(changes) if e.invoice_id == "g"]
    answer = invoice_interest(
        terms, entries, {p.seq: p.due_on for p in inv.instalments}, date(2024, 3, 1), RATES, tenant
    )
    assert answer.jurisdiction_assumed
    if answer.claim is None:
        return answer.note, D("0"), D("0")
    return answer.claim.jurisdiction.value, answer.claim.interest, answer.claim.compensation


def test_an_invoice_without_terms_follows_the_tenants_jurisdiction_else_its_currency() -> None:
    """DOMAIN.md: one rule, asked by ledger and dunning alike (`arshield_latepay.law_of`).
    5,000 GBP due 2024-01-31, as of 2024-03-01 (30 days): a tenant that has not said its
    jurisdiction -> the UK Act, Bank Rate 5.25 + 8 = 13.25 %: 5,000 x 13.25 % x 30/365 = 54.45
    and 70 GBP (dunning's letter claims the same figures); a German tenant -> BGB 288, Basiszinssatz
    3.62 + 9 = 12.62 %: 5,000 x 12.62 % x 30/365 = 51.86 and 40 EUR; a USD invoice of a tenant
    that has not said: no rule, and the answer says so."""
    assert _no_terms_interest("GBP", None) == ("UK", D("54.45"), D("70"))
    assert _no_terms_interest("GBP", TenantLaw("DE")) == ("DE", D("51.86"), D("40"))
    note, _, _ = _no_terms_interest("USD", None)
    assert "no statutory rule for USD" in note
