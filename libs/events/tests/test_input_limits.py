"""What the consumers cannot store or compute on is refused by the models themselves: control
characters, dates out of range, amounts finer than the currency, JSON nested too deep. HTTP
ingestion and the consumers share these rules through `parse_event` / `parse_events`."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arshield_events.registry import (
    MAX_DEPTH,
    EventRejected,
    MalformedJson,
    parse_event,
    parse_events,
)

pytestmark = pytest.mark.unit


def invoice(**data: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "specversion": "1.0",
        "id": "e-1",
        "source": "erp/test",
        "type": "arshield.erp.InvoiceIssued.v1",
        "subject": "BUY-1",
        "time": "2024-03-05T07:41:19Z",
        "tenantid": "acme",
        "data": {
            "invoice_id": "INV-1",
            "invoice_number": "RE-2024-1",
            "buyer_id": "BUY-1",
            "issued_on": "2024-03-05",
            "due_on": "2024-04-04",
            "amount": {"amount": "1000.00", "currency": "EUR"},
            "payment_terms_days": 30,
        },
    }
    document["data"].update(data)
    return document


def cancellation(reason: str) -> dict[str, Any]:
    return {
        **invoice(),
        "type": "arshield.erp.InvoiceCancelled.v1",
        "data": {
            "invoice_id": "INV-1",
            "buyer_id": "BUY-1",
            "reason": reason,
            "cancelled_on": "2024-03-06",
        },
    }


def rejection(document: Any) -> EventRejected:
    with pytest.raises(EventRejected) as caught:
        parse_event(json.dumps(document) if not isinstance(document, str | bytes) else document)
    return caught.value


def error_at(rejected: EventRejected, loc: str) -> str:
    messages = [error["msg"] for error in rejected.errors if error["loc"] == loc]
    assert messages, f"no error at {loc}: {rejected.errors}"
    return messages[0]


# --- control characters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "loc"),
    [
        ("id", "id"),
        ("source", "source"),
        ("subject", "subject"),
        ("correlationid", "correlationid"),
    ],
)
def test_a_nul_in_an_envelope_attribute_is_refused_naming_it(field: str, loc: str) -> None:
    document = invoice()
    document[field] = "BUY\x00-1"
    assert "U+0000" in error_at(rejection(document), loc)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("invoice_id", "INV\x00-1"),
        ("invoice_number", "RE\x00-2024"),
        ("invoice_number", "RE-2024\n"),
        ("invoice_number", "RE\t2024"),
        ("order_id", "ORD\x1b[31m"),
    ],
)
def test_control_characters_in_ids_and_names_are_refused(field: str, value: str) -> None:
    message = error_at(rejection(invoice(**{field: value})), f"data.{field}")
    assert "control character" in message


def test_a_buyer_name_with_a_nul_is_refused() -> None:
    document = {
        **invoice(),
        "type": "arshield.erp.BuyerRegistered.v1",
        "data": {
            "buyer_id": "BUY-1",
            "legal_name": "ACME\x00 GmbH",
            "country": "DE",
            "segment": "standard",
            "registered_on": "2024-03-01",
        },
    }
    assert "U+0000" in error_at(rejection(document), "data.legal_name")


def test_a_reason_may_span_lines_but_holds_no_other_control_character() -> None:
    event = parse_event(json.dumps(cancellation("Wrong buyer.\r\nSee\tletter of 5 March.")))
    assert event.data.reason == "Wrong buyer.\r\nSee\tletter of 5 March."
    assert "U+0000" in error_at(rejection(cancellation("Wrong\x00 buyer")), "data.reason")
    assert "U+0085" in error_at(rejection(cancellation("Wrong\x85 buyer")), "data.reason")


def test_a_lone_surrogate_is_refused_not_crashing_the_encoder() -> None:
    raw = json.dumps(invoice(invoice_number="RE-\\ud800")).replace("\\\\ud800", "\\ud800")
    rejected = rejection(raw)
    assert "surrogate" in error_at(rejected, "data.invoice_number")
    json.dumps(rejected.errors, ensure_ascii=False).encode("utf-8")


controls = st.characters(categories=["Cc"])
printable = st.text(st.characters(exclude_categories=["Cc", "Cs", "Z"]), min_size=1, max_size=20)


@given(printable, controls, printable)
def test_any_name_with_a_control_character_is_refused(
    before: str, control: str, after: str
) -> None:
    rejected = rejection(invoice(invoice_number=before + control + after))
    assert f"U+{ord(control):04X}" in error_at(rejected, "data.invoice_number")


@given(printable, controls.filter(lambda c: c not in "\t\n\r"), printable)
def test_any_reason_with_a_control_character_other_than_line_breaks_is_refused(
    before: str, control: str, after: str
) -> None:
    assert "control character" in error_at(
        rejection(cancellation(before + control + after)), "data.reason"
    )


@given(st.text(max_size=30), st.sampled_from(["invoice_number", "invoice_id", "order_id"]))
def test_any_text_either_parses_or_is_refused_with_an_encodable_error(
    text: str, field: str
) -> None:
    try:
        event = parse_event(json.dumps(invoice(**{field: text})))
    except EventRejected as rejected:
        refused: EventRejected | None = rejected
    else:
        refused = None
        value = getattr(event.data, field)
        value.encode("utf-8")
        assert "\x00" not in value
    if refused is not None:
        assert any(error["loc"] == f"data.{field}" for error in refused.errors)
        json.dumps(refused.errors, ensure_ascii=False).encode("utf-8")
        str(refused).encode("utf-8")


# --- dates and timestamps -------------------------------------------------------------------


@pytest.mark.parametrize("day", ["9999-12-31", "2200-01-01", "1899-12-31", "0001-01-01"])
def test_business_dates_outside_1900_to_2199_are_refused(day: str) -> None:
    message = error_at(rejection(invoice(issued_on=day, due_on=day)), "data.issued_on")
    assert "1900-01-01..2199-12-31" in message


def test_the_first_and_last_business_dates_are_accepted() -> None:
    first = parse_event(json.dumps(invoice(issued_on="1900-01-01", due_on="2199-12-31")))
    assert str(first.data.issued_on) == "1900-01-01"
    assert str(first.data.due_on) == "2199-12-31"


@pytest.mark.parametrize(
    "time",
    [
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00+01:00",  # converting to UTC would overflow
        "2199-12-31T23:30:00-01:00",  # 2200-01-01 in UTC
        "1899-12-31T23:59:59Z",
        1709624479,
        "1709624479",
    ],
)
def test_timestamps_outside_the_range_or_not_rfc_3339_are_refused(time: Any) -> None:
    document = invoice()
    document["time"] = time
    assert error_at(rejection(document), "time")


# --- minor units ----------------------------------------------------------------------------


def test_yen_with_cents_is_refused_naming_the_amount() -> None:
    rejected = rejection(invoice(amount={"amount": "100.50", "currency": "JPY"}))
    assert "JPY has 0 decimal places" in error_at(rejected, "data.amount")
    parse_event(json.dumps(invoice(amount={"amount": "100", "currency": "JPY"})))


# --- depth ----------------------------------------------------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5_000, 100_000])
def test_deeply_nested_json_is_refused_without_recursion_error(depth: int) -> None:
    raw = '{"type": "arshield.erp.InvoiceIssued.v1", "x": ' + nested(depth) + "}"
    with pytest.raises(MalformedJson, match="nested deeper than 64"):
        parse_event(raw)
    with pytest.raises(MalformedJson, match="nested deeper than 64"):
        parse_events(f"[{raw}]")


def test_nesting_up_to_the_limit_is_not_a_depth_problem() -> None:
    raw = '{"type": "arshield.erp.InvoiceIssued.v1", "x": ' + nested(MAX_DEPTH - 1) + "}"
    rejected = rejection(raw)
    assert not isinstance(rejected, MalformedJson)
    assert "nested" not in str(rejected)


def test_a_deep_mapping_from_code_is_refused_too() -> None:
    document: Any = invoice()
    deep: Any = []
    for _ in range(5_000):
        deep = [deep]
    document["data"]["extra"] = deep
    with pytest.raises(MalformedJson, match="nested"):
        parse_event(document)


def test_a_deep_document_with_floats_is_refused_before_the_float_walk() -> None:
    raw = '{"type": "x", "x": ' + "[" * 900 + "1.5" + "]" * 900 + "}"
    with pytest.raises(MalformedJson, match="nested"):
        parse_event(raw)


# --- bodies and batches ---------------------------------------------------------------------


def test_a_repeated_key_is_refused_in_a_batch_item_too() -> None:
    item = json.dumps(invoice()).replace(
        '"amount": "1000.00"', '"amount": "1.00", "amount": "1000.00"'
    )
    with pytest.raises(MalformedJson, match="duplicate key 'amount'"):
        parse_events(f"[{item}]", batch=True)
    with pytest.raises(MalformedJson, match="duplicate key 'amount'"):
        parse_events(item, batch=False)


def test_batch_errors_are_named_by_position() -> None:
    bad = invoice(amount={"amount": "12.5", "currency": "JPY"})
    body = json.dumps([invoice(), "not an event", bad]).replace('"12.5"', "12.5")
    with pytest.raises(EventRejected) as caught:
        parse_events(body, batch=True)
    locs = [error["loc"] for error in caught.value.errors]
    assert "[1]" in locs
    assert "[2].data.amount.amount" in locs
    assert "a string" in error_at(caught.value, "[1]")


def test_two_different_events_with_one_source_and_id_refuse_the_batch() -> None:
    first, second = invoice(), invoice(invoice_id="INV-2")
    with pytest.raises(EventRejected) as caught:
        parse_events(json.dumps([first, invoice(invoice_id="INV-3", buyer_id="X"), second]))
    message = error_at(caught.value, "[2].id")
    assert "[0]" in message
    assert "[2]" in message


def test_an_exact_repeat_is_returned_and_the_same_id_from_another_source_is_distinct() -> None:
    first = invoice()
    other_source = {**copy.deepcopy(first), "source": "erp/other"}
    repeat = {**copy.deepcopy(first), "time": "2024-03-05T08:41:19+01:00"}  # same instant
    events = parse_events(json.dumps([first, repeat, other_source]), batch=True)
    assert [e.source for e in events] == ["erp/test", "erp/test", "erp/other"]
    assert events[0] == events[1]


@pytest.mark.parametrize(
    ("body", "batch", "said"),
    [
        ("[]", True, "1 to 1000"),
        (json.dumps([invoice()]), False, "cloudevents-batch+json"),
        (json.dumps(invoice()), True, "a batch is a JSON array"),
        ('"{\\"type\\": \\"x\\"}"', True, "a string"),
    ],
)
def test_the_body_shape_must_match(body: str, batch: bool, said: str) -> None:
    with pytest.raises(EventRejected) as caught:
        parse_events(body, batch=batch)
    assert said in str(caught.value)


def test_the_shape_decides_when_not_told() -> None:
    assert len(parse_events(json.dumps(invoice()))) == 1
    second = {**invoice(invoice_id="INV-2"), "id": "e-2"}
    assert [e.id for e in parse_events(json.dumps([invoice(), second]))] == ["e-1", "e-2"]
