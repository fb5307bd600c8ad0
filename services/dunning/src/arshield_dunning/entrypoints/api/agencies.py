"""Collection agencies' webhook endpoints and the deliveries to them (admin): the runtime's webhook
admin API in dunning's words (`/agencies/{agency_id}`, deliveries filtered by case)."""

from __future__ import annotations

from arshield_dunning.adapters.agencies import AGENCIES
from arshield_dunning.entrypoints.api.deps import open_session
from arshield_runtime.webhooks.api import AdminApi, admin_router

router = admin_router(
    AdminApi(
        partner=AGENCIES,
        plural="agencies",
        model="Agency",
        described="a collection agency",
        session=open_session,
        delivery_fields={"case_id": str | None},
        delivery_filters=["case_id"],
    )
)
