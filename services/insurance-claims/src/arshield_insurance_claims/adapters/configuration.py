"""Policy versions: configuration events on the log (`InsurancePolicyWritten`) kept in
`insurance_policies`. The API writes a version and its event in one transaction; reading the
event back (live: already there; on a rebuild: restored) keeps the table a projection of the
log."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from arshield_events import insurance as public
from arshield_events.money import Money
from arshield_insurance_claims.adapters import tables as t
from arshield_insurance_claims.domain.policy import InsurancePolicy, PolicyRules


def policy_event(policy: InsurancePolicy, written_by: str | None) -> public.InsurancePolicyWritten:
    def money(amount: Any) -> Money:
        return Money(amount=amount, currency=policy.currency)

    return public.InsurancePolicyWritten(
        insurance_policy_id=policy.policy_id,
        version=policy.version,
        insurer=policy.insurer,
        insurer_id=policy.insurer_id,
        currency=policy.currency,
        indemnity_percentage=policy.indemnity_percentage,
        discretionary_indemnity_percentage=policy.discretionary_indemnity_percentage,
        max_credit_period_days=policy.max_credit_period_days,
        mep_days=policy.mep_days,
        notification_days_after_mep=policy.notification_days_after_mep,
        insolvency_notification_days=policy.insolvency_notification_days,
        handover_days_after_mep=policy.handover_days_after_mep,
        waiting_days_after_due=policy.waiting_days_after_due,
        waiting_days_after_mep=policy.waiting_days_after_mep,
        reduction_notice_days=policy.reduction_notice_days,
        claim_threshold=money(policy.claim_threshold),
        discretionary_limit_ceiling=money(policy.discretionary_limit_ceiling),
        aggregate_limit=money(policy.aggregate_limit),
        period_start_on=policy.period_start_on,
        effective_on=policy.effective_on,
        written_by=written_by,
    )


def policy_of(event: public.InsurancePolicyWritten) -> InsurancePolicy:
    return InsurancePolicy(
        policy_id=event.insurance_policy_id,
        version=event.version,
        effective_on=event.effective_on,
        insurer=event.insurer,
        insurer_id=event.insurer_id,
        currency=event.currency,
        indemnity_percentage=event.indemnity_percentage,
        discretionary_indemnity_percentage=event.discretionary_indemnity_percentage,
        max_credit_period_days=event.max_credit_period_days,
        mep_days=event.mep_days,
        notification_days_after_mep=event.notification_days_after_mep,
        insolvency_notification_days=event.insolvency_notification_days,
        handover_days_after_mep=event.handover_days_after_mep,
        waiting_days_after_due=event.waiting_days_after_due,
        waiting_days_after_mep=event.waiting_days_after_mep,
        reduction_notice_days=event.reduction_notice_days,
        claim_threshold=event.claim_threshold.amount,
        discretionary_limit_ceiling=event.discretionary_limit_ceiling.amount,
        aggregate_limit=event.aggregate_limit.amount,
        period_start_on=event.period_start_on,
    )


async def save_policy(
    session: AsyncSession, tenant_id: str, policy: InsurancePolicy, written_by: str | None
) -> None:
    """Keep a version (a version already there, read back from the log, changes nothing)."""
    rules = policy.model_dump(mode="json", exclude={"policy_id", "version", "effective_on"})
    await session.execute(
        pg_insert(t.policies)
        .values(
            tenant_id=tenant_id,
            policy_id=policy.policy_id,
            version=policy.version,
            effective_on=policy.effective_on,
            rules=rules,
            written_by=written_by,
        )
        .on_conflict_do_nothing()
    )


async def next_version(session: AsyncSession, tenant_id: str, policy_id: str) -> int:
    """The next version number; concurrent writers serialise on the tenant's policy."""
    await session.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
        {"k": f"insurance-policy:{tenant_id}:{policy_id}"},
    )
    latest = await session.scalar(
        sa.select(sa.func.max(t.policies.c.version)).where(
            t.policies.c.tenant_id == tenant_id, t.policies.c.policy_id == policy_id
        )
    )
    return int(latest or 0) + 1


def _policy(row: Any) -> InsurancePolicy:
    return InsurancePolicy(
        policy_id=row.policy_id,
        version=row.version,
        effective_on=row.effective_on,
        **PolicyRules.model_validate(row.rules).model_dump(),
    )


async def policies_in_force(
    session: AsyncSession, tenant_id: str, on: date | None = None
) -> dict[str, InsurancePolicy]:
    """Per policy, the latest version in force on `on` (None: the latest written)."""
    p = t.policies
    query = sa.select(p).where(p.c.tenant_id == tenant_id)
    if on is not None:
        query = query.where(p.c.effective_on <= on)
    found: dict[str, InsurancePolicy] = {}
    for row in await session.execute(query.order_by(p.c.policy_id, p.c.version)):
        found[row.policy_id] = _policy(row)
    return found


async def policy_versions(
    session: AsyncSession, tenant_id: str, policy_id: str
) -> list[InsurancePolicy]:
    p = t.policies
    rows = await session.execute(
        sa.select(p)
        .where(p.c.tenant_id == tenant_id, p.c.policy_id == policy_id)
        .order_by(p.c.version.desc())
    )
    return [_policy(row) for row in rows]
