from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arshield_dunning.adapters.latepay_claims import LatepayClaims
from arshield_dunning.domain.commands import Command, StartBusinessDay, TrackInvoice
from arshield_dunning.domain.decide import decide
from arshield_dunning.domain.events import DomainEvent
from arshield_dunning.domain.evolve import evolve
from arshield_dunning.domain.policy import Policy, Segment
from arshield_dunning.domain.state import BuyerDunning, DuePart, LedgerNote, Money
from arshield_latepay import ReferenceRates

CLAIMS = LatepayClaims(ReferenceRates.shipped(), tenant_jurisdiction="EU")


class Buyer:
    """A buyer's state driven command by command, keeping every event decided."""

    def __init__(self, segment: Segment = Segment.STANDARD, policy: Policy | None = None) -> None:
        self.state = BuyerDunning(
            tenant_id="t1", buyer_id="b1", segment=segment, legal_name="Acme GmbH"
        )
        self.policy = policy or Policy.default(segment)
        self.events: list[DomainEvent] = []

    def do(self, command: Command) -> list[DomainEvent]:
        events = decide(self.state, command)
        for event in events:
            self.state = evolve(self.state, event)
        self.events += events
        return events

    def tick(self, on: date, agency_id: str | None = "agency-1") -> list[DomainEvent]:
        return self.do(
            StartBusinessDay(on=on, policy=self.policy, claims=CLAIMS, agency_id=agency_id)
        )

    def days(self, start: date, end: date) -> list[DomainEvent]:
        out: list[DomainEvent] = []
        day = start
        while day <= end:
            out += self.tick(day)
            day += timedelta(days=1)
        return out

    def of(self, kind: type) -> list:  # type: ignore[type-arg]
        return [e for e in self.events if isinstance(e, kind)]


def invoice(
    invoice_id: str = "inv-1",
    *,
    issued_on: date = date(2024, 1, 1),
    due_on: date = date(2024, 1, 31),
    delivered_on: date | None = date(2024, 1, 2),
    amount: str = "1000.00",
    currency: str = "EUR",
) -> TrackInvoice:
    return TrackInvoice(
        invoice_id=invoice_id,
        invoice_number=f"N-{invoice_id}",
        order_id=None,
        issued_on=issued_on,
        delivered_on=delivered_on,
        due_on=due_on,
        amount=Money(amount=Decimal(amount), currency=currency),
    )


def actions(events: Iterable[DomainEvent]) -> list[tuple[str, date]]:
    from arshield_dunning.domain.events import ActionTaken

    return [(e.action.value, e.on) for e in events if isinstance(e, ActionTaken)]


from arshield_dunning.domain.commands import (  # noqa: E402
    ApplyPayment,
    ConfirmDelivery,
    DunningError,
    RaiseDispute,
    RecordPromise,
    RegisterBuyer,
    ResolveDispute,
)
from arshield_dunning.domain.events import (  # noqa: E402
    ActionTaken,
    CaseOpened,
    ControllerAssigned,
    InvoiceClosed,
    Paused,
    PromiseEnded,
    Resumed,
    StatementIssued,
)

pytestmark = pytest.mark.unit
D = date


def test_default_timeline_fires_each_action_on_its_day() -> None:
    b = Buyer()
    b.do(invoice())
    b.days(D(2024, 1, 1), D(2024, 4, 30))
    assert actions(b.events) == [
        ("receipt_confirmation", D(2024, 1, 9)),
        ("reminder", D(2024, 1, 16)),
        ("first_overdue_notice", D(2024, 2, 1)),
        ("formal_notice", D(2024, 3, 1)),
        ("agency_handover", D(2024, 3, 31)),
    ]
    taken = b.of(ActionTaken)
    assert {a.policy_version for a in taken} == {"standard.v0"}
    assert taken[3].facts["days_overdue"] == "30"
    assert taken[3].facts["outstanding"] == "1000.00"
    (case,) = b.of(CaseOpened)
    assert case.invoice_ids == ("inv-1",)
    assert case.agency_id == "agency-1"
    assert case.amount == Money(amount=Decimal("1000.00"), currency="EUR")
    assert ("legal_letter", f"letter:{taken[3].letter.letter_id}", "inv-1") in case.evidence  # type: ignore[union-attr]


