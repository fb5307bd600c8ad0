"""What the ledger is asked to do: the ERP's facts (the wiring translates the public events) and
the business day's command. A fact naming an unknown invoice waits in the state (`kind` tags it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field


@dataclass(frozen=True)
class InstalmentTerms:
    seq: int
    due_on: date
    amount: Decimal


@dataclass(frozen=True)
class IssueInvoice:
    invoice_id: str
    invoice_number: str
    currency: str
    amount: Decimal
    issued_on: date
    due_on: date
    instalments: tuple[InstalmentTerms, ...]
    content: str
    """Fingerprint of the whole InvoiceIssued payload."""
    payment_terms_days: int = 0
    jurisdiction: str | None = None
    agreed_annual_rate: Decimal | None = None
    signed_on: date | None = None
    creditor_is_sme: bool | None = None
    debtor_is_large_or_public: bool | None = None


@dataclass(frozen=True)
class Allocation:
    invoice_id: str
    amount: Decimal


@dataclass(frozen=True)
class ReceivePayment:
    payment_id: str
    currency: str
    amount: Decimal
    received_on: date
    allocations: tuple[Allocation, ...]
    content: str


@dataclass(frozen=True)
class IssueCreditNote:
    credit_note_id: str
    invoice_id: str
    currency: str
    amount: Decimal
    issued_on: date
    content: str
    kind: Literal["credit"] = "credit"


@dataclass(frozen=True)
class CancelInvoice:
    invoice_id: str
    cancelled_on: date
    reason: str
    kind: Literal["cancel"] = "cancel"


@dataclass(frozen=True)
class WriteOffInvoice:
    invoice_id: str
    written_off_on: date
    reason: str
    kind: Literal["write_off"] = "write_off"


@dataclass(frozen=True)
class RaiseDispute:
    dispute_id: str
    invoice_id: str
    currency: str
    amount: Decimal
    raised_on: date
    reason: str
    kind: Literal["dispute"] = "dispute"


@dataclass(frozen=True)
class ResolveDispute:
    dispute_id: str
    invoice_id: str
    outcome: str
    resolved_on: date
    credit_note_id: str | None = None
    """The credit note that corrects the invoice when the dispute is upheld."""
    kind: Literal["resolve"] = "resolve"


@dataclass(frozen=True)
class TenantLaw:
    """What the tenant's profile says (`TenantProfiled`): its jurisdiction, and whether it is an
    SME. The law of an invoice without contract terms (`arshield_latepay.law_of`) follows it."""

    jurisdiction: str | None = None
    is_sme: bool | None = None


@dataclass(frozen=True)
class AdoptTenantLaw:
    """The tenant's law in force, given to a buyer's ledger before it first decides (the wiring
    reads the profile): a payment on an invoice without contract terms is split by it."""

    law: TenantLaw


@dataclass(frozen=True)
class StartBusinessDay:
    """Announce what became overdue by this business date (the kernel's day command); `law`: the
    tenant's law in force that day (None: not read, the ledger keeps the one it adopted)."""

    business_date: date
    law: TenantLaw | None = None


PendingFact = Annotated[
    IssueCreditNote | CancelInvoice | WriteOffInvoice | RaiseDispute | ResolveDispute,
    Field(discriminator="kind"),
]
Command = (
    IssueInvoice
    | ReceivePayment
    | IssueCreditNote
    | CancelInvoice
    | WriteOffInvoice
    | RaiseDispute
    | ResolveDispute
    | StartBusinessDay
    | AdoptTenantLaw
)
