"""Partial payments to costs, then interest, then principal where the law says so, decided when the
payment is applied, so the state, the published events and the read models agree (DOMAIN.md,
Ledger). Figures by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arshield_latepay import ReferenceRates
from arshield_ledger.domain.commands import (
    AdoptTenantLaw,
    IssueInvoice,
    StartBusinessDay,
    TenantLaw,
)
from arshield_ledger.domain.events import InstalmentAnnouncedOverdue
from arshield_ledger.domain.interest import InvoiceTerms, invoice_interest
from arshield_ledger.domain.reports import EntryRow, invoice_as_of
from arshield_ledger.domain.state import BuyerLedger

from .factories import Decided, LedgerDriver, credit_note, dispute, invoice, payment, resolve

pytestmark = pytest.mark.unit
D = Decimal
RATES = ReferenceRates.shipped()
ISSUED, DUE = date(2025, 1, 1), date(2025, 1, 31)  # a Friday: no due-date move in DE, FR
PAID_ON = date(2025, 3, 2)  # 30 days of interest: 1 February to 2 March
LATER = date(2025, 3, 31)  # 29 more days: 3 to 31 March


def _invoice(jurisdiction: str | None, amount: int = 10000, **kw: object) -> IssueInvoice:
    return replace(invoice("i", amount, DUE, ISSUED, **kw), jurisdiction=jurisdiction)  # type: ignore[arg-type]


def _ledger(jurisdiction: str | None, law: TenantLaw | None = None) -> LedgerDriver:
    acc = LedgerDriver()
    if law is not None:
        acc.run(AdoptTenantLaw(law))
    acc.issue(_invoice(jurisdiction))
    return acc


def _pay(acc: LedgerDriver, ref: str, amount: str, on: date, named: bool = True) -> Decided:
    return acc.receive_payment(
        payment(ref, amount, on, allocations=(("i", amount),) if named else ())
    )


def _split(decided: Decided) -> list[tuple[str, Decimal]]:
    return [(e.kind, e.amount) for e in decided.entries if e.invoice_id == "i" and e.amount < 0]


def test_germany_a_partial_payment_settles_costs_then_interest_then_principal() -> None:
    """BGB § 367 Abs. 1 (and § 288 Abs. 2, 5): 10,000 EUR due 2025-01-31, Basiszinssatz 2.27 %
    + 9 = 11.27 %. On 2025-03-02 (30 days late) 40 EUR compensation and
    10,000 x 11.27 % x 30/365 = 92.63 interest are owed; a payment of 5,000 settles them first:
    40 + 92.63, principal 5,000 - 132.63 = 4,867.37, principal left 5,132.63 (not 5,000). The
    state, the balance event and the next overdue announcement all say 5,132.63."""
    acc = _ledger("DE")
    paid = _pay(acc, "p", "5000", PAID_ON)
    assert _split(paid) == [
        ("costs_settled", D(-40)),
        ("interest_settled", D("-92.63")),
        ("payment", D("-4867.37")),
    ]
    inv = acc.state.invoices["i"]
    assert (inv.outstanding, inv.paid, inv.costs_paid, inv.interest_paid) == (
        D("5132.63"),
        D(5000),
        D(40),
        D("92.63"),
    )
    assert [(b.outstanding, b.status) for b in paid.balances] == [(D("5132.63"), "partially_paid")]
    overdue = acc.start_business_day(date(2025, 3, 3))
    [announced] = [e for e in overdue.events if isinstance(e, InstalmentAnnouncedOverdue)]
    assert announced.outstanding == D("5132.63")
    assert [(b.outstanding, b.status) for b in overdue.balances] == [(D("5132.63"), "overdue")]


def test_germany_the_read_models_agree_with_the_state() -> None:
    """BGB § 367: the invoice's entries (as projected) sum to the principal the state holds,
    5,132.63; what was paid counts all 5,000; the `/interest` answer as of 2025-03-31 is
    92.6301 + 5,132.63 x 11.27 % x 29/365 (45.9588) = 138.59, of which 92.63 is paid: 45.96
    owed; the compensation is paid."""
    acc = _ledger("DE")
    issued = EntryRow("i", 0, "EUR", ISSUED, "issued", D(10000), "i", "")
    entries = [issued, *_rows(_pay(acc, "p", "5000", PAID_ON))]
    state = invoice_as_of(entries, {0: DUE}, LATER)
    assert (state.outstanding, state.paid) == (D("5132.63"), D(5000))
    assert state.outstanding == acc.state.invoices["i"].outstanding
    terms = InvoiceTerms("EUR", D(10000), ISSUED, "DE", None)
    answer = invoice_interest(terms, entries, {0: DUE}, LATER, RATES)
    assert answer.claim is not None
    assert [(p.start, p.principal) for p in answer.claim.periods] == [
        (date(2025, 2, 1), D(10000)),
        (date(2025, 3, 3), D("5132.63")),
    ]
    assert answer.claim.interest == D("138.59")
    assert (answer.interest_owed, answer.compensation_owed) == (D("45.96"), D(0))
    assert answer.principal_outstanding == D("5132.63")


def _rows(decided: Decided) -> list[EntryRow]:
    return [
        EntryRow(e.invoice_id, e.seq, e.currency, e.effective_on, e.kind, e.amount, e.ref, e.detail)
        for e in decided.entries
        if e.invoice_id == "i"
    ]


def test_germany_a_second_partial_payment_meets_the_interest_accrued_since() -> None:
    """BGB § 367: 5,000 on 2025-03-02 leaves 5,132.63 (above); 5,000 more on 2025-03-31 is
    partial again: interest 138.59 accrued, 92.63 paid, so 45.96 settles interest and 4,954.04
    principal; 178.59 of principal stays owed (5,132.63 - 4,954.04)."""
    acc = _ledger("DE")
    _pay(acc, "p", "5000", PAID_ON)
    second = _pay(acc, "q", "5000", LATER)
    assert _split(second) == [("interest_settled", D("-45.96")), ("payment", D("-4954.04"))]
    assert acc.state.invoices["i"].outstanding == D("178.59")


def test_germany_paying_off_the_principal_owed_settles_it_and_the_claim_stays() -> None:
    """BGB § 367 Abs. 2: a payment of all the principal still owed is the buyer's designation,
    which the creditor accepted by booking it: 10,000 on 2025-03-02 settles the invoice (30 days
    late, `InvoiceSettled`), and 92.63 interest and 40 EUR stay owed. After a partial payment,
    5,132.63 on 2025-03-31 pays off what is left: settled too, 10,132.63 paid in all."""
    acc = _ledger("DE")
    whole = _pay(acc, "p", "10000", PAID_ON)
    assert _split(whole) == [("payment", D(-10000))]
    assert [(s.days_late, s.amount) for s in whole.settled] == [(30, D(10000))]

    acc = _ledger("DE")
    _pay(acc, "p", "5000", PAID_ON)
    rest = _pay(acc, "q", "5132.63", LATER)
    assert _split(rest) == [("payment", D("-5132.63"))]
    assert [(s.days_late, s.amount) for s in rest.settled] == [(59, D("10132.63"))]


def test_france_a_partial_payment_settles_interest_before_principal() -> None:
    """Code civil art. 1343-1 (Code de commerce L441-10: ECB MRO 3.15 % on 2025-01-01 + 10 =
    13.15 %): on 2025-03-02, 10,000 x 13.15 % x 30/365 = 108.08 interest; 5,000 settles it, then
    4,891.92 of principal; the 40 EUR, which the article does not order, comes last (still
    owed). Principal left 5,108.08."""
    acc = _ledger("FR")
    assert _split(_pay(acc, "p", "5000", PAID_ON)) == [
        ("interest_settled", D("-108.08")),
        ("payment", D("-4891.92")),
    ]
    assert acc.state.invoices["i"].outstanding == D("5108.08")


def test_china_a_partial_payment_settles_interest_before_principal() -> None:
    """Civil Code art. 561 (no agreed rate, SME rules unknown: one-year LPR 3.10 % + 30 % =
    4.03 %): the due date, 31 January, falls in the 2025 Spring Festival holiday and moves to
    5 February (Civil Code art. 203), so on 2025-03-02 10,000 x 4.03 % x 25/365 = 27.60 of
    interest is owed, no fixed costs; 5,000 settles 27.60 of interest and 4,972.40 of principal,
    leaving 5,027.60."""
    acc = _ledger("CN")
    assert _split(_pay(acc, "p", "5000", PAID_ON)) == [
        ("interest_settled", D("-27.60")),
        ("payment", D("-4972.40")),
    ]
    assert acc.state.invoices["i"].outstanding == D("5027.60")


def test_the_tenants_german_law_orders_an_invoice_without_contract_terms() -> None:
    """The one rule (`law_of`): no contract terms, the tenant's jurisdiction DE (adopted from its
    profile before the buyer's first fact): BGB § 367, 5,132.63 left. Without a tenant law, a
    EUR invoice follows the directive, which orders nothing: 5,000 left."""
    acc = _ledger(None, TenantLaw("DE"))
    _pay(acc, "p", "5000", PAID_ON)
    assert acc.state.invoices["i"].outstanding == D("5132.63")
    acc = _ledger(None)
    _pay(acc, "p", "5000", PAID_ON)
    assert acc.state.invoices["i"].outstanding == D(5000)


@pytest.mark.parametrize("jurisdiction", ["EU", "UK"])
def test_without_a_statutory_order_the_principal_comes_first(jurisdiction: str) -> None:
    """Directive 2011/7/EU, UK Late Payment Act: no order, the payment is all principal."""
    acc = _ledger(jurisdiction)
    assert _split(_pay(acc, "p", "5000", PAID_ON)) == [("payment", D(-5000))]
    assert acc.state.invoices["i"].outstanding == D(5000)


def test_a_payment_before_any_interest_goes_to_principal() -> None:
    """BGB § 367 with nothing else owed: 5,000 paid on the due date (no interest has accrued, no
    compensation is due yet) settles 5,000 of principal."""
    acc = _ledger("DE")
    assert _split(_pay(acc, "p", "5000", DUE)) == [("payment", D(-5000))]


def test_an_unallocated_payment_is_split_as_it_meets_the_invoice() -> None:
    """BGB § 367: 5,000 naming no invoice goes oldest due first, to this one: split as above."""
    acc = _ledger("DE")
    _pay(acc, "p", "5000", PAID_ON, named=False)
    assert acc.state.invoices["i"].outstanding == D("5132.63")


def test_cash_held_on_account_is_split_as_of_its_arrival() -> None:
    """BGB § 367: 5,000 arrives on 2025-03-02 while the invoice is disputed and waits on
    account; the dispute is rejected on 2025-03-20 and the cash is applied as of its arrival:
    40 + 92.63 (30 days, not 48) first, 4,867.37 of principal, 5,132.63 left."""
    acc = _ledger("DE")
    acc.raise_dispute(dispute("d", "i", "10000", date(2025, 2, 10)))
    _pay(acc, "p", "5000", PAID_ON, named=False)
    assert acc.state.invoices["i"].outstanding == D(10000)
    applied = acc.resolve_dispute(resolve("d", "i", date(2025, 3, 20)))
    assert _split(applied) == [
        ("costs_settled", D(-40)),
        ("interest_settled", D("-92.63")),
        ("unapplied_cash", D("-4867.37")),
    ]
    assert acc.state.invoices["i"].outstanding == D("5132.63")
    assert acc.state.cash == {}


def test_germany_what_went_to_costs_and_interest_is_missing_from_the_latest_instalment() -> None:
    """BGB § 367 with instalments: 500 due 2025-01-31 and 500 due 2025-02-28 (a Friday); 600
    paid on 2025-03-02, applied oldest due first. Owed that day: 40 EUR and
    500 x 11.27 % x 30/365 (4.6315) + 500 x 11.27 % x 2/365 (0.3088) = 4.94 interest; 555.06
    goes to principal: the first instalment is paid, the second keeps 500 - 55.06 = 444.94."""
    acc = LedgerDriver()
    parts = ((1, DUE, "500"), (2, date(2025, 2, 28), "500"))
    acc.issue(
        replace(invoice("i", 1000, date(2025, 2, 28), ISSUED, instalments=parts), jurisdiction="DE")
    )
    _pay(acc, "p", "600", PAID_ON)
    assert [(p.seq, p.outstanding) for p in acc.state.invoices["i"].instalments] == [
        (1, D(0)),
        (2, D("444.94")),
    ]
    assert acc.state.invoices["i"].interest_paid == D("4.94")


@settings(max_examples=40, deadline=None)
@given(jurisdiction=st.sampled_from(["DE", "FR", "CN", "EU", "UK"]), late=st.integers(0, 400))
def test_an_invoice_paid_in_one_payment_is_applied_as_before(jurisdiction: str, late: int) -> None:
    """An invoice paid in full by one payment, however late (as every invoice of the IBM replay
    is), is applied exactly as under a law that orders nothing: all principal, settled."""
    acc = _ledger(jurisdiction)
    paid = _pay(acc, "p", "10000", DUE + timedelta(days=late))
    assert _split(paid) == [("payment", D(-10000))]
    assert len(paid.settled) == 1


def test_the_tenants_law_is_adopted_once_and_refreshed_by_the_business_day() -> None:
    """`AdoptTenantLaw` records the law once; a business day carrying the same law changes
    nothing, a new one is adopted."""
    acc = LedgerDriver()
    assert not acc.run(AdoptTenantLaw(TenantLaw("DE", True))).empty
    assert acc.run(AdoptTenantLaw(TenantLaw("DE", True))).empty
    acc.run(StartBusinessDay(date(2025, 1, 2), TenantLaw("FR")))
    assert (acc.state.tenant_jurisdiction, acc.state.tenant_is_sme) == ("FR", None)
    assert BuyerLedger().law_adopted is False


def test_a_state_kept_before_moves_were_recorded_is_not_split() -> None:
    """An instalment whose moves do not account for its outstanding amount (kept before this
    rule) has no known interest: the payment goes to principal rather than to a guess."""
    acc = _ledger("DE")
    _pay(acc, "p", "1000", DUE)  # 9,000 left, the 1,000 recorded as a move
    inv = acc.state.invoices["i"]
    part = inv.instalments[0].model_copy(update={"moves": ()})
    old = acc.state.model_copy(
        update={"invoices": {"i": inv.model_copy(update={"instalments": (part,)})}}
    )
    acc = LedgerDriver(old)
    assert _split(_pay(acc, "q", "5000", PAID_ON)) == [("payment", D(-5000))]


@settings(max_examples=80, deadline=None)
@given(
    jurisdiction=st.sampled_from(["DE", "FR", "CN"]),
    payments=st.lists(
        st.tuples(st.integers(1, 6000), st.integers(-20, 200), st.booleans()),
        min_size=1,
        max_size=5,
    ),
)
def test_a_split_never_loses_money_nor_claims_more_than_is_owed(
    jurisdiction: str, payments: list[tuple[int, int, bool]]
) -> None:
    """For any partial payments in date order (named or not, early or late): every
    payment is applied in full (costs + interest + principal + cash kept on account), the costs
    settled never exceed the 40 EUR (none in CN), the interest settled never exceeds the
    interest accrued up to the latest payment on the principal the law left owed, and the
    invoice's entries sum to the principal the state holds (the read models agree with it).
    (A payment dated before one already split does not re-open that split: the interest it met
    was owed when it was paid, so only date-ordered histories bound it by today's answer.)"""
    acc = _ledger(jurisdiction)
    rows: list[EntryRow] = [EntryRow("i", 0, "EUR", ISSUED, "issued", D(10000), "i", "")]
    kept = D(0)
    latest = ISSUED
    for n, (amount, days, named) in enumerate(sorted(payments, key=lambda p: p[1])):
        on = DUE + timedelta(days=days)
        latest = max(latest, on)
        decided = _pay(acc, f"p{n}", str(amount), on, named)
        rows += _rows(decided)
        kept += sum((u.amount for u in decided.unapplied), D(0))
    inv = acc.state.invoices["i"]
    moved = -sum((r.amount for r in rows if r.kind in _PAID_KINDS), D(0))
    assert moved + kept == sum((D(a) for a, _, _ in payments), D(0))
    assert inv.costs_paid <= (0 if jurisdiction == "CN" else 40)
    assert inv.outstanding == sum((r.amount for r in rows if r.seq is not None), D(0))
    assert inv.outstanding >= 0
    terms = InvoiceTerms("EUR", D(10000), ISSUED, jurisdiction, None)
    answer = invoice_interest(terms, rows, {0: DUE}, latest, RATES)
    assert answer.claim is not None
    assert inv.interest_paid <= answer.claim.interest
    assert answer.interest_paid == inv.interest_paid


_PAID_KINDS = ("payment", "costs_settled", "interest_settled")


def test_a_correction_known_before_a_partial_payment_bears_no_interest_in_its_split() -> None:
    """BGB § 367 Abs. 1 with a corrective credit note (DOMAIN.md, Ledger: it reduces interest
    from the due date). 2,000 of the 10,000 disputed and upheld on 2025-02-20 with credit note
    CN of 2,000 that day; 5,000 paid on 2025-03-02. Interest owed that day: 8,000 x 11.27 % x
    30/365 = 74.1041 -> 74.10 (from the note's date it would be (10,000 x 20 + 8,000 x 10) x
    11.27 %/365 = 86.45). The payment settles 40 + 74.10 and 4,885.90 of the principal:
    3,114.10 left; the `/interest` answer that day owes neither interest nor compensation."""
    acc = _ledger("DE")
    corrected_on = date(2025, 2, 20)
    acc.raise_dispute(dispute("d", "i", 2000, corrected_on))
    acc.issue_credit_note(credit_note("CN", "i", 2000, corrected_on))
    acc.resolve_dispute(resolve("d", "i", corrected_on, "upheld", "CN"))
    paid = _pay(acc, "p", "5000", PAID_ON)
    assert _split(paid) == [
        ("costs_settled", D(-40)),
        ("interest_settled", D("-74.10")),
        ("payment", D("-4885.90")),
    ]
    assert acc.state.invoices["i"].outstanding == D("3114.10")
