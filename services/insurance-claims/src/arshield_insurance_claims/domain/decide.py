"""What a command decides for one buyer (pure): facts from the log keep the invoices, evidence and
insolvency; the API records limit requests and discretionary limits; the insurer's callbacks
record its cover decisions and claim outcomes; the business day runs the deadline engine
(`day.py`). A command already applied (the same decision, request or outcome read back from the
log on a rebuild) decides nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from arshield_insurance_claims.domain.claims import share_recovery
from arshield_insurance_claims.domain.commands import (
    ApplyCreditNote,
    CancelInvoice,
    Command,
    ConfirmDelivery,
    ForgetPolicy,
    InsuranceError,
    NoteBalance,
    NoteEvidence,
    NoteHandover,
    NoteInsolvency,
    RaiseDispute,
    ReceivePayment,
    RecordCover,
    RequestLimit,
    ResolveDispute,
    SettleClaim,
    StartBusinessDay,
    TrackInvoice,
)
from arshield_insurance_claims.domain.cover import cover_amount, cover_in_force
from arshield_insurance_claims.domain.day import business_day
from arshield_insurance_claims.domain.events import (
    ClaimSettled,
    CoverRecorded,
    DomainEvent,
    EvidenceNoted,
    HandoverNoted,
    InsolvencyNoted,
    InvoiceChanged,
    LimitRequested,
    PolicyForgotten,
    RecoveryAllocated,
)
from arshield_insurance_claims.domain.state import (
    BuyerInsurance,
    CoverRecord,
    Invoice,
    LimitRequest,
)

ZERO = Decimal(0)


def decide(state: BuyerInsurance, command: Command) -> Sequence[DomainEvent]:
    match command:
        case TrackInvoice(invoice=invoice):
            known = state.invoices.get(invoice.invoice_id)
            if known is not None:
                # a re-issue keeps what the log taught us since (payments, disputes, delivery)
                invoice = invoice.model_copy(
                    update={
                        "outstanding": known.outstanding,
                        "disputed": known.disputed,
                        "disputes": known.disputes,
                        "cancelled": known.cancelled,
                        "proof_of_delivery": known.proof_of_delivery,
                        "forfeited": known.forfeited,
                    }
                )
            return [InvoiceChanged(invoice)]
        case CancelInvoice(invoice_id=invoice_id):
            return _change(state, invoice_id, cancelled=True)
        case ApplyCreditNote(invoice_id=invoice_id, amount=amount):
            credited = state.invoices.get(invoice_id)
            if credited is None:
                return []
            return _change(state, invoice_id, outstanding=max(ZERO, credited.outstanding - amount))
        case ConfirmDelivery(invoice_id=invoice_id, on=on, document_ref=ref):
            delivered = state.invoices.get(invoice_id)
            if delivered is None:
                return []
            return _change(
                state,
                invoice_id,
                proof_of_delivery=ref,
                delivered_on=delivered.delivered_on or on,
            )
        case ReceivePayment():
            return _payment(state, command)
        case NoteBalance(invoice_id=invoice_id, outstanding=outstanding, status=status):
            if invoice_id not in state.invoices:
                return []
            changes: dict[str, object] = {"outstanding": outstanding}
            if status == "cancelled":
                changes["cancelled"] = True
            return _change(state, invoice_id, **changes)
        case RaiseDispute():
            return _dispute(state, command)
        case ResolveDispute():
            return _resolve(state, command)
        case NoteInsolvency(insolvent_on=on):
            if state.insolvent_on is not None:
                return []
            return [InsolvencyNoted(on)]
        case NoteEvidence(evidence=evidence):
            if evidence in state.evidence:
                return []
            return [EvidenceNoted(evidence)]
        case NoteHandover(on=on):
            return [] if state.handed_over_on is not None else [HandoverNoted(on)]
        case RequestLimit():
            return _request(state, command)
        case ForgetPolicy(policy_id=policy_id):
            if state.policy is None or state.policy.policy_id != policy_id:
                return []
            return [PolicyForgotten(policy_id)]
        case RecordCover():
            return _cover(state, command)
        case SettleClaim():
            return _settle(state, command)
        case StartBusinessDay():
            return business_day(state, command)
    raise TypeError(f"unknown command {command!r}")


def _change(state: BuyerInsurance, invoice_id: str, **changes: object) -> list[DomainEvent]:
    invoice = state.invoices.get(invoice_id)
    if invoice is None:
        return []
    changed = invoice.model_copy(update=changes)
    return [] if changed == invoice else [InvoiceChanged(changed)]


def _dispute(state: BuyerInsurance, command: RaiseDispute) -> list[DomainEvent]:
    """Only the disputed amount leaves the cover (DOMAIN.md): each open dispute is kept with its
    amount; one without an amount (or id) contests the whole invoice."""
    invoice = state.invoices.get(command.invoice_id)
    if invoice is None:
        return []
    if command.dispute_id is None or command.amount is None:
        return _change(state, command.invoice_id, disputed=True, disputes={})
    if invoice.disputed and not invoice.disputes:
        return []  # already wholly disputed
    disputes = {**invoice.disputes, command.dispute_id: command.amount}
    return _change(state, command.invoice_id, disputed=True, disputes=disputes)


def _resolve(state: BuyerInsurance, command: ResolveDispute) -> list[DomainEvent]:
    """A resolved dispute no longer contests its amount (an upheld one is corrected by its credit
    note); the invoice is disputed while another dispute stays open."""
    invoice = state.invoices.get(command.invoice_id)
    if invoice is None:
        return []
    if command.dispute_id is None or command.dispute_id not in invoice.disputes:
        if invoice.disputes and command.dispute_id is not None:
            return []  # another dispute's resolution, not one of this invoice's open ones
        return _change(state, command.invoice_id, disputed=False, disputes={})
    disputes = {k: v for k, v in invoice.disputes.items() if k != command.dispute_id}
    return _change(state, command.invoice_id, disputed=bool(disputes), disputes=disputes)


def _payment(state: BuyerInsurance, command: ReceivePayment) -> list[DomainEvent]:
    """Apply a payment as the ledger does (named invoices, else the oldest due date first; the
    ledger's balances correct it later), and share it as a recovery once the buyer is in default
    (notified to the insurer)."""
    out: list[DomainEvent] = []
    left = command.amount
    targets: list[tuple[Invoice, Decimal]] = []
    if command.allocations:
        for invoice_id, amount in command.allocations:
            if invoice_id in state.invoices:
                targets.append((state.invoices[invoice_id], amount))
    else:
        for invoice in state.open_invoices():
            if invoice.disputed:
                continue
            targets.append((invoice, invoice.outstanding))
    for invoice, most in targets:
        if left <= 0:
            break
        applied = min(left, most, invoice.outstanding)
        if applied > 0:
            left -= applied
            out.append(
                InvoiceChanged(
                    invoice.model_copy(update={"outstanding": invoice.outstanding - applied})
                )
            )
    policy_id = state.claim.policy_id if state.claim is not None else state.policy_id
    if state.notifications and policy_id is not None:
        recovery = share_recovery(
            state.claim,
            recovery_id=command.payment_id,
            amount=command.amount,
            currency=command.currency,
            received_on=command.received_on,
        )
        out.append(RecoveryAllocated(recovery, policy_id))
    return out


def _request(state: BuyerInsurance, command: RequestLimit) -> list[DomainEvent]:
    if any(r.request_id == command.request_id for r in state.requests):
        return []
    policy = command.policy
    if command.amount <= 0:
        raise InsuranceError("a limit request asks for an amount greater than zero")
    request = LimitRequest(
        request_id=command.request_id,
        policy_id=policy.policy_id,
        amount=command.amount,
        currency=policy.currency,
        requested_on=command.requested_on,
    )
    return [LimitRequested(request, policy.insurer_id, command.requested_by)]


def _cover(state: BuyerInsurance, command: RecordCover) -> list[DomainEvent]:
    if any(c.decision_id == command.decision_id for c in state.covers):
        return []
    policy = command.policy
    if command.currency != policy.currency:
        raise InsuranceError(
            f"cover is in the policy's currency {policy.currency}, not {command.currency}"
        )
    if command.amount < 0:
        raise InsuranceError("cover cannot be negative")
    effective_on = max(command.effective_on, command.notified_on)
    if command.decided_by == "insured":
        if any(c.decided_by == "insurer" for c in state.covers):
            raise InsuranceError(
                "the insurer has decided on this buyer: a discretionary limit no longer applies"
            )
        if command.amount > policy.discretionary_limit_ceiling:
            raise InsuranceError(
                f"a discretionary limit is at most {policy.discretionary_limit_ceiling} "
                f"{policy.currency}"
            )
    else:
        current = cover_in_force(state.covers, command.notified_on)
        if (
            current is not None
            and current.decided_by == "insurer"
            and command.amount < current.amount
        ):
            # a reduction or withdrawal takes effect only after its notice period
            effective_on = max(
                effective_on, command.notified_on + timedelta(days=policy.reduction_notice_days)
            )
    previous = cover_in_force(state.covers, effective_on)
    record = CoverRecord(
        decision_id=command.decision_id,
        decided_by=command.decided_by,
        decision=command.decision,
        amount=command.amount,
        currency=command.currency,
        notified_on=command.notified_on,
        effective_on=effective_on,
        request_id=command.request_id,
        policy_id=policy.policy_id,
    )
    return [
        CoverRecorded(
            record, None if previous is None else cover_amount(state.covers, effective_on)
        )
    ]


def _settle(state: BuyerInsurance, command: SettleClaim) -> list[DomainEvent]:
    claim = state.claim
    if claim is None or claim.claim_id != command.claim_id:
        raise InsuranceError(f"claim {command.claim_id} is not a claim of buyer {state.buyer_id}")
    if claim.status != "filed":
        if claim.status == command.outcome and claim.indemnity_paid == command.indemnity_paid:
            return []
        raise InsuranceError(f"claim {claim.claim_id} is already settled ({claim.status})")
    if command.outcome == "rejected" and command.indemnity_paid != 0:
        raise InsuranceError("a rejected claim pays no indemnity")
    if command.outcome != "rejected" and command.indemnity_paid <= 0:
        raise InsuranceError(f"outcome {command.outcome} needs the indemnity paid")
    if command.outcome == "rejected" and not command.reason:
        raise InsuranceError("a rejected claim names its reason")
    if command.indemnity_paid > claim.claimed_indemnity:
        raise InsuranceError(
            f"indemnity paid {command.indemnity_paid} exceeds the claimed {claim.claimed_indemnity}"
        )
    return [
        ClaimSettled(
            claim_id=claim.claim_id,
            outcome=command.outcome,
            indemnity_paid=command.indemnity_paid,
            reason=command.reason,
            settled_on=command.settled_on,
        )
    ]
