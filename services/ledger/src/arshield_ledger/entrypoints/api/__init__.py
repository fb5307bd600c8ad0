"""The ledger's read API (`read` scope, tenant-scoped, `as_of` on answers that change with time):
one router per feature, mounted under `/v1` in one place."""

from __future__ import annotations

from fastapi import APIRouter

from arshield_ledger.entrypoints.api import (
    anomalies,
    buyers,
    interest,
    invoices,
    metrics,
    portfolio,
)

router = APIRouter(prefix="/v1", tags=["ledger"])
for feature in (invoices, buyers, portfolio, metrics, interest, anomalies):
    router.include_router(feature.router)
