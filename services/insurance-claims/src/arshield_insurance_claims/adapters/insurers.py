"""Credit insurers as the runtime's webhook partners: the routes verify their callbacks and
administer their endpoints through `INSURERS`, the application is given it as a port."""

from __future__ import annotations

from arshield_insurance_claims.adapters.tables import webhooks
from arshield_runtime.webhooks.tables import Partner

INSURERS = Partner(
    tables=webhooks, noun="insurer", id_prefix="ins_", problem_type="urn:arshield:insurance"
)
"""Credit insurers as the runtime's webhook partners."""
