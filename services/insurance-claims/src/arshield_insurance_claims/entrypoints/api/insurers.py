"""Insurers' webhook endpoints and the deliveries to them (admin): the runtime's webhook admin API
in this service's words (`/insurers/{insurer_id}`, deliveries filtered by buyer)."""

from __future__ import annotations

from arshield_insurance_claims.adapters.insurers import INSURERS
from arshield_insurance_claims.entrypoints.api.deps import open_session
from arshield_runtime.webhooks.api import AdminApi, admin_router

router = admin_router(
    AdminApi(
        partner=INSURERS,
        plural="insurers",
        model="Insurer",
        described="a credit insurer",
        session=open_session,
        delivery_fields={"buyer_id": str | None, "subject_id": str | None},
        delivery_filters=["buyer_id"],
    )
)
