"""The credit policy: the version in force, every version, and publishing a new one (`admin`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from arshield_credit_assessment.adapters import queries
from arshield_credit_assessment.application import use_cases
from arshield_credit_assessment.application.wiring import POLICY
from arshield_credit_assessment.domain.policy import Band, CreditPolicy, band_problems
from arshield_credit_assessment.entrypoints.api.deps import (
    Desk,
    Limit,
    RelayWake,
    Session,
    page_after,
    page_of,
)
from arshield_events.fields import CountryCode
from arshield_events.money import CurrencyCode
from arshield_runtime.http import AdminPrincipal, Page, ProblemError, ReadPrincipal
from arshield_runtime.paging import bad_cursor

router = APIRouter()


class BandIn(BaseModel):
    from_grade: int = Field(ge=1, le=10)
    to_grade: int = Field(ge=1, le=10)
    max_terms_days: int = Field(ge=0, le=3650)
    security: Literal["open_account", "letter_of_credit", "bank_guarantee", "prepayment"]
    secured_above_percent: Decimal | None = Field(default=None, ge=0, le=100)
    capacity_percent_of_equity: Decimal = Field(ge=0, le=100)
    grade_cap: Decimal = Field(ge=0, max_digits=19, decimal_places=4)
    uninsured_appetite: Decimal = Field(ge=0, max_digits=19, decimal_places=4)
    review_months: int = Field(ge=1, le=60)


class CreditPolicyIn(BaseModel):
    currency: CurrencyCode
    bands: list[BandIn] = Field(min_length=1, max_length=10)
    hold_overdue_days: int = Field(default=30, ge=0, le=3650)
    referral_tolerance_percent: Decimal = Field(default=Decimal(110), ge=100, le=1000)
    unrated_grade: int = Field(default=5, ge=1, le=10)
    retention_of_title_required: list[CountryCode] = Field(default_factory=list, max_length=250)


class CreditPolicyOut(BaseModel):
    version: int
    policy_version: str
    in_force: bool
    read_back: bool = Field(description="read back from the log (in force from `effective_on`)")
    policy: dict[str, Any]


def _policy_json(policy: CreditPolicy) -> dict[str, Any]:
    return {
        "currency": policy.currency,
        "bands": [
            {
                "from_grade": b.from_grade,
                "to_grade": b.to_grade,
                "max_terms_days": b.max_terms_days,
                "security": b.security,
                "secured_above_percent": (
                    None if b.secured_above_percent is None else str(b.secured_above_percent)
                ),
                "capacity_percent_of_equity": str(b.capacity_percent_of_equity),
                "grade_cap": str(b.grade_cap),
                "uninsured_appetite": str(b.uninsured_appetite),
                "review_months": b.review_months,
            }
            for b in policy.bands
        ],
        "hold_overdue_days": policy.hold_overdue_days,
        "referral_tolerance_percent": str(policy.referral_tolerance_percent),
        "unrated_grade": policy.unrated_grade,
        "retention_of_title_required": list(policy.retention_of_title_required),
    }


@router.get("/credit-policy", response_model=CreditPolicyOut)
async def current_policy(principal: ReadPrincipal, session: Session, desk: Desk) -> Any:
    """The version in force on the tenant's business date (version 0 is the built-in default)."""
    on = await use_cases.today(session, desk.kernel, principal.tenant_id)
    policy = await desk.in_force.policy(session, principal.tenant_id, on)
    return CreditPolicyOut(
        version=policy.version,
        policy_version=policy.ref,
        in_force=True,
        read_back=True,
        policy=_policy_json(policy),
    )


@router.get("/credit-policy/versions", response_model=Page[CreditPolicyOut])
async def policy_versions(
    principal: ReadPrincipal,
    session: Session,
    desk: Desk,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Any:
    """Every version written, newest first; `read_back` once the log has brought it back (it is
    in force from its `effective_on`)."""
    tenant = principal.tenant_id
    on = await use_cases.today(session, desk.kernel, tenant)
    rows = await queries.written_policies(session, tenant)
    read_back = {c.version for c in await desk.kernel.configurations(session, tenant, POLICY)}
    in_force = (await desk.in_force.policy(session, tenant, on)).version
    after = page_after(cursor)
    if after is not None:
        if not after.isdigit() or len(after) > 9:
            raise bad_cursor()
        rows = [r for r in rows if r["version"] < int(after)]
    items = [
        CreditPolicyOut(
            version=r["version"],
            policy_version=r["policy_version"],
            in_force=r["version"] == in_force,
            read_back=str(r["version"]) in read_back,
            policy=r,
        )
        for r in rows[: limit + 1]
    ]
    return page_of(items, limit, "version")


@router.put("/credit-policy", status_code=201, response_model=CreditPolicyOut)
async def publish_policy(
    body: CreditPolicyIn,
    principal: AdminPrincipal,
    session: Session,
    desk: Desk,
    wake: RelayWake,
) -> Any:
    """Publish the next version (`CreditPolicyPublished` on the log); it takes effect at the next
    business-day tick, and every buyer carries the version it was decided under."""
    bands = tuple(
        Band(
            b.from_grade,
            b.to_grade,
            b.max_terms_days,
            b.security,
            b.secured_above_percent,
            b.capacity_percent_of_equity,
            b.grade_cap,
            b.uninsured_appetite,
            b.review_months,
        )
        for b in body.bands
    )
    problems = band_problems(bands)
    if problems:
        raise ProblemError(
            422,
            "Invalid credit policy",
            "; ".join(f"{loc}: {msg}" for loc, msg in problems),
            errors=[{"loc": loc, "msg": msg} for loc, msg in problems],
        )
    event = await use_cases.publish_policy(
        session,
        desk,
        principal.tenant_id,
        body.model_dump(mode="json"),
        published_by=principal.name,
        wake=wake,
    )
    return CreditPolicyOut(
        version=event.version,
        policy_version=event.policy_version,
        in_force=False,
        read_back=False,
        policy=event.model_dump(mode="json"),
    )
