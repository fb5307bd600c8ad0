"""Dunning policies: versioned data per tenant and segment, never code.

A policy says, for one segment of buyers, when each action of the timeline falls relative to an
invoice's delivery or due date. Offsets are whole days and never negative (a reminder states how
many days *before* the due date it falls; an escalation how many days *after*), so a policy cannot
say two contradictory things about one day.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from arshield_events.money import DecimalString

MAX_OFFSET_DAYS = 3650
"""Ten years: an offset beyond it is a typo, and would run dates past the calendar's end."""

OffsetDays = Annotated[int, Field(strict=True, ge=-365, le=MAX_OFFSET_DAYS)]
"""Whole days as a JSON integer (floats refused); the sign rules are `policy_problems`'."""

Threshold = Annotated[DecimalString, Field(gt=0, le=Decimal("1000000000000"))]
"""An amount as a decimal string, positive and at most 10^12."""


class Segment(StrEnum):
    CORE = "core"
    STANDARD = "standard"
    WATCH = "watch"


class Action(StrEnum):
    """What the timeline does for an invoice (or, for statements and assignments, for a buyer)."""

    RECEIPT_CONFIRMATION = "receipt_confirmation"
    REMINDER = "reminder"
    CONTROLLER_ASSIGNMENT = "controller_assignment"
    FIRST_NOTICE = "first_overdue_notice"
    FORMAL_NOTICE = "formal_notice"
    AGENCY_HANDOVER = "agency_handover"
    STATEMENT = "statement"


EscalationAction = Literal["first_overdue_notice", "formal_notice", "agency_handover"]
ESCALATION_ORDER: tuple[Action, ...] = (
    Action.FIRST_NOTICE,
    Action.FORMAL_NOTICE,
    Action.AGENCY_HANDOVER,
)


class EscalationStep(BaseModel):
    """One warning level: `days_after_due` after the due date the invoice reaches `action`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: EscalationAction
    days_after_due: OffsetDays

    @property
    def level(self) -> int:
        return ESCALATION_ORDER.index(Action(self.action)) + 1


class PolicyRules(BaseModel):
    """The timeline of one segment. Validation refuses negative and overlapping offsets."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    receipt_confirmation_days_after_delivery: OffsetDays | None = 7
    reminder_days_before_due: tuple[OffsetDays, ...] = Field(default=(15,), max_length=12)
    escalation: tuple[EscalationStep, ...] = Field(
        default=(
            EscalationStep(action="first_overdue_notice", days_after_due=1),
            EscalationStep(action="formal_notice", days_after_due=30),
            EscalationStep(action="agency_handover", days_after_due=60),
        ),
        max_length=len(ESCALATION_ORDER),
    )
    statement_day_of_month: Annotated[int, Field(strict=True, ge=1, le=28)] | None = Field(
        default=None, description="core customers: a statement of account on this day each month"
    )
    controller_threshold: Threshold | None = Field(
        default=Decimal("10000"),
        description="a buyer whose open balance in one currency reaches this amount is assigned "
        "to a credit controller on the next business day",
    )
    promise_grace_days: Annotated[int, Field(strict=True, ge=0, le=365)] = 3
    agency_minimum: Threshold | None = Field(
        default=Decimal("50"),
        description="an invoice owing less than this is never handed to an agency (it stays with "
        "the letters)",
    )
    formal_notice_pay_within_days: Annotated[int, Field(strict=True, ge=1, le=90)] = Field(
        default=14, description="the payment deadline a formal notice names, in days"
    )

    @model_validator(mode="after")
    def _check_offsets(self) -> PolicyRules:
        problems = policy_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def too_small_for_agency(self, outstanding: Decimal) -> bool:
        return self.agency_minimum is not None and outstanding < self.agency_minimum

    def escalation_for(self, action: Action) -> EscalationStep | None:
        return next((s for s in self.escalation if s.action == action.value), None)


