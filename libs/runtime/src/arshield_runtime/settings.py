"""Typed settings shared by every service; a service subclasses with its own env prefix."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_PASSWORD = "arshield"  # noqa: S105 - the local stack's well-known password


class ServiceSettings(BaseSettings):
    """What every arshield service needs; read from `ARSHIELD_<SERVICE>_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="ARSHIELD_", extra="ignore")

    service_name: str
    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql+asyncpg://arshield:arshield@127.0.0.1:15432/arshield"
    kafka_bootstrap: str = "127.0.0.1:19092"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    consumer_group: str | None = None
    topics: list[str] = Field(default_factory=list)
    batch_max: int = Field(default=500, ge=1, le=10_000)
    relay_poll_seconds: float = Field(default=0.02, gt=0)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    handler_attempts: int = Field(default=3, ge=1)
    rate_limit_per_second: float = Field(default=500.0, gt=0, description="per API key")
    rate_limit_burst: int = Field(default=1000, ge=1)
    otlp_endpoint: str | None = None

    @property
    def source(self) -> str:
        """The CloudEvents `source` of everything this service emits."""
        return f"arshield/{self.service_name}"

    @property
    def group_id(self) -> str:
        return self.consumer_group or f"arshield-{self.service_name}"

    @model_validator(mode="after")
    def _no_default_secrets_outside_development(self) -> ServiceSettings:
        if self.environment == "production" and f":{DEVELOPMENT_PASSWORD}@" in self.database_url:
            raise ValueError("the development database password is refused in production")
        return self
