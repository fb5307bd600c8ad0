"""Collection cases: the write side of agency reports (the application's `CaseBook`)."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_dunning.adapters import tables as t
from arshield_dunning.adapters.agencies import AGENCIES
from arshield_dunning.domain.cases import AgencyCase, CaseUpdated
from arshield_runtime.webhooks.callbacks import SignedCallback, remember


async def case_for_update(session: AsyncSession, tenant_id: str, case_id: str) -> AgencyCase | None:
    row = (
        await session.execute(
            sa.select(t.cases)
            .where(t.cases.c.case_id == case_id, t.cases.c.tenant_id == tenant_id)
            .with_for_update()
        )
    ).first()
    if row is None:
        return None
    return AgencyCase(
        case_id=row.case_id,
        buyer_id=row.buyer_id,
        agency_id=row.agency_id,
        status=row.status,
        amount=row.amount,
        currency=row.currency,
        collected=row.collected,
        agency_reference=row.agency_reference,
    )


async def save_update(
    session: AsyncSession, case: AgencyCase, update: CaseUpdated, idempotency_key: str
) -> None:
    """The case after `update`, with the report appended to its history."""
    entry = {
        "status": update.status,
        "collected": str(update.collected),
        "updated_on": update.updated_on.isoformat(),
        "idempotency_key": idempotency_key,
        "note": update.note,
    }
    await session.execute(
        t.cases.update()
        .where(t.cases.c.case_id == case.case_id)
        .values(
            status=case.status,
            collected=case.collected,
            agency_reference=case.agency_reference,
            history=t.cases.c.history.op("||")(sa.cast(sa.literal(dumps([entry])), JSONB)),
            updated_at=sa.func.now(),
        )
    )


async def remember_answer(
    session: AsyncSession, callback: SignedCallback, response: dict[str, Any], case_id: str
) -> None:
    await remember(session, AGENCIES, callback, response, case_id=case_id)


def dumps(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))
