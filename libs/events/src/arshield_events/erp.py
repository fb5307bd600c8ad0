"""ERP facts (topic `arshield.erp`): buyers, orders, invoices, payments, disputes.

Field names are the ones fixed in docs/development.md. Cross-field rules are field validators so a
rejection names the offending field (`data.due_on`, `data.instalments`), not just the payload.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from arshield_events import topics
from arshield_events.envelope import Payload
from arshield_events.fields import (
    BusinessDate,
    CountryCode,
    DocumentRef,
    Email,
    Id,
    LanguageTag,
    Part,
    PositiveMoney,
    ShortText,
    Text,
)
from arshield_events.money import DecimalString, Money, sum_money

Segment = Literal["core", "standard", "watch"]
Jurisdiction = Literal["EU", "DE", "FR", "UK", "CN"]
LateInterest = Literal["statutory", "agreed"]
DisputeOutcome = Literal["upheld", "rejected"]


class _ErpEvent(Payload):
    topic: ClassVar[str] = topics.ERP


class TenantProfiled(_ErpEvent):
    """The creditor's own profile (the tenant): the law its invoices follow when they carry no
    contract terms (DOMAIN.md, Ledger), whether it is an SME. Re-publishing it updates the profile
    from `effective_on`; every service asks the one rule (`arshield_latepay.law_of`) with it."""

    event_name: ClassVar[str] = "arshield.erp.TenantProfiled.v1"
    tenant_keyed: ClassVar[bool] = True

    legal_name: ShortText | None = None
    jurisdiction: Jurisdiction
    is_sme: bool | None = None
    effective_on: BusinessDate


class BillingContact(Part):
    name: ShortText
    email: Email


class BuyerRegistered(_ErpEvent):
    """A buyer's profile; re-publishing it updates the profile."""

    event_name: ClassVar[str] = "arshield.erp.BuyerRegistered.v1"

    buyer_id: Id
    legal_name: ShortText
    country: CountryCode
    registration_number: ShortText | None = None
    segment: Segment
    preferred_language: LanguageTag
    billing_contact: BillingContact | None = None
    registered_on: BusinessDate


class OrderPlaced(_ErpEvent):
    event_name: ClassVar[str] = "arshield.erp.OrderPlaced.v1"

    order_id: Id
    buyer_id: Id
    amount: PositiveMoney
    placed_on: BusinessDate
    expected_ship_on: BusinessDate | None = None
    payment_terms_days: int | None = Field(
        strict=True, default=None, ge=0, le=3650, description="terms asked for (null: standard)"
    )
    contract_terms: ContractTerms | None = Field(
        default=None, description="the order's contract terms, reviewed by the credit check"
    )

    @field_validator("expected_ship_on")
    @classmethod
    def _ships_after_placing(
        cls, value: BusinessDate | None, info: ValidationInfo
    ) -> BusinessDate | None:
        placed_on = info.data.get("placed_on")
        if value is not None and placed_on is not None and value < placed_on:
            raise ValueError(f"expected_ship_on {value} is before placed_on {placed_on}")
        return value


class OrderCancelled(_ErpEvent):
    event_name: ClassVar[str] = "arshield.erp.OrderCancelled.v1"

    order_id: Id
    buyer_id: Id
    reason: Text
    cancelled_on: BusinessDate


class Instalment(Part):
    """A part of an invoice that falls due on its own date, often tied to a project milestone."""

    seq: int = Field(strict=True, ge=1, le=1000)
    due_on: BusinessDate
    amount: PositiveMoney
    milestone: ShortText | None = None