def test_formal_notice_claims_interest_and_compensation_by_the_ledger_rules() -> None:
    b = Buyer()
    b.do(invoice())
    b.days(D(2024, 1, 1), D(2024, 3, 1))
    formal = b.of(ActionTaken)[-1]
    assert formal.action.value == "formal_notice"
    assert formal.claim is not None
    # ECB MRO 4.50% on 1 Jan 2024 + 8 points = 12.5% on 1000 EUR for 30 days.
    assert formal.claim.interest == (Decimal("1000") * Decimal("12.5") * 30 / 36500).quantize(
        Decimal("0.01")
    )
    assert formal.claim.compensation == Decimal(40)


def test_payment_in_full_cancels_everything_scheduled() -> None:
    b = Buyer()
    b.do(invoice())
    b.days(D(2024, 1, 1), D(2024, 1, 20))
    closed = b.do(
        ApplyPayment(
            payment_id="p1", allocations=(("inv-1", Decimal("1000.00")),), on=D(2024, 1, 20)
        )
    )
    assert any(isinstance(e, InvoiceClosed) for e in closed)
    b.days(D(2024, 1, 21), D(2024, 6, 1))
    assert [a for a, _ in actions(b.events)] == ["receipt_confirmation", "reminder"]


def test_partial_payment_lowers_the_amount_claimed() -> None:
    b = Buyer()
    b.do(invoice())
    b.days(D(2024, 1, 1), D(2024, 2, 10))
    b.do(
        ApplyPayment(
            payment_id="p1", allocations=(("inv-1", Decimal("400.00")),), on=D(2024, 2, 10)
        )
    )
    b.days(D(2024, 2, 11), D(2024, 3, 1))
    formal = b.of(ActionTaken)[-1]
    assert formal.action.value == "formal_notice"
    assert formal.outstanding.amount == Decimal("600.00")
    assert formal.letter is not None
    assert formal.letter.lines[0].outstanding == Decimal("600.00")


def test_proof_of_delivery_before_seven_days_means_no_receipt_request() -> None:
    b = Buyer()
    b.do(invoice())
    b.do(ConfirmDelivery(invoice_id="inv-1", document_ref="pod-1", on=D(2024, 1, 5)))
    b.days(D(2024, 1, 1), D(2024, 1, 20))
    assert [a for a, _ in actions(b.events)] == ["reminder"]


def test_dispute_pauses_and_resolution_resumes_at_the_highest_level_due() -> None:
    b = Buyer()
    b.do(invoice())
    b.days(D(2024, 1, 1), D(2024, 1, 31))
    paused = b.do(RaiseDispute(dispute_id="d1", invoice_id="inv-1", on=D(2024, 1, 31)))
    assert [type(e) for e in paused][-1] is Paused
    b.days(D(2024, 2, 1), D(2024, 3, 5))
    assert [a for a, _ in actions(b.events)] == ["receipt_confirmation", "reminder"]
    resumed = b.do(
        ResolveDispute(dispute_id="d1", invoice_id="inv-1", outcome="rejected", on=D(2024, 3, 5))
    )
    assert isinstance(resumed[-1], Resumed)
    b.tick(D(2024, 3, 6))
    last = b.of(ActionTaken)[-1]
    assert (last.action.value, last.on) == ("formal_notice", D(2024, 3, 6))
    assert last.facts["superseded"] == "first_overdue_notice"


