"""Loading buyer accounts and writing the projections, batched per transaction.

The runtime hands every event of a consumed batch the same transaction and the same `BatchScope`.
`LedgerStore.of(ctx)` is that transaction's unit of work: `LedgerStore.prepare`, the router's
per-transaction hook, reads every account the batch's facts name in one query (they stay in memory
for the batch's events; an account a handler asks for beyond those is read then), and all rows the
batch produces are written with one `unnest` statement per table by the scope's flush hook, just
before the transaction commits. If the transaction rolls back, the scope and its store are dropped
with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_events.envelope import CloudEvent
from arshield_ledger.adapters import snapshot
from arshield_ledger.adapters.tables import (
    anomalies,
    buyer_accounts,
    instalments,
    invoices,
    ledger_entries,
)
from arshield_ledger.domain.model import BuyerAccount, Changes
from arshield_runtime.db import BulkInsert
from arshield_runtime.messaging import BatchScope, HandlerContext

_KEY = "arshield_ledger.store"
AccountKey = tuple[str, str]


def _upsert(table: sa.Table, keys: tuple[str, ...], columns: tuple[str, ...]) -> BulkInsert:
    return BulkInsert(table, columns, conflict=keys, update=[c for c in columns if c not in keys])


# Column lists in the order the rows below are built.
_ACCOUNTS = _upsert(buyer_accounts, ("tenant_id", "buyer_id"), ("tenant_id", "buyer_id", "state"))
_INVOICES = _upsert(
    invoices,
    ("tenant_id", "invoice_id"),
    (
        "tenant_id",
        "invoice_id",
        "buyer_id",
        "invoice_number",
        "currency",
        "amount",
        "issued_on",
        "due_on",
        "payment_terms_days",
        "jurisdiction",
        "agreed_annual_rate",
        "status",
        "outstanding",
        "paid",
        "credited",
        "settled_on",
        "days_late",
        "cancelled_on",
    ),
)
_INSTALMENTS = _upsert(
    instalments,
    ("tenant_id", "invoice_id", "seq"),
    (
        "tenant_id",
        "invoice_id",
        "seq",
        "buyer_id",
        "due_on",
        "amount",
        "outstanding",
        "alerted",
        "next_alert_on",
    ),
)
_ENTRIES = BulkInsert(
    ledger_entries,
    (
        "tenant_id",
        "buyer_id",
        "entry_no",
        "invoice_id",
        "seq",
        "currency",
        "effective_on",
        "kind",
        "amount",
        "ref",
        "detail",
    ),
)
_ANOMALIES = BulkInsert(
    anomalies,
    (
        "tenant_id",
        "buyer_id",
        "anomaly_no",
        "kind",
        "occurred_on",
        "invoice_id",
        "ref",
        "detail",
    ),
)
_LOAD = sa.text(
    "SELECT a.tenant_id, a.buyer_id, a.state FROM buyer_accounts AS a "
    "JOIN unnest(CAST(:tenants AS text[]), CAST(:buyers AS text[])) AS k(tenant_id, buyer_id) "
    "ON a.tenant_id = k.tenant_id AND a.buyer_id = k.buyer_id"
)


@dataclass
class LedgerStore:
    session: AsyncSession
    accounts: dict[AccountKey, BuyerAccount] = field(default_factory=dict)
    dirty_accounts: set[AccountKey] = field(default_factory=set)
    dirty_invoices: dict[tuple[str, str], AccountKey] = field(default_factory=dict)
    entries: list[tuple[Any, ...]] = field(default_factory=list)
    anomalies: list[tuple[Any, ...]] = field(default_factory=list)

    @classmethod
    def of(cls, ctx: HandlerContext) -> LedgerStore:
        return cls.in_scope(ctx.session, ctx.batch)

    @classmethod
    def in_scope(cls, session: AsyncSession, scope: BatchScope) -> LedgerStore:
        store: LedgerStore | None = scope.items.get(_KEY)
        if store is None:
            store = cls(session)
            scope.items[_KEY] = store
            scope.on_flush(_KEY, store.flush)
        return store

    @classmethod
    async def prepare(
        cls, session: AsyncSession, events: Sequence[CloudEvent[Any]], scope: BatchScope
    ) -> None:
        """The runtime's per-transaction hook: load every account the batch's facts name, in one
        query (business-day ticks find their buyers themselves)."""
        wanted = []
        for event in events:
            buyer_id = getattr(event.data, "buyer_id", None)
            if isinstance(buyer_id, str):
                wanted.append((event.tenantid, buyer_id))
        await cls.in_scope(session, scope).load(wanted)

    # -- reading ---------------------------------------------------------------------------------
    async def account(self, tenant_id: str, buyer_id: str) -> BuyerAccount:
        return (await self.accounts_of(tenant_id, [buyer_id]))[0]

    async def accounts_of(self, tenant_id: str, buyer_ids: Iterable[str]) -> list[BuyerAccount]:
        wanted = list(dict.fromkeys(buyer_ids))
        await self.load((tenant_id, b) for b in wanted)
        return [self.accounts[(tenant_id, b)] for b in wanted]

    async def load(self, keys: Iterable[AccountKey]) -> None:
        """Read the accounts not yet in memory, in one query (an unknown buyer starts empty)."""
        missing = [key for key in dict.fromkeys(keys) if key not in self.accounts]
        if not missing:
            return
        tenants, buyers = zip(*missing, strict=True)
        rows = await self.session.execute(_LOAD, {"tenants": tenants, "buyers": buyers})
        found = {(row.tenant_id, row.buyer_id): row.state for row in rows}
        for tenant_id, buyer_id in missing:
            state = found.get((tenant_id, buyer_id))
            self.accounts[(tenant_id, buyer_id)] = (
                BuyerAccount(tenant_id, buyer_id)
                if state is None
                else snapshot.load(tenant_id, buyer_id, state)
            )

    # -- writing ---------------------------------------------------------------------------------
    def record(self, account: BuyerAccount, changes: Changes) -> None:
        """Buffer what `changes` did to `account` (written when the transaction commits)."""
        if changes.empty:
            return
        key = (account.tenant_id, account.buyer_id)
        self.dirty_accounts.add(key)
        for invoice_id in changes.invoices:
            self.dirty_invoices[(account.tenant_id, invoice_id)] = key
        tenant, buyer = key
        self.entries.extend(
            (
                tenant,
                buyer,
                e.entry_no,
                e.invoice_id,
                e.seq,
                e.currency,
                e.effective_on,
                e.kind,
                e.amount,
                e.ref,
                e.detail,
            )
            for e in changes.entries
        )
        self.anomalies.extend(
            (tenant, buyer, a.anomaly_no, a.kind, a.occurred_on, a.invoice_id, a.ref, a.detail)
            for a in changes.anomalies
        )

    async def flush(self, session: AsyncSession) -> None:
        """Write what is buffered (before the commit, or before a query that must see it)."""
        await _ACCOUNTS.execute(
            session,
            [
                (t, b, json.dumps(snapshot.dump(self.accounts[(t, b)])))
                for t, b in sorted(self.dirty_accounts)
            ],
        )
        invoice_rows, instalment_rows = self._invoice_rows()
        await _INVOICES.execute(session, invoice_rows)
        await _INSTALMENTS.execute(session, instalment_rows)
        await _ENTRIES.execute(session, self.entries)
        await _ANOMALIES.execute(session, self.anomalies)
        self.dirty_accounts.clear()
        self.dirty_invoices.clear()
        self.entries = []
        self.anomalies = []

    def _invoice_rows(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Rows in the tables' column order."""
        invoice_rows: list[tuple[Any, ...]] = []
        instalment_rows: list[tuple[Any, ...]] = []
        for (tenant, invoice_id), (_, buyer) in sorted(self.dirty_invoices.items()):
            inv = self.accounts[(tenant, buyer)].invoices[invoice_id]
            invoice_rows.append(
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
                    inv.status,
                    inv.outstanding,
                    inv.paid,
                    inv.credited,
                    inv.settled_on,
                    inv.days_late,
                    inv.cancelled_on,
                )
            )
            instalment_rows.extend(
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
                for part in inv.instalments
            )
        return invoice_rows, instalment_rows
