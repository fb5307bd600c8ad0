"""Dunning's settings: the shared service settings plus webhook delivery and claim defaults."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from arshield_events import topics
from arshield_runtime.settings import ServiceSettings

# Standard Webhooks' customary schedule stretched to about three days: 5 s, 5 min, 30 min, 2 h,
# 5 h, 10 h, 10 h, 14 h, 24 h after the attempt before.
DEFAULT_RETRY_SCHEDULE = [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0, 50400.0, 86400.0]


class DunningSettings(ServiceSettings):
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
    allow_private_webhook_targets: bool = Field(
        default=False,
        description="allow agency endpoints on loopback/private/link-local addresses (tests, "
        "single-host demos); refused otherwise",
    )
    webhook_retry_schedule: list[float] = Field(
        default_factory=lambda: list(DEFAULT_RETRY_SCHEDULE),
        description="seconds to wait before each retry; its length is the number of retries",
    )
    webhook_jitter: float = Field(
        default=0.2, ge=0, le=1, description="each wait is scaled by 1 ± this fraction at random"
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_max_retry_after_seconds: float = Field(default=86400.0, gt=0)
    dispatcher_poll_seconds: float = Field(default=0.5, gt=0)
    default_jurisdiction: str = Field(
        default="EU", description="late-payment law for invoices that carry no contract terms"
    )
    watch_from_grade: int = Field(
        default=7,
        ge=1,
        le=10,
        description="a buyer downgraded to this internal grade or worse moves to the watch cycle",
    )