def test_promise_pauses_until_grace_and_a_broken_promise_escalates_at_once() -> None:
    b = Buyer()
    b.do(invoice())
    b.days(D(2024, 1, 1), D(2024, 2, 5))
    b.do(
        RecordPromise(
            promise_id="pr1",
            invoice_ids=("inv-1",),
            promised_on=D(2024, 2, 10),
            amount=None,
            recorded_on=D(2024, 2, 5),
            grace_days=3,
        )
    )
    b.days(D(2024, 2, 6), D(2024, 2, 13))
    assert actions(b.events)[-1] == ("first_overdue_notice", D(2024, 2, 1))
    b.tick(D(2024, 2, 14))
    assert [e.status for e in b.of(PromiseEnded)] == ["broken"]
    last = b.of(ActionTaken)[-1]
    assert (last.action.value, last.on, last.facts["cause"]) == (
        "formal_notice",
        D(2024, 2, 14),
        "promise_broken",
    )
    b.days(D(2024, 2, 15), D(2024, 3, 1))
    assert [a for a, _ in actions(b.events)].count("formal_notice") == 1


def test_a_kept_promise_ends_quietly() -> None:
    b = Buyer()
    b.do(invoice())
    b.days(D(2024, 1, 1), D(2024, 2, 5))
    b.do(
        RecordPromise(
            promise_id="pr1",
            invoice_ids=("inv-1",),
            promised_on=D(2024, 2, 10),
            amount=None,
            recorded_on=D(2024, 2, 5),
            grace_days=3,
        )
    )
    b.do(
        ApplyPayment(
            payment_id="p1", allocations=(("inv-1", Decimal("1000.00")),), on=D(2024, 2, 9)
        )
    )
    b.days(D(2024, 2, 6), D(2024, 4, 1))
    assert [e.status for e in b.of(PromiseEnded)] == ["kept"]
    assert actions(b.events)[-1] == ("first_overdue_notice", D(2024, 2, 1))


def test_promise_is_refused_for_unknown_or_closed_invoices_and_past_dates() -> None:
    b = Buyer()
    b.do(invoice())
    with pytest.raises(DunningError) as unknown:
        b.do(
            RecordPromise(
                promise_id="pr1",
                invoice_ids=("nope",),
                promised_on=D(2024, 2, 10),
                amount=None,
                recorded_on=D(2024, 2, 5),
                grace_days=3,
            )
        )
    assert unknown.value.code == "unknown-invoice"
    with pytest.raises(DunningError) as past:
        b.do(
            RecordPromise(
                promise_id="pr1",
                invoice_ids=("inv-1",),
                promised_on=D(2024, 2, 1),
                amount=None,
                recorded_on=D(2024, 2, 5),
                grace_days=3,
            )
        )
    assert past.value.code == "promise-in-past"


def test_watch_customers_escalate_at_fifteen_days() -> None:
    b = Buyer(segment=Segment.WATCH)
    b.do(invoice(delivered_on=None))
    b.days(D(2024, 1, 1), D(2024, 3, 5))
    assert actions(b.events) == [
        ("reminder", D(2024, 1, 11)),
        ("reminder", D(2024, 1, 21)),
        ("reminder", D(2024, 1, 28)),
        ("first_overdue_notice", D(2024, 2, 1)),
        ("formal_notice", D(2024, 2, 15)),
        ("agency_handover", D(2024, 3, 1)),
    ]


def test_core_customers_get_a_monthly_statement_of_open_items() -> None:
    b = Buyer(segment=Segment.CORE)
    b.do(invoice(due_on=D(2024, 3, 31)))
    b.do(invoice("inv-2", due_on=D(2024, 1, 20)))
    b.days(D(2024, 1, 1), D(2024, 3, 15))
    statements = b.of(StatementIssued)
    assert [s.on for s in statements] == [D(2024, 1, 1), D(2024, 2, 1), D(2024, 3, 1)]
    feb = statements[1]
    assert [line.invoice_id for line in feb.letter.lines] == ["inv-2", "inv-1"]
    assert feb.overdue == Decimal("1000.00")
    assert feb.letter.lines[0].interest > 0


