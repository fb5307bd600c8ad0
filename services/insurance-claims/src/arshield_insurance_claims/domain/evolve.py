"""A buyer's insured side after one of its events (pure)."""

from __future__ import annotations

from arshield_insurance_claims.domain.events import (
    ClaimFiled,
    ClaimNotFiled,
    ClaimSettled,
    CoverRecorded,
    DeadlineMissed,
    DomainEvent,
    EvidenceNoted,
    HandoverNoted,
    InsolvencyLearned,
    InsolvencyNoted,
    InvoiceChanged,
    LimitRequested,
    OverdueNotified,
    PolicyApplied,
    PolicyForgotten,
    RecoveryAllocated,
    StopSupplyRequired,
)
from arshield_insurance_claims.domain.state import BuyerInsurance, replaced


def evolve(state: BuyerInsurance, event: DomainEvent) -> BuyerInsurance:
    match event:
        case InvoiceChanged(invoice=invoice):
            return replaced(state, {"invoices": {**state.invoices, invoice.invoice_id: invoice}})
        case InsolvencyNoted(insolvent_on=on):
            return replaced(state, {"insolvent_on": on})
        case InsolvencyLearned(learned_on=on):
            return replaced(state, {"insolvency_learned_on": on})
        case EvidenceNoted(evidence=evidence):
            return replaced(state, {"evidence": (*state.evidence, evidence)})
        case HandoverNoted(on=on):
            return replaced(state, {"handed_over_on": state.handed_over_on or on})
        case PolicyApplied(policy=policy):
            return replaced(state, {"policy": policy})
        case PolicyForgotten():
            return replaced(state, {"policy": None})
        case LimitRequested(request=request):
            return replaced(state, {"requests": (*state.requests, request)})
        case CoverRecorded(record=record):
            requests = tuple(
                r.model_copy(update={"decision_id": record.decision_id})
                if r.request_id == record.request_id
                else r
                for r in state.requests
            )
            return replaced(state, {"covers": (*state.covers, record), "requests": requests})
        case StopSupplyRequired(stop=stop):
            return replaced(state, {"stop_supply": stop})
        case OverdueNotified(notification=notification, forfeited=forfeited):
            invoices = {
                key: (i.model_copy(update={"forfeited": True}) if key in forfeited else i)
                for key, i in state.invoices.items()
            }
            return replaced(
                state,
                {
                    "notifications": (*state.notifications, notification),
                    "invoices": invoices,
                },
            )
        case DeadlineMissed(missed=missed):
            return replaced(state, {"missed": (*state.missed, missed)})
        case ClaimFiled(claim=claim):
            return replaced(state, {"claim": claim})
        case ClaimNotFiled(reason=reason):
            return replaced(state, {"claim_skipped": reason})
        case ClaimSettled():
            assert state.claim is not None
            claim = state.claim.model_copy(
                update={
                    "status": event.outcome,
                    "indemnity_paid": event.indemnity_paid,
                    "reason": event.reason,
                    "settled_on": event.settled_on,
                }
            )
            return replaced(state, {"claim": claim})
        case RecoveryAllocated(recovery=recovery):
            return replaced(state, {"recoveries": (*state.recoveries, recovery)})
    raise TypeError(f"unknown event {event!r}")