class ContractTerms(Part):
    """The contract's protection clauses: law, late interest, retention of title, court.

    `signed_on`, `creditor_is_sme` and `debtor_is_large_or_public` are optional facts the
    late-payment rules need (China's SME Payment Regulations apply to a large enterprise or public
    body paying an SME); null means unknown, and the rules then take the reading that claims less.
    """

    jurisdiction: Jurisdiction
    late_interest: LateInterest
    agreed_annual_rate: DecimalString | None = Field(
        default=None,
        validate_default=True,
        description='agreed late-interest rate in percent per year, e.g. "9.5"',
    )
    retention_of_title: bool
    court: ShortText | None = None
    signed_on: BusinessDate | None = Field(
        default=None,
        description=(
            "the day the contract was signed (null: unknown). China: an agreed late rate may not"
            " be below the one-year LPR in force that day, and SME status is judged that day"
        ),
    )
    creditor_is_sme: bool | None = Field(
        default=None,
        strict=True,
        description=(
            "whether the creditor (the seller) was a small or medium-sized enterprise when the"
            " contract was signed (null: unknown; the rules then claim as if it was not)"
        ),
    )
    debtor_is_large_or_public: bool | None = Field(
        default=None,
        strict=True,
        description=(
            "whether the buyer is a large enterprise, a state organ or a public institution"
            " (null: unknown; the rules then claim as if it was not)"
        ),
    )

    @field_validator("agreed_annual_rate")
    @classmethod
    def _rate_matches_kind(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        kind = info.data.get("late_interest")
        if kind == "agreed" and value is None:
            raise ValueError("late_interest 'agreed' needs an agreed_annual_rate")
        if kind == "statutory" and value is not None:
            raise ValueError("late_interest 'statutory' takes no agreed_annual_rate")
        if value is not None and not (Decimal(0) <= value <= Decimal(100)):
            raise ValueError(f"agreed_annual_rate {value} is not a percentage between 0 and 100")
        return value


class InvoiceIssued(_ErpEvent):
    event_name: ClassVar[str] = "arshield.erp.InvoiceIssued.v1"

    invoice_id: Id
    invoice_number: ShortText
    buyer_id: Id
    order_id: Id | None = None
    issued_on: BusinessDate
    delivered_on: BusinessDate | None = None
    due_on: BusinessDate
    amount: PositiveMoney
    payment_terms_days: int = Field(strict=True, ge=0, le=3650)
    instalments: tuple[Instalment, ...] = ()
    contract_terms: ContractTerms | None = None

    @field_validator("due_on")
    @classmethod
    def _due_after_issue(cls, value: BusinessDate, info: ValidationInfo) -> BusinessDate:
        issued_on = info.data.get("issued_on")
        if issued_on is not None and value < issued_on:
            raise ValueError(f"due_on {value} is before issued_on {issued_on}")
        return value

    @field_validator("instalments")
    @classmethod
    def _instalments_cover_amount(
        cls, value: tuple[Instalment, ...], info: ValidationInfo
    ) -> tuple[Instalment, ...]:
        if not value:
            return value
        seqs = [part.seq for part in value]
        if len(set(seqs)) != len(seqs):
            raise ValueError(f"instalment seq numbers must be unique, got {seqs}")
        amount: Money | None = info.data.get("amount")
        if amount is None:
            return value
        for part in value:
            if part.amount.currency != amount.currency:
                raise ValueError(
                    f"instalment {part.seq} is in {part.amount.currency}, "
                    f"the invoice in {amount.currency}"
                )
        total = sum_money((part.amount for part in value), amount.currency)
        if total != amount:
            raise ValueError(f"instalments sum to {total}, the invoice amount is {amount}")
        issued_on = info.data.get("issued_on")
        for part in value:
            if issued_on is not None and part.due_on < issued_on:
                raise ValueError(
                    f"instalment {part.seq} due_on {part.due_on} is before issued_on {issued_on}"
                )
        return value


class InvoiceCancelled(_ErpEvent):
    event_name: ClassVar[str] = "arshield.erp.InvoiceCancelled.v1"

    invoice_id: Id
    buyer_id: Id
    reason: Text
    cancelled_on: BusinessDate


class InvoiceWrittenOff(_ErpEvent):
    """What is left unpaid of an invoice is written off as a bad debt (uncollectable): it leaves the
    receivables and the ageing, and the period's collection metrics count it as written off, not
    collected. A payment naming it afterwards is a recovery, applied as unallocated cash."""

    event_name: ClassVar[str] = "arshield.erp.InvoiceWrittenOff.v1"

    invoice_id: Id
    buyer_id: Id
    reason: Text
    written_off_on: BusinessDate


class CreditNoteIssued(_ErpEvent):
    """A credit note reducing the invoice it names."""

    event_name: ClassVar[str] = "arshield.erp.CreditNoteIssued.v1"

    credit_note_id: Id
    invoice_id: Id
    buyer_id: Id
    amount: PositiveMoney
    issued_on: BusinessDate


class ProofOfDelivery(Part):
    document_ref: DocumentRef
    signed_by: ShortText


class DeliveryConfirmed(_ErpEvent):
    event_name: ClassVar[str] = "arshield.erp.DeliveryConfirmed.v1"

    invoice_id: Id
    buyer_id: Id
    confirmed_on: BusinessDate
    proof_of_delivery: ProofOfDelivery


class Allocation(Part):
    """The part of a payment the buyer assigned to one invoice."""

    invoice_id: Id
    amount: PositiveMoney


class PaymentReceived(_ErpEvent):
    """Money from the buyer; without allocations the ledger applies it oldest due date first."""

    event_name: ClassVar[str] = "arshield.erp.PaymentReceived.v1"

    payment_id: Id
    buyer_id: Id
    amount: PositiveMoney
    received_on: BusinessDate
    allocations: tuple[Allocation, ...] = ()

    @field_validator("allocations")
    @classmethod
    def _allocations_within_payment(
        cls, value: tuple[Allocation, ...], info: ValidationInfo
    ) -> tuple[Allocation, ...]:
        if not value:
            return value
        invoice_ids = [part.invoice_id for part in value]
        if len(set(invoice_ids)) != len(invoice_ids):
            raise ValueError("each invoice may appear in the allocations only once")
        amount: Money | None = info.data.get("amount")
        if amount is None:
            return value
        for part in value:
            if part.amount.currency != amount.currency:
                raise ValueError(
                    f"allocation to {part.invoice_id} is in {part.amount.currency}, "
                    f"the payment in {amount.currency}"
                )
        total = sum_money((part.amount for part in value), amount.currency)
        if total > amount:
            raise ValueError(f"allocations total {total}, more than the payment of {amount}")
        return value


class DisputeRaised(_ErpEvent):
    event_name: ClassVar[str] = "arshield.erp.DisputeRaised.v1"

    dispute_id: Id
    invoice_id: Id
    buyer_id: Id
    disputed_amount: PositiveMoney
    reason: Text
    raised_on: BusinessDate


class DisputeResolved(_ErpEvent):
    """`upheld` (usually with a credit note) or `rejected` (the buyer owes the full amount)."""

    event_name: ClassVar[str] = "arshield.erp.DisputeResolved.v1"

    dispute_id: Id
    invoice_id: Id
    buyer_id: Id
    outcome: DisputeOutcome
    credit_note_id: Id | None = Field(default=None, validate_default=True)
    resolved_on: BusinessDate

    @field_validator("credit_note_id")
    @classmethod
    def _credit_note_only_when_upheld(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("outcome") == "rejected":
            raise ValueError("a rejected dispute has no credit note")
        return value


EVENTS: tuple[type[Payload], ...] = (
    TenantProfiled,
    BuyerRegistered,
    OrderPlaced,
    OrderCancelled,
    InvoiceIssued,
    InvoiceCancelled,
    InvoiceWrittenOff,
    CreditNoteIssued,
    DeliveryConfirmed,
    PaymentReceived,
    DisputeRaised,
    DisputeResolved,
)