def test_large_balances_are_assigned_to_a_credit_controller_once() -> None:
    b = Buyer()
    b.do(invoice(amount="6000.00"))
    b.tick(D(2024, 1, 1))
    assert b.of(ControllerAssigned) == []
    b.do(invoice("inv-2", amount="5000.00"))
    b.days(D(2024, 1, 2), D(2024, 1, 10))
    (assigned,) = b.of(ControllerAssigned)
    assert assigned.on == D(2024, 1, 2)
    assert assigned.balance == Money(amount=Decimal("11000.00"), currency="EUR")


def test_an_invoice_arriving_long_overdue_starts_collection_at_once() -> None:
    b = Buyer()
    b.days(D(2024, 1, 1), D(2024, 3, 10))
    b.do(invoice(delivered_on=None))
    b.tick(D(2024, 3, 11))
    assert actions(b.events) == [("formal_notice", D(2024, 3, 11))]


def test_buyer_profile_sets_language_of_letters() -> None:
    b = Buyer()
    b.do(RegisterBuyer(legal_name="华为", country="CN", segment=Segment.STANDARD, language="zh"))
    b.do(invoice())
    b.days(D(2024, 1, 1), D(2024, 1, 16))
    letter = b.of(ActionTaken)[-1].letter
    assert letter is not None
    assert letter.language == "zh"
    assert letter.buyer_name == "华为"


def expected_actions(due_on: date, paid_on: date | None, ticks: list[date]) -> list[str]:
    """The counting rule of the acceptance test, written independently: an action for day X fires
    on the first tick on or after X while the invoice is unpaid (payment facts follow ticks)."""
    offsets = [
        ("reminder", -15, 0),
        ("first_overdue_notice", 1, 1),
        ("formal_notice", 30, 2),
        ("agency_handover", 60, 3),
    ]
    fired: list[str] = []
    for name, offset, _level in offsets:
        when = due_on + timedelta(days=offset)
        tick = next((t for t in ticks if t >= when), None)
        if tick is None or (paid_on is not None and paid_on < tick):
            continue
        if name == "reminder" and tick > due_on:
            continue
        # only the highest level due on one tick fires
        later = [o for o in offsets if o[2] > _level and due_on + timedelta(days=o[1]) <= tick]
        if _level and later:
            continue
        fired.append(name)
    return fired


@settings(max_examples=60, deadline=None)
@given(
    paid_after=st.integers(min_value=0, max_value=120) | st.none(),
    gaps=st.lists(st.integers(min_value=1, max_value=4), min_size=40, max_size=60),
)
def test_each_action_fires_once_in_order_and_never_after_payment(
    paid_after: int | None, gaps: list[int]
) -> None:
    b = Buyer()
    start = D(2024, 1, 1)
    b.do(invoice(delivered_on=None))
    paid_on = start + timedelta(days=paid_after) if paid_after is not None else None
    ticks: list[date] = []
    day = start
    for gap in gaps:
        day += timedelta(days=gap)
        ticks.append(day)
    paid = False
    for t in ticks:
        b.tick(t)
        if paid_on is not None and not paid and paid_on <= t:
            b.do(ApplyPayment(payment_id="p", allocations=(("inv-1", Decimal("1000.00")),), on=t))
            paid = True
    fired = [a for a, _ in actions(b.events)]
    # the payment is a fact of the first tick on or after its day, so it follows that tick
    paid_at_tick = next((t for t in ticks if paid_on is not None and t >= paid_on), None)
    assert fired == expected_actions(D(2024, 1, 31), paid_at_tick, ticks)
    levels = [e.level for e in b.of(ActionTaken) if e.level]
    assert levels == sorted(set(levels))


def test_a_segment_change_after_a_steps_new_date_takes_it_at_the_next_tick() -> None:
    """DOMAIN.md: a change of segment never skips a step. Due 31 Jan, first notice on 1 Feb under
    the standard cycle; evaluated through 20 Feb, the buyer moves to watch, where the formal notice
    falls on 15 Feb (already past): it is taken on 21 Feb, the hand-over on 1 Mar (due + 30)."""
    b = Buyer()
    b.do(invoice())
    b.days(D(2024, 1, 1), D(2024, 2, 20))
    assert actions(b.events)[-1] == ("first_overdue_notice", D(2024, 2, 1))
    b.policy = Policy.default(Segment.WATCH)
    b.days(D(2024, 2, 21), D(2024, 3, 5))
    assert actions(b.events)[-2:] == [
        ("formal_notice", D(2024, 2, 21)),
        ("agency_handover", D(2024, 3, 1)),
    ]


