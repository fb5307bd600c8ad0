"""The native local stack: real Apache Kafka (KRaft) and PostgreSQL, started without Docker.

from arshield_cli.stack import StackSettings, up, down, status, kafka_bootstrap, postgres_url

up()                      # returns once both serve; a fast no-op when already running
kafka_bootstrap()         # "127.0.0.1:19092"
postgres_url("ledger")    # "postgresql+asyncpg://arshield:arshield@127.0.0.1:15432/ledger"
"""

from arshield_cli.stack._proc import StackError
from arshield_cli.stack.api import (
    ComponentStatus,
    StackInfo,
    aup,
    down,
    is_running,
    reset,
    status,
    up,
)
from arshield_cli.stack.settings import (
    KAFKA_VERSION,
    StackSettings,
    kafka_bootstrap,
    postgres_dsn,
    postgres_url,
)
from arshield_cli.stack.topics import ALL_TOPICS, BASE_TOPICS, DLQ_TOPICS, TOPIC_PARTITIONS

__all__ = [
    "ALL_TOPICS",
    "BASE_TOPICS",
    "DLQ_TOPICS",
    "KAFKA_VERSION",
    "TOPIC_PARTITIONS",
    "ComponentStatus",
    "StackError",
    "StackInfo",
    "StackSettings",
    "aup",
    "down",
    "is_running",
    "kafka_bootstrap",
    "postgres_dsn",
    "postgres_url",
    "reset",
    "status",
    "up",
]
