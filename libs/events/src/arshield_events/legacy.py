"""Old versions of events still accepted on read and upcast to the current version.

They are kept as models so an old-shaped event is validated (and rejected with field paths) in
its own terms before it is upcast, and so its JSON Schema can be published.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, ValidationInfo, field_validator

from arshield_events import topics
from arshield_events.envelope import Payload
from arshield_events.fields import BusinessDate, Id, ShortText
from arshield_events.money import CurrencyCode, DecimalString


class InvoiceIssuedV0(Payload):
    """`arshield.erp.InvoiceIssued.v0`: the first ERP connectors' flat invoice.

    Money was a bare `total` beside a `currency`, dates were `*_date`, and there were no
    instalments or contract terms. Upcast to `InvoiceIssued.v1` by `upcasters`.
    """

    event_name: ClassVar[str] = "arshield.erp.InvoiceIssued.v0"
    topic: ClassVar[str] = topics.ERP

    invoice_id: Id
    invoice_number: ShortText
    buyer_id: Id
    order_id: Id | None = None
    invoice_date: BusinessDate
    ship_date: BusinessDate | None = None
    due_date: BusinessDate
    total: DecimalString
    currency: CurrencyCode
    terms_days: int = Field(strict=True, ge=0, le=3650)

    @field_validator("due_date")
    @classmethod
    def _due_after_invoice_date(cls, value: BusinessDate, info: ValidationInfo) -> BusinessDate:
        invoice_date = info.data.get("invoice_date")
        if invoice_date is not None and value < invoice_date:
            raise ValueError(f"due_date {value} is before invoice_date {invoice_date}")
        return value


EVENTS: tuple[type[Payload], ...] = (InvoiceIssuedV0,)
