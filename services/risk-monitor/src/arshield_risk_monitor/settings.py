"""Risk-monitor's settings (env prefix `ARSHIELD_RISK_MONITOR_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from arshield_events import topics
from arshield_runtime.settings import ServiceSettings


class RiskMonitorSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARSHIELD_RISK_MONITOR_", extra="ignore")

    service_name: str = "risk-monitor"
    database_url: str = "postgresql+asyncpg://arshield:arshield@127.0.0.1:15432/risk-monitor"
    http_port: int = 8103
    topics: list[str] = Field(
        default_factory=lambda: [
            topics.ERP,
            topics.LEDGER,
            topics.EXTERNAL,
            topics.CLOCK,
            topics.RISK,
        ]
    )
    default_scorecard: str | None = Field(
        default="2026.12-3",
        description="the scorecard version in force until a ScorecardActivated names another "
        "(ignored when no such version is shipped)",
    )
    scorecards_dir: Path | None = Field(
        default=None,
        description="a directory of further scorecard versions (JSON) beside the shipped ones",
    )
