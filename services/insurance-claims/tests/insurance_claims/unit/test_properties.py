"""Invariants of what is insured and of recoveries, over generated books (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arshield_insurance_claims.domain.claims import share_recovery
from arshield_insurance_claims.domain.cover import (
    assess,
    cover_amount,
    cover_in_force,
    insured_invoice_ids,
)
from arshield_insurance_claims.domain.state import Claim, CoverRecord

from .harness import Buyer, D, invoice

pytestmark = pytest.mark.unit

amounts = st.integers(min_value=1, max_value=50_000).map(Decimal)
offsets = st.integers(min_value=0, max_value=200)


@settings(max_examples=150, deadline=None)
@given(
    covers=st.lists(st.tuples(amounts, offsets), min_size=1, max_size=4),
    invoices=st.lists(st.tuples(amounts, offsets, st.integers(30, 180)), min_size=1, max_size=8),
)
def test_each_invoice_is_insured_within_its_delivery_cover_and_its_outstanding(
    covers: list[tuple[Decimal, int]], invoices: list[tuple[Decimal, int, int]]
) -> None:
    buyer = Buyer()
    start = date(2025, 1, 1)
    for n, (amount, offset) in enumerate(sorted(covers, key=lambda c: c[1])):
        buyer.cover(str(amount), start + timedelta(days=offset), decision_id=f"d{n}")
    for n, (amount, offset, terms) in enumerate(invoices):
        shipped = start + timedelta(days=offset)
        buyer.track(
            invoice(f"I{n}", str(amount), due_on=shipped + timedelta(days=terms), terms=terms)
        )
    assessed = assess(buyer.state, buyer.policy)
    for a in assessed:
        shipped = buyer.state.invoices[a.invoice_id].shipped_on
        assert 0 <= a.insured_amount <= a.outstanding
        assert a.insured_amount <= cover_amount(buyer.state.covers, shipped)
        assert a.insured == (a.reasons == ())
        if buyer.state.invoices[a.invoice_id].terms_days > 120:
            assert a.insured_amount == 0
    widest = max(c.amount for c in buyer.state.covers)
    assert sum(a.insured_amount for a in assessed) <= widest
    insured = {a.invoice_id for a in assessed if a.insured}
    assert insured_invoice_ids(buyer.state, buyer.policy) == insured


@settings(max_examples=200, deadline=None)
@given(
    recovered=st.integers(min_value=1, max_value=10**8).map(lambda c: Decimal(c) / 100),
    loss=st.integers(min_value=1, max_value=10**8).map(lambda c: Decimal(c) / 100),
    share=st.integers(min_value=0, max_value=100),
    after=st.booleans(),
)
def test_a_recovery_is_shared_in_full_and_never_more_to_the_insurer_than_its_share(
    recovered: Decimal, loss: Decimal, share: int, after: bool
) -> None:
    indemnity = (loss * share / 100).quantize(Decimal("0.01"))
    claim = Claim(
        claim_id="c1",
        policy_id="POL-1",
        policy_version="POL-1:v1",
        ground="protracted_default",
        date_of_loss=D,
        filed_on=D,
        invoice_ids=("A",),
        insured_outstanding=loss,
        total_outstanding=loss,
        cover=loss,
        indemnity_percentage=Decimal(90),
        claimed_indemnity=indemnity,
        currency="EUR",
    )
    on = D + timedelta(days=1 if after else 0)
    r = share_recovery(claim, recovery_id="r", amount=recovered, currency="EUR", received_on=on)
    assert r.to_insured + r.to_insurer == recovered
    assert r.to_insured >= 0
    assert r.to_insurer >= 0
    if not after:
        assert r.to_insurer == 0
    else:
        assert abs(r.to_insurer - recovered * indemnity / loss) <= Decimal("0.005")


def reference_cover_in_force(
    covers: tuple[CoverRecord, ...], on: date, known_on: date | None
) -> CoverRecord | None:
    """The bitemporal rule as first written (filter, lapse, then the latest by effective date and
    order recorded): the one-pass `cover_in_force` must answer the same."""
    known = [c for c in covers if known_on is None or c.notified_on <= known_on]
    insurer_decided = [c for c in known if c.decided_by == "insurer"]
    if insurer_decided:
        first_insurer = min(c.notified_on for c in insurer_decided)
        known = [c for c in known if c.decided_by == "insurer" or on < first_insurer]
    in_force = [(c.effective_on, index, c) for index, c in enumerate(known) if c.effective_on <= on]
    if not in_force:
        return None
    return max(in_force, key=lambda item: (item[0], item[1]))[2]


@settings(max_examples=300, deadline=None)
@given(
    decisions=st.lists(
        st.tuples(st.sampled_from(["insurer", "insured"]), amounts, offsets, offsets),
        max_size=6,
    ),
    on=offsets,
    known_on=st.none() | offsets,
)
def test_cover_in_force_answers_as_the_rule_reads(
    decisions: list[tuple[str, Decimal, int, int]], on: int, known_on: int | None
) -> None:
    start = date(2025, 1, 1)
    covers = tuple(
        CoverRecord(
            decision_id=f"d{n}",
            decided_by="insurer" if by == "insurer" else "insured",
            decision="full" if by == "insurer" else "discretionary",
            amount=amount,
            currency="EUR",
            notified_on=start + timedelta(days=notified),
            effective_on=start + timedelta(days=notified + later),
            policy_id="POL-1",
        )
        for n, (by, amount, notified, later) in enumerate(decisions)
    )
    day = start + timedelta(days=on)
    known = None if known_on is None else start + timedelta(days=known_on)
    assert cover_in_force(covers, day, known) == reference_cover_in_force(covers, day, known)
