"""The service's private events: what changed a buyer's insured side. `public_events` maps them
to `arshield.insurance`; projections keep the read models from them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from arshield_insurance_claims.domain.policy import InsurancePolicy
from arshield_insurance_claims.domain.state import (
    Claim,
    ClaimOutcome,
    CoverRecord,
    Evidence,
    Invoice,
    LimitRequest,
    MissedDeadline,
    Notification,
    Recovery,
    StopSupply,
)


@dataclass(frozen=True)
class InvoiceChanged:
    invoice: Invoice


@dataclass(frozen=True)
class InsolvencyNoted:
    insolvent_on: date


@dataclass(frozen=True)
class InsolvencyLearned:
    learned_on: date


@dataclass(frozen=True)
class EvidenceNoted:
    evidence: Evidence


@dataclass(frozen=True)
class HandoverNoted:
    on: date


@dataclass(frozen=True)
class PolicyApplied:
    policy: InsurancePolicy


@dataclass(frozen=True)
class PolicyForgotten:
    policy_id: str


@dataclass(frozen=True)
class LimitRequested:
    request: LimitRequest
    insurer_id: str | None
    requested_by: str | None


@dataclass(frozen=True)
class CoverRecorded:
    record: CoverRecord
    previous: Decimal | None
    """The cover in force on the effective date before this decision (None: there was none)."""


@dataclass(frozen=True)
class StopSupplyRequired:
    stop: StopSupply
    policy_ref: str
    policy_id: str
    insurer_id: str | None


@dataclass(frozen=True)
class OverdueNotified:
    notification: Notification
    forfeited: tuple[str, ...]
    """Insured invoices whose cover the late notification forfeits."""
    insurer_id: str | None


@dataclass(frozen=True)
class DeadlineMissed:
    missed: MissedDeadline
    policy_ref: str


@dataclass(frozen=True)
class ClaimFiled:
    claim: Claim
    insurer_id: str | None


@dataclass(frozen=True)
class ClaimNotFiled:
    reason: str
    on: date


@dataclass(frozen=True)
class ClaimSettled:
    claim_id: str
    outcome: ClaimOutcome
    indemnity_paid: Decimal
    reason: str | None
    settled_on: date


@dataclass(frozen=True)
class RecoveryAllocated:
    recovery: Recovery
    policy_id: str


DomainEvent = (
    InvoiceChanged
    | InsolvencyNoted
    | InsolvencyLearned
    | EvidenceNoted
    | HandoverNoted
    | PolicyApplied
    | PolicyForgotten
    | LimitRequested
    | CoverRecorded
    | StopSupplyRequired
    | OverdueNotified
    | DeadlineMissed
    | ClaimFiled
    | ClaimNotFiled
    | ClaimSettled
    | RecoveryAllocated
)
