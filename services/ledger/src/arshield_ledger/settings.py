"""The ledger's settings (environment variables `ARSHIELD_LEDGER_*`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from arshield_events import topics
from arshield_runtime.settings import ServiceSettings


class LedgerSettings(ServiceSettings):  # type: ignore[misc,unused-ignore]
    model_config = SettingsConfigDict(env_prefix="ARSHIELD_LEDGER_", extra="ignore")

    service_name: str = "ledger"
    database_url: str = "postgresql+asyncpg://arshield:arshield@127.0.0.1:15432/ledger"
    http_port: int = 8101
    topics: list[str] = Field(default_factory=lambda: [topics.ERP, topics.CLOCK])
