"""A buyer's insured side, as the service knows it: its invoices (what is owed and when it was
delivered), the cover decisions (bitemporal: effective from one date, known from another), the
deadlines met (stop-supply, notifications), its claim and the recoveries. Frozen; `evolve`
returns a new one."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidatorFunctionWrapHandler, WrapValidator

from arshield_insurance_claims.domain.policy import InsurancePolicy

Frozen = ConfigDict(frozen=True, extra="forbid")

DecidedBy = Literal["insurer", "insured"]
Decision = Literal["full", "partial", "refused", "reduced", "withdrawn", "discretionary"]
ClaimOutcome = Literal["paid", "partially_paid", "rejected"]
ClaimStatus = Literal["filed", "paid", "partially_paid", "rejected"]
NotificationGround = Literal["overdue", "insolvency"]


class Invoice(BaseModel):
    model_config = Frozen

    invoice_id: str
    number: str
    currency: str
    amount: Decimal
    outstanding: Decimal
    issued_on: date
    delivered_on: date | None = None
    due_on: date
    terms_days: int
    disputed: bool = False
    """A dispute is open on the invoice."""
    disputes: dict[str, Decimal] = {}
    """The open disputes by id, each with the amount it disputes (a state written before amounts
    were kept has `disputed` without them: the whole invoice is then disputed)."""
    cancelled: bool = False
    proof_of_delivery: str | None = None
    forfeited: bool = False
    """Notified to the insurer after the deadline: its cover is forfeited."""

    @property
    def shipped_on(self) -> date:
        """The delivery date; the issue date when no delivery is recorded."""
        return self.delivered_on or self.issued_on

    @property
    def is_open(self) -> bool:
        return not self.cancelled and self.outstanding > 0

    @property
    def disputed_amount(self) -> Decimal:
        """What the open disputes contest of the outstanding: never more than it is."""
        if not self.disputed:
            return Decimal(0)
        if not self.disputes:
            return self.outstanding
        return min(self.outstanding, sum(self.disputes.values(), Decimal(0)))

    @property
    def undisputed(self) -> Decimal:
        """The outstanding no dispute contests: the part that stays insured."""
        return self.outstanding - self.disputed_amount


class CoverRecord(BaseModel):
    """One cover decision: `amount` insured from `effective_on`, known from `notified_on`."""

    model_config = Frozen

    decision_id: str
    decided_by: DecidedBy
    decision: Decision
    amount: Decimal
    currency: str
    notified_on: date
    effective_on: date
    request_id: str | None = None
    policy_id: str


class LimitRequest(BaseModel):
    model_config = Frozen

    request_id: str
    policy_id: str
    amount: Decimal
    currency: str
    requested_on: date
    decision_id: str | None = None


class Notification(BaseModel):
    model_config = Frozen

    notification_id: str
    ground: NotificationGround
    invoice_ids: tuple[str, ...]
    amount: Decimal
    currency: str
    oldest_due_on: date
    deadline_on: date
    notified_on: date
    policy_id: str

    @property
    def in_time(self) -> bool:
        return self.notified_on <= self.deadline_on


class Evidence(BaseModel):
    """A document the log holds about the buyer: a letter, a statement, a proof of delivery."""

    model_config = Frozen

    kind: str
    ref: str
    on: date
    invoice_ids: tuple[str, ...] = ()


class Claim(BaseModel):
    model_config = Frozen

    claim_id: str
    policy_id: str
    policy_version: str
    ground: Literal["insolvency", "protracted_default"]
    date_of_loss: date
    filed_on: date
    invoice_ids: tuple[str, ...]
    insured_outstanding: Decimal
    total_outstanding: Decimal
    cover: Decimal
    indemnity_percentage: Decimal
    claimed_indemnity: Decimal
    currency: str
    evidence: tuple[Evidence, ...] = ()
    status: ClaimStatus = "filed"
    indemnity_paid: Decimal = Decimal(0)
    reason: str | None = None
    settled_on: date | None = None

    @property
    def insurer_share(self) -> Decimal:
        """The insurer's part of the loss: what it paid (once settled) or was claimed."""
        if self.total_outstanding <= 0 or self.status == "rejected":
            return Decimal(0)
        indemnity = self.indemnity_paid if self.status != "filed" else self.claimed_indemnity
        return min(Decimal(1), indemnity / self.total_outstanding)


