"""Risk-monitor's private events: what changed in a buyer's risk state and what was decided.
`adapters/public_events.py` maps the decisions to the public language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from arshield_risk_monitor.domain.state import (
    AlertLevel,
    Assessment,
    History,
    Insolvency,
    PendingExternal,
    Standing,
)


@dataclass(frozen=True)
class Registered:
    on: date


@dataclass(frozen=True)
class HistoryChanged:
    history: History


@dataclass(frozen=True)
class ExternalPended:
    fact: PendingExternal


@dataclass(frozen=True)
class ScorecardApplied:
    version: str | None


@dataclass(frozen=True)
class DayTaken:
    """A business day decided what the facts since the last one changed."""

    on: date


@dataclass(frozen=True)
class Assessed:
    """The buyer's signals and score were recomputed (as of `assessment.on`)."""

    assessment: Assessment


@dataclass(frozen=True)
class ScorePublished:
    assessment: Assessment
    previous_grade: int | None


@dataclass(frozen=True)
class GradeChanged:
    from_grade: int
    to_grade: int
    assessment: Assessment
    reasons: tuple[str, ...]
    signals: tuple[str, ...]


@dataclass(frozen=True)
class LevelChanged:
    """The buyer's alert level moved; `raised` when it rose (an alert is published)."""

    level: AlertLevel | None
    raised: bool
    signal: str
    detail: str
    on: date
    version: str


@dataclass(frozen=True)
class RulesHeld:
    """How long the alert rules have held changed (the persistence of the alert level)."""

    standing: Standing


@dataclass(frozen=True)
class BecameInsolvent:
    insolvency: Insolvency
    on: date


DomainEvent = (
    Registered
    | HistoryChanged
    | ExternalPended
    | ScorecardApplied
    | DayTaken
    | Assessed
    | ScorePublished
    | GradeChanged
    | LevelChanged
    | RulesHeld
    | BecameInsolvent
)
