"""Settings of the native local stack (env prefix `ARSHIELD_STACK_`) and connection helpers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

HOST = "127.0.0.1"  # everything binds to loopback only
KAFKA_VERSION = "4.1.1"  # keep in step with deploy/local/kafka/pom.xml
DATABASES = (  # one database per service, named as the service
    "ledger",
    "dunning",
    "risk-monitor",
    "credit-assessment",
    "insurance-claims",
)
_POM = Path("deploy", "local", "kafka", "pom.xml")


def find_repo_root() -> Path | None:
    """The repository root: the nearest folder holding deploy/local/kafka/pom.xml, looked for
    upwards from the working directory, then from this file (editable install)."""
    for start in (Path.cwd(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            if (folder / _POM).is_file():
                return folder
    return None


def _default_state_dir() -> Path:
    root = find_repo_root()
    return (root / ".arshield") if root else Path.home() / ".arshield"


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "arshield"


class StackSettings(BaseSettings):
    """Where the local stack keeps its state and which loopback ports it uses."""

    model_config = SettingsConfigDict(env_prefix="ARSHIELD_STACK_", extra="ignore")

    state_dir: Path = Field(default_factory=_default_state_dir)
    cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        description="shared between state dirs: Kafka jars live in <cache_dir>/kafka-<version>/",
    )
    deploy_dir: Path | None = Field(
        default=None, description="folder holding kafka/pom.xml and kafka/log4j2.xml"
    )
    kafka_version: str = KAFKA_VERSION
    kafka_port: int = 19092
    controller_port: int = 19093
    kafka_heap: str = "1g"
    pg_port: int = 15432
    pg_user: str = "arshield"
    pg_password: str = "arshield"  # noqa: S105 - local development stack only
    pg_bin_dir: Path | None = Field(
        default=None, description="PostgreSQL server binaries; default: newest Debian install"
    )
    databases: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(DATABASES))
    ready_timeout: float = 180.0

    @field_validator("databases", mode="before")
    @classmethod
    def _split_databases(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("state_dir", "cache_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    def resolved_deploy_dir(self) -> Path:
        if self.deploy_dir is not None:
            return self.deploy_dir
        root = find_repo_root()
        if root is None:
            raise RuntimeError(
                "cannot find deploy/local/kafka/pom.xml: run from the arshield repository "
                "or set ARSHIELD_STACK_DEPLOY_DIR"
            )
        return root / "deploy" / "local"

    @property
    def kafka_bootstrap(self) -> str:
        return f"{HOST}:{self.kafka_port}"

    def postgres_url(self, db: str, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://{self.pg_user}:{self.pg_password}@{HOST}:{self.pg_port}/{db}"


def kafka_bootstrap(settings: StackSettings | None = None) -> str:
    """`127.0.0.1:<kafka port>` of the local stack."""
    return (settings or StackSettings()).kafka_bootstrap


def postgres_url(db: str, settings: StackSettings | None = None) -> str:
    """SQLAlchemy URL, e.g. `postgresql+asyncpg://arshield:arshield@127.0.0.1:15432/ledger`."""
    return (settings or StackSettings()).postgres_url(db)


def postgres_dsn(db: str, settings: StackSettings | None = None) -> str:
    """Plain libpq/asyncpg DSN, e.g. `postgresql://arshield:arshield@127.0.0.1:15432/ledger`."""
    return (settings or StackSettings()).postgres_url(db, driver="postgresql")
