"""The risk decider: a fact changes the buyer's history and is scored at once (its risk profile
shows it); a business day decides what to publish (ARCHITECTURE decision 5: the order in which
one day's facts arrive, across topics, never changes a decision, so a rebuild decides alike).

A buyer is scored once registered. Its score is published when its grade or its score's band
(`BAND` points) changes, so the log holds grade moves rather than every wobble; a grade change is
a downgrade or an upgrade with the factors that explain it; an alert when its level rises. An
insolvency notice is the one fact decided on arrival: the buyer is insolvent, with a critical
alert, on the business day the notice arrives (its grade 10 is published at the next business
day, with the score of that day).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from arshield_risk_monitor.domain import signals as sig
from arshield_risk_monitor.domain.alerts import Level, hold, in_force, level_of, next_hold_change
from arshield_risk_monitor.domain.commands import (
    Command,
    NoteFinancials,
    NoteInsolvency,
    NoteRating,
    RegisterBuyer,
    StartBusinessDay,
)
from arshield_risk_monitor.domain.events import (
    Assessed,
    BecameInsolvent,
    DayTaken,
    DomainEvent,
    ExternalPended,
    GradeChanged,
    HistoryChanged,
    LevelChanged,
    Registered,
    RulesHeld,
    ScorecardApplied,
    ScorePublished,
)
from arshield_risk_monitor.domain.evolve import evolve
from arshield_risk_monitor.domain.record import (
    financials_of,
    later,
    record,
    with_financials,
    with_rating,
)
from arshield_risk_monitor.domain.scorecard import (
    DEFAULTED,
    UPGRADE_DAYS,
    AlertThresholds,
    Scorecard,
)
from arshield_risk_monitor.domain.state import (
    Assessment,
    BuyerRisk,
    History,
    Insolvency,
    PendingExternal,
    publish_key,
    rank,
)

INSOLVENT = ("petition_filed", "proceedings_opened")
"""Proceedings that make a buyer insolvent (a dismissed petition or closed proceedings do not)."""
DEFAULT_RULES = AlertThresholds()

FACTOR_SIGNALS = {
    "dbt_90d": "days_beyond_terms_rising",
    "dbt_trend": "days_beyond_terms_rising",
    "late_share_12m": "days_beyond_terms_rising",
    "partial_payments_90d": "partial_payments",
    "disputes_90d": "disputes_rising",
    "days_since_payment": "payment_stop",
    "overdue_days": "payment_stop",
    "external_grade": "external_grade_drop",
    "external_grade_change_12m": "external_grade_drop",
    "equity_ratio": "weaker_financials",
    "current_ratio": "weaker_financials",
    "return_on_assets": "weaker_financials",
    "equity_trend": "weaker_financials",
}
"""A factor's signal as the public events name it."""


@dataclass(frozen=True)
class DayContext:
    """What a tenant's business day is decided under: the scorecard version in force."""

    scorecard_version: str | None


class RiskDecider:
    """The pure domain in the shape the kernel runs; `scorecards` are the shipped versions and
    `default_version` the one used before any business day named one."""

    def __init__(self, scorecards: Mapping[str, Scorecard], default_version: str | None) -> None:
        self.scorecards = scorecards
        self.default_version = default_version if default_version in scorecards else None

    def initial(self, tenant_id: str, buyer_id: str) -> BuyerRisk:
        return BuyerRisk(tenant_id=tenant_id, buyer_id=buyer_id)

    def decide(self, state: BuyerRisk, command: Command) -> list[DomainEvent]:
        return decide(state, command, self)

    def evolve(self, state: BuyerRisk, event: DomainEvent) -> BuyerRisk:
        return evolve(state, event)

    def wake_on(self, state: BuyerRisk) -> date | None:
        card = self.scorecard(state)
        return wake_on(state, card.alerts if card is not None else DEFAULT_RULES)

    def on_day(self, state: BuyerRisk, day: date, context: DayContext) -> StartBusinessDay:
        return StartBusinessDay(on=day, scorecard_version=context.scorecard_version)

    def scorecard(self, state: BuyerRisk) -> Scorecard | None:
        version = state.scorecard_version if state.version_seen else self.default_version
        return None if version is None else self.scorecards.get(version)


def wake_on(state: BuyerRisk, rules: AlertThresholds = DEFAULT_RULES) -> date | None:
    if not state.registered or state.as_of is None:
        return None
    if state.undecided or not state.version_seen:
        return state.as_of + timedelta(days=1)
    if state.insolvency is not None:
        return None
    changes = (
        sig.next_change(state.history, state.as_of),
        next_hold_change(state.level, state.standing, rules),
    )
    return min((on for on in changes if on is not None and on > state.as_of), default=None)


