"""Upcasting: old event versions are rewritten, one version step at a time, into the current one.

An upcaster is a pure function from one version's `data` (a JSON object as received) to the next
version's. Steps chain: v0 -> v1 -> v2 ... until a type with no further step, the current version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

UpcastFunction = Callable[[Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Upcaster:
    from_type: str
    to_type: str
    upcast: UpcastFunction


class UpcasterChain:
    """The registered steps, at most one out of each type, without cycles."""

    def __init__(self, steps: Iterable[Upcaster] = ()) -> None:
        self._steps: dict[str, Upcaster] = {}
        for step in steps:
            self.register(step)

    def register(self, step: Upcaster) -> None:
        if step.from_type in self._steps:
            raise ValueError(f"an upcaster from {step.from_type} is already registered")
        onward = self.path(step.to_type)
        if step.from_type in onward:
            cycle = " -> ".join([step.from_type, *onward[: onward.index(step.from_type) + 1]])
            raise ValueError(f"upcasters would form a cycle: {cycle}")
        self._steps[step.from_type] = step

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._steps

    @property
    def old_types(self) -> frozenset[str]:
        return frozenset(self._steps)

    def target(self, event_type: str) -> str:
        """The type that `event_type` ends up as after every step."""
        return self.path(event_type)[-1]

    def path(self, event_type: str) -> list[str]:
        """The types an event of `event_type` passes through, itself first."""
        types = [event_type]
        while types[-1] in self._steps:
            types.append(self._steps[types[-1]].to_type)
        return types

    def upcast(self, event_type: str, data: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """(current type, current data) for an event of `event_type` carrying `data`."""
        current = dict(data)
        while event_type in self._steps:
            step = self._steps[event_type]
            current = step.upcast(current)
            event_type = step.to_type
        return event_type, current


def invoice_issued_v0_to_v1(data: Mapping[str, Any]) -> dict[str, Any]:
    """Flat `total` + `currency` become `amount: Money`; `*_date` become `*_on`."""
    return {
        "invoice_id": data["invoice_id"],
        "invoice_number": data["invoice_number"],
        "buyer_id": data["buyer_id"],
        "order_id": data.get("order_id"),
        "issued_on": data["invoice_date"],
        "delivered_on": data.get("ship_date"),
        "due_on": data["due_date"],
        "amount": {"amount": data["total"], "currency": data["currency"]},
        "payment_terms_days": data["terms_days"],
        "instalments": [],
        "contract_terms": None,
    }


UPCASTERS = UpcasterChain(
    [
        Upcaster(
            from_type="arshield.erp.InvoiceIssued.v0",
            to_type="arshield.erp.InvoiceIssued.v1",
            upcast=invoice_issued_v0_to_v1,
        ),
    ]
)