def test_an_agency_never_receives_a_case_without_a_formal_notice_first() -> None:
    """Both the formal notice (15 Feb) and the hand-over (1 Mar) are past when the buyer moves to
    a faster policy on 10 Mar: the formal notice is taken that day, the hand-over at the next tick."""
    b = Buyer()
    b.do(invoice())
    b.days(D(2024, 1, 1), D(2024, 2, 28))
    b.policy = Policy(
        segment=Segment.STANDARD, version=1, rules=Policy.default(Segment.WATCH).rules
    )
    b.days(D(2024, 3, 10), D(2024, 3, 12))
    assert actions(b.events)[-2:] == [
        ("formal_notice", D(2024, 3, 10)),
        ("agency_handover", D(2024, 3, 11)),
    ]
    assert len(b.of(CaseOpened)) == 1


def test_a_late_arriving_invoice_gets_its_formal_notice_before_the_hand_over() -> None:
    """An invoice first seen 70 days overdue: the formal notice at once (superseding the first
    notice), the agency the next business day."""
    b = Buyer()
    b.do(invoice())
    b.days(D(2024, 4, 10), D(2024, 4, 11))
    taken = b.of(ActionTaken)
    assert [(a.action.value, a.on) for a in taken if a.level] == [
        ("formal_notice", D(2024, 4, 10)),
        ("agency_handover", D(2024, 4, 11)),
    ]
    assert taken[-2].facts["superseded"] == "first_overdue_notice"


def test_letter_interest_counts_a_payment_the_ledger_applied_without_a_named_invoice() -> None:
    """10,000 EUR due 31 Jan 2024 (EU: ECB 4.50 % + 8 = 12.5 %); the buyer pays 6,000 on 10 Feb
    naming no invoice and the ledger applies it. The formal notice on 1 Mar claims
    10,000 x 12.5 % x 10/365 + 4,000 x 12.5 % x 20/365 = 61.64 EUR (not 102.74 on the full
    10,000), the same figure as for a payment the ERP had named."""
    from arshield_dunning.domain.commands import NoteLedgerBalance

    b = Buyer()
    b.do(invoice(amount="10000.00"))
    b.days(D(2024, 1, 1), D(2024, 2, 9))
    b.do(
        NoteLedgerBalance(
            invoice_id="inv-1",
            outstanding=Decimal("4000"),
            status="partially_paid",
            on=D(2024, 2, 10),
        )
    )
    b.days(D(2024, 2, 10), D(2024, 3, 1))
    notice = b.of(ActionTaken)[-1]
    assert notice.action.value == "formal_notice"
    assert notice.claim is not None
    assert notice.claim.interest == Decimal("61.64")

    named = Buyer()
    named.do(invoice(amount="10000.00"))
    named.do(
        ApplyPayment(payment_id="p1", allocations=(("inv-1", Decimal("6000")),), on=D(2024, 2, 10))
    )
    # the ledger's figure arriving after the ERP's named payment adds nothing
    named.do(
        NoteLedgerBalance(
            invoice_id="inv-1",
            outstanding=Decimal("4000"),
            status="partially_paid",
            on=D(2024, 2, 10),
        )
    )
    named.days(D(2024, 1, 1), D(2024, 3, 1))
    assert named.of(ActionTaken)[-1].claim.interest == Decimal("61.64")