def decide(state: BuyerRisk, command: Command, decider: RiskDecider) -> list[DomainEvent]:
    events: list[DomainEvent] = []
    history, insolvency = state.history, state.insolvency
    match command:
        case StartBusinessDay():
            if command.scorecard_version != state.scorecard_version or not state.version_seen:
                events.append(ScorecardApplied(command.scorecard_version))
                state = state.model_copy(
                    update={"scorecard_version": command.scorecard_version, "version_seen": True}
                )
            elif state.as_of is not None and command.on <= state.as_of and not state.undecided:
                return []
            day = later(state.as_of, command.on)
        case RegisterBuyer():
            if state.registered:
                return []
            events.append(Registered(command.on))
            for fact in state.pending:
                history = _with_pending(history, fact)
                if fact.insolvency is not None and insolvency is None:
                    insolvency = fact.insolvency
            day = later(state.as_of, command.on)
        case NoteInsolvency():
            notice = command.insolvency
            if notice.proceeding not in INSOLVENT:
                return []
            if not state.registered:
                return [ExternalPended(PendingExternal(kind="insolvency", insolvency=notice))]
            if insolvency is None:
                insolvency = notice
            day = later(state.as_of, command.on)
        case NoteRating() if not state.registered:
            return [ExternalPended(PendingExternal(kind="rating", rating=command.rating))]
        case NoteFinancials() if not state.registered:
            report = financials_of(command)
            return [ExternalPended(PendingExternal(kind="financials", financials=report))]
        case _:
            history = record(history, command)
            day = later(state.as_of, command.on)
    if history != state.history:
        events.append(HistoryChanged(history))
    newly_insolvent = insolvency is not None and state.insolvency is None
    if newly_insolvent and insolvency is not None:
        events.append(BecameInsolvent(insolvency, day))
    registered = state.registered or isinstance(command, RegisterBuyer)
    if not registered:
        return events
    after = state.model_copy(update={"history": history, "insolvency": insolvency})
    if isinstance(command, StartBusinessDay):
        return [*events, DayTaken(day), *assess(after, day, decider)]
    card = decider.scorecard(after)
    events.append(Assessed(assessment_of(after, day, card)))
    if newly_insolvent:
        rules = card.alerts if card is not None else DEFAULT_RULES
        rule = Level("critical", "insolvency_notice", "insolvency notice published")
        _, standing = hold(state.level, state.standing, rule, day, rules)
        if standing != state.standing:
            events.append(RulesHeld(standing))
    if newly_insolvent and state.level != "critical":
        # a buyer already at critical (grade 9) is not alerted again: the level did not rise
        events.append(
            LevelChanged(
                level="critical",
                raised=True,
                signal="insolvency_notice",
                detail="insolvency notice published",
                on=day,
                version=card.version if card is not None else "none",
            )
        )
    return events


def _with_pending(history: History, fact: PendingExternal) -> History:
    if fact.rating is not None:
        return with_rating(history, fact.rating)
    if fact.financials is not None:
        return with_financials(history, fact.financials)
    return history


def sustained(state: BuyerRisk, day: date) -> float | None:
    """The highest PD published over the last `UPGRADE_DAYS` (the one in force when they began
    included): an upgrade must hold that long."""
    start = day - timedelta(days=UPGRADE_DAYS)
    before = [m for m in state.marks if m.on <= start][-1:]
    window = [*before, *(m for m in state.marks if start < m.on <= day)]
    return max((m.pd for m in window), default=None)


def assessment_of(state: BuyerRisk, day: date, card: Scorecard | None) -> Assessment:
    signals = sig.compute(state.history, day)
    if card is None:
        version = "none"
        points: tuple[int, ...] = ()
        score: int | None = None
        pd = grade = None
    else:
        scoring = card.score(signals)
        version, points, score = card.version, scoring.points, scoring.score
        # a new scorecard version re-rates the buyer afresh: stickiness holds within a version
        same_card = state.current is not None and state.current.version == card.version
        previous = None if state.published is None or not same_card else state.published[0]
        pd, grade = scoring.pd, card.sticky_grade(scoring.pd, previous, sustained(state, day))
    if state.insolvency is not None:
        pd, grade = 1.0, DEFAULTED
    return Assessment(
        on=day, version=version, signals=signals, points=points, score=score, pd=pd, grade=grade
    )


def assess(state: BuyerRisk, day: date, decider: RiskDecider) -> list[DomainEvent]:
    """Re-assess the buyer as of `day` and decide what to publish (a business day)."""
    card = decider.scorecard(state)
    now = assessment_of(state, day, card)
    events: list[DomainEvent] = [Assessed(now)]
    if now.grade is None:
        return events
    published = state.published
    if published != publish_key(now.grade, now.score):
        previous = None if published is None else published[0]
        events.append(ScorePublished(now, previous))
        if previous is not None and previous != now.grade:
            reasons, signals = explain(now, card, state.insolvency, worse=now.grade > previous)
            events.append(GradeChanged(previous, now.grade, now, reasons, signals))
    rules = card.alerts if card is not None else DEFAULT_RULES
    found = level_of(now, in_force(state.marks, day), rules, insolvent=state.insolvency is not None)
    level, standing = hold(state.level, state.standing, found, day, rules)
    if standing != state.standing:
        events.append(RulesHeld(standing))
    if level != state.level:
        events.append(
            LevelChanged(
                level=level,
                raised=rank(level) > rank(state.level),
                signal=found.signal,
                detail=found.detail,
                on=day,
                version=now.version,
            )
        )
    return events


def explain(
    now: Assessment, card: Scorecard | None, insolvency: Insolvency | None, *, worse: bool = True
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The words and signals behind a new grade: the notice, else the three factors that cost the
    most points (a downgrade) or earned the most (an upgrade), then the score and PD."""
    if insolvency is not None:
        return (f"insolvency notice: {insolvency.proceeding}",), ("insolvency_notice",)
    if card is None:
        return (f"grade {now.grade}",), ()
    ranked = sorted(
        zip(card.factors, now.points, strict=True), key=lambda fp: fp[1], reverse=not worse
    )
    reasons, signals = [], []
    for factor, points in ranked[:3]:
        value = now.signals.get(factor.signal)
        shown = "missing" if value is None else f"{value:.4g}"
        reasons.append(f"{factor.label}: {shown} ({points:+d} points)")
        named = FACTOR_SIGNALS.get(factor.signal)
        if named is not None and named not in signals and points < 0 and worse:
            signals.append(named)
    reasons.append(f"score {now.score}, PD {now.pd:.2%}")
    return tuple(reasons), tuple(signals)
