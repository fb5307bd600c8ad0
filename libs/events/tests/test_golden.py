"""A golden sample of every event type and version: it parses (upcast to the current version),
re-serializes stably, and validates against the committed JSON Schema of its type."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from arshield_events.erp import InvoiceIssued
from arshield_events.money import Money
from arshield_events.registry import (
    EVENT_TYPES,
    LEGACY_EVENT_TYPES,
    parse_event,
    serialize_event,
)

pytestmark = pytest.mark.unit

GOLDEN_DIR = Path(__file__).parent / "golden"
SCHEMA_DIR = Path(__file__).parents[1] / "schemas"
GOLDEN = sorted(GOLDEN_DIR.glob("*.json"))


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_there_is_a_golden_sample_of_every_type_and_version() -> None:
    assert {path.stem for path in GOLDEN} == set(EVENT_TYPES) | set(LEGACY_EVENT_TYPES)


@pytest.mark.parametrize("path", GOLDEN, ids=lambda path: path.stem)
def test_golden_sample_parses_to_the_current_version(path: Path) -> None:
    raw = path.read_bytes()
    event = parse_event(raw)
    current_type = event.type
    assert current_type in EVENT_TYPES
    assert isinstance(event.data, EVENT_TYPES[current_type])
    assert event.type == load(path)["type"] or load(path)["type"] in LEGACY_EVENT_TYPES


@pytest.mark.parametrize("path", GOLDEN, ids=lambda path: path.stem)
def test_golden_sample_reserializes_stably(path: Path) -> None:
    event = parse_event(path.read_bytes())
    wire = serialize_event(event)
    again = parse_event(wire)
    assert again == event
    assert serialize_event(again) == wire
    if path.stem in EVENT_TYPES:
        # Nothing the sender wrote is lost or changed; only defaults are added.
        sent, kept = load(path), json.loads(wire)
        assert _is_contained(sent, kept), f"{path.name} changed in a round trip"


def _is_contained(sent: Any, kept: Any) -> bool:
    if isinstance(sent, dict):
        return isinstance(kept, dict) and all(
            _is_contained(value, kept[key]) if key in kept else value is None
            for key, value in sent.items()
        )
    if isinstance(sent, list):
        return (
            isinstance(kept, list)
            and len(sent) == len(kept)
            and all(_is_contained(a, b) for a, b in zip(sent, kept, strict=True))
        )
    return bool(sent == kept)


@pytest.mark.parametrize("path", GOLDEN, ids=lambda path: path.stem)
def test_golden_sample_validates_against_its_json_schema(path: Path) -> None:
    schema = load(SCHEMA_DIR / path.name)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(load(path))


@pytest.mark.parametrize("path", GOLDEN, ids=lambda path: path.stem)
def test_the_current_wire_form_validates_against_the_current_schema(path: Path) -> None:
    event = parse_event(path.read_bytes())
    schema = load(SCHEMA_DIR / f"{event.type}.json")
    jsonschema.Draft202012Validator(schema).validate(json.loads(serialize_event(event)))


def test_schema_refuses_a_float_amount() -> None:
    document = load(GOLDEN_DIR / "arshield.erp.InvoiceIssued.v1.json")
    document["data"]["amount"]["amount"] = 48250.0
    validator = jsonschema.Draft202012Validator(
        load(SCHEMA_DIR / "arshield.erp.InvoiceIssued.v1.json")
    )
    errors = list(validator.iter_errors(document))
    assert [list(error.absolute_path) for error in errors] == [["data", "amount", "amount"]]


def test_schema_pins_the_type() -> None:
    document = load(GOLDEN_DIR / "arshield.erp.PaymentReceived.v1.json")
    document["type"] = "arshield.erp.InvoiceIssued.v1"
    schema = load(SCHEMA_DIR / "arshield.erp.PaymentReceived.v1.json")
    assert not jsonschema.Draft202012Validator(schema).is_valid(document)


def test_invoice_issued_v0_upcasts_field_by_field() -> None:
    event = parse_event((GOLDEN_DIR / "arshield.erp.InvoiceIssued.v0.json").read_bytes())
    assert event.type == "arshield.erp.InvoiceIssued.v1"
    invoice = event.data
    assert isinstance(invoice, InvoiceIssued)
    assert invoice.amount == Money(amount=Decimal("12480.00"), currency="EUR")
    assert str(invoice.issued_on) == "2023-11-15"
    assert str(invoice.delivered_on) == "2023-11-14"
    assert str(invoice.due_on) == "2023-12-15"
    assert invoice.payment_terms_days == 30
    assert invoice.instalments == ()
    assert invoice.contract_terms is None
    assert event.id == load(GOLDEN_DIR / "arshield.erp.InvoiceIssued.v0.json")["id"]
