"""Credit-assessment's HTTP API: one router per feature, mounted under `/v1` in one place."""

from __future__ import annotations

from fastapi import APIRouter

from arshield_credit_assessment.entrypoints.api import (
    buyers,
    contracts,
    credit_checks,
    policy,
    portfolio,
    worklists,
)

router = APIRouter(prefix="/v1", tags=["credit-assessment"])
for feature in (credit_checks, buyers, worklists, portfolio, contracts, policy):
    router.include_router(feature.router)
