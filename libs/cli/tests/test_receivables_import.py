"""The receivables CSV importer turns every row into the facts the end-to-end replay needs."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from arshield_cli.importers.receivables_csv import read_facts
from arshield_events.erp import (
    BuyerRegistered,
    DisputeRaised,
    DisputeResolved,
    InvoiceIssued,
    PaymentReceived,
)

pytestmark = pytest.mark.unit
DATASET = (
    Path(__file__).resolve().parents[3].parent
    / "shared"
    / "datasets"
    / "ibm-late-payment-histories.csv"
)


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with DATASET.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_row_becomes_its_facts_in_business_date_order(rows: list[dict[str, str]]) -> None:
    facts = read_facts(DATASET, tenant="demo")
    kinds = Counter(type(f.event.data) for f in facts)
    disputed = sum(1 for r in rows if r["Disputed"] == "Yes")
    assert kinds[InvoiceIssued] == len(rows) == kinds[PaymentReceived]
    assert kinds[BuyerRegistered] == len({r["customerID"] for r in rows})
    assert kinds[DisputeRaised] == kinds[DisputeResolved] == disputed
    assert [f.on for f in facts] == sorted(f.on for f in facts)
    assert len({f.event.id for f in facts}) == len(facts)


def test_each_invoice_is_issued_before_it_is_paid_and_disputes_resolve_first() -> None:
    facts = read_facts(DATASET, tenant="demo")
    position: dict[tuple[str, str], int] = {}
    for index, fact in enumerate(facts):
        data = fact.event.data
        invoice = getattr(data, "invoice_id", None) or (
            data.allocations[0].invoice_id if isinstance(data, PaymentReceived) else None
        )
        if invoice:
            position[(type(data).__name__, invoice)] = index
    for (kind, invoice), index in position.items():
        if kind == "PaymentReceived":
            assert position[("InvoiceIssued", invoice)] < index
            if ("DisputeResolved", invoice) in position:
                assert (
                    position[("DisputeRaised", invoice)]
                    < position[("DisputeResolved", invoice)]
                    < index
                )


def test_importing_twice_gives_the_same_events() -> None:
    first = read_facts(DATASET, tenant="demo")
    second = read_facts(DATASET, tenant="demo")
    assert [f.event for f in first] == [f.event for f in second]
    other_tenant = read_facts(DATASET, tenant="globex")
    assert {f.event.id for f in first}.isdisjoint(f.event.id for f in other_tenant)
