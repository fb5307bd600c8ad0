"""The demo's webhook partners: a collection agency (dunning's) and a credit insurer
(insurance-claims'), each registered with its service once and run as a local process that
verifies the service's signed webhooks and answers through signed callbacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from arshield_cli import platform
from arshield_cli.stack import StackSettings
from arshield_cli.stack._proc import pid_alive, read_pid, terminate_group


@dataclass(frozen=True)
class Partner:
    service: str
    """The service whose webhooks the partner receives."""
    plural: str
    """The service's admin collection (`/v1/<plural>`) and callback path."""
    id_field: str
    name: str
    port: int
    module: str
    """The partner's program (`python -m <module> --port <port>`)."""
    env_prefix: str
    """Its settings: `<prefix>_SECRET`, `<prefix>_CALLBACK_URL`, `<prefix>_API_KEY`."""
    stem: str
    """Its files under the stack's `services/` folder (state, pid, log)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


AGENCY = Partner(
    "dunning",
    "agencies",
    "agency_id",
    "Demo Collections GmbH",
    8190,
    "arshield_cli.demo_agency",
    "DEMO_AGENCY",
    "demo-agency",
)
INSURER = Partner(
    "insurance-claims",
    "insurers",
    "insurer_id",
    "Demo Trade Credit",
    8191,
    "arshield_cli.demo_insurer",
    "DEMO_INSURER",
    "demo-insurer",
)
PARTNERS = (AGENCY, INSURER)


def _write_private(path: Path, text: str) -> None:
    """Write `text` readable by the owner only (0600): the file holds the partner's secret."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an older file may have been created world-readable
    with os.fdopen(descriptor, "w") as out:
        out.write(text)


def register(stack: StackSettings, partner: Partner, admin_key: str) -> tuple[str, str]:
    """The partner's id and secret at its service (registered once; a second demo reuses it)."""
    service = platform.service(partner.service)
    headers = {"Authorization": f"Bearer {admin_key}"}
    state = stack.state_dir / "services" / f"{partner.stem}.json"
    if state.exists():
        state.chmod(0o600)
        saved = json.loads(state.read_text())
        saved_id = saved.get("id") or saved.get(partner.id_field)  # older files named the field
        existing = httpx.get(
            f"{service.url}/v1/{partner.plural}/{saved_id}", headers=headers, timeout=10
        )
        if existing.status_code == 200:
            return str(saved_id), saved["secret"]
    response = httpx.post(
        f"{service.url}/v1/{partner.plural}",
        headers=headers,
        json={"name": partner.name, "url": f"{partner.url}/webhooks"},
        timeout=10,
    )
    response.raise_for_status()
    body = response.json()
    _write_private(state, json.dumps({"id": body[partner.id_field], "secret": body["secret"]}))
    return body[partner.id_field], body["secret"]


def start(
    stack: StackSettings, partner: Partner, partner_id: str, secret: str, callback_key: str
) -> int:
    """Start (or restart, with the current key) the partner's process; its pid."""
    run_dir = stack.state_dir / "services"
    stop(stack, partner)
    service = platform.service(partner.service)
    env = {
        **os.environ,
        f"{partner.env_prefix}_SECRET": secret,
        f"{partner.env_prefix}_CALLBACK_URL": (
            f"{service.url}/v1/{partner.plural}/{partner_id}/callbacks"
        ),
        f"{partner.env_prefix}_API_KEY": callback_key,
    }
    with (run_dir / f"{partner.stem}.log").open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, "-m", partner.module, "--port", str(partner.port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (run_dir / f"{partner.stem}.pid").write_text(f"{process.pid}\n")
    for _ in range(100):
        try:
            if httpx.get(f"{partner.url}/healthz", timeout=1).status_code == 200:
                return process.pid
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{partner.stem} did not start")


def stop(stack: StackSettings, partner: Partner) -> bool:
    pid = read_pid(stack.state_dir / "services" / f"{partner.stem}.pid")
    if pid is not None and pid_alive(pid):
        terminate_group(pid, timeout=5)
        return True
    return False
