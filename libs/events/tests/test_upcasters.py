"""The upcaster chain: old versions are rewritten step by step into the current one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from arshield_events.registry import EventRejected, parse_event
from arshield_events.upcasters import UPCASTERS, Upcaster, UpcasterChain

pytestmark = pytest.mark.unit


def rename(old: str, new: str) -> Any:
    def step(data: Mapping[str, Any]) -> dict[str, Any]:
        copy = dict(data)
        copy[new] = copy.pop(old)
        return copy

    return step


def test_steps_chain_until_the_current_version() -> None:
    chain = UpcasterChain(
        [
            Upcaster("x.A.v0", "x.A.v1", rename("a", "b")),
            Upcaster("x.A.v1", "x.A.v2", rename("b", "c")),
        ]
    )
    assert chain.upcast("x.A.v0", {"a": 1}) == ("x.A.v2", {"c": 1})
    assert chain.upcast("x.A.v1", {"b": 1}) == ("x.A.v2", {"c": 1})
    assert chain.upcast("x.A.v2", {"c": 1}) == ("x.A.v2", {"c": 1})
    assert chain.path("x.A.v0") == ["x.A.v0", "x.A.v1", "x.A.v2"]
    assert chain.target("x.A.v0") == "x.A.v2"


def test_the_input_is_not_mutated() -> None:
    chain = UpcasterChain([Upcaster("x.A.v0", "x.A.v1", rename("a", "b"))])
    data = {"a": 1}
    chain.upcast("x.A.v0", data)
    assert data == {"a": 1}


def test_a_type_has_at_most_one_step_and_no_cycles() -> None:
    chain = UpcasterChain([Upcaster("x.A.v0", "x.A.v1", rename("a", "b"))])
    with pytest.raises(ValueError, match="already registered"):
        chain.register(Upcaster("x.A.v0", "x.A.v2", rename("a", "c")))
    with pytest.raises(ValueError, match="cycle"):
        chain.register(Upcaster("x.A.v1", "x.A.v0", rename("b", "a")))
    with pytest.raises(ValueError, match="cycle"):
        chain.register(Upcaster("x.B.v1", "x.B.v1", rename("b", "a")))
    assert chain.old_types == {"x.A.v0"}


def test_the_shipped_chain_upcasts_invoice_issued_v0() -> None:
    assert "arshield.erp.InvoiceIssued.v0" in UPCASTERS
    assert UPCASTERS.target("arshield.erp.InvoiceIssued.v0") == "arshield.erp.InvoiceIssued.v1"


def v0_document(**data: Any) -> dict[str, Any]:
    payload = {
        "invoice_id": "INV-9",
        "invoice_number": "RE-9",
        "buyer_id": "BUY-1",
        "invoice_date": "2023-11-15",
        "due_date": "2023-12-15",
        "total": "99.90",
        "currency": "EUR",
        "terms_days": 30,
    }
    payload.update(data)
    return {
        "specversion": "1.0",
        "id": "old-1",
        "source": "erp/legacy",
        "type": "arshield.erp.InvoiceIssued.v0",
        "subject": "BUY-1",
        "time": "2023-11-15T09:00:00Z",
        "tenantid": "acme",
        "data": payload,
    }


def test_an_old_event_is_rejected_in_its_own_terms() -> None:
    with pytest.raises(EventRejected) as caught:
        parse_event(v0_document(total=99.9, due_date="2023-01-01"))
    assert caught.value.errors[0]["loc"] == "data.total"
    assert "JSON float" in caught.value.errors[0]["msg"]


def test_an_old_event_names_the_old_field_when_a_rule_breaks() -> None:
    with pytest.raises(EventRejected) as caught:
        parse_event(v0_document(due_date="2023-01-01"))
    assert caught.value.errors[0]["loc"] == "data.due_date"


def test_an_old_event_that_breaks_a_current_rule_is_rejected() -> None:
    with pytest.raises(EventRejected) as caught:
        parse_event(v0_document(total="0.00"))
    assert caught.value.errors[0]["loc"] == "data.amount"


def test_an_old_event_upcasts_to_the_current_type() -> None:
    event = parse_event(v0_document())
    assert event.type == "arshield.erp.InvoiceIssued.v1"
    assert event.data.amount.currency == "EUR"
