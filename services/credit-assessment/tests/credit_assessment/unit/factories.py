"""Buyers built by running commands through the pure domain (no database, no Kafka)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from arshield_credit_assessment.domain import commands as c
from arshield_credit_assessment.domain.decide import decide
from arshield_credit_assessment.domain.events import Event
from arshield_credit_assessment.domain.evolve import evolve
from arshield_credit_assessment.domain.policy import DEFAULT_POLICY
from arshield_credit_assessment.domain.review import ContractReviewer
from arshield_credit_assessment.domain.state import BuyerCredit
from arshield_latepay import ReferenceRates

REVIEWER = ContractReviewer(ReferenceRates.shipped(), "EU")
D = Decimal
DAY = date(2024, 3, 1)


def run(state: BuyerCredit, *commands: c.Command) -> tuple[BuyerCredit, list[Event]]:
    events: list[Event] = []
    for command in commands:
        for event in decide(state, command, REVIEWER.review):
            state = evolve(state, event)
            events.append(event)
    return state, events


def buyer(*commands: c.Command, country: str = "DE") -> BuyerCredit:
    """A registered buyer that adopted the default policy on `DAY`, then `commands`."""
    state, _ = run(
        BuyerCredit("t1", "b1"),
        c.StartDay(DAY, DEFAULT_POLICY),
        c.RegisterBuyer("Buyer GmbH", country, DAY),
        *commands,
    )
    return state


def of(events: Iterable[Event], kind: type) -> list:  # type: ignore[type-arg]
    return [e for e in events if isinstance(e, kind)]
