"""Dunning's settings: the shared service settings, webhook delivery to agencies (the runtime's
`WebhookSettings`, read as `ARSHIELD_DUNNING_WEBHOOK_*`, ...) and claim defaults."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from arshield_events import topics
from arshield_runtime.webhooks.settings import DEVELOPMENT_SECRETS_KEY as DEVELOPMENT_SECRETS_KEY
from arshield_runtime.webhooks.settings import WebhookSettings


class DunningSettings(WebhookSettings):
    model_config = SettingsConfigDict(env_prefix="ARSHIELD_DUNNING_", extra="ignore")

    service_name: str = "dunning"
    database_url: str = "postgresql+asyncpg://arshield:arshield@127.0.0.1:15432/dunning"
    http_port: int = 8102
    topics: list[str] = Field(
        default_factory=lambda: [
            topics.ERP,
            topics.LEDGER,
            topics.CLOCK,
            topics.RISK,
            topics.DUNNING,
        ]
    )
    watch_from_grade: int = Field(
        default=7,
        ge=1,
        le=10,
        description="a buyer downgraded to this internal grade or worse moves to the watch cycle",
    )
