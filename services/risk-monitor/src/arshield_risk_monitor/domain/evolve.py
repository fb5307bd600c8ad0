"""How each private event changes a buyer's risk state."""

from __future__ import annotations

from arshield_risk_monitor.domain import signals as sig
from arshield_risk_monitor.domain.alerts import in_force
from arshield_risk_monitor.domain.events import (
    Assessed,
    BecameInsolvent,
    DayTaken,
    DomainEvent,
    ExternalPended,
    HistoryChanged,
    LevelChanged,
    Registered,
    RulesHeld,
    ScorecardApplied,
    ScorePublished,
)
from arshield_risk_monitor.domain.state import BuyerRisk, Mark, PendingExternal, publish_key

PENDING_KEPT = 20
"""External facts kept for a buyer not yet registered, besides an insolvency notice: the latest
ones (more ratings or reports than that could never all reach a window)."""


def kept(pending: tuple[PendingExternal, ...]) -> tuple[PendingExternal, ...]:
    notices = [p for p in pending if p.kind == "insolvency"][:1]
    others = [p for p in pending if p.kind != "insolvency"][-PENDING_KEPT:]
    return (*notices, *others)


def evolve(state: BuyerRisk, event: DomainEvent) -> BuyerRisk:
    match event:
        case Registered():
            return state.model_copy(update={"registered": True, "pending": (), "undecided": True})
        case HistoryChanged():
            return state.model_copy(update={"history": event.history, "undecided": True})
        case DayTaken():
            return state.model_copy(update={"undecided": False})
        case ExternalPended():
            return state.model_copy(update={"pending": kept((*state.pending, event.fact))})
        case ScorecardApplied():
            return state.model_copy(
                update={"scorecard_version": event.version, "version_seen": True}
            )
        case Assessed():
            day = event.assessment.on
            return state.model_copy(
                update={
                    "current": event.assessment,
                    "as_of": day,
                    "history": sig.prune(state.history, day),
                    "marks": tuple(in_force(state.marks, day)),
                }
            )
        case ScorePublished():
            a = event.assessment
            mark = Mark(on=a.on, pd=a.pd if a.pd is not None else 1.0, grade=a.grade or 10)
            return state.model_copy(
                update={
                    "published": publish_key(a.grade or 10, a.score),
                    "marks": (*state.marks, mark),
                }
            )
        case LevelChanged():
            return state.model_copy(update={"level": event.level})
        case RulesHeld():
            return state.model_copy(update={"standing": event.standing})
        case BecameInsolvent():
            return state.model_copy(update={"insolvency": event.insolvency, "undecided": True})
    return state
