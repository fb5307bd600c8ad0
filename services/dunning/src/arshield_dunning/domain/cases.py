"""A collection case as its agency reports on it: the transitions a report may make, and the
collected amount's invariants (a running total in the case currency, never above what the case
claims, never going down).

`decide_update(case, update)` answers a report with the `CaseUpdated` it means, or refuses it with
a `CaseRefused` saying why; `evolve_case` applies it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from arshield_dunning.domain.state import Frozen, Money

CaseStatus = Literal[
    "opened", "handed_over", "accepted", "collecting", "payment_collected", "closed"
]
ReportedStatus = Literal["accepted", "collecting", "payment_collected", "closed"]

CASE_ORDER: dict[str, int] = {
    "opened": 0,
    "handed_over": 0,
    "accepted": 1,
    "collecting": 2,
    "payment_collected": 3,
    "closed": 4,
}
"""A case moves forward only; `payment_collected` may repeat (each report a new total)."""


class CaseRefused(Exception):  # noqa: N818 - a verdict on the report, not a program error
    """A report the case refuses: `closed` (the case is closed), `transition` (the case cannot
    move to that status), or `invalid` (the amounts break an invariant; `field` names them)."""

    def __init__(
        self,
        kind: Literal["closed", "transition", "invalid"],
        detail: str,
        *,
        field: str | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.field, self.reason = kind, detail, field, reason


class AgencyCase(Frozen):
    case_id: str
    buyer_id: str
    agency_id: str | None
    status: str
    amount: Decimal
    currency: str
    collected: Decimal
    agency_reference: str | None = None


class CaseReport(Frozen):
    """What an agency reports: the new status and, optionally, the total collected so far."""

    status: str
    collected: Money | None = None
    agency_reference: str | None = None
    note: str | None = None
    updated_on: date


class CaseUpdated(Frozen):
    case_id: str
    status: str
    collected: Decimal
    agency_reference: str | None
    note: str | None
    updated_on: date


def decide_update(case: AgencyCase, report: CaseReport) -> CaseUpdated:
    """The update `report` makes to `case`, or `CaseRefused`."""
    current, wanted = CASE_ORDER[case.status], CASE_ORDER[report.status]
    if case.status == "closed":
        raise CaseRefused("closed", f"case {case.case_id} is closed")
    if wanted < current or (wanted == current and report.status != "payment_collected"):
        raise CaseRefused(
            "transition",
            f"case {case.case_id} is {case.status}; it cannot become {report.status}",
        )
    collected = report.collected
    if collected is not None and collected.currency != case.currency:
        raise CaseRefused(
            "invalid",
            f"collected must be in the case currency {case.currency}",
            field="collected.currency",
            reason=f"must be {case.currency}",
        )
    if collected is not None and collected.amount > case.amount:
        raise CaseRefused(
            "invalid",
            f"collected {collected.amount} exceeds the case amount {case.amount}",
            field="collected.amount",
            reason="more than the case amount",
        )
    if collected is not None and collected.amount < case.collected:
        raise CaseRefused(
            "invalid",
            f"collected is the total so far on the case; it cannot fall from {case.collected} "
            f"to {collected.amount}",
            field="collected.amount",
            reason="less than the total already collected",
        )
    if report.status == "payment_collected" and (collected is None or collected.amount <= 0):
        raise CaseRefused(
            "invalid",
            "status payment_collected needs the collected amount",
            field="collected",
            reason="required and positive with payment_collected",
        )
    return CaseUpdated(
        case_id=case.case_id,
        status=report.status,
        collected=collected.amount if collected is not None else case.collected,
        agency_reference=report.agency_reference,
        note=report.note,
        updated_on=report.updated_on,
    )


def evolve_case(case: AgencyCase, update: CaseUpdated) -> AgencyCase:
    return case.model_copy(
        update={
            "status": update.status,
            "collected": update.collected,
            "agency_reference": update.agency_reference or case.agency_reference,
        }
    )
