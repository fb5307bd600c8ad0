"""Bad input never becomes an event: every problem is an EventRejected naming the field path."""

from __future__ import annotations

import json
from typing import Any

import pytest

from arshield_events.registry import EventRejected, parse_event

pytestmark = pytest.mark.unit


def wrap(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": "e-1",
        "source": "erp/test",
        "type": event_type,
        "subject": "BUY-1",
        "time": "2024-03-05T07:41:19Z",
        "tenantid": "acme",
        "data": data,
    }


def invoice_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "invoice_id": "INV-1",
        "invoice_number": "RE-2024-1",
        "buyer_id": "BUY-1",
        "issued_on": "2024-03-05",
        "due_on": "2024-04-04",
        "amount": {"amount": "1000.00", "currency": "EUR"},
        "payment_terms_days": 30,
    }
    return {**data, **overrides}


def rejected(document: dict[str, Any] | str | bytes) -> EventRejected:
    raw = json.dumps(document) if isinstance(document, dict) else document
    with pytest.raises(EventRejected) as caught:
        parse_event(raw)
    return caught.value


def locs(error: EventRejected) -> list[str]:
    return [item["loc"] for item in error.errors]


def test_a_valid_invoice_parses(invoice_document: dict[str, Any]) -> None:
    event = parse_event(json.dumps(invoice_document))
    assert event.data.invoice_id == "INV-1"
    assert event.key == "acme:BUY-1"


@pytest.mark.parametrize(
    "raw", ["{", "", "not json", '{"type": "x",}', b"\xff\xfe", '{"a": NaN}', "[1, 2]", '"text"']
)
def test_malformed_json_is_rejected(raw: str | bytes) -> None:
    error = rejected(raw)
    assert error.errors, "a rejection says why"
    assert error.reason


def test_duplicate_keys_are_rejected() -> None:
    error = rejected('{"type": "arshield.erp.InvoiceIssued.v1", "type": "arshield.erp.X.v1"}')
    assert "duplicate key" in error.errors[0]["msg"]


def test_unknown_type_is_rejected(invoice_document: dict[str, Any]) -> None:
    error = rejected({**invoice_document, "type": "arshield.erp.InvoiceIssued.v9"})
    assert locs(error) == ["type"]
    assert "unknown event type" in error.reason


def test_missing_type_is_rejected(invoice_document: dict[str, Any]) -> None:
    del invoice_document["type"]
    assert locs(rejected(invoice_document)) == ["type"]


def test_missing_field_names_its_path(invoice_document: dict[str, Any]) -> None:
    del invoice_document["data"]["due_on"]
    error = rejected(invoice_document)
    assert locs(error) == ["data.due_on"]
    assert error.errors[0]["msg"] == "Field required"


def test_missing_envelope_attribute_names_it(invoice_document: dict[str, Any]) -> None:
    del invoice_document["tenantid"]
    assert locs(rejected(invoice_document)) == ["tenantid"]


def test_float_amount_is_rejected_not_rounded() -> None:
    document = wrap(
        "arshield.erp.InvoiceIssued.v1",
        invoice_data(amount={"amount": 1000.0, "currency": "EUR"}),
    )
    error = rejected(document)
    assert locs(error) == ["data.amount.amount"]
    assert "JSON float" in error.errors[0]["msg"]
    assert "1234.50" in error.errors[0]["msg"]


def test_integer_amount_is_rejected() -> None:
    document = wrap(
        "arshield.erp.InvoiceIssued.v1", invoice_data(amount={"amount": 1000, "currency": "EUR"})
    )
    assert locs(rejected(document)) == ["data.amount.amount"]


def test_float_anywhere_is_rejected_with_its_path() -> None:
    document = wrap("arshield.erp.InvoiceIssued.v1", invoice_data(payment_terms_days=30.0))
    error = rejected(document)
    assert locs(error) == ["data.payment_terms_days"]
    assert "JSON float" in error.errors[0]["msg"]