def policy_problems(rules: PolicyRules) -> list[str]:
    """Everything wrong with a policy's offsets, in words a tenant administrator can act on."""
    problems: list[str] = []
    if (
        rules.receipt_confirmation_days_after_delivery is not None
        and rules.receipt_confirmation_days_after_delivery < 0
    ):
        problems.append("receipt_confirmation_days_after_delivery must not be negative")
    if any(d < 0 for d in rules.reminder_days_before_due):
        problems.append("reminder_days_before_due must not contain negative offsets")
    if len(set(rules.reminder_days_before_due)) != len(rules.reminder_days_before_due):
        problems.append(
            "reminder_days_before_due contains the same day twice (overlapping reminders)"
        )
    if any(s.days_after_due < 1 for s in rules.escalation):
        problems.append(
            "escalation days_after_due must be at least 1 (a level starts after the due date)"
        )
    actions = [s.action for s in rules.escalation]
    if len(set(actions)) != len(actions):
        problems.append("escalation names the same action twice")
    ordered = sorted(rules.escalation, key=lambda s: s.level)
    days = [s.days_after_due for s in ordered]
    if any(b <= a for a, b in itertools.pairwise(days)):
        problems.append(
            "escalation offsets overlap: each level (first_overdue_notice, formal_notice, "
            "agency_handover) must fall strictly later than the one before"
        )
    if rules.statement_day_of_month is not None and not 1 <= rules.statement_day_of_month <= 28:
        problems.append("statement_day_of_month must be between 1 and 28")
    if rules.controller_threshold is not None and rules.controller_threshold <= 0:
        problems.append("controller_threshold must be positive")
    if rules.promise_grace_days < 0:
        problems.append("promise_grace_days must not be negative")
    return problems


def default_rules(segment: Segment) -> PolicyRules:
    """The timeline of DOMAIN.md: core adds a monthly statement, watch a shorter cycle."""
    if segment is Segment.CORE:
        return PolicyRules(statement_day_of_month=1)
    if segment is Segment.WATCH:
        return PolicyRules(
            reminder_days_before_due=(20, 10, 3),
            escalation=(
                EscalationStep(action="first_overdue_notice", days_after_due=1),
                EscalationStep(action="formal_notice", days_after_due=15),
                EscalationStep(action="agency_handover", days_after_due=30),
            ),
            controller_threshold=Decimal("5000"),
            promise_grace_days=1,
        )
    return PolicyRules()


class Policy(BaseModel):
    """A tenant's rules for one segment at one version (version 0 is the built-in default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    segment: Segment
    version: int = 0
    rules: PolicyRules

    @classmethod
    def default(cls, segment: Segment) -> Policy:
        return cls(segment=segment, version=0, rules=default_rules(segment))

    @property
    def ref(self) -> str:
        """The version as recorded on every decision, e.g. `watch.v3`."""
        return f"{self.segment.value}.v{self.version}"


class PlannedAction(BaseModel):
    """An action the policy places on an invoice's timeline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Action
    on: date
    level: int = 0
    """Escalation level (1 first notice, 2 formal notice, 3 agency); 0 for the others."""


def plan(
    rules: PolicyRules, *, due_on: date, delivered_on: date | None
) -> tuple[PlannedAction, ...]:
    """The invoice's timeline under `rules`, in date order (escalation after reminders on a tie)."""
    items: list[PlannedAction] = []
    if delivered_on is not None and rules.receipt_confirmation_days_after_delivery is not None:
        items.append(
            PlannedAction(
                action=Action.RECEIPT_CONFIRMATION,
                on=delivered_on + timedelta(days=rules.receipt_confirmation_days_after_delivery),
            )
        )
    for days in sorted(rules.reminder_days_before_due, reverse=True):
        items.append(PlannedAction(action=Action.REMINDER, on=due_on - timedelta(days=days)))
    for step in rules.escalation:
        items.append(
            PlannedAction(
                action=Action(step.action),
                on=due_on + timedelta(days=step.days_after_due),
                level=step.level,
            )
        )
    return tuple(sorted(items, key=lambda p: (p.on, p.level)))
