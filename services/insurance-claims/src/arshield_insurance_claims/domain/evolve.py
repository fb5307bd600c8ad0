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
from arshield_insurance_claims.domain.state import BuyerInsurance


def evolve(state: BuyerInsurance, event: DomainEvent) -> BuyerInsurance:
    match event:
        case InvoiceChanged(invoice=invoice):
            return state.model_copy(
                update={"invoices": {**state.invoices, invoice.invoice_id: invoice}}
            )
        case InsolvencyNoted(insolvent_on=on):
            return state.model_copy(update={"insolvent_on": on})
        case InsolvencyLearned(learned_on=on):
            return state.model_copy(update={"insolvency_learned_on": on})
        case EvidenceNoted(evidence=evidence):
            return state.model_copy(update={"evidence": (*state.evidence, evidence)})
        case HandoverNoted(on=on):
            return state.model_copy(update={"handed_over_on": state.handed_over_on or on})
        case PolicyApplied(policy=policy):
            return state.model_copy(update={"policy": policy})
        case PolicyForgotten():
            return state.model_copy(update={"policy": None})
        case LimitRequested(request=request):
            return state.model_copy(update={"requests": (*state.requests, request)})
        case CoverRecorded(record=record):
            requests = tuple(
                r.model_copy(update={"decision_id": record.decision_id})
                if r.request_id == record.request_id
                else r
                for r in state.requests
            )
            return state.model_copy(
                update={"covers": (*state.covers, record), "requests": requests}
            )
        case StopSupplyRequired(stop=stop):
            return state.model_copy(update={"stop_supply": stop})
        case OverdueNotified(notification=notification, forfeited=forfeited):
            invoices = {
                key: (i.model_copy(update={"forfeited": True}) if key in forfeited else i)
                for key, i in state.invoices.items()
            }
            return state.model_copy(
                update={
                    "notifications": (*state.notifications, notification),
                    "invoices": invoices,
                }
            )
        case DeadlineMissed(missed=missed):
            return state.model_copy(update={"missed": (*state.missed, missed)})
        case ClaimFiled(claim=claim):
            return state.model_copy(update={"claim": claim})
        case ClaimNotFiled(reason=reason):
            return state.model_copy(update={"claim_skipped": reason})
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
            return state.model_copy(update={"claim": claim})
        case RecoveryAllocated(recovery=recovery):
            return state.model_copy(update={"recoveries": (*state.recoveries, recovery)})
    raise TypeError(f"unknown event {event!r}")
