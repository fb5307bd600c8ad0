"""Loading buyer accounts and writing the projections, batched per transaction.

The runtime hands every event of a consumed batch the same transaction and the same `BatchScope`.
`LedgerStore.of(ctx)` is that transaction's unit of work: an account is read once per batch (then
kept in memory for the batch's later events), and all rows the batch produces are written with a
handful of multi-row statements by the scope's flush hook, just before the transaction commits. If
the transaction rolls back, the scope and its store are dropped with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_ledger.adapters import snapshot
from arshield_ledger.adapters.tables import (
    anomalies,
    buyer_accounts,
    instalments,
    invoices,
    ledger_entries,
)
from arshield_ledger.domain.model import BuyerAccount, Changes
from arshield_runtime.messaging import HandlerContext

_KEY = "arshield_ledger.store"
AccountKey = tuple[str, str]


@dataclass
class LedgerStore:
    session: AsyncSession
    accounts: dict[AccountKey, BuyerAccount] = field(default_factory=dict)
    dirty_accounts: set[AccountKey] = field(default_factory=set)
    dirty_invoices: dict[tuple[str, str], AccountKey] = field(default_factory=dict)
    entries: list[dict[str, Any]] = field(default_factory=list)
    anomalies: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, ctx: HandlerContext) -> LedgerStore:
        store: LedgerStore | None = ctx.batch.items.get(_KEY)
        if store is None:
            store = cls(ctx.session)
            ctx.batch.items[_KEY] = store
            ctx.batch.on_flush(_KEY, store.flush)
        return store

    # -- reading ---------------------------------------------------------------------------------
    async def account(self, tenant_id: str, buyer_id: str) -> BuyerAccount:
        return (await self.accounts_of(tenant_id, [buyer_id]))[0]

    async def accounts_of(self, tenant_id: str, buyer_ids: Iterable[str]) -> list[BuyerAccount]:
        wanted = list(dict.fromkeys(buyer_ids))
        missing = [b for b in wanted if (tenant_id, b) not in self.accounts]
        if missing:
            rows = await self.session.execute(
                sa.select(buyer_accounts.c.buyer_id, buyer_accounts.c.state).where(
                    buyer_accounts.c.tenant_id == tenant_id,
                    buyer_accounts.c.buyer_id.in_(missing),
                )
            )
            found = {row.buyer_id: row.state for row in rows}
            for buyer_id in missing:
                state = found.get(buyer_id)
                self.accounts[(tenant_id, buyer_id)] = (
                    BuyerAccount(tenant_id, buyer_id)
                    if state is None
                    else snapshot.load(tenant_id, buyer_id, state)
                )
        return [self.accounts[(tenant_id, b)] for b in wanted]

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
            {
                "tenant_id": tenant,
                "buyer_id": buyer,
                "entry_no": e.entry_no,
                "invoice_id": e.invoice_id,
                "seq": e.seq,
                "currency": e.currency,
                "effective_on": e.effective_on,
                "kind": e.kind,
                "amount": e.amount,
                "ref": e.ref,
                "detail": e.detail,
            }
            for e in changes.entries
        )
        self.anomalies.extend(
            {
                "tenant_id": tenant,
                "buyer_id": buyer,
                "anomaly_no": a.anomaly_no,
                "kind": a.kind,
                "occurred_on": a.occurred_on,
                "invoice_id": a.invoice_id,
                "ref": a.ref,
                "detail": a.detail,
            }
            for a in changes.anomalies
        )

    async def flush(self, session: AsyncSession) -> None:
        """Write what is buffered (before the commit, or before a query that must see it)."""
        if self.dirty_accounts:
            rows = [
                {"tenant_id": t, "buyer_id": b, "state": snapshot.dump(self.accounts[(t, b)])}
                for t, b in sorted(self.dirty_accounts)
            ]
            statement = pg_insert(buyer_accounts)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[buyer_accounts.c.tenant_id, buyer_accounts.c.buyer_id],
                    set_={"state": statement.excluded.state},
                ),
                rows,
            )
        if self.dirty_invoices:
            invoice_rows, instalment_rows = self._invoice_rows()
            await _upsert(session, invoices, invoice_rows, ("tenant_id", "invoice_id"))
            await _upsert(session, instalments, instalment_rows, ("tenant_id", "invoice_id", "seq"))
        if self.entries:
            await session.execute(ledger_entries.insert(), self.entries)
        if self.anomalies:
            await session.execute(anomalies.insert(), self.anomalies)
        self.dirty_accounts.clear()
        self.dirty_invoices.clear()
        self.entries = []
        self.anomalies = []

    def _invoice_rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        invoice_rows: list[dict[str, Any]] = []
        instalment_rows: list[dict[str, Any]] = []
        for (tenant, invoice_id), key in sorted(self.dirty_invoices.items()):
            inv = self.accounts[key].invoices[invoice_id]
            invoice_rows.append(
                {
                    "tenant_id": tenant,
                    "invoice_id": invoice_id,
                    "buyer_id": key[1],
                    "invoice_number": inv.invoice_number,
                    "currency": inv.currency,
                    "amount": inv.amount,
                    "issued_on": inv.issued_on,
                    "due_on": inv.due_on,
                    "payment_terms_days": inv.payment_terms_days,
                    "jurisdiction": inv.jurisdiction,
                    "agreed_annual_rate": inv.agreed_annual_rate,
                    "status": inv.status,
                    "outstanding": inv.outstanding,
                    "paid": inv.paid,
                    "credited": inv.credited,
                    "settled_on": inv.settled_on,
                    "days_late": inv.days_late,
                    "cancelled_on": inv.cancelled_on,
                }
            )
            instalment_rows.extend(
                {
                    "tenant_id": tenant,
                    "invoice_id": invoice_id,
                    "seq": part.seq,
                    "buyer_id": key[1],
                    "due_on": part.due_on,
                    "amount": part.amount,
                    "outstanding": part.outstanding,
                    "alerted": part.alerted,
                    "next_alert_on": None if inv.cancelled_on else part.next_alert_on(),
                }
                for part in inv.instalments
            )
        return invoice_rows, instalment_rows


async def _upsert(
    session: AsyncSession, table: sa.Table, rows: list[dict[str, Any]], keys: tuple[str, ...]
) -> None:
    if not rows:
        return
    statement = pg_insert(table)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c[k] for k in keys],
            set_={c.name: statement.excluded[c.name] for c in table.c if c.name not in keys},
        ),
        rows,
    )
