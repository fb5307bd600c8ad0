"""The demo prints read-only keys as its read keys and keeps its partners' secrets owner-only."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from arshield_cli import demo, demo_partners

pytestmark = pytest.mark.unit


def test_the_read_keys_carry_the_read_scope_only(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: dict[str, str] = {}

    def create_key(spec: Any, stack: Any, tenant: str, scopes: str, name: str) -> str:
        key = f"{spec.name}:{scopes}"
        asked[key] = name
        return key

    monkeypatch.setattr(demo.platform, "create_key", create_key)
    keys = demo._keys(None, "demo")  # type: ignore[arg-type]
    assert keys.ledger_read == "ledger:read"
    assert keys.dunning_read == "dunning:read"
    assert keys.dunning_admin == "dunning:admin"
    assert keys.risk_read == "risk-monitor:read"
    assert keys.credit_read == "credit-assessment:read"
    assert keys.insurance_read == "insurance-claims:read"


def test_a_partners_file_is_written_owner_only(tmp_path: Path) -> None:
    state = tmp_path / "demo-agency.json"
    state.write_text("{}")
    state.chmod(0o644)  # as an older demo left it
    demo_partners._write_private(state, '{"secret": "whsec_x"}')
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert state.read_text() == '{"secret": "whsec_x"}'
    fresh = tmp_path / "new.json"
    demo_partners._write_private(fresh, "{}")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
