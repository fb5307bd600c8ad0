"""A buyer driven through the pure domain, day by day, as the kernel would: commands decided
and evolved, business days given when the buyer's wake-up date has come."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from arshield_insurance_claims.domain.commands import (
    AggregateBudget,
    Command,
    RecordCover,
    StartBusinessDay,
    TrackInvoice,
)
from arshield_insurance_claims.domain.day import wake_on
from arshield_insurance_claims.domain.decide import decide
from arshield_insurance_claims.domain.events import DomainEvent
from arshield_insurance_claims.domain.evolve import evolve
from arshield_insurance_claims.domain.policy import InsurancePolicy
from arshield_insurance_claims.domain.state import BuyerInsurance, Invoice

D = date(2025, 3, 31)
"""The due date of the scenarios' oldest invoice."""


def policy(**changes: Any) -> InsurancePolicy:
    values: dict[str, Any] = {
        "policy_id": "POL-1",
        "version": 1,
        "effective_on": date(1900, 1, 1),
        "insurer": "Demo Trade Credit",
        "insurer_id": "ins_demo",
        "currency": "EUR",
        "aggregate_limit": Decimal("1000000"),
        "period_start_on": date(2025, 1, 1),
    }
    return InsurancePolicy(**{**values, **changes})


def invoice(invoice_id: str, amount: str, *, due_on: date, terms: int = 60, **more: Any) -> Invoice:
    issued = more.pop("issued_on", due_on - timedelta(days=terms))
    return Invoice(
        invoice_id=invoice_id,
        number=f"N-{invoice_id}",
        currency="EUR",
        amount=Decimal(amount),
        outstanding=Decimal(amount),
        issued_on=issued,
        delivered_on=more.pop("delivered_on", issued),
        due_on=due_on,
        terms_days=terms,
        **more,
    )


@dataclass
class Buyer:
    policy: InsurancePolicy = field(default_factory=policy)
    state: BuyerInsurance = field(
        default_factory=lambda: BuyerInsurance(tenant_id="t1", buyer_id="B1")
    )
    events: list[tuple[date | None, DomainEvent]] = field(default_factory=list)
    budget: AggregateBudget | None = None

    def do(self, command: Command, on: date | None = None) -> list[DomainEvent]:
        decided = list(decide(self.state, command))
        for event in decided:
            self.state = evolve(self.state, event)
            self.events.append((on, event))
        return decided

    def track(self, *invoices: Invoice) -> None:
        for item in invoices:
            self.do(TrackInvoice(item))

    def cover(self, amount: str, notified_on: date, **more: Any) -> list[DomainEvent]:
        values: dict[str, Any] = {
            "decision_id": f"dec-{len(self.state.covers) + 1}",
            "decided_by": "insurer",
            "decision": "full",
            "amount": Decimal(amount),
            "currency": "EUR",
            "notified_on": notified_on,
            "effective_on": notified_on,
            "policy": self.policy,
        }
        return self.do(RecordCover(**{**values, **more}), notified_on)

    def day(self, on: date) -> list[DomainEvent]:
        """The business day `on`, if the buyer's wake-up date has come (as the kernel does)."""
        wake = wake_on(self.state)
        if wake is None or wake > on:
            return []
        return self.do(StartBusinessDay(on=on, policy=self.policy, budget=self.budget), on)

    def days(self, first: date, last: date, step: int = 1) -> None:
        on = first
        while on <= last:
            self.day(on)
            on += timedelta(days=step)

    def of(self, kind: type[Any]) -> list[tuple[date | None, Any]]:
        return [(on, e) for on, e in self.events if isinstance(e, kind)]
