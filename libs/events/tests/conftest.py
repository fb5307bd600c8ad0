"""Shared helpers for the events tests: envelopes around payload dicts, golden samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

GOLDEN_DIR = Path(__file__).parent / "golden"
SCHEMA_DIR = Path(__file__).parents[1] / "schemas"


def wrap(event_type: str, data: dict[str, Any], *, subject: str = "BUY-1") -> dict[str, Any]:
    """A CloudEvents document around `data`."""
    return {
        "specversion": "1.0",
        "id": "7d0f3b1e-0000-4000-8000-000000000001",
        "source": "erp/test",
        "type": event_type,
        "subject": subject,
        "time": "2024-03-05T07:41:19Z",
        "datacontenttype": "application/json",
        "tenantid": "acme",
        "data": data,
    }


def invoice_data(**overrides: Any) -> dict[str, Any]:
    """A valid InvoiceIssued.v1 payload, with fields replaced by `overrides`."""
    data: dict[str, Any] = {
        "invoice_id": "INV-1",
        "invoice_number": "RE-2024-1",
        "buyer_id": "BUY-1",
        "order_id": None,
        "issued_on": "2024-03-05",
        "delivered_on": "2024-03-04",
        "due_on": "2024-04-04",
        "amount": {"amount": "1000.00", "currency": "EUR"},
        "payment_terms_days": 30,
    }
    data.update(overrides)
    return data


def golden_documents() -> dict[str, dict[str, Any]]:
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(GOLDEN_DIR.glob("*.json"))
    }


@pytest.fixture
def invoice_document() -> dict[str, Any]:
    return wrap("arshield.erp.InvoiceIssued.v1", invoice_data())
