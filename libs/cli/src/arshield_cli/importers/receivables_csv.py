"""Importer for receivables histories shaped like IBM's "late payment histories" CSV.

Each customer becomes `BuyerRegistered` when first seen; each row becomes `InvoiceIssued`, then
`PaymentReceived` on SettledDate allocated to that invoice. A disputed row also gets
`DisputeRaised` (on the due date, or on the settlement date when the invoice was settled before it
fell due) and `DisputeResolved` (rejected) on the settlement date, just before the payment.
An invoice never settled (SettledDate empty, as in an export of open items) gets no payment, and its
dispute, raised on the due date, stays open.
Ids derive from the tenant and the invoice number, so importing the same file twice publishes the
same events again and every consumer treats them as duplicates.
"""

from __future__ import annotations

import csv
import tomllib
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from arshield_events.envelope import CloudEvent, Payload, envelope
from arshield_events.erp import (
    BuyerRegistered,
    ContractTerms,
    DisputeRaised,
    DisputeResolved,
    InvoiceIssued,
    PaymentReceived,
)
from arshield_events.money import Money

DEFAULT_COUNTRIES = Path(__file__).with_name("ibm_countries.toml")
_IDS = uuid.UUID("0b6a3c52-0f0e-4a55-9d1e-6f3b1f3f7a21")
# Within a business day: the profile, then the invoice, the dispute, its resolution, the payment.
_ORDER = {
    BuyerRegistered: 0,
    InvoiceIssued: 1,
    DisputeRaised: 2,
    DisputeResolved: 3,
    PaymentReceived: 4,
}


@dataclass(frozen=True)
class Country:
    country: str
    currency: str
    jurisdiction: str
    language: str


@dataclass(frozen=True)
class Fact:
    """An event with the business date it belongs to and its place within that day."""

    on: date
    rank: tuple[int, int]
    event: CloudEvent[Any]


def load_countries(path: Path = DEFAULT_COUNTRIES) -> dict[str, Country]:
    table = tomllib.loads(path.read_text())
    return {code: Country(**entry) for code, entry in table["countries"].items()}


def _day(text: str) -> date:
    return datetime.strptime(text.strip(), "%d/%m/%Y").date()  # noqa: DTZ007 - a date, no time


def read_facts(
    path: Path,
    *,
    tenant: str,
    source: str = "erp/ibm-sample",
    countries: dict[str, Country] | None = None,
) -> list[Fact]:
    """Every fact of the file, in business-date order."""
    mapping = countries or load_countries()
    facts: list[Fact] = []
    seen: set[str] = set()

    def fact(on: date, row: int, data: Payload, name: str, subject: str) -> None:
        event = envelope(
            data,
            id=str(uuid.uuid5(_IDS, f"{tenant}/{name}")),
            source=source,
            subject=subject,
            tenantid=tenant,
            time=datetime.combine(on, time(9), tzinfo=UTC),
        )
        facts.append(Fact(on, (_ORDER[type(data)], row), event))

    with path.open(newline="") as handle:
        for row, line in enumerate(csv.DictReader(handle)):
            buyer = line["customerID"].strip()
            number = line["invoiceNumber"].strip()
            place = mapping[line["countrycode"].strip()]
            issued, due = _day(line["InvoiceDate"]), _day(line["DueDate"])
            settled = _day(line["SettledDate"]) if (line.get("SettledDate") or "").strip() else None
            amount = Money(
                amount=Decimal(line["InvoiceAmount"]).quantize(Decimal("0.01")),
                currency=place.currency,
            )
            if buyer not in seen:
                seen.add(buyer)
                fact(
                    issued,
                    row,
                    BuyerRegistered(
                        buyer_id=buyer,
                        legal_name=f"Customer {buyer}",
                        country=place.country,
                        segment="standard",
                        preferred_language=place.language,
                        registered_on=issued,
                    ),
                    f"buyer/{buyer}",
                    buyer,
                )
            fact(
                issued,
                row,
                InvoiceIssued(
                    invoice_id=number,
                    invoice_number=number,
                    buyer_id=buyer,
                    issued_on=issued,
                    due_on=due,
                    amount=amount,
                    payment_terms_days=(due - issued).days,
                    contract_terms=ContractTerms(
                        jurisdiction=place.jurisdiction,
                        late_interest="statutory",
                        retention_of_title=False,
                    ),
                ),
                f"invoice/{number}",
                buyer,
            )
            if line["Disputed"].strip().lower() == "yes":
                raised = due if settled is None else min(due, settled)
                fact(
                    raised,
                    row,
                    DisputeRaised(
                        dispute_id=f"D-{number}",
                        invoice_id=number,
                        buyer_id=buyer,
                        disputed_amount=amount,
                        reason="disputed by the customer",
                        raised_on=raised,
                    ),
                    f"dispute/{number}/raised",
                    buyer,
                )
                if settled is None:
                    continue
                fact(
                    settled,
                    row,
                    DisputeResolved(
                        dispute_id=f"D-{number}",
                        invoice_id=number,
                        buyer_id=buyer,
                        outcome="rejected",
                        resolved_on=settled,
                    ),
                    f"dispute/{number}/resolved",
                    buyer,
                )
            if settled is None:
                continue
            fact(
                settled,
                row,
                PaymentReceived(
                    payment_id=f"P-{number}",
                    buyer_id=buyer,
                    amount=amount,
                    received_on=settled,
                    allocations=[{"invoice_id": number, "amount": amount}],
                ),
                f"payment/{number}",
                buyer,
            )
    facts.sort(key=lambda f: (f.on, f.rank))
    return facts
