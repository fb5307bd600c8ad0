"""Read views computed from a buyer's state under its policy (what is insured and why, exposure,
cover as of a date as known on another) and the recourse statement of a claim."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from arshield_insurance_claims.application import use_cases
from arshield_insurance_claims.application.ports import Ports
from arshield_insurance_claims.application.wiring import InsuranceKernel
from arshield_insurance_claims.domain.cover import assess, cover_in_force
from arshield_insurance_claims.domain.policy import InsurancePolicy
from arshield_insurance_claims.domain.state import BuyerInsurance
from arshield_runtime.kernel import Session


async def _buyer(
    session: Session, kernel: InsuranceKernel, ports: Ports, tenant_id: str, buyer_id: str
) -> tuple[BuyerInsurance, InsurancePolicy | None]:
    state = await use_cases.buyer_state(session, kernel, tenant_id, buyer_id)
    policy_id = state.policy_id
    policy = None
    if policy_id is not None:
        policy = (await ports.policies.policies_in_force(session, tenant_id)).get(policy_id)
    return state, policy


async def cover(
    session: Session,
    kernel: InsuranceKernel,
    ports: Ports,
    tenant_id: str,
    buyer_id: str,
    *,
    on: date | None,
    known_on: date | None,
) -> dict[str, Any] | None:
    state, _ = await _buyer(session, kernel, ports, tenant_id, buyer_id)
    if state.policy_id is None:
        return None
    today = await use_cases.business_date(session, kernel, tenant_id)
    on = on or today
    record = cover_in_force(state.covers, on, known_on)
    return {
        "buyer_id": buyer_id,
        "policy_id": state.policy_id,
        "on": on,
        "known_on": known_on,
        "in_force": None if record is None else record.model_dump(mode="json"),
        "history": await ports.queries.cover_history(session, tenant_id, buyer_id),
        "limit_requests": await ports.queries.limit_requests(session, tenant_id, buyer_id),
    }


async def exposure(
    session: Session, kernel: InsuranceKernel, ports: Ports, tenant_id: str, buyer_id: str
) -> dict[str, Any]:
    state, policy = await _buyer(session, kernel, ports, tenant_id, buyer_id)
    assessed = assess(state, policy)
    outstanding = sum((a.outstanding for a in assessed if a.outstanding > 0), Decimal(0))
    insured = sum((a.insured_amount for a in assessed), Decimal(0))
    disputed = sum((a.disputed for a in assessed if a.outstanding > 0), Decimal(0))
    return {
        "buyer_id": buyer_id,
        "policy_id": state.policy_id,
        "currency": None if policy is None else policy.currency,
        "outstanding": outstanding,
        "insured": insured,
        "uninsured": outstanding - insured,
        "disputed": disputed,
        "stop_supply_on": state.stop_supply.required_on if state.stop_supply else None,
        "invoices": [
            {
                "invoice_id": a.invoice_id,
                "outstanding": a.outstanding,
                "insured": a.insured,
                "reasons": list(a.reasons),
                "cover_on_delivery": a.cover_on_delivery,
                "disputed_amount": a.disputed,
                "insured_amount": a.insured_amount,
                "uninsured_amount": a.outstanding - a.insured_amount,
            }
            for a in assessed
            if a.outstanding > 0
        ],
    }


async def recourse_statement(
    session: Session, ports: Ports, tenant_id: str, claim_id: str
) -> dict[str, Any] | None:
    """What the insurer paid, what was recovered after the date of loss and how it was shared,
    and what the insured owes the insurer (its share of recoveries)."""
    claim = await ports.queries.claim(session, tenant_id, claim_id)
    if claim is None:
        return None
    recoveries = await ports.queries.recovered_for_claim(session, tenant_id, claim_id)
    after_loss = [r for r in recoveries if r["method"] == "pro_rata"]
    to_insurer = sum((r["to_insurer"] for r in after_loss), Decimal(0))
    to_insured = sum((r["to_insured"] for r in after_loss), Decimal(0))
    return {
        "claim_id": claim_id,
        "buyer_id": claim["buyer_id"],
        "currency": claim["currency"],
        "status": claim["status"],
        "date_of_loss": claim["date_of_loss"],
        "total_outstanding_at_loss": claim["total_outstanding"],
        "indemnity_claimed": claim["claimed_indemnity"],
        "indemnity_paid": claim["indemnity_paid"],
        "recovered_after_loss": to_insurer + to_insured,
        "recovered_to_insurer": to_insurer,
        "recovered_to_insured": to_insured,
        "owed_to_insurer": to_insurer,
        "recoveries": recoveries,
    }
