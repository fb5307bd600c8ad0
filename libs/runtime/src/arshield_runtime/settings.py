"""Typed settings shared by every service; a service subclasses with its own env prefix."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
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
    topic_names: dict[str, str] = Field(
        default_factory=dict,
        description="where a contract topic lives in this deployment, when not under its own name "
        "(the outbox publishes there; tests give each run its own topics)",
    )
    day_topics: list[str] = Field(
        default_factory=list,
        description="the topics whose day markers bring the service its business days, all "
        "co-partitioned: partition p of each is one task, whose day is taken once p of every one "
        "has marked it (ARCHITECTURE decision 5); in a deployment, every topic it consumes but the "
        "clock's and its own. Empty: each tick read from the clock topic is taken as it comes (a "
        "service run alone, with nothing upstream that marks days)",
    )
    batch_max: int = Field(default=500, ge=1, le=10_000)
    relay_poll_seconds: float = Field(
        default=5.0,
        gt=0,
        description="the outbox relay's safety poll: it is woken by every commit that writes "
        "outbox rows (in-process, or LISTEN/NOTIFY from other connections), and looks this often "
        "besides, for a notification lost while its listener reconnected",
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    handler_attempts: int = Field(default=3, ge=1)
    rate_limit_per_second: float = Field(default=500.0, gt=0, description="per API key")
    rate_limit_burst: int = Field(default=1000, ge=1)
    auth_failure_per_second: float = Field(
        default=2.0, gt=0, description="per client address, for requests without a valid key"
    )
    auth_failure_burst: int = Field(default=30, ge=1)
    key_cache_seconds: float = Field(
        default=30.0, ge=0, description="how long a valid key is trusted without a lookup"
    )
    key_cache_negative_seconds: float = Field(default=3.0, ge=0)
    db_pool_size: int = Field(default=10, ge=1, description="HTTP connections kept open")
    db_max_overflow: int = Field(default=5, ge=0)
    db_pool_timeout: float = Field(
        default=3.0, gt=0, description="wait for a pooled connection before answering 503"
    )
    http_timeout_keep_alive: int = Field(default=5, ge=1, description="idle keep-alive seconds")
    http_limit_concurrency: int = Field(
        default=1000, ge=1, description="connections plus requests in flight before 503"
    )
    http_max_incomplete_event_bytes: int = Field(
        default=16_384, ge=1024, description="largest request line plus headers"
    )
    http_head_timeout: float = Field(
        default=10.0, gt=0, description="seconds a request line and headers may take to arrive"
    )
    http_body_timeout: float = Field(
        default=30.0, gt=0, description="seconds a request body may take to arrive (else 408)"
    )
    cursor_secret: SecretStr | None = Field(
        default=None, description="signs pagination cursors; set it to keep them across restarts"
    )
    otlp_endpoint: str | None = None
    trace_sample_ratio: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="share of new traces recorded (spans, database spans included); by default "
        "all when an OTLP endpoint is set, none otherwise. Trace ids travel either way.",
    )

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
