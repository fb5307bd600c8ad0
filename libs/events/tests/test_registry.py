"""Serialization, headers, keys and the parse/serialize round trip."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arshield_events import topics
from arshield_events.clock import BusinessDayStarted
from arshield_events.envelope import CONTENT_TYPE, CloudEvent, envelope
from arshield_events.erp import Allocation, Instalment, InvoiceIssued, PaymentReceived
from arshield_events.money import Money, iso4217
from arshield_events.registry import (
    EVENT_TYPES,
    EventRejected,
    canonical_json,
    event_headers,
    event_key,
    events_of_topic,
    parse_event,
    payload_class,
    serialize_event,
)

pytestmark = pytest.mark.unit

ids = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Z", "C")), min_size=1, max_size=40
)
cents = st.integers(min_value=1, max_value=10**12)
currencies = st.sampled_from(["EUR", "GBP", "CNY", "USD", "JPY", "BHD"])
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))
# hypothesis takes naive bounds and attaches the zone itself
times = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2090, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


def money(minor: int, currency: str) -> Money:
    """`minor` units of `currency` (cents for EUR, yen for JPY, fils for BHD)."""
    return Money(
        amount=Decimal(minor).scaleb(-(iso4217()[currency].minor_units or 0)), currency=currency
    )


@st.composite
def invoices(draw: st.DrawFn) -> InvoiceIssued:
    currency = draw(currencies)
    issued_on = draw(days)
    parts = draw(st.lists(cents, max_size=5))
    total = draw(cents) if not parts else sum(parts)
    return InvoiceIssued(
        invoice_id=draw(ids),
        invoice_number=draw(
            st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=30).filter(
                str.strip
            )
        ),
        buyer_id=draw(ids),
        order_id=draw(st.none() | ids),
        issued_on=issued_on,
        delivered_on=draw(st.none() | days),
        due_on=issued_on + timedelta(days=draw(st.integers(0, 365))),
        amount=money(total, currency),
        payment_terms_days=draw(st.integers(0, 365)),
        instalments=tuple(
            Instalment(seq=seq, due_on=issued_on, amount=money(part, currency))
            for seq, part in enumerate(parts, start=1)
        ),
    )


@st.composite
def payments(draw: st.DrawFn) -> PaymentReceived:
    currency = draw(currencies)
    shares = draw(st.lists(cents, max_size=4))
    invoice_ids = draw(st.lists(ids, min_size=len(shares), max_size=len(shares), unique=True))
    return PaymentReceived(
        payment_id=draw(ids),
        buyer_id=draw(ids),
        amount=money(sum(shares) + draw(st.integers(0 if shares else 1, 10**6)), currency),
        received_on=draw(days),
        allocations=tuple(
            Allocation(invoice_id=invoice_id, amount=money(share, currency))
            for invoice_id, share in zip(invoice_ids, shares, strict=True)
        ),
    )


def wrap_payload(payload: Any, time: datetime, tenant: str = "acme") -> CloudEvent[Any]:
    subject = tenant if payload.tenant_keyed else payload.buyer_id
    return envelope(
        payload, id="e-1", source="erp/test", subject=subject, tenantid=tenant, time=time
    )


@given(st.one_of(invoices(), payments()), times)
def test_parse_of_serialize_is_the_identity(payload: Any, time: datetime) -> None:
    event = wrap_payload(payload, time)
    wire = serialize_event(event)
    assert parse_event(wire) == event
    assert serialize_event(parse_event(wire)) == wire


@given(invoices(), times)
def test_serialization_is_compact_sorted_json_without_floats(
    payload: InvoiceIssued, time: datetime
) -> None:
    wire = serialize_event(wrap_payload(payload, time))
    document = json.loads(wire, parse_float=lambda text: pytest.fail(f"float {text} written"))
    assert (
        wire
        == json.dumps(document, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    )
    assert isinstance(document["data"]["amount"]["amount"], str)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.text(st.characters(codec="utf-8")),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(st.characters(codec="utf-8")), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_canonical_json_writes_what_json_dumps_writes(document: Any) -> None:
    """Control characters, any code point, integers past 64 bits: the bytes `json` would write."""
    reference = json.dumps(document, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    assert canonical_json(document) == reference.encode("utf-8")


def test_canonical_json_escapes_as_json_does() -> None:
    document = {"\u00e9": 'a\n\u0001"\\\u2028', "e": [2**64, -1, True, None]}
    assert (
        canonical_json(document)
        == (
            '{"e":[18446744073709551616,-1,true,null],"\u00e9":"a\\n\\u0001\\"\\\\\u2028"}'
        ).encode()
    )


def test_absent_optional_envelope_attributes_are_left_out() -> None:
    event = wrap_payload(BusinessDayStarted(business_date=date(2024, 5, 6)), datetime.now(UTC))
    document = json.loads(serialize_event(event))
    assert "correlationid" not in document
    assert "causationid" not in document


def test_headers_repeat_the_routing_attributes() -> None:
    event = envelope(
        BusinessDayStarted(business_date=date(2024, 5, 6)),
        id="tick-1",
        source="arshield/clock",
        subject="acme",
        tenantid="acme",
        time=datetime(2024, 5, 6, 4, tzinfo=UTC),
    )
    headers = dict(event_headers(event))
    assert headers["ce_type"] == b"arshield.clock.BusinessDayStarted.v1"
    assert headers["ce_id"] == b"tick-1"
    assert headers["ce_tenantid"] == b"acme"
    assert headers["content-type"] == CONTENT_TYPE.encode()
    assert event_key(event) == b"acme"


def test_buyer_events_are_keyed_by_tenant_and_buyer() -> None:
    payment = PaymentReceived(
        payment_id="P-1",
        buyer_id="BUY-7",
        amount=Money.of("10.00", "EUR"),
        received_on=date(2024, 1, 1),
    )
    assert event_key(wrap_payload(payment, datetime.now(UTC))) == b"acme:BUY-7"


def test_clock_ticks_have_the_tenant_as_subject() -> None:
    tick = BusinessDayStarted(business_date=date(2024, 5, 6))
    with pytest.raises(ValueError, match="tenant id"):
        envelope(
            tick,
            id="t",
            source="arshield/clock",
            subject="BUY-1",
            tenantid="acme",
            time=datetime.now(UTC),
        )


def test_envelope_type_must_match_the_payload(invoice_document: dict[str, Any]) -> None:
    invoice_document["type"] = "arshield.erp.PaymentReceived.v1"
    with pytest.raises(EventRejected) as caught:
        parse_event(invoice_document)
    assert caught.value.errors[0]["loc"].startswith("data")


def test_registry_covers_every_topic() -> None:
    for topic in topics.ALL_TOPICS:
        assert events_of_topic(topic), topic
    assert payload_class("arshield.erp.InvoiceIssued.v1") is InvoiceIssued
    with pytest.raises(KeyError):
        payload_class("arshield.erp.InvoiceIssued.v0")
    assert sum(len(events_of_topic(topic)) for topic in topics.ALL_TOPICS) == len(EVENT_TYPES)


def test_topics_and_dead_letter_topics() -> None:
    assert topics.ERP == "arshield.erp"
    assert topics.dlq(topics.LEDGER) == "arshield.ledger.dlq"
    assert len(topics.ALL_TOPICS) == 8
    assert [topics.dlq(topic) for topic in topics.ALL_TOPICS] == list(topics.DLQ_TOPICS)
    assert "arshield.erp.dlq" in topics.DLQ_TOPICS
