"""Dunning's HTTP API, one typed router per feature: timelines, letters, buyers, cases, policies,
promises, pauses, agencies and their deliveries (admin, the runtime's webhook API) and agency
callbacks."""

from __future__ import annotations

from fastapi import APIRouter

from arshield_dunning.entrypoints.api import (
    agencies,
    buyers,
    callbacks,
    cases,
    letters,
    pauses,
    policies,
    promises,
    timeline,
)

router = APIRouter(prefix="/v1", tags=["dunning"])
for feature in (
    timeline,
    letters,
    buyers,
    cases,
    policies,
    promises,
    pauses,
    agencies,
    callbacks,
):
    router.include_router(feature.router)
