"""What a service that sends Standard Webhooks configures: targets it may call, retries, the key
that seals partner secrets at rest. A service's settings subclass `WebhookSettings` and read these
from their own prefix (`ARSHIELD_DUNNING_WEBHOOK_RETRY_SCHEDULE`, ...)."""

from __future__ import annotations

from typing import Self

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, field_validator, model_validator

from arshield_runtime.settings import ServiceSettings

# Standard Webhooks' customary schedule stretched to about three days: 5 s, 5 min, 30 min, 2 h,
# 5 h, 10 h, 10 h, 14 h, 24 h after the attempt before.
DEFAULT_RETRY_SCHEDULE = [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0, 50400.0, 86400.0]

# The HTTP ports the platform's services listen on (ledger, dunning and the ones to come): a partner
# endpoint on a local address and one of these ports would turn deliveries into requests to our own
# APIs, so they are refused even where private targets are allowed.
PLATFORM_HTTP_PORTS = [8101, 8102, 8103, 8104, 8105]

# A well-known key so that a development stack runs without configuration; refused in production.
DEVELOPMENT_SECRETS_KEY = "ZGV2ZWxvcG1lbnQta2V5LW5vdC1hLXNlY3JldCEhISE="


class WebhookSettings(ServiceSettings):
    allow_private_webhook_targets: bool = Field(
        default=False,
        description="allow partner endpoints on loopback/private/link-local addresses (tests, "
        "single-host demos); refused otherwise",
    )
    platform_http_ports: list[int] = Field(
        default_factory=lambda: list(PLATFORM_HTTP_PORTS),
        description="ports never called on a private or local address (this service's own HTTP "
        "port is added): the platform's own APIs must not be reachable through a partner's URL",
    )
    webhook_secret_grace_seconds: float = Field(
        default=86400.0,
        ge=0,
        description="how long a rotated-out partner secret still signs and verifies",
    )
    secrets_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SECRETS_KEY),
        description="Fernet key (urlsafe base64 of 32 bytes) encrypting partner secrets at rest",
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
    dispatcher_poll_seconds: float = Field(
        default=10.0,
        gt=0,
        description="the longest the dispatcher sleeps between looks at the deliveries table: it "
        "sleeps until the next attempt is due, a new, re-sent or re-enabled delivery wakes it "
        "(in-process, or LISTEN/NOTIFY from other connections); this safety look covers a "
        "notification lost while its listener reconnected",
    )

    @property
    def refused_ports(self) -> frozenset[int]:
        """Ports refused on non-public addresses: the platform's and this service's own."""
        return frozenset([*self.platform_http_ports, self.http_port])

    @property
    def user_agent(self) -> str:
        return f"arshield-{self.service_name}/1"

    @field_validator("secrets_key")
    @classmethod
    def _a_fernet_key(cls, value: SecretStr) -> SecretStr:
        try:
            Fernet(value.get_secret_value())
        except ValueError as error:
            raise ValueError(
                "secrets_key must be a Fernet key (urlsafe base64, 32 bytes)"
            ) from error
        return value

    @model_validator(mode="after")
    def _no_development_key_in_production(self) -> Self:
        if (
            self.environment == "production"
            and self.secrets_key.get_secret_value() == DEVELOPMENT_SECRETS_KEY
        ):
            raise ValueError("the development secrets_key is refused in production")
        return self
