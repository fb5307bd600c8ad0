"""The deadline engine: what a business day decides for a buyer, when the buyer next needs a day,
and the worklist of its deadlines.

For protracted default every deadline runs from the original due date of the oldest unpaid
insured invoice (DOMAIN.md): the maximum extension period (MEP) expires N days after it, and
then supplies must stop (`StopSupplyRequired`) and the overdue is notified to the insurer (due
by MEP expiry + 15 days; a notification after its deadline forfeits the cover on the invoices it
names); collection is handed over within 30 days of MEP expiry; the claim falls due at the end of
the waiting period (the later of 180 days after the due date and 90 days after MEP expiry). On an
insolvency the notification is due within 7 days of learning of it and the claim is filed at
once, the date of loss being the insolvency date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from arshield_insurance_claims.domain.claims import derived_id, file_claim
from arshield_insurance_claims.domain.commands import StartBusinessDay
from arshield_insurance_claims.domain.cover import cover_in_force, insured_invoice_ids
from arshield_insurance_claims.domain.events import (
    DeadlineMissed,
    DomainEvent,
    InsolvencyLearned,
    OverdueNotified,
    PolicyApplied,
    StopSupplyRequired,
)
from arshield_insurance_claims.domain.evolve import evolve
from arshield_insurance_claims.domain.policy import InsurancePolicy
from arshield_insurance_claims.domain.state import (
    BuyerInsurance,
    CoverRecord,
    Invoice,
    MissedDeadline,
    Notification,
    NotificationGround,
    StopReason,
    StopSupply,
)

EARLIEST = date(1900, 1, 1)
"""A wake-up date every business day has reached: the buyer is due at the next tick."""


def oldest_unpaid_insured(
    state: BuyerInsurance, policy: InsurancePolicy, day: date
) -> Invoice | None:
    """The oldest open invoice past due on `day` that is insured (a forfeiture by a late
    notification does not move the deadlines on to the next invoice)."""
    insured = insured_invoice_ids(state, policy, ignore_forfeiture=True)
    for invoice in state.open_invoices():
        if invoice.invoice_id in insured and invoice.due_on < day:
            return invoice
    return None


def business_day(state: BuyerInsurance, command: StartBusinessDay) -> list[DomainEvent]:
    return [event for event, _ in business_day_steps(state, command)]


def business_day_steps(
    state: BuyerInsurance, command: StartBusinessDay
) -> list[tuple[DomainEvent, BuyerInsurance]]:
    """What the day decides, each event with the state it leaves (the engine evolves as it
    decides: a stop-supply or a notification changes what is insured for the claim after it)."""
    day, policy = command.on, command.policy
    out: list[tuple[DomainEvent, BuyerInsurance]] = []

    def take(event: DomainEvent) -> None:
        nonlocal state
        state = evolve(state, event)
        out.append((event, state))

    if state.policy is not policy and state.policy != policy:
        take(PolicyApplied(policy))
    if state.claim is not None or state.claim_skipped is not None:
        return out
    left = None if command.budget is None else command.budget.left(policy.policy_id)
    if state.insolvent_on is not None:
        learned = state.insolvency_learned_on or day
        if state.insolvency_learned_on is None:
            take(InsolvencyLearned(day))
        if state.stop_supply is None:
            take(_stop(state, policy, day, "insolvency", None))
        if not any(n.ground == "insolvency" for n in state.notifications):
            notified = _notify(
                state, policy, day, "insolvency", policy.insolvency_deadline(learned)
            )
            if notified is not None:
                take(notified)
        take(
            file_claim(
                state,
                policy,
                ground="insolvency",
                date_of_loss=state.insolvent_on,
                on=day,
                aggregate_left=left,
            )
        )
        return out
    withdrawn = _withdrawal_in_force(state, day)
    if withdrawn is not None and state.stop_supply is None:
        take(_stop(state, policy, day, "cover_withdrawn", None))
    oldest = oldest_unpaid_insured(state, policy, day)
    if oldest is None:
        return out
    mep = policy.mep_expiry(oldest.due_on)
    if day >= mep:
        if state.stop_supply is None:
            take(_stop(state, policy, day, "maximum_extension_period_expired", oldest.invoice_id))
        if not any(oldest.invoice_id in n.invoice_ids for n in state.notifications):
            deadline = policy.notification_deadline(oldest.due_on)
            notified = _notify(state, policy, day, "overdue", deadline)
            if notified is not None:
                take(notified)
    handover = policy.handover_deadline(oldest.due_on)
    if day > handover and not _handed_over_by(state, handover) and not _missed(state, handover):
        take(_missed_handover(state, policy, day, handover, oldest))
    end = policy.waiting_period_end(oldest.due_on)
    if day >= end:
        take(
            file_claim(
                state,
                policy,
                ground="protracted_default",
                date_of_loss=end,
                on=day,
                aggregate_left=left,
            )
        )
    return out


def _handed_over_by(state: BuyerInsurance, deadline: date) -> bool:
    """A collection case was handed to the agency (dunning's `CaseHandedToAgency`) in time."""
    return state.handed_over_on is not None and state.handed_over_on <= deadline


def _missed(state: BuyerInsurance, deadline: date) -> bool:
    return any(m.kind == "collection_handover" and m.due_on == deadline for m in state.missed)


def _missed_handover(
    state: BuyerInsurance, policy: InsurancePolicy, day: date, deadline: date, oldest: Invoice
) -> DeadlineMissed:
    """The hand-over deadline passed without a case: the insurer may refuse the claim on the
    invoices that were past due by then."""
    invoices = tuple(i.invoice_id for i in state.open_invoices() if i.due_on < deadline)
    missed = MissedDeadline(
        kind="collection_handover",
        due_on=deadline,
        missed_on=day,
        invoice_ids=invoices,
        oldest_due_on=oldest.due_on,
        consequence="claim_may_be_refused",
        policy_id=policy.policy_id,
    )
    return DeadlineMissed(missed, policy.ref)


def _withdrawal_in_force(state: BuyerInsurance, day: date) -> CoverRecord | None:
    """The insurer's withdrawal of cover, once in force (supplies must then stop)."""
    record = cover_in_force(state.covers, day)
    if record is not None and record.decided_by == "insurer" and record.decision == "withdrawn":
        return record
    return None


def _stop(
    state: BuyerInsurance,
    policy: InsurancePolicy,
    day: date,
    reason: StopReason,
    invoice_id: str | None,
) -> StopSupplyRequired:
    stop = StopSupply(required_on=day, reason=reason, invoice_id=invoice_id)
    return StopSupplyRequired(
        stop=stop, policy_ref=policy.ref, policy_id=policy.policy_id, insurer_id=policy.insurer_id
    )


def _notify(
    state: BuyerInsurance,
    policy: InsurancePolicy,
    day: date,
    ground: NotificationGround,
    deadline: date,
) -> OverdueNotified | None:
    """Notify every open invoice past due (disputed ones too: the insurer must hear of them)."""
    due = [i for i in state.open_invoices() if i.due_on < day or ground == "insolvency"]
    if not due:
        return None
    notification = Notification(
        notification_id=derived_id(
            "ntf", state.tenant_id, state.buyer_id, ground, due[0].invoice_id
        ),
        ground=ground,
        invoice_ids=tuple(i.invoice_id for i in due),
        amount=sum((i.outstanding for i in due), Decimal(0)),
        currency=due[0].currency,
        oldest_due_on=due[0].due_on,
        deadline_on=deadline,
        notified_on=day,
        policy_id=policy.policy_id,
    )
    forfeited: tuple[str, ...] = ()
    if not notification.in_time:
        insured = insured_invoice_ids(state, policy)
        forfeited = tuple(i for i in notification.invoice_ids if i in insured)
    return OverdueNotified(notification, forfeited, policy.insurer_id)


def wake_on(state: BuyerInsurance) -> date | None:
    """The next business date the buyer needs, planned under the policy its last day was decided
    under: at once after an insolvency or when no policy was applied yet (a new buyer, a policy
    rewritten: `ForgetPolicy`); else the next deadline of its oldest unpaid insured invoice (MEP
    expiry until supplies are stopped and the overdue notified, the day after the collection
    hand-over deadline unless a case was handed over by then, the end of the waiting period).
    Nothing once a claim is filed or refused, or without cover."""
    if state.policy_id is None or state.claim is not None or state.claim_skipped is not None:
        return None
    if state.insolvent_on is not None:
        return EARLIEST
    open_ = state.open_invoices()
    if not open_:
        return None
    policy = state.policy
    if policy is None or policy.policy_id != state.policy_id:
        return EARLIEST
    planned: list[date] = []
    if state.stop_supply is None:
        planned += [
            c.effective_on
            for c in state.covers
            if c.decided_by == "insurer" and c.decision == "withdrawn"
        ]
    insured = insured_invoice_ids(state, policy, ignore_forfeiture=True)
    oldest = next((i for i in open_ if i.invoice_id in insured), None)
    if oldest is not None:
        notified = any(oldest.invoice_id in n.invoice_ids for n in state.notifications)
        # the engine acts on an invoice from the day after its due date
        after_due = oldest.due_on + timedelta(days=1)
        planned.append(max(policy.waiting_period_end(oldest.due_on), after_due))
        if state.stop_supply is None or not notified:
            planned.append(max(policy.mep_expiry(oldest.due_on), after_due))
        handover = policy.handover_deadline(oldest.due_on)
        if not _handed_over_by(state, handover) and not _missed(state, handover):
            # the first day the hand-over deadline has passed
            planned.append(max(handover + timedelta(days=1), after_due))
    return min(planned) if planned else None


@dataclass(frozen=True)
class Deadline:
    """One deadline on the credit controller's worklist: met on `done_on` (None: not yet)."""

    kind: str
    due_on: date
    invoice_id: str | None
    done_on: date | None
    missed_on: date | None = None
    """The business day the deadline was found missed (`DeadlineMissed`)."""
    consequence: str | None = None

    def status(self, today: date) -> str:
        """`done` (in time), `late` (met after its date), `missed` (passed) or `upcoming`."""
        if self.done_on is not None:
            return "done" if self.done_on <= self.due_on else "late"
        return "missed" if today > self.due_on else "upcoming"


def deadlines(state: BuyerInsurance, policy: InsurancePolicy | None) -> list[Deadline]:
    """The buyer's deadlines under `policy`, earliest first: those of an insolvency, else those
    running from its oldest unpaid insured invoice."""
    if policy is None:
        return []
    out: list[Deadline] = []
    if state.insolvent_on is not None:
        if state.insolvency_learned_on is not None:
            notice = next((n for n in state.notifications if n.ground == "insolvency"), None)
            out.append(
                Deadline(
                    "insolvency_notification",
                    policy.insolvency_deadline(state.insolvency_learned_on),
                    None,
                    notice.notified_on if notice else None,
                )
            )
        return out
    insured = insured_invoice_ids(state, policy, ignore_forfeiture=True)
    oldest = next((i for i in state.open_invoices() if i.invoice_id in insured), None)
    if oldest is None:
        return out
    due = oldest.due_on
    notice = next((n for n in state.notifications if oldest.invoice_id in n.invoice_ids), None)
    handover = policy.handover_deadline(due)
    missed = next(
        (m for m in state.missed if m.kind == "collection_handover" and m.due_on == handover), None
    )
    stop = state.stop_supply
    claim = state.claim
    out += [
        Deadline(
            "stop_supply",
            policy.mep_expiry(due),
            oldest.invoice_id,
            stop.required_on if stop else None,
        ),
        Deadline(
            "overdue_notification",
            policy.notification_deadline(due),
            oldest.invoice_id,
            notice.notified_on if notice else None,
        ),
        Deadline(
            "collection_handover",
            handover,
            oldest.invoice_id,
            state.handed_over_on,
            missed.missed_on if missed else None,
            missed.consequence if missed else None,
        ),
        Deadline(
            "claim",
            policy.waiting_period_end(due),
            oldest.invoice_id,
            claim.filed_on if claim else None,
        ),
    ]
    return sorted(out, key=lambda d: (d.due_on, d.kind))
