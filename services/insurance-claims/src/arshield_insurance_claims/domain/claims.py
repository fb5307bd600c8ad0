"""Claims and recoveries: the indemnity on the date of loss and the sharing of money recovered.

Indemnity = min(insured outstanding on the date of loss, cover) x indemnity %, nothing below the
claim threshold, within what is left of the aggregate limit. Payments before the date of loss have
already reduced the outstanding, oldest invoice first (the ledger's rule, mirrored here). After
it, money recovered is shared pro rata between the insured's uninsured share and the insurer.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Literal

from arshield_events.envelope import uuid5_hex
from arshield_events.money import round_to_minor_units
from arshield_insurance_claims.domain.cover import assess
from arshield_insurance_claims.domain.events import ClaimFiled, ClaimNotFiled
from arshield_insurance_claims.domain.policy import InsurancePolicy
from arshield_insurance_claims.domain.state import BuyerInsurance, Claim, Evidence, Recovery

_IDS = uuid.UUID("6d0f3c1e-2b7a-4e58-9c41-8a5f2e3d7b90")


def derived_id(prefix: str, *parts: object) -> str:
    """An id derived from its cause, so a replay decides the very same id."""
    return f"{prefix}_{uuid5_hex(_IDS, ':'.join(map(str, parts)))[:24]}"


def evidence_pack(state: BuyerInsurance, invoice_ids: tuple[str, ...]) -> tuple[Evidence, ...]:
    """The claim's evidence from the log: the invoices, their proofs of delivery, the statements,
    letters and cases about the buyer, and the notifications sent to the insurer."""
    pack: list[Evidence] = []
    for invoice_id in invoice_ids:
        invoice = state.invoices[invoice_id]
        pack.append(
            Evidence(
                kind="invoice",
                ref=f"invoice:{invoice.number}",
                on=invoice.issued_on,
                invoice_ids=(invoice_id,),
            )
        )
        if invoice.proof_of_delivery:
            pack.append(
                Evidence(
                    kind="proof_of_delivery",
                    ref=invoice.proof_of_delivery,
                    on=invoice.shipped_on,
                    invoice_ids=(invoice_id,),
                )
            )
    pack += state.evidence
    pack += [
        Evidence(
            kind="notification",
            ref=f"notification:{n.notification_id}",
            on=n.notified_on,
            invoice_ids=n.invoice_ids,
        )
        for n in state.notifications
    ]
    return tuple(pack)


def file_claim(
    state: BuyerInsurance,
    policy: InsurancePolicy,
    *,
    ground: Literal["insolvency", "protracted_default"],
    date_of_loss: date,
    on: date,
    aggregate_left: Decimal | None,
) -> ClaimFiled | ClaimNotFiled:
    assessed = [a for a in assess(state, policy) if a.insured_amount > 0]
    if not assessed:
        return ClaimNotFiled(reason="nothing_insured", on=on)
    insured = sum((a.insured_amount for a in assessed), Decimal(0))
    widest = max(assessed, key=lambda a: a.cover_on_delivery)
    cover = widest.cover_on_delivery
    discretionary = widest.cover_decision is not None and (
        widest.cover_decision.decided_by == "insured"
    )
    percentage = (
        policy.discretionary_indemnity_percentage if discretionary else policy.indemnity_percentage
    )
    indemnity = round_to_minor_units(min(insured, cover) * percentage / 100, policy.currency)
    if indemnity < policy.claim_threshold:
        return ClaimNotFiled(reason="below_claim_threshold", on=on)
    if aggregate_left is not None:
        indemnity = max(Decimal(0), min(indemnity, aggregate_left))
    invoice_ids = tuple(a.invoice_id for a in assessed)
    total = sum((i.outstanding for i in state.open_invoices()), Decimal(0))
    claim = Claim(
        claim_id=derived_id("clm", state.tenant_id, state.buyer_id, ground, date_of_loss),
        policy_id=policy.policy_id,
        policy_version=policy.ref,
        ground=ground,
        date_of_loss=date_of_loss,
        filed_on=on,
        invoice_ids=invoice_ids,
        insured_outstanding=insured,
        total_outstanding=total,
        cover=cover,
        indemnity_percentage=percentage,
        claimed_indemnity=indemnity,
        currency=policy.currency,
        evidence=evidence_pack(state, invoice_ids),
    )
    return ClaimFiled(claim=claim, insurer_id=policy.insurer_id)


def share_recovery(
    claim: Claim | None, *, recovery_id: str, amount: Decimal, currency: str, received_on: date
) -> Recovery:
    """Before the date of loss the money went to the oldest invoice (all the insured's); after
    it, it is shared pro rata to the insurer's part of the loss."""
    if claim is None or received_on <= claim.date_of_loss:
        return Recovery(
            recovery_id=recovery_id,
            claim_id=None if claim is None else claim.claim_id,
            amount=amount,
            currency=currency,
            method="oldest_first",
            to_insured=amount,
            to_insurer=Decimal(0),
            received_on=received_on,
        )
    to_insurer = round_to_minor_units(amount * claim.insurer_share, currency)
    return Recovery(
        recovery_id=recovery_id,
        claim_id=claim.claim_id,
        amount=amount,
        currency=currency,
        method="pro_rata",
        to_insured=amount - to_insurer,
        to_insurer=to_insurer,
        received_on=received_on,
    )
