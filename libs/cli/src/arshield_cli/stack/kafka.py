"""Apache Kafka (KRaft, one combined broker+controller node) from Maven Central jars."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from arshield_cli.stack._proc import (
    StackError,
    cmdline,
    file_lock,
    pid_alive,
    port_open,
    read_pid,
    run_cmd,
    tail,
    terminate_group,
)
from arshield_cli.stack.settings import HOST, StackSettings
from arshield_cli.stack.topics import ALL_TOPICS, TOPIC_CONFIGS, TOPIC_PARTITIONS

if TYPE_CHECKING:
    from aiokafka.admin import AIOKafkaAdminClient

log = logging.getLogger(__name__)

_COMPLETE = ".complete"
_TOPIC_ALREADY_EXISTS = 36


@dataclass(frozen=True)
class KafkaPaths:
    home: Path

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def config(self) -> Path:
        return self.home / "server.properties"

    @property
    def pid_file(self) -> Path:
        return self.home / "kafka.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "kafka.log"

    @property
    def cluster_id_file(self) -> Path:
        return self.home / "cluster.id"


def paths(settings: StackSettings) -> KafkaPaths:
    return KafkaPaths(settings.state_dir / "kafka")


def jar_dir(settings: StackSettings) -> Path:
    return settings.cache_dir / f"kafka-{settings.kafka_version}" / "libs"


def ensure_jars(settings: StackSettings) -> Path:
    """Kafka's runtime jars, fetched once per version with Maven into the shared cache."""
    libs = jar_dir(settings)
    if (libs / _COMPLETE).is_file():
        return libs
    with file_lock(libs.parent / ".fetch.lock"):
        if (libs / _COMPLETE).is_file():
            return libs
        mvn = shutil.which("mvn")
        if mvn is None:
            raise StackError("Maven (mvn) not found: install it, e.g. `apt-get install -y maven`")
        pom = settings.resolved_deploy_dir() / "kafka" / "pom.xml"
        staging = libs.parent / "libs.partial"
        shutil.rmtree(staging, ignore_errors=True)
        log.info("fetching Apache Kafka %s jars with Maven", settings.kafka_version)
        cmd = [
            mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
            "-DincludeScope=runtime", f"-Dkafka.version={settings.kafka_version}",
            f"-DoutputDirectory={staging}",
        ]  # fmt: skip
        result = run_cmd(cmd)
        jars = list(staging.glob("kafka_2.13-*.jar")) if staging.is_dir() else []
        if result.returncode != 0 or not jars:
            raise StackError(f"Maven fetch of Kafka failed:\n{result.stdout}\n{result.stderr}")
        (staging / _COMPLETE).write_text(settings.kafka_version + "\n")
        shutil.rmtree(libs, ignore_errors=True)
        staging.rename(libs)
    return libs


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise StackError("java not found: Kafka 4 needs Java 17+ (apt-get install openjdk-17-jre)")
    return java


def _server_properties(settings: StackSettings, p: KafkaPaths) -> str:
    broker, controller = settings.kafka_port, settings.controller_port
    return f"""\
# Written by `arshield stack up` on every start; edit StackSettings, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@{HOST}:{controller}
listeners=PLAINTEXT://{HOST}:{broker},CONTROLLER://{HOST}:{controller}
advertised.listeners=PLAINTEXT://{HOST}:{broker}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={p.data}

# the log is the system of record: topics are created explicitly and keep everything
auto.create.topics.enable=false
log.retention.ms=-1
log.retention.bytes=-1
num.partitions={TOPIC_PARTITIONS}
default.replication.factor=1
min.insync.replicas=1

# single node
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0

# small machine
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
"""


def _jvm_args(settings: StackSettings, p: KafkaPaths, libs: Path) -> list[str]:
    log4j = settings.resolved_deploy_dir() / "kafka" / "log4j2.xml"
    return [
        _java(),
        f"-Xms{settings.kafka_heap}",
        f"-Xmx{settings.kafka_heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:InitiatingHeapOccupancyPercent=35",
        "-XX:+ExplicitGCInvokesConcurrent",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j}",
        f"-Dkafka.logs.dir={p.home}",
        "-cp",
        f"{libs}/*",
    ]


def running_pid(settings: StackSettings) -> int | None:
    """The pid of this state dir's broker, if it runs."""
    p = paths(settings)
    pid = read_pid(p.pid_file)
    if pid and pid_alive(pid) and str(p.config) in cmdline(pid):
        return pid
    return None


