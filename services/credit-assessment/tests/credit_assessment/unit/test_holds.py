"""Holds: an invoice overdue beyond the threshold (30 days) places one naming the invoices;
paying every one of them releases it; stop-supply and insolvency wait for a person."""

from __future__ import annotations

from datetime import timedelta

import pytest

from arshield_credit_assessment.domain import commands as c
from arshield_credit_assessment.domain.decide import wake_on
from arshield_credit_assessment.domain.events import HoldPlaced, HoldReleased
from arshield_credit_assessment.domain.policy import DEFAULT_POLICY

from .factories import DAY, D, buyer, of, run

pytestmark = pytest.mark.unit

DUE = DAY + timedelta(days=10)


def invoice(invoice_id: str, amount: str = "1000") -> c.TrackInvoice:
    return c.TrackInvoice(invoice_id, "EUR", D(amount), DUE, None, DAY, None)


def test_31_days_overdue_places_a_hold_30_does_not_and_payment_releases_it() -> None:
    state = buyer(invoice("i1"))
    assert wake_on(state) == DUE + timedelta(days=31)
    state, events = run(state, c.StartDay(DUE + timedelta(days=30), DEFAULT_POLICY))
    assert not of(events, HoldPlaced)
    state, events = run(state, c.StartDay(DUE + timedelta(days=31), DEFAULT_POLICY))
    (placed,) = of(events, HoldPlaced)
    assert (placed.hold.cause, placed.hold.invoice_ids) == ("overdue", ("i1",))
    assert placed.hold.hold_id == f"overdue-{(DUE + timedelta(days=31)).isoformat()}-i1"
    assert "overdue more than 30 days" in placed.hold.reason
    state, events = run(state, c.NoteBalance("i1", "EUR", D(400), DUE + timedelta(days=32)))
    assert not of(events, HoldReleased)  # partly paid
    state, events = run(state, c.NoteSettled("i1", 33, DUE + timedelta(days=33)))
    (released,) = of(events, HoldReleased)
    assert released.released_by is None
    assert state.holds == ()
    assert (state.performance.settled, state.performance.paid_late) == (1, 1)


def test_a_hold_names_every_late_invoice_and_waits_for_all_of_them() -> None:
    state = buyer(
        invoice("i1"), invoice("i2"), c.StartDay(DUE + timedelta(days=40), DEFAULT_POLICY)
    )
    (hold,) = state.holds
    assert hold.invoice_ids == ("i1", "i2")
    state, events = run(state, c.NoteBalance("i1", "EUR", D(0), DUE + timedelta(days=41)))
    assert not of(events, HoldReleased)
    state, events = run(
        state, c.NoteBalance("i2", "EUR", D(0), DUE + timedelta(days=41), closed=True)
    )
    assert of(events, HoldReleased)


def test_the_ledgers_overdue_announcement_places_the_hold_at_once() -> None:
    state, events = run(
        buyer(),
        c.NoteBalance("i7", "EUR", D(500), DAY, due_on=DAY - timedelta(days=31), days_overdue=31),
    )
    assert of(events, HoldPlaced)[0].hold.invoice_ids == ("i7",)
    _, events = run(state, c.StartDay(DAY + timedelta(days=1), DEFAULT_POLICY))
    assert not of(events, HoldPlaced)  # already held


def test_stop_supply_and_insolvency_holds_are_lifted_by_a_person_only() -> None:
    state = buyer(invoice("i1"), c.PlaceHold("stop_supply", "insurer: MEP expired", DAY))
    (hold,) = state.holds
    assert hold.lifted_by_a_person_only
    state, events = run(state, c.NoteSettled("i1", 0, DAY))
    assert not of(events, HoldReleased)
    state, events = run(state, c.RestoreRelease(hold.hold_id, "insurer lifted", DAY, "alice"))
    (released,) = of(events, HoldReleased)
    assert released.released_by == "alice"
    assert state.holds == ()
    state, _ = run(state, c.PlaceHold("insolvency", "notice", DAY, insolvent=True))
    assert state.insolvent_on == DAY
    assert state.holds[0].cause == "insolvency"
