"""Insurance policies: the version in force of each, every version, and writing a new one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from arshield_insurance_claims.adapters import configuration
from arshield_insurance_claims.application import use_cases
from arshield_insurance_claims.domain.policy import InsurancePolicy, PolicyRules
from arshield_insurance_claims.entrypoints.api.deps import (
    Kernel,
    Ports,
    RelayWake,
    Session,
    Settings,
    not_found,
)
from arshield_runtime.http import AdminPrincipal, PathId, ReadPrincipal

router = APIRouter()


class PolicyOut(BaseModel):
    policy_id: str
    version: int
    policy_version: str
    effective_on: str
    rules: dict[str, Any]


class PolicyList(BaseModel):
    items: list[PolicyOut]


def _out(policy: InsurancePolicy) -> dict[str, Any]:
    return {
        "policy_id": policy.policy_id,
        "version": policy.version,
        "policy_version": policy.ref,
        "effective_on": policy.effective_on.isoformat(),
        "rules": PolicyRules.model_validate(
            policy.model_dump(exclude={"policy_id", "version", "effective_on"})
        ).model_dump(mode="json"),
    }


@router.get("/policies", response_model=PolicyList)
async def policies(principal: ReadPrincipal, session: Session) -> Any:
    """The latest version of each of the tenant's policies."""
    found = await configuration.policies_in_force(session, principal.tenant_id)
    return {"items": [_out(p) for _, p in sorted(found.items())]}


@router.get("/policies/{policy_id}", response_model=PolicyList)
async def policy_versions(policy_id: PathId, principal: ReadPrincipal, session: Session) -> Any:
    """Every version of the policy, newest first."""
    versions = await configuration.policy_versions(session, principal.tenant_id, policy_id)
    if not versions:
        raise not_found("policy", policy_id)
    return {"items": [_out(p) for p in versions]}


@router.put("/policies/{policy_id}", status_code=201, response_model=PolicyOut)
async def write_policy(
    policy_id: PathId,
    rules: PolicyRules,
    principal: AdminPrincipal,
    session: Session,
    kernel: Kernel,
    ports: Ports,
    settings: Settings,
    wake: RelayWake,
) -> Any:
    """Write the policy's next version (an event on the log); it applies from the next business
    day. The insurer endpoint is named by `insurer_id` (its URL and secret stay out of the log)."""
    policy = await use_cases.write_policy(
        session,
        kernel,
        ports,
        principal.tenant_id,
        policy_id,
        rules,
        written_by=principal.name,
        source=settings.source,
        wake=wake,
    )
    return _out(policy)
