"""The collection hand-over deadline: 30 days after MEP expiry a case must have been handed to the
agency (dunning's `CaseHandedToAgency`); when it passes without one, `DeadlineMissed` is raised
once, on the first business day after it, and the worklist shows it.

A 6,000 due D (2025-03-31) and B 4,000 due D+30 (2025-04-30) under an insurer's cover of 8,000:
MEP expiry D+60 (2025-05-30), hand-over due D+90 (2025-06-29), missed on D+91 (2025-06-30).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from arshield_events import insurance as public
from arshield_insurance_claims.adapters.public_events import payload
from arshield_insurance_claims.domain import events as ev
from arshield_insurance_claims.domain.commands import NoteHandover, NoteInsolvency
from arshield_insurance_claims.domain.day import deadlines, wake_on

from .harness import Buyer, D, invoice

pytestmark = pytest.mark.unit


def days(n: int) -> timedelta:
    return timedelta(days=n)


def defaulting() -> Buyer:
    buyer = Buyer()
    buyer.cover("8000", date(2025, 1, 1))
    buyer.track(invoice("A", "6000", due_on=D), invoice("B", "4000", due_on=D + days(30)))
    buyer.days(D, D + days(60))
    return buyer


def test_a_missed_handover_is_raised_the_day_after_its_deadline_once() -> None:
    buyer = defaulting()
    assert wake_on(buyer.state) == D + days(91) == date(2025, 6, 30)
    buyer.days(D + days(61), D + days(150))
    ((on, raised),) = buyer.of(ev.DeadlineMissed)
    missed = raised.missed
    assert on == missed.missed_on == date(2025, 6, 30)
    assert missed.kind == "collection_handover"
    assert missed.due_on == D + days(90) == date(2025, 6, 29)
    assert missed.invoice_ids == ("A", "B")
    assert missed.oldest_due_on == D
    assert missed.consequence == "claim_may_be_refused"
    assert raised.policy_ref == "POL-1:v1"
    # next: the claim at D+180 only
    assert wake_on(buyer.state) == D + days(180)

    public_event, purpose = payload(buyer.state, raised) or (None, "")
    assert isinstance(public_event, public.DeadlineMissed)
    assert purpose == "deadline-missed:collection_handover:2025-06-29"
    assert (public_event.deadline, public_event.due_on, public_event.missed_on) == (
        "collection_handover",
        date(2025, 6, 29),
        date(2025, 6, 30),
    )
    assert public_event.invoice_ids == ("A", "B")

    handover = {d.kind: d for d in deadlines(buyer.state, buyer.policy)}["collection_handover"]
    assert (handover.due_on, handover.done_on, handover.missed_on) == (
        date(2025, 6, 29),
        None,
        date(2025, 6, 30),
    )
    assert handover.consequence == "claim_may_be_refused"
    assert handover.status(D + days(100)) == "missed"


def test_a_case_handed_over_by_the_deadline_meets_it() -> None:
    buyer = defaulting()
    buyer.do(NoteHandover(D + days(90)), D + days(90))  # the last day still counts
    assert wake_on(buyer.state) == D + days(180)  # nothing to watch before the claim
    buyer.days(D + days(61), D + days(150))
    assert buyer.of(ev.DeadlineMissed) == []
    handover = {d.kind: d for d in deadlines(buyer.state, buyer.policy)}["collection_handover"]
    assert (handover.done_on, handover.missed_on, handover.status(D + days(100))) == (
        D + days(90),
        None,
        "done",
    )


def test_a_case_handed_over_late_is_still_a_missed_deadline() -> None:
    buyer = defaulting()
    buyer.do(NoteHandover(D + days(95)), D + days(95))  # noted before any later business day
    buyer.day(D + days(96))
    ((on, raised),) = buyer.of(ev.DeadlineMissed)
    assert on == raised.missed.missed_on == D + days(96)
    handover = {d.kind: d for d in deadlines(buyer.state, buyer.policy)}["collection_handover"]
    assert handover.status(D + days(96)) == "late"
    assert handover.missed_on == D + days(96)


def test_an_insolvency_has_no_handover_deadline() -> None:
    buyer = defaulting()
    buyer.do(NoteInsolvency(D + days(70)), D + days(70))
    buyer.days(D + days(71), D + days(150))
    assert buyer.of(ev.DeadlineMissed) == []
    assert len(buyer.of(ev.ClaimFiled)) == 1
