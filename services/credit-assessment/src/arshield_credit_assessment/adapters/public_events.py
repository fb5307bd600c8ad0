"""The one place credit-assessment's domain events become public `arshield.credit` events (and
public events of its own topic become domain values again, when read back from the log); the
application reaches it through `application.ports.PublicEvents`."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from arshield_credit_assessment.domain import events as e
from arshield_credit_assessment.domain.events import Decision
from arshield_credit_assessment.domain.policy import Band, CreditPolicy
from arshield_credit_assessment.domain.review import Finding, Review
from arshield_credit_assessment.domain.state import BuyerCredit
from arshield_events import credit
from arshield_events.money import Money
from arshield_runtime.kernel import Change, Emit


def money(amount: Decimal, currency: str) -> Money:
    return Money(amount=amount, currency=currency)


def decision_event(buyer_id: str, d: Decision) -> credit.CreditDecisionMade:
    return credit.CreditDecisionMade(
        decision_id=d.decision_id,
        request_id=d.request_id,
        buyer_id=buyer_id,
        order_id=d.order_id,
        requested=money(d.requested, d.currency),
        decision=d.decision,
        reasons=d.reasons,
        reason_codes=d.reason_codes,
        credit_limit=None if d.credit_limit is None else money(d.credit_limit, d.currency),
        exposure_before=money(d.exposure_before, d.currency),
        exposure_after=money(d.exposure_after, d.currency),
        policy_version=d.policy_version,
        decided_on=d.decided_on,
        decided_by=d.decided_by,
        referred_decision_id=d.referred_decision_id,
    )


def decision_of(event: credit.CreditDecisionMade) -> Decision:
    return Decision(
        decision_id=event.decision_id,
        request_id=event.request_id,
        order_id=event.order_id,
        currency=event.requested.currency,
        requested=event.requested.amount,
        decision=event.decision,
        reason_codes=tuple(event.reason_codes),
        reasons=tuple(event.reasons),
        credit_limit=None if event.credit_limit is None else event.credit_limit.amount,
        exposure_before=event.exposure_before.amount,
        exposure_after=event.exposure_after.amount,
        policy_version=event.policy_version,
        decided_on=event.decided_on,
        decided_by=event.decided_by,
        referred_decision_id=event.referred_decision_id,
    )


def review_event(
    buyer_id: str, review_id: str, subject: str, review: Review, policy_version: str, on: object
) -> credit.ContractReviewed:
    return credit.ContractReviewed(
        review_id=review_id,
        buyer_id=buyer_id,
        subject=subject,
        jurisdiction=review.jurisdiction,
        compliant=review.compliant,
        findings=tuple(
            credit.ContractFinding(
                rule=f.rule,
                severity=f.severity,
                law=f.law,
                detail=f.detail,
            )
            for f in review.findings
        ),
        policy_version=policy_version,
        reviewed_on=on,
    )


def review_of(event: credit.ContractReviewed) -> Review:
    return Review(
        event.jurisdiction,
        tuple(Finding(f.rule, f.severity, f.law, f.detail) for f in event.findings),
    )


def policy_of_event(event: credit.CreditPolicyPublished) -> CreditPolicy:
    return CreditPolicy(
        version=event.version,
        currency=event.currency,
        bands=tuple(
            Band(
                b.from_grade,
                b.to_grade,
                b.max_terms_days,
                b.security,
                b.secured_above_percent,
                b.capacity_percent_of_equity,
                b.grade_cap,
                b.uninsured_appetite,
                b.review_months,
            )
            for b in event.bands
        ),
        hold_overdue_days=event.hold_overdue_days,
        referral_tolerance_percent=event.referral_tolerance_percent,
        unrated_grade=event.unrated_grade,
        retention_of_title_required=tuple(event.retention_of_title_required),
    )


def publish(change: Change[BuyerCredit, e.Event]) -> Iterator[Emit]:
    buyer_id = change.buyer_id
    for ev in change.events:
        match ev:
            case e.LimitSet(limit=limit, previous=previous, terms_changed=True):
                yield Emit(
                    credit.CreditTermsChanged(
                        buyer_id=buyer_id,
                        previous_payment_terms_days=previous.terms_days if previous else None,
                        payment_terms_days=limit.terms_days,
                        previous_security=previous.security if previous else None,
                        security=limit.security,
                        reason=limit.reason,
                        policy_version=limit.policy_version,
                        effective_on=limit.effective_on,
                    ),
                    purpose=f"terms:{ev.seq}",
                )
        match ev:
            case e.LimitSet(limit=limit, previous=previous, limit_changed=True):
                before = (
                    money(previous.amount, previous.currency)
                    if previous is not None and previous.currency == limit.currency
                    else None
                )
                yield Emit(
                    credit.CreditLimitChanged(
                        buyer_id=buyer_id,
                        previous_limit=before,
                        new_limit=money(limit.amount, limit.currency),
                        payment_terms_days=limit.terms_days,
                        security=limit.security,
                        reason=limit.reason,
                        policy_version=limit.policy_version,
                        effective_on=limit.effective_on,
                    ),
                    purpose=f"limit:{ev.seq}",
                )
            case e.HoldPlaced(hold=hold):
                yield Emit(
                    credit.CreditHoldPlaced(
                        hold_id=hold.hold_id,
                        buyer_id=buyer_id,
                        cause=hold.cause,
                        reason=hold.reason,
                        invoice_ids=hold.invoice_ids,
                        policy_version=hold.policy_version,
                        placed_on=hold.placed_on,
                    ),
                    purpose=f"hold:{hold.hold_id}",
                )
            case e.HoldReleased(hold=hold, released_by=None):
                yield Emit(
                    credit.CreditHoldReleased(
                        hold_id=hold.hold_id,
                        buyer_id=buyer_id,
                        reason=ev.reason,
                        released_on=ev.released_on,
                    ),
                    purpose=f"release:{hold.hold_id}",
                )
            case e.DecisionMade(decision=decision, public=True):
                yield Emit(
                    decision_event(buyer_id, decision), purpose=f"decision:{decision.decision_id}"
                )
            case e.ContractReviewDone(public=True):
                yield Emit(
                    review_event(
                        buyer_id,
                        ev.review_id,
                        ev.subject,
                        ev.review,
                        ev.policy_version,
                        ev.reviewed_on,
                    ),
                    purpose=f"review:{ev.review_id}",
                )
