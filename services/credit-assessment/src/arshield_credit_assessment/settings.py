"""Credit-assessment's settings (environment variables `ARSHIELD_CREDIT_ASSESSMENT_*`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from arshield_events import topics
from arshield_runtime.settings import ServiceSettings


class CreditSettings(ServiceSettings):  # type: ignore[misc,unused-ignore]
    model_config = SettingsConfigDict(env_prefix="ARSHIELD_CREDIT_ASSESSMENT_", extra="ignore")

    service_name: str = "credit-assessment"
    database_url: str = "postgresql+asyncpg://arshield:arshield@127.0.0.1:15432/credit-assessment"
    http_port: int = 8104
    topics: list[str] = Field(
        default_factory=lambda: [
            topics.ERP,
            topics.LEDGER,
            topics.RISK,
            topics.INSURANCE,
            topics.EXTERNAL,
            topics.CLOCK,
            topics.CREDIT,
        ]
    )
    db_pool_size: int = Field(
        default=15,
        ge=1,
        description="HTTP connections kept open: all there may be, so none is opened for a burst "
        "and closed after it (a new connection costs the request waiting for it the connection's "
        "set-up and its statements prepared again)",
    )
    db_max_overflow: int = Field(default=0, ge=0)
    default_jurisdiction: str = Field(
        default="EU", description="the law of contract terms that name none (the tenant's own)"
    )
