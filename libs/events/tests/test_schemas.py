"""The committed JSON Schemas are the models' schemas; a drift fails here."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from arshield_events import schemas
from arshield_events.registry import EVENT_TYPES, LEGACY_EVENT_TYPES

pytestmark = pytest.mark.unit

SCHEMA_DIR = Path(__file__).parents[1] / "schemas"


def test_committed_schemas_match_the_models() -> None:
    problems = schemas.check(SCHEMA_DIR)
    assert problems == [], (
        "regenerate with `uv run python -m arshield_events.schemas write`: " + "; ".join(problems)
    )


def test_one_schema_per_event_type_and_version() -> None:
    names = {path.stem for path in SCHEMA_DIR.glob("*.json")}
    assert names == set(EVENT_TYPES) | set(LEGACY_EVENT_TYPES)


def test_check_reports_a_changed_missing_or_stale_file(tmp_path: Path) -> None:
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, copy)
    assert schemas.check(copy) == []
    (copy / "arshield.erp.InvoiceIssued.v1.json").write_text("{}\n", encoding="utf-8")
    (copy / "arshield.ledger.PaymentOverdue.v1.json").unlink()
    (copy / "arshield.erp.Gone.v1.json").write_text("{}\n", encoding="utf-8")
    assert sorted(schemas.check(copy)) == [
        "differs from the models: arshield.erp.InvoiceIssued.v1.json",
        "missing: arshield.ledger.PaymentOverdue.v1.json",
        "no such event type: arshield.erp.Gone.v1.json",
    ]
    schemas.export(copy)
    assert schemas.check(copy) == []


def test_cli_write_then_check(tmp_path: Path) -> None:
    target = tmp_path / "out"
    command = [sys.executable, "-m", "arshield_events.schemas"]
    empty = subprocess.run([*command, "check", str(target)], capture_output=True, text=True)
    assert empty.returncode == 1
    assert "missing" in empty.stderr
    written = subprocess.run([*command, "write", str(target)], capture_output=True, text=True)
    assert written.returncode == 0, written.stderr
    checked = subprocess.run([*command, "check", str(target)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
