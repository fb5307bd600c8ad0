"""The ledger's read models, one projection each, kept from the kernel's changes (batched).

Each `apply` gets every change of a consumed batch at once and writes its rows with one `unnest`
statement per table (`BulkInsert`); the invoice and instalment rows are the invoices' latest state
in the batch, the entries and anomalies are appended as decided. A rebuild empties `tables` first.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_ledger.adapters.tables import anomalies, instalments, invoices, ledger_entries
from arshield_ledger.domain.events import AnomalyRecorded, EntryPosted, Event
from arshield_ledger.domain.state import BuyerLedger, InvoiceState
from arshield_runtime.db import BulkInsert
from arshield_runtime.kernel import Change

LedgerChange = Change[BuyerLedger, Event]


def _columns(table: sa.Table) -> tuple[str, ...]:
    """Every column, in the table's order (the order each projection builds its rows in)."""
    return tuple(column.name for column in table.columns)


def _upsert(table: sa.Table, keys: tuple[str, ...]) -> BulkInsert:
    columns = _columns(table)
    return BulkInsert(table, columns, conflict=keys, update=[c for c in columns if c not in keys])


def _touched(changes: Sequence[LedgerChange]) -> dict[tuple[str, str], tuple[str, InvoiceState]]:
    """(tenant, invoice) -> (buyer, its latest state), for the invoices the changes touched."""
    latest: dict[tuple[str, str], tuple[str, InvoiceState]] = {}
    for change in changes:
        for event in change.events:
            entry = event.entry if isinstance(event, EntryPosted) else event
            invoice_id = getattr(entry, "invoice_id", None)
            if isinstance(invoice_id, str) and invoice_id in change.after.invoices:
                latest[(change.tenant_id, invoice_id)] = (
                    change.buyer_id,
                    change.after.invoices[invoice_id],
                )
    return dict(sorted(latest.items()))


class InvoicesProjection:
    """`invoices`: each invoice's terms and live state (status, outstanding, settlement)."""

    tables: Sequence[str] = ("invoices",)
    _rows = _upsert(invoices, ("tenant_id", "invoice_id"))

    async def apply(self, session: AsyncSession, changes: Sequence[LedgerChange]) -> None:
        rows = [
            (
                tenant,
                invoice_id,
                buyer,
                inv.invoice_number,
                inv.currency,
                inv.amount,
                inv.issued_on,
                inv.due_on,
                inv.payment_terms_days,
                inv.jurisdiction,
                inv.agreed_annual_rate,
                inv.signed_on,
                inv.creditor_is_sme,
                inv.debtor_is_large_or_public,
                inv.status,
                inv.outstanding,
                inv.paid,
                inv.credited,
                inv.settled_on,
                inv.days_late,
                inv.cancelled_on,
            )
            for (tenant, invoice_id), (buyer, inv) in _touched(changes).items()
        ]
        await self._rows.execute(session, rows)


class InstalmentsProjection:
    """`instalments`: each instalment's due date, outstanding amount and overdue level."""

    tables: Sequence[str] = ("instalments",)
    _rows = _upsert(instalments, ("tenant_id", "invoice_id", "seq"))

    async def apply(self, session: AsyncSession, changes: Sequence[LedgerChange]) -> None:
        rows = [
            (
                tenant,
                invoice_id,
                part.seq,
                buyer,
                part.due_on,
                part.amount,
                part.outstanding,
                part.alerted,
                None if inv.cancelled_on else part.next_alert_on(),
            )
            for (tenant, invoice_id), (buyer, inv) in _touched(changes).items()
            for part in inv.instalments
        ]
        await self._rows.execute(session, rows)


class LedgerEntriesProjection:
    """`ledger_entries`: every dated movement (append-only; "as of" answers sum them)."""

    tables: Sequence[str] = ("ledger_entries",)
    _rows = BulkInsert(ledger_entries, _columns(ledger_entries))

    async def apply(self, session: AsyncSession, changes: Sequence[LedgerChange]) -> None:
        rows = [
            (
                c.tenant_id,
                c.buyer_id,
                e.entry.entry_no,
                e.entry.invoice_id,
                e.entry.seq,
                e.entry.currency,
                e.entry.effective_on,
                e.entry.kind,
                e.entry.amount,
                e.entry.ref,
                e.entry.detail,
            )
            for c in changes
            for e in c.events
            if isinstance(e, EntryPosted)
        ]
        await self._rows.execute(session, rows)


class AnomaliesProjection:
    """`anomalies`: the judgement calls the ledger took."""

    tables: Sequence[str] = ("anomalies",)
    _rows = BulkInsert(anomalies, _columns(anomalies))

    async def apply(self, session: AsyncSession, changes: Sequence[LedgerChange]) -> None:
        rows = [
            (
                c.tenant_id,
                c.buyer_id,
                a.anomaly_no,
                a.kind,
                a.occurred_on,
                a.invoice_id,
                a.ref,
                a.detail,
            )
            for c in changes
            for a in (e.anomaly for e in c.events if isinstance(e, AnomalyRecorded))
        ]
        await self._rows.execute(session, rows)


PROJECTIONS = (
    InvoicesProjection(),
    InstalmentsProjection(),
    LedgerEntriesProjection(),
    AnomaliesProjection(),
)