def new_cluster_id() -> str:
    """A random KRaft cluster id (base64url of a UUID) that does not start with `-`, which the
    storage tool's argument parser would take for an option (as Kafka's own ids never do)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _format_storage(settings: StackSettings, p: KafkaPaths, libs: Path) -> None:
    if (p.data / "meta.properties").is_file():
        return
    cluster_id = p.cluster_id_file.read_text().strip() if p.cluster_id_file.is_file() else ""
    if not cluster_id or cluster_id.startswith("-"):
        cluster_id = new_cluster_id()
        p.cluster_id_file.write_text(cluster_id + "\n")
    cmd = [
        *_jvm_args(settings, p, libs), "kafka.tools.StorageTool",
        "format", "--cluster-id", cluster_id, "--config", str(p.config), "--ignore-formatted",
    ]  # fmt: skip
    result = run_cmd(cmd)
    if result.returncode != 0:
        raise StackError(f"kafka storage format failed:\n{result.stdout}\n{result.stderr}")
    log.info("formatted Kafka storage (cluster id %s)", cluster_id)


def start(settings: StackSettings) -> int:
    """Start the broker detached (own session, pid file, log file); returns its pid.

    Does not wait for readiness: see `wait_ready`.
    """
    pid = running_pid(settings)
    if pid:
        return pid
    for port in (settings.kafka_port, settings.controller_port):
        if port_open(HOST, port):
            raise StackError(f"port {HOST}:{port} is taken by another process (not this stack)")
    libs = ensure_jars(settings)
    p = paths(settings)
    p.data.mkdir(parents=True, exist_ok=True)
    p.config.write_text(_server_properties(settings, p))
    _format_storage(settings, p, libs)
    with p.log_file.open("ab") as out:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [*_jvm_args(settings, p, libs), "kafka.Kafka", str(p.config)],
            cwd=p.home,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    p.pid_file.write_text(f"{proc.pid}\n")
    log.info("started Kafka %s (pid %s)", settings.kafka_version, proc.pid)
    return proc.pid


async def _list_topics(settings: StackSettings) -> set[str]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap,
        request_timeout_ms=5000,
        client_id="arshield-stack",
    )
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def wait_ready(settings: StackSettings, pid: int) -> None:
    """Wait until the broker answers a metadata request (not a fixed sleep)."""
    p = paths(settings)
    deadline = time.monotonic() + settings.ready_timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            raise StackError(f"Kafka exited during start; log tail:\n{tail(p.log_file)}")
        if port_open(HOST, settings.kafka_port):
            try:
                await asyncio.wait_for(_list_topics(settings), timeout=10)
                return
            except Exception as exc:  # not ready yet: retry until the deadline
                last_error = exc
        await asyncio.sleep(0.25)
    raise StackError(
        f"Kafka not ready after {settings.ready_timeout:.0f}s ({last_error!r}); "
        f"log tail:\n{tail(p.log_file)}"
    )


async def ensure_topics(bootstrap: str, topics: tuple[str, ...] = ALL_TOPICS) -> list[str]:
    """Create the missing topics (6 partitions, infinite retention); returns those created.

    Also makes the broker create its consumer-offsets topic now (a coordinator lookup), so the first
    consumer group of a test does not wait for it.
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            new = [
                NewTopic(
                    name=t,
                    num_partitions=TOPIC_PARTITIONS,
                    replication_factor=1,
                    topic_configs=dict(TOPIC_CONFIGS),
                )
                for t in missing
            ]
            response = await admin.create_topics(new, timeout_ms=30000)
            errors = [
                f"{err[0]}: error {err[1]} {err[2] if len(err) > 2 else ''}".strip()
                for err in response.topic_errors
                if err[1] not in (0, _TOPIC_ALREADY_EXISTS)
            ]
            if errors:
                raise StackError("topic creation failed: " + "; ".join(errors))
            log.info("created topics: %s", ", ".join(missing))
        if "__consumer_offsets" not in existing:
            await _warm_group_coordinator(admin)
        return missing
    finally:
        await admin.close()


async def _warm_group_coordinator(admin: AIOKafkaAdminClient) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            await admin.find_coordinator("arshield-stack-warmup")
            return
        except Exception:  # coordinator not available yet
            await asyncio.sleep(0.2)
    log.warning("group coordinator still unavailable; consumers will retry")


async def describe_partitions(settings: StackSettings, topics: list[str]) -> dict[str, int]:
    """Topic name -> number of partitions (for status and tests)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return {d["topic"]: len(d["partitions"]) for d in described if not d.get("error_code")}


def stop(settings: StackSettings, timeout: float = 60.0) -> bool:
    """Stop the broker (SIGTERM = controlled shutdown, SIGKILL after `timeout`). True if it ran."""
    p = paths(settings)
    pid = running_pid(settings)
    if pid is None:
        p.pid_file.unlink(missing_ok=True)
        return False
    log.info("stopping Kafka (pid %s)", pid)
    terminate_group(pid, timeout)
    p.pid_file.unlink(missing_ok=True)
    return True
