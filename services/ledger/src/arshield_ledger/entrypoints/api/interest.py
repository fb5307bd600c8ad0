"""Late-payment interest and compensation of an invoice, by its jurisdiction."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel

from arshield_ledger.adapters import queries
from arshield_ledger.domain.interest import InvoiceTerms, invoice_interest
from arshield_ledger.entrypoints.api.deps import (
    Amount,
    AsOf,
    Connection,
    Rates,
    money,
    not_found,
    resolve_as_of,
    text,
)
from arshield_runtime.http import PathId, ReadPrincipal

router = APIRouter()


class InterestPeriodView(BaseModel):
    due_on: date
    start: date
    end: date
    days: int
    principal: Amount
    reference_rate: str | None
    annual_rate: str
    interest: Amount


class InterestView(BaseModel):
    invoice_id: str
    as_of: date
    jurisdiction: str | None
    jurisdiction_assumed: bool
    basis: str
    interest: Amount | None
    compensation: Amount | None
    periods: list[InterestPeriodView]
    rate_table_versions: dict[str, int]
    interest_paid: Amount
    """What partial payments settled of the interest before the principal, where the law orders
    it (BGB § 367, Code civil art. 1343-1, Civil Code art. 561)."""
    compensation_paid: Amount | None
    interest_owed: Amount | None
    """Accrued and not paid: still owed after the principal is paid in full."""
    compensation_owed: Amount | None
    principal_outstanding: Amount
    """The principal still owed as of `as_of` (after what payments settled first)."""


@router.get("/invoices/{invoice_id}/interest", response_model=InterestView)
async def invoice_interest_view(
    invoice_id: PathId,
    connection: Connection,
    principal: ReadPrincipal,
    rates: Rates,
    as_of: AsOf = None,
) -> InterestView:
    """Late-payment interest accrued up to `as_of` and the fixed compensation, by jurisdiction."""
    tenant = principal.tenant_id
    row = await queries.invoice_row(connection, tenant, invoice_id)
    day = await resolve_as_of(connection, tenant, as_of)
    if row is None or row.issued_on > day:
        raise not_found("invoice", invoice_id)
    entries = (await queries.invoice_entries(connection, tenant, [invoice_id], day))[invoice_id]
    dues = (await queries.due_dates(connection, tenant, [invoice_id]))[invoice_id]
    terms = InvoiceTerms(
        row.currency,
        row.amount,
        row.issued_on,
        row.jurisdiction,
        row.agreed_annual_rate,
        row.signed_on,
        row.creditor_is_sme,
        row.debtor_is_large_or_public,
    )
    tenant_law = await queries.tenant_law(connection, tenant, day)
    answer = invoice_interest(terms, entries, dues, day, rates, tenant_law)
    claim = answer.claim
    return InterestView(
        invoice_id=invoice_id,
        as_of=day,
        jurisdiction=claim.jurisdiction.value if claim else None,
        jurisdiction_assumed=answer.jurisdiction_assumed,
        basis=answer.note,
        interest=money(claim.interest, claim.currency) if claim else None,
        compensation=money(claim.compensation, claim.compensation_currency) if claim else None,
        periods=[
            InterestPeriodView(
                due_on=p.due_on,
                start=p.start,
                end=p.end,
                days=p.days,
                principal=money(p.principal, row.currency),
                reference_rate=text(p.reference_rate),
                annual_rate=format(p.annual_rate, "f"),
                interest=money(p.amount, row.currency),
            )
            for p in (claim.periods if claim else ())
        ],
        rate_table_versions=claim.rate_table_versions if claim else {},
        interest_paid=money(answer.interest_paid, row.currency),
        compensation_paid=money(answer.compensation_paid, claim.compensation_currency)
        if claim
        else None,
        interest_owed=money(answer.interest_owed, row.currency)
        if answer.interest_owed is not None
        else None,
        compensation_owed=money(answer.compensation_owed, claim.compensation_currency)
        if claim and answer.compensation_owed is not None
        else None,
        principal_outstanding=money(answer.principal_outstanding, row.currency),
    )
