"""Shared fixtures for the events tests."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def invoice_document() -> dict[str, Any]:
    """A valid InvoiceIssued.v1 CloudEvents document."""
    return {
        "specversion": "1.0",
        "id": "7d0f3b1e-0000-4000-8000-000000000001",
        "source": "erp/test",
        "type": "arshield.erp.InvoiceIssued.v1",
        "subject": "BUY-1",
        "time": "2024-03-05T07:41:19Z",
        "datacontenttype": "application/json",
        "tenantid": "acme",
        "data": {
            "invoice_id": "INV-1",
            "invoice_number": "RE-2024-1",
            "buyer_id": "BUY-1",
            "order_id": None,
            "issued_on": "2024-03-05",
            "delivered_on": "2024-03-04",
            "due_on": "2024-04-04",
            "amount": {"amount": "1000.00", "currency": "EUR"},
            "payment_terms_days": 30,
        },
    }
