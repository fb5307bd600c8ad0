"""Dunning policies: the version in force per segment, every version, and writing a new one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from arshield_dunning.adapters import configuration, queries
from arshield_dunning.application import use_cases
from arshield_dunning.domain.policy import Policy, PolicyRules, Segment
from arshield_dunning.entrypoints.api.deps import (
    Kernel,
    Limit,
    RelayWake,
    Session,
    Settings,
    bad_cursor,
    page_after,
    page_of,
)
from arshield_runtime.http import Page, ReadPrincipal, WritePrincipal

router = APIRouter()


class PolicyOut(BaseModel):
    segment: str
    version: int
    policy_version: str
    default: bool
    rules: dict[str, Any]


def _policy_out(policy: Policy) -> dict[str, Any]:
    return {
        "segment": policy.segment.value,
        "version": policy.version,
        "policy_version": policy.ref,
        "default": policy.version == 0,
        "rules": policy.rules.model_dump(mode="json"),
    }


def _int_cursor(cursor: str | None) -> int | None:
    after = page_after(cursor)
    if after is None:
        return None
    if not after.isdigit() or len(after) > 9:
        raise bad_cursor()
    return int(after)


@router.get("/policies", response_model=Page[PolicyOut])
async def current_policies(
    principal: ReadPrincipal, session: Session, limit: Limit = 50, cursor: str | None = None
) -> Any:
    """The policy in force for each segment (version 0 is the built-in default), by segment."""
    policies = await queries.current_policies(session, principal.tenant_id)
    after = page_after(cursor)
    items = [
        _policy_out(p)
        for segment, p in sorted(policies.items())
        if after is None or segment.value > after
    ]
    return page_of(items[: limit + 1], limit, "segment")


@router.get("/policies/{segment}", response_model=Page[PolicyOut])
async def policy_versions(
    segment: Segment,
    principal: ReadPrincipal,
    session: Session,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Any:
    """Every version of the segment's policy, newest first (the built-in default, 0, last)."""
    versions = await queries.policy_versions(
        session, principal.tenant_id, segment, before=_int_cursor(cursor), limit=limit + 1
    )
    return page_of([_policy_out(p) for p in versions], limit, "version")


@router.put("/policies/{segment}", status_code=201, response_model=PolicyOut)
async def write_policy(
    segment: Segment,
    rules: PolicyRules,
    principal: WritePrincipal,
    session: Session,
    kernel: Kernel,
    settings: Settings,
    wake: RelayWake,
) -> Any:
    """Write a new version of the segment's policy; it applies from the next business day."""
    policy = await use_cases.write_policy(
        session,
        kernel,
        configuration,
        principal.tenant_id,
        segment,
        rules,
        created_by=principal.name,
        source=settings.source,
        wake=wake,
    )
    return _policy_out(policy)
