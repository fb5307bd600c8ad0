"""insurance-claims' HTTP API, one typed router per feature: policies, buyers' cover and exposure,
the deadline worklist and notifications, claims, recoveries and recourse, insurers and their
deliveries (admin, the runtime's webhook API) and insurer callbacks."""

from __future__ import annotations

from fastapi import APIRouter

from arshield_insurance_claims.entrypoints.api import (
    buyers,
    callbacks,
    claims,
    insurers,
    policies,
    worklist,
)

router = APIRouter(prefix="/v1", tags=["insurance-claims"])
for feature in (policies, buyers, worklist, claims, insurers, callbacks):
    router.include_router(feature.router)
