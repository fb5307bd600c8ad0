"""Business rules the payload models enforce, named by the field that breaks them."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from arshield_events import clock, credit, dunning, erp, external, insurance, ledger, risk
from arshield_events.envelope import Payload
from arshield_events.money import Money
from arshield_events.registry import EVENT_TYPES, LEGACY_EVENT_TYPES

pytestmark = pytest.mark.unit


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


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def error_locs(model: type[BaseModel], data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return [".".join(str(part) for part in error["loc"]) for error in caught.value.errors()]


def test_every_event_is_a_frozen_extra_forbid_payload_with_a_versioned_name() -> None:
    declared = {
        cls.event_name
        for module in (clock, credit, dunning, erp, external, insurance, ledger, risk)
        for cls in vars(module).values()
        if isinstance(cls, type) and issubclass(cls, Payload) and "event_name" in vars(cls)
    }
    assert declared - set(LEGACY_EVENT_TYPES) == set(EVENT_TYPES)  # every event is registered
    for name, cls in EVENT_TYPES.items():
        assert issubclass(cls, Payload)
        assert cls.model_config.get("frozen") is True
        assert cls.model_config.get("extra") == "forbid"
        assert name == cls.event_name
        assert name.startswith(f"{cls.topic}.")
        assert name.rsplit(".", 1)[1] == "v1"


def test_every_event_names_its_business_date_and_buyer() -> None:
    for cls in EVENT_TYPES.values():
        fields = cls.model_fields
        assert any(n.endswith("_on") or n in ("as_of", "business_date") for n in fields), cls
        if not cls.tenant_keyed:
            assert "buyer_id" in fields, cls


def test_instalments_must_sum_to_the_invoice_amount() -> None:
    data = invoice_data(
        instalments=[
            {"seq": 1, "due_on": "2024-04-04", "amount": eur("400.00")},
            {"seq": 2, "due_on": "2024-05-04", "amount": eur("500.00")},
        ]
    )
    assert error_locs(erp.InvoiceIssued, data) == ["instalments"]
    data["instalments"][1]["amount"] = eur("600.00")
    invoice = erp.InvoiceIssued.model_validate(data)
    assert sum(part.amount.amount for part in invoice.instalments) == invoice.amount.amount


def test_instalments_share_the_invoice_currency() -> None:
    data = invoice_data(
        instalments=[
            {"seq": 1, "due_on": "2024-04-04", "amount": {"amount": "1000.00", "currency": "GBP"}}
        ]
    )
    assert error_locs(erp.InvoiceIssued, data) == ["instalments"]


def test_instalment_seq_numbers_are_unique() -> None:
    data = invoice_data(
        instalments=[
            {"seq": 1, "due_on": "2024-04-04", "amount": eur("400.00")},
            {"seq": 1, "due_on": "2024-05-04", "amount": eur("600.00")},
        ]
    )
    assert error_locs(erp.InvoiceIssued, data) == ["instalments"]


def test_agreed_interest_needs_a_rate_and_statutory_has_none() -> None:
    terms = {"jurisdiction": "CN", "late_interest": "agreed", "retention_of_title": False}
    assert error_locs(erp.ContractTerms, terms) == ["agreed_annual_rate"]
    assert erp.ContractTerms.model_validate({**terms, "agreed_annual_rate": "9.5"})
    statutory = {**terms, "late_interest": "statutory", "agreed_annual_rate": "9.5"}
    assert error_locs(erp.ContractTerms, statutory) == ["agreed_annual_rate"]
    assert error_locs(erp.ContractTerms, {**terms, "agreed_annual_rate": 9.5}) == [
        "agreed_annual_rate"
    ]


def test_contract_terms_carry_optional_facts_for_the_late_payment_rules() -> None:
    # China's SME Payment Regulations 2025 art. 17 need the signing date and both parties' kinds;
    # absent means unknown (None), and JSON booleans only.
    terms = {"jurisdiction": "CN", "late_interest": "statutory", "retention_of_title": False}
    plain = erp.ContractTerms.model_validate(terms)
    assert (plain.signed_on, plain.creditor_is_sme, plain.debtor_is_large_or_public) == (
        None,
        None,
        None,
    )
    full = erp.ContractTerms.model_validate_json(
        '{"jurisdiction": "CN", "late_interest": "statutory", "retention_of_title": false,'
        ' "signed_on": "2024-11-01", "creditor_is_sme": true, "debtor_is_large_or_public": false}'
    )
    assert (full.signed_on, full.creditor_is_sme, full.debtor_is_large_or_public) == (
        date(2024, 11, 1),
        True,
        False,
    )
    assert error_locs(erp.ContractTerms, {**terms, "creditor_is_sme": "yes"}) == ["creditor_is_sme"]
    assert error_locs(erp.ContractTerms, {**terms, "debtor_is_large_or_public": 1}) == [
        "debtor_is_large_or_public"
    ]


def payment(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "payment_id": "PAY-1",
        "buyer_id": "BUY-1",
        "amount": eur("100.00"),
        "received_on": "2024-04-04",
    }
    data.update(overrides)
    return data


def test_payment_must_be_positive() -> None:
    assert error_locs(erp.PaymentReceived, payment(amount=eur("-5.00"))) == ["amount"]
    assert error_locs(erp.PaymentReceived, payment(amount=eur("0.00"))) == ["amount"]


def test_allocations_share_the_payment_currency_and_stay_within_it() -> None:
    too_much = [
        {"invoice_id": "INV-1", "amount": eur("60.00")},
        {"invoice_id": "INV-2", "amount": eur("50.00")},
    ]
    assert error_locs(erp.PaymentReceived, payment(allocations=too_much)) == ["allocations"]
    other_currency = [{"invoice_id": "INV-1", "amount": {"amount": "10.00", "currency": "USD"}}]
    assert error_locs(erp.PaymentReceived, payment(allocations=other_currency)) == ["allocations"]
    partial = erp.PaymentReceived.model_validate(
        payment(allocations=[{"invoice_id": "INV-1", "amount": eur("60.00")}])
    )
    assert partial.allocations[0].amount == Money.of("60.00", "EUR")


def test_credit_note_must_be_positive() -> None:
    data = {
        "credit_note_id": "CN-1",
        "invoice_id": "INV-1",
        "buyer_id": "BUY-1",
        "amount": eur("0.00"),
        "issued_on": "2024-04-18",
    }
    assert error_locs(erp.CreditNoteIssued, data) == ["amount"]


def test_a_rejected_dispute_has_no_credit_note() -> None:
    data = {
        "dispute_id": "D-1",
        "invoice_id": "INV-1",
        "buyer_id": "BUY-1",
        "outcome": "rejected",
        "credit_note_id": "CN-1",
        "resolved_on": "2024-04-18",
    }
    assert error_locs(erp.DisputeResolved, data) == ["credit_note_id"]


@pytest.mark.parametrize(
    ("days", "bucket"), [(1, "1-30"), (30, "1-30"), (31, "31-60"), (61, "61-90"), (91, "90+")]
)
def test_overdue_bucket_boundaries(days: int, bucket: str) -> None:
    assert ledger.overdue_bucket(days) == bucket


def test_payment_overdue_is_consistent_with_its_dates() -> None:
    data = {
        "invoice_id": "INV-1",
        "buyer_id": "BUY-1",
        "due_on": "2024-05-04",
        "outstanding": eur("10.00"),
        "days_overdue": 2,
        "bucket": "31-60",
        "as_of": "2024-05-06",
    }
    assert error_locs(ledger.PaymentOverdue, data) == ["bucket"]
    assert error_locs(ledger.PaymentOverdue, {**data, "bucket": "1-30", "as_of": "2024-05-07"}) == [
        "as_of"
    ]
    assert ledger.PaymentOverdue.model_validate({**data, "bucket": "1-30"}).days_overdue == 2


def test_credit_decisions_that_refuse_say_why() -> None:
    data = {
        "decision_id": "CD-1",
        "request_id": "R-1",
        "buyer_id": "BUY-1",
        "requested": eur("100.00"),
        "decision": "declined",
        "exposure_before": eur("0.00"),
        "exposure_after": eur("100.00"),
        "policy_version": "credit-1",
        "decided_on": "2024-06-10",
    }
    assert error_locs(credit.CreditDecisionMade, data) == ["reasons"]
    assert credit.CreditDecisionMade.model_validate({**data, "decision": "approved"})


def test_a_downgrade_goes_to_a_worse_grade() -> None:
    data = {
        "buyer_id": "BUY-1",
        "from_grade": 6,
        "to_grade": 4,
        "reasons": ["better"],
        "policy_version": "risk-1",
        "downgraded_on": "2024-06-03",
    }
    assert error_locs(risk.BuyerDowngraded, data) == ["to_grade"]
    assert error_locs(risk.BuyerDowngraded, {**data, "to_grade": 11}) == ["to_grade"]


def test_dunning_level_uses_named_levels_and_one_currency() -> None:
    data = {
        "invoice_id": "INV-1",
        "buyer_id": "BUY-1",
        "level": "formal_notice",
        "action": "legal_letter",
        "letter_id": "L-1",
        "claimed_principal": eur("1000.00"),
        "late_interest": {"amount": "12.00", "currency": "GBP"},
        "fixed_compensation": eur("40.00"),
        "days_overdue": 30,
        "policy_version": "dunning-1",
        "reached_on": "2024-06-03",
    }
    assert error_locs(dunning.DunningLevelReached, data) == ["late_interest"]
    assert error_locs(dunning.DunningLevelReached, {**data, "level": 2}) == [
        "level",
        "late_interest",
    ]
    assert dunning.DUNNING_LEVELS == ("first_overdue_notice", "formal_notice", "agency_handover")


def test_agency_reporting_a_collection_gives_the_amount() -> None:
    data = {
        "case_id": "C-1",
        "buyer_id": "BUY-1",
        "agency_id": "A-1",
        "status": "payment_collected",
        "updated_on": "2024-06-21",
    }
    assert error_locs(dunning.AgencyCaseUpdated, data) == ["collected"]
    assert dunning.AgencyCaseUpdated.model_validate({**data, "collected": eur("5.00")})


def test_collection_case_invoices_are_distinct_and_present() -> None:
    data = {
        "case_id": "C-1",
        "buyer_id": "BUY-1",
        "invoice_ids": ["INV-1", "INV-1"],
        "amount": eur("5.00"),
        "policy_version": "dunning-1",
        "opened_on": "2024-06-18",
    }
    assert error_locs(dunning.CollectionCaseOpened, data) == ["invoice_ids"]
    assert error_locs(dunning.CollectionCaseOpened, {**data, "invoice_ids": []}) == ["invoice_ids"]


def test_claimed_indemnity_stays_within_the_formula() -> None:
    data = {
        "claim_id": "CL-1",
        "insurance_policy_id": "P-1",
        "buyer_id": "BUY-1",
        "ground": "insolvency",
        "invoice_ids": ["INV-1"],
        "insured_outstanding": eur("1000.00"),
        "cover": eur("800.00"),
        "indemnity_percentage": "90",
        "claimed_indemnity": eur("720.01"),
        "policy_version": "ins-1",
        "filed_on": "2024-09-17",
    }
    assert error_locs(insurance.ClaimFiled, data) == ["claimed_indemnity"]
    assert insurance.ClaimFiled.model_validate({**data, "claimed_indemnity": eur("720.00")})


def test_recovery_shares_add_up() -> None:
    data = {
        "recovery_id": "R-1",
        "insurance_policy_id": "P-1",
        "buyer_id": "BUY-1",
        "recovered": eur("100.00"),
        "method": "pro_rata",
        "to_insured": eur("10.00"),
        "to_insurer": eur("80.00"),
        "allocated_on": "2025-02-10",
    }
    assert error_locs(insurance.RecoveryAllocated, data) == ["to_insurer"]


def test_payloads_are_frozen() -> None:
    invoice = erp.InvoiceIssued.model_validate(invoice_data())
    with pytest.raises(ValidationError):
        invoice.invoice_id = "other"  # type: ignore[misc]
    assert hash(invoice) == hash(erp.InvoiceIssued.model_validate(invoice_data()))


def test_an_id_list_names_each_id_once() -> None:
    data = {
        "notification_id": "N-1",
        "insurance_policy_id": "POL-1",
        "buyer_id": "BUY-1",
        "invoice_ids": ["INV-2", "INV-1", "INV-2", "INV-3", "INV-1"],
        "overdue_amount": eur("100.00"),
        "oldest_due_on": "2024-01-01",
        "deadline_on": "2024-03-16",
        "notified_on": "2024-03-01",
    }
    with pytest.raises(ValidationError, match="repeated: INV-1, INV-2"):
        insurance.OverdueNotifiedToInsurer.model_validate(data)
    distinct = {**data, "invoice_ids": ["INV-2", "INV-1", "INV-3"]}
    notified = insurance.OverdueNotifiedToInsurer.model_validate(distinct)
    assert notified.invoice_ids == ("INV-2", "INV-1", "INV-3")
