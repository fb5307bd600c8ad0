"""insurance-claims' settings: the shared service settings and webhook delivery to insurers (the
runtime's `WebhookSettings`, read as `ARSHIELD_INSURANCE_CLAIMS_WEBHOOK_*`, ...)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from arshield_events import topics
from arshield_runtime.webhooks.settings import WebhookSettings


class InsuranceClaimsSettings(WebhookSettings):
    model_config = SettingsConfigDict(env_prefix="ARSHIELD_INSURANCE_CLAIMS_", extra="ignore")

    service_name: str = "insurance-claims"
    database_url: str = "postgresql+asyncpg://arshield:arshield@127.0.0.1:15432/insurance-claims"
    http_port: int = 8105
    topics: list[str] = Field(
        default_factory=lambda: [
            topics.ERP,
            topics.LEDGER,
            topics.RISK,
            topics.DUNNING,
            topics.CLOCK,
            topics.INSURANCE,
        ]
    )