def test_a_promise_kept_by_a_payment_naming_no_invoice_is_kept() -> None:
    """A promise of 600 on a 1,000 invoice; the buyer pays 600 without naming the invoice and
    the ledger applies it (outstanding 400): the promise is kept, nothing escalates at once."""
    from arshield_dunning.domain.commands import NoteLedgerBalance

    b = Buyer()
    b.do(invoice())
    b.days(D(2024, 1, 1), D(2024, 2, 5))
    b.do(
        RecordPromise(
            promise_id="pr1",
            invoice_ids=("inv-1",),
            promised_on=D(2024, 2, 10),
            amount=Decimal("600"),
            recorded_on=D(2024, 2, 5),
            grace_days=3,
        )
    )
    b.do(
        NoteLedgerBalance(
            invoice_id="inv-1",
            outstanding=Decimal("400"),
            status="partially_paid",
            on=D(2024, 2, 9),
        )
    )
    b.days(D(2024, 2, 6), D(2024, 2, 20))
    ended = b.of(PromiseEnded)
    assert [(e.status, e.paid) for e in ended] == [("kept", Decimal("600"))]
    assert actions(b.events)[-1] == ("first_overdue_notice", D(2024, 2, 1))


def test_letters_ask_the_one_rule_for_the_law_of_an_invoice_without_terms() -> None:
    """The ledger's `/interest` and the letter agree (DOMAIN.md): 5,000 GBP due 2024-01-31
    without contract terms, claimed on 2024-03-01. A tenant that has not said its jurisdiction:
    the UK Act, 5,000 x 13.25 % x 30/365 = 54.45 and 70 GBP (not ECB + 8 and 40 EUR); a German
    tenant (its `TenantProfiled`): BGB 288, 5,000 x 12.62 % x 30/365 = 51.86 and 40 EUR."""
    claims = LatepayClaims(ReferenceRates.shipped())
    ask = {
        "amount": Decimal("5000"),
        "currency": "GBP",
        "issued_on": D(2024, 1, 1),
        "as_of": D(2024, 3, 1),
        "terms": None,
        "parts": (
            DuePart(
                seq=0,
                due_on=D(2024, 1, 31),
                amount=Decimal("5000"),
                balances=(LedgerNote(on=D(2024, 1, 1), outstanding=Decimal("5000")),),
            ),
        ),
    }
    uk = claims.claim(**ask)  # type: ignore[arg-type]
    assert (uk.interest, uk.compensation, uk.compensation_currency) == (
        Decimal("54.45"),
        Decimal("70"),
        "GBP",
    )
    de = claims.for_tenant("DE", None).claim(**ask)  # type: ignore[arg-type]
    assert (de.interest, de.compensation, de.compensation_currency) == (
        Decimal("51.86"),
        Decimal("40"),
        "EUR",
    )


def test_a_small_balance_is_never_handed_to_an_agency() -> None:
    """DOMAIN.md: below the tenant minimum (50 by default) an invoice stays with the letters: 40 EUR
    due 31 Jan gets its notices but no hand-over on 31 Mar; 1,000 EUR does."""
    small, large = Buyer(), Buyer()
    small.do(invoice(amount="40.00"))
    large.do(invoice(amount="1000.00"))
    for b in (small, large):
        b.days(D(2024, 1, 1), D(2024, 4, 30))
    assert [a for a, _ in actions(small.events)][-2:] == ["first_overdue_notice", "formal_notice"]
    assert small.of(CaseOpened) == []
    assert actions(large.events)[-1] == ("agency_handover", D(2024, 3, 31))


def test_an_agency_case_carries_the_full_claim() -> None:
    """The hand-over on 31 Mar 2024 of 1,000 EUR due 31 Jan (EU, 12.5 %): principal 1,000, interest
    1,000 x 12.5 % x 60/365 = 20.55, compensation 40 EUR."""
    b = Buyer()
    b.do(invoice(amount="1000.00"))
    b.days(D(2024, 1, 1), D(2024, 3, 31))
    (case,) = b.of(CaseOpened)
    assert case.amount.amount == Decimal("1000.00")
    assert case.interest == Decimal("20.55")
    assert [(m.amount, m.currency) for m in case.compensation] == [(Decimal("40"), "EUR")]
