"""CloudEvents JSONL files replay by business date; the CSV importer takes invoices never settled."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from arshield_cli.importers.cloudevents_jsonl import business_date, read_event_facts
from arshield_cli.importers.receivables_csv import read_facts
from arshield_cli.simulation.simulator import SimulationConfig, simulate, write_simulation
from arshield_events.erp import DisputeRaised, DisputeResolved, InvoiceIssued, PaymentReceived

pytestmark = pytest.mark.unit

HEADER = (
    "countrycode,customerID,PaperlessDate,invoiceNumber,InvoiceDate,DueDate,InvoiceAmount,"
    "Disputed,SettledDate,PaperlessBill,DaysToSettle,DaysLate\n"
)


def test_a_simulated_history_reads_back_as_the_same_facts_in_the_same_order(
    tmp_path: Path,
) -> None:
    sim = simulate(SimulationConfig(buyers=30, years=1, seed=11))
    write_simulation(sim, tmp_path)
    facts, problems = read_event_facts([tmp_path / "erp.jsonl", tmp_path / "external.jsonl"])
    assert problems == []
    assert sorted(f.event.id for f in facts) == sorted(f.event.id for f in sim.facts)
    assert [f.on for f in facts] == sorted(f.on for f in facts)
    assert all(f.on == business_date(f.event) for f in facts)
    # Within one day the ERP facts keep their file order (a registration before its invoices).
    erp = [f.event.id for f in facts if f.event.data.topic == "arshield.erp"]
    assert erp == [f.event.id for f in sim.facts if f.event.data.topic == "arshield.erp"]


def test_a_payment_is_dated_by_the_day_it_was_received_not_its_timestamp(tmp_path: Path) -> None:
    sim = simulate(SimulationConfig(buyers=5, years=1, seed=1))
    payment = next(f.event for f in sim.facts if isinstance(f.event.data, PaymentReceived))
    moved = payment.model_copy(update={"time": payment.time.replace(year=2030)})
    assert business_date(moved) == payment.data.received_on


def test_bad_lines_are_reported_with_their_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text('{"not": "an event"}\n\n')
    facts, problems = read_event_facts([tmp_path / "bad.jsonl"])
    assert facts == []
    assert [(path.name, line) for path, line, _ in problems] == [("bad.jsonl", 1)]


def test_an_invoice_never_settled_has_no_payment_and_an_open_dispute(tmp_path: Path) -> None:
    csv_file = tmp_path / "open.csv"
    csv_file.write_text(
        HEADER
        + "391,C1,01/01/2013,I1,02/01/2013,01/02/2013,100.00,Yes,,Paper,,\n"
        + "391,C1,01/01/2013,I2,03/01/2013,02/02/2013,50.00,No,10/02/2013,Paper,38,8\n"
    )
    facts = read_facts(csv_file, tenant="t")
    kinds = [(type(f.event.data).__name__, f.on) for f in facts]
    assert kinds == [
        ("BuyerRegistered", date(2013, 1, 2)),
        ("InvoiceIssued", date(2013, 1, 2)),
        ("InvoiceIssued", date(2013, 1, 3)),
        ("DisputeRaised", date(2013, 2, 1)),
        ("PaymentReceived", date(2013, 2, 10)),
    ]
    assert not any(isinstance(f.event.data, DisputeResolved) for f in facts)
    paid = [f.event.data for f in facts if isinstance(f.event.data, PaymentReceived)]
    assert [a.invoice_id for p in paid for a in p.allocations] == ["I2"]
    assert any(isinstance(f.event.data, DisputeRaised) for f in facts)
    assert sum(isinstance(f.event.data, InvoiceIssued) for f in facts) == 2
