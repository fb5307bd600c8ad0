"""The one mapping from the service's private events to the public `arshield.insurance` events,
and the bodies of the webhooks the insurer receives (the same public payloads)."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from arshield_events import insurance as public
from arshield_events.envelope import Payload
from arshield_events.money import Money
from arshield_insurance_claims.domain import events as domain
from arshield_insurance_claims.domain.state import BuyerInsurance
from arshield_runtime.kernel import Change, Emit

InsuranceChange = Change[BuyerInsurance, domain.DomainEvent]


def money(amount: Decimal, currency: str) -> Money:
    return _money(str(amount), currency)


@functools.lru_cache(maxsize=4096)
def _money(amount: str, currency: str) -> Money:
    """Money is frozen and a book repeats its amounts (a tick maps thousands of them): each is
    checked once. Keyed by the amount's exact text, so `3000` and `3000.00` stay apart."""
    return Money(amount=Decimal(amount), currency=currency)


def _change_kind(previous: Decimal | None, cover: Decimal) -> public.CoverChange:
    if cover == 0:
        return "withdrawn"
    if previous is None or previous == 0:
        return "granted"
    return "reduced" if cover < previous else "increased"


def payload(state: BuyerInsurance, event: domain.DomainEvent) -> tuple[Payload, str] | None:
    """The public payload of a private event and the purpose that makes its id unique."""
    buyer = state.buyer_id
    match event:
        case domain.LimitRequested(request=r, requested_by=by):
            return (
                public.CoverLimitRequested(
                    request_id=r.request_id,
                    insurance_policy_id=r.policy_id,
                    buyer_id=buyer,
                    requested=money(r.amount, r.currency),
                    requested_on=r.requested_on,
                    requested_by=by,
                ),
                f"limit-request:{r.request_id}",
            )
        case domain.CoverRecorded(record=c, previous=previous):
            return (
                public.CoverChanged(
                    insurance_policy_id=c.policy_id,
                    buyer_id=buyer,
                    change=_change_kind(previous, c.amount),
                    decided_by=c.decided_by,
                    previous_cover=None if previous is None else money(previous, c.currency),
                    cover=money(c.amount, c.currency),
                    notified_on=c.notified_on,
                    effective_on=c.effective_on,
                    decision_id=c.decision_id,
                    decision=c.decision,
                    request_id=c.request_id,
                ),
                f"cover:{c.decision_id}",
            )
        case domain.StopSupplyRequired(stop=s, policy_ref=ref, policy_id=policy_id):
            return (
                public.StopSupplyRequired(
                    insurance_policy_id=policy_id,
                    buyer_id=buyer,
                    reason=s.reason,
                    oldest_unpaid_invoice_id=s.invoice_id,
                    policy_version=ref,
                    required_on=s.required_on,
                ),
                f"stop-supply:{s.required_on}",
            )
        case domain.OverdueNotified(notification=n):
            return (
                public.OverdueNotifiedToInsurer(
                    notification_id=n.notification_id,
                    insurance_policy_id=n.policy_id,
                    buyer_id=buyer,
                    invoice_ids=n.invoice_ids,
                    overdue_amount=money(n.amount, n.currency),
                    oldest_due_on=n.oldest_due_on,
                    deadline_on=n.deadline_on,
                    notified_on=n.notified_on,
                ),
                f"notification:{n.notification_id}",
            )
        case domain.DeadlineMissed(missed=m, policy_ref=ref):
            return (
                public.DeadlineMissed(
                    insurance_policy_id=m.policy_id,
                    buyer_id=buyer,
                    deadline=m.kind,
                    due_on=m.due_on,
                    missed_on=m.missed_on,
                    invoice_ids=m.invoice_ids,
                    oldest_due_on=m.oldest_due_on,
                    consequence=m.consequence,
                    policy_version=ref,
                ),
                f"deadline-missed:{m.kind}:{m.due_on}",
            )
        case domain.ClaimFiled(claim=c):
            return (
                public.ClaimFiled(
                    claim_id=c.claim_id,
                    insurance_policy_id=c.policy_id,
                    buyer_id=buyer,
                    ground=c.ground,
                    invoice_ids=c.invoice_ids,
                    insured_outstanding=money(c.insured_outstanding, c.currency),
                    cover=money(c.cover, c.currency),
                    indemnity_percentage=c.indemnity_percentage,
                    claimed_indemnity=money(c.claimed_indemnity, c.currency),
                    evidence_refs=tuple(dict.fromkeys(e.ref for e in c.evidence)),
                    policy_version=c.policy_version,
                    filed_on=c.filed_on,
                    date_of_loss=c.date_of_loss,
                ),
                f"claim:{c.claim_id}",
            )
        case domain.ClaimSettled():
            claim = state.claim
            assert claim is not None
            return (
                public.ClaimSettled(
                    claim_id=event.claim_id,
                    insurance_policy_id=claim.policy_id,
                    buyer_id=buyer,
                    outcome=event.outcome,
                    indemnity_paid=money(event.indemnity_paid, claim.currency),
                    reason=event.reason,
                    settled_on=event.settled_on,
                ),
                f"claim-settled:{event.claim_id}",
            )
        case domain.RecoveryAllocated(recovery=r, policy_id=policy_id):
            return (
                public.RecoveryAllocated(
                    recovery_id=r.recovery_id,
                    insurance_policy_id=policy_id,
                    claim_id=r.claim_id,
                    buyer_id=buyer,
                    recovered=money(r.amount, r.currency),
                    method=r.method,
                    to_insured=money(r.to_insured, r.currency),
                    to_insurer=money(r.to_insurer, r.currency),
                    allocated_on=r.received_on,
                ),
                f"recovery:{r.recovery_id}",
            )
    return None


def publish(change: InsuranceChange) -> Iterator[Emit]:
    for event in change.events:
        found = payload(change.after, event)
        if found is not None:
            yield Emit(found[0], purpose=found[1])


WEBHOOK_TYPES: dict[type[Any], str] = {
    domain.LimitRequested: "insurance.limit_requested",
    domain.StopSupplyRequired: "insurance.stop_supply_confirmed",
    domain.OverdueNotified: "insurance.overdue_notified",
    domain.ClaimFiled: "insurance.claim_filed",
}
"""What the insurer receives: limit requests, stop-supply confirmations, overdue notifications
and claims with their evidence pack."""


def webhook_body(state: BuyerInsurance, event: domain.DomainEvent) -> tuple[str, str] | None:
    """(event type, JSON body) of the webhook a private event sends the insurer, if any."""
    kind = WEBHOOK_TYPES.get(type(event))
    found = payload(state, event)
    if kind is None or found is None:
        return None
    data: dict[str, Any] = found[0].model_dump(mode="json")
    if isinstance(event, domain.ClaimFiled):
        data["evidence"] = [e.model_dump(mode="json") for e in event.claim.evidence]
        data["date_of_loss"] = event.claim.date_of_loss.isoformat()
    body = {"type": kind, "tenant_id": state.tenant_id, "data": data}
    return kind, json.dumps(body, separators=(",", ":"), sort_keys=True)
