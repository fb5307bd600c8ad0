"""Cover and what it insures.

Cover is bitemporal: a decision is in force from its `effective_on` and known from its
`notified_on`. The cover in force on date X as known on date Y is the latest decision (by
effective date, then by the order it was recorded) among those known by Y and effective by X. A
discretionary limit (set by the insured) lapses once the insurer decides on the buyer: from then
on only the insurer's decisions count.

Each invoice is insured under the cover in force on its delivery date (the issue date when no
delivery is recorded), up to that cover: walking the insured invoices in delivery order, each is
insured for its outstanding amount within what that cover leaves after the invoices before it.
Only what an open dispute contests is excluded: a partly disputed invoice stays insured for its
undisputed part (DOMAIN.md), and that part counts toward the notification, the claim and the
indemnity like any other insured amount.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from arshield_insurance_claims.domain.policy import InsurancePolicy
from arshield_insurance_claims.domain.state import BuyerInsurance, CoverRecord, Invoice


def cover_in_force(
    covers: tuple[CoverRecord, ...], on: date, known_on: date | None = None
) -> CoverRecord | None:
    """The decision in force on `on` as known on `known_on` (None: everything known)."""
    known = covers if known_on is None else [c for c in covers if c.notified_on <= known_on]
    return _in_force(known, _first_insurer_decision(known), on)


def _first_insurer_decision(known: Sequence[CoverRecord]) -> date | None:
    """The day the insurer first decided on the buyer: a discretionary limit lapses from then."""
    first: date | None = None
    for record in known:
        if record.decided_by == "insurer" and (first is None or record.notified_on < first):
            first = record.notified_on
    return first


def _in_force(
    known: Sequence[CoverRecord], first_insurer: date | None, on: date
) -> CoverRecord | None:
    """Of `known` in the order recorded, the latest effective by `on` (of two effective the same
    day, the one recorded last); a discretionary limit no longer counts once the insurer decided."""
    lapsed = first_insurer is not None and on >= first_insurer
    found: CoverRecord | None = None
    for record in known:
        if record.effective_on > on or (lapsed and record.decided_by != "insurer"):
            continue
        if found is None or record.effective_on >= found.effective_on:
            found = record
    return found


def cover_amount(
    covers: tuple[CoverRecord, ...], on: date, known_on: date | None = None
) -> Decimal:
    record = cover_in_force(covers, on, known_on)
    return Decimal(0) if record is None else record.amount


class InvoiceInsurance(NamedTuple):
    """Whether an invoice is insured, why not, and for how much (a tuple: a tick builds one per
    invoice of every due buyer, several times)."""

    invoice_id: str
    outstanding: Decimal
    insured: bool
    reasons: tuple[str, ...]
    cover_on_delivery: Decimal
    cover_decision: CoverRecord | None
    insured_amount: Decimal
    disputed: Decimal = Decimal(0)
    """The part of the outstanding an open dispute contests: never insured."""


def why_not_insured(
    state: BuyerInsurance,
    invoice: Invoice,
    policy: InsurancePolicy | None,
    cover: CoverRecord | None,
    *,
    ignore_forfeiture: bool = False,
) -> tuple[str, ...]:
    """The reasons an invoice is not insured (empty: insured)."""
    reasons: list[str] = []
    if invoice.cancelled:
        reasons.append("cancelled")
    if policy is None:
        reasons.append("no_policy")
    elif invoice.currency != policy.currency:
        reasons.append("currency_not_insured")
    if cover is None or cover.amount <= 0:
        reasons.append("no_cover_on_delivery")
    if policy is not None and invoice.terms_days > policy.max_credit_period_days:
        reasons.append("terms_beyond_max_credit_period")
    stop = state.stop_supply
    if stop is not None and invoice.shipped_on >= stop.required_on:
        reasons.append("delivered_after_stop_supply")
    if invoice.disputed and invoice.undisputed <= 0:
        reasons.append("disputed")  # a partly disputed invoice stays insured for the rest
    if invoice.forfeited and not ignore_forfeiture:
        reasons.append("late_notification")
    return tuple(reasons)


ZERO = Decimal(0)


def _delivery_order(invoice: Invoice) -> tuple[date, date, str]:
    return (invoice.delivered_on or invoice.issued_on, invoice.due_on, invoice.invoice_id)


def assess(
    state: BuyerInsurance,
    policy: InsurancePolicy | None,
    *,
    known_on: date | None = None,
    ignore_forfeiture: bool = False,
) -> list[InvoiceInsurance]:
    """Every non-cancelled invoice of the buyer with its insured amount, in delivery order."""
    invoices = sorted((i for i in state.invoices.values() if not i.cancelled), key=_delivery_order)
    covers = (
        state.covers if known_on is None else [c for c in state.covers if c.notified_on <= known_on]
    )
    first_insurer = _first_insurer_decision(covers)
    used = ZERO
    out: list[InvoiceInsurance] = []
    for invoice in invoices:
        cover = _in_force(covers, first_insurer, invoice.delivered_on or invoice.issued_on)
        reasons = why_not_insured(
            state, invoice, policy, cover, ignore_forfeiture=ignore_forfeiture
        )
        limit = ZERO if cover is None else cover.amount
        insured_amount = ZERO
        disputed = invoice.disputed_amount if invoice.disputed else ZERO
        if not reasons:
            insured_amount = max(ZERO, min(invoice.outstanding - disputed, limit - used))
            used += insured_amount
        # positional: a tick builds one per invoice of every due buyer, several times
        out.append(
            InvoiceInsurance(
                invoice.invoice_id,
                invoice.outstanding,
                not reasons,
                reasons,
                limit,
                cover,
                insured_amount,
                disputed,
            )
        )
    return out


def insured_invoice_ids(
    state: BuyerInsurance, policy: InsurancePolicy | None, *, ignore_forfeiture: bool = False
) -> set[str]:
    """The invoices `assess` finds insured, whatever their amounts: the deadline engine asks only
    which (an insured amount depends on the order of delivery, being insured does not)."""
    covers = state.covers
    first_insurer = _first_insurer_decision(covers)
    return {
        invoice.invoice_id
        for invoice in state.invoices.values()
        if not invoice.cancelled
        and not why_not_insured(
            state,
            invoice,
            policy,
            _in_force(covers, first_insurer, invoice.delivered_on or invoice.issued_on),
            ignore_forfeiture=ignore_forfeiture,
        )
    }


@dataclass(frozen=True)
class Exposure:
    outstanding: Decimal
    insured: Decimal

    @property
    def uninsured(self) -> Decimal:
        return self.outstanding - self.insured


def exposure(state: BuyerInsurance, policy: InsurancePolicy | None) -> Exposure:
    assessed = assess(state, policy)
    return Exposure(
        outstanding=sum((a.outstanding for a in assessed), Decimal(0)),
        insured=sum((a.insured_amount for a in assessed), Decimal(0)),
    )