@pytest.mark.parametrize("code", ["EUX", "eur", "EURO", "XXX"])
def test_wrong_currency_code_is_rejected(code: str) -> None:
    document = wrap(
        "arshield.erp.InvoiceIssued.v1", invoice_data(amount={"amount": "10.00", "currency": code})
    )
    assert locs(rejected(document)) == ["data.amount.currency"]


@pytest.mark.parametrize("amount", ["-10.00", "0", "0.00"])
def test_invoice_amount_must_be_positive(amount: str) -> None:
    document = wrap(
        "arshield.erp.InvoiceIssued.v1",
        invoice_data(amount={"amount": amount, "currency": "EUR"}),
    )
    error = rejected(document)
    assert locs(error) == ["data.amount"]
    assert "greater than zero" in error.errors[0]["msg"]


def test_due_before_issue_is_rejected() -> None:
    document = wrap(
        "arshield.erp.InvoiceIssued.v1", invoice_data(issued_on="2024-03-05", due_on="2024-03-04")
    )
    error = rejected(document)
    assert locs(error) == ["data.due_on"]
    assert "before issued_on" in error.errors[0]["msg"]


@pytest.mark.parametrize("value", ["2024-03-05T00:00:00", "05.03.2024", 1709596800, "2024-02-30"])
def test_dates_are_iso_calendar_days(value: object) -> None:
    document = wrap("arshield.erp.InvoiceIssued.v1", invoice_data(issued_on=value))
    assert "data.issued_on" in locs(rejected(document))


def test_every_problem_is_reported_at_once() -> None:
    document = wrap(
        "arshield.erp.InvoiceIssued.v1",
        invoice_data(amount={"amount": 12.5, "currency": "EUX"}, due_on="2024-01-01"),
    )
    assert set(locs(rejected(document))) == {
        "data.amount.amount",
        "data.amount.currency",
        "data.due_on",
    }


def test_unknown_fields_are_rejected(invoice_document: dict[str, Any]) -> None:
    invoice_document["data"]["discount"] = "2.00"
    assert locs(rejected(invoice_document)) == ["data.discount"]


@pytest.mark.parametrize("invoice_id", ["", " ", "INV 1", "x" * 129])
def test_ids_are_non_empty_bounded_and_without_spaces(invoice_id: str) -> None:
    document = wrap("arshield.erp.InvoiceIssued.v1", invoice_data(invoice_id=invoice_id))
    assert locs(rejected(document)) == ["data.invoice_id"]


def test_subject_must_be_the_buyer(invoice_document: dict[str, Any]) -> None:
    invoice_document["subject"] = "BUY-2"
    error = rejected(invoice_document)
    assert locs(error) == ["data"]
    assert "buyer_id" in error.errors[0]["msg"]


def test_time_needs_an_offset(invoice_document: dict[str, Any]) -> None:
    invoice_document["time"] = "2024-03-05T07:41:19"
    assert locs(rejected(invoice_document)) == ["time"]


def test_a_mapping_is_accepted_as_input(invoice_document: dict[str, Any]) -> None:
    assert parse_event(invoice_document).data.invoice_id == "INV-1"
    invoice_document["data"]["amount"]["amount"] = 3.5
    with pytest.raises(EventRejected) as caught:
        parse_event(invoice_document)
    assert caught.value.errors[0]["loc"] == "data.amount.amount"


def test_rejection_message_names_type_field_and_cause() -> None:
    document = wrap("arshield.erp.InvoiceIssued.v1", invoice_data(due_on="2024-01-01"))
    error = rejected(document)
    assert str(error).startswith("invalid arshield.erp.InvoiceIssued.v1: data.due_on: due_on")


@pytest.mark.parametrize("days", ["30", True])
def test_whole_numbers_are_json_integers(days: object) -> None:
    document = wrap("arshield.erp.InvoiceIssued.v1", invoice_data(payment_terms_days=days))
    assert locs(rejected(document)) == ["data.payment_terms_days"]