class Recovery(BaseModel):
    model_config = Frozen

    recovery_id: str
    claim_id: str | None
    amount: Decimal
    currency: str
    method: Literal["oldest_first", "pro_rata"]
    to_insured: Decimal
    to_insurer: Decimal
    received_on: date


MissedKind = Literal["collection_handover"]
MissedConsequence = Literal["claim_may_be_refused"]


class MissedDeadline(BaseModel):
    """A deadline of the policy that passed without what it asks for."""

    model_config = Frozen

    kind: MissedKind
    due_on: date
    missed_on: date
    invoice_ids: tuple[str, ...]
    oldest_due_on: date
    consequence: MissedConsequence
    policy_id: str


StopReason = Literal["maximum_extension_period_expired", "cover_withdrawn", "insolvency"]


class StopSupply(BaseModel):
    model_config = Frozen

    required_on: date
    reason: StopReason
    invoice_id: str | None = None


_POLICIES: dict[tuple[tuple[str, Any], ...], InsurancePolicy] = {}
"""Policy versions already decoded from a stored state, by their JSON fields."""
_POLICIES_KEPT = 64


def _shared_policy(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Every buyer of a policy stores the same version: decode (and check) it once per process.

    A tick decodes the state of every due buyer; each embeds the policy version it was last
    decided under, and that version's validation would otherwise cost as much as the rest of the
    state. The key is the stored fields themselves, so a different version is decoded afresh."""
    if not isinstance(value, dict):
        return handler(value)
    try:
        key = tuple(value.items())
        known = _POLICIES.get(key)
    except TypeError:  # an unhashable field: not a stored policy, let validation say why
        return handler(value)
    if known is None:
        known = handler(value)
        if len(_POLICIES) >= _POLICIES_KEPT:
            _POLICIES.clear()
        _POLICIES[key] = known
    return known


M = TypeVar("M", bound=BaseModel)


def replaced(model: M, changes: dict[str, Any]) -> M:
    """`model.model_copy(update=changes)` for the frozen models here (no extra fields, no private
    attributes), without the generic `copy.copy` of each of its parts: a tick evolves every due
    buyer's state once per event of its day."""
    copied = model.__class__.__new__(model.__class__)
    object.__setattr__(copied, "__dict__", {**model.__dict__, **changes})
    object.__setattr__(
        copied, "__pydantic_fields_set__", model.__pydantic_fields_set__ | changes.keys()
    )
    object.__setattr__(copied, "__pydantic_extra__", None)
    object.__setattr__(copied, "__pydantic_private__", None)
    return copied


class BuyerInsurance(BaseModel):
    model_config = Frozen

    tenant_id: str
    buyer_id: str
    invoices: dict[str, Invoice] = {}
    covers: tuple[CoverRecord, ...] = ()
    requests: tuple[LimitRequest, ...] = ()
    stop_supply: StopSupply | None = None
    insolvent_on: date | None = None
    insolvency_learned_on: date | None = None
    notifications: tuple[Notification, ...] = ()
    claim: Claim | None = None
    claim_skipped: str | None = None
    """Why no claim was filed when one fell due (below the threshold, nothing insured)."""
    recoveries: tuple[Recovery, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    handed_over_on: date | None = None
    missed: tuple[MissedDeadline, ...] = ()
    """The deadlines found missed (each raised once)."""
    policy: Annotated[InsurancePolicy | None, WrapValidator(_shared_policy)] = None
    """The policy version the buyer's last business day was decided under."""

    @property
    def policy_id(self) -> str | None:
        """The policy the buyer is insured under: that of its latest cover decision or request."""
        if self.covers:
            return self.covers[-1].policy_id
        if self.requests:
            return self.requests[-1].policy_id
        return None

    def open_invoices(self) -> list[Invoice]:
        """The open invoices, oldest due date first."""
        return sorted(
            (i for i in self.invoices.values() if not i.cancelled and i.outstanding > 0),
            key=_due_order,
        )


def _due_order(invoice: Invoice) -> tuple[date, date, str]:
    return (invoice.due_on, invoice.delivered_on or invoice.issued_on, invoice.invoice_id)
