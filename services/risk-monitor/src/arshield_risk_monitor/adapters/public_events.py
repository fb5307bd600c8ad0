"""The one mapping from risk-monitor's private events to the public language
(`arshield_events.risk`). Pure: everything comes from the change.

A public event's id derives from its cause and its `purpose`; a business day's cause (the tick)
decides about many buyers, so every purpose names the buyer. These strings never change.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from arshield_events import risk as public
from arshield_risk_monitor.domain.events import (
    BecameInsolvent,
    DomainEvent,
    GradeChanged,
    LevelChanged,
    ScorePublished,
)
from arshield_risk_monitor.domain.state import Assessment, BuyerRisk
from arshield_runtime.kernel import Change, Emit

RiskChange = Change[BuyerRisk, DomainEvent]
Labels = Callable[[str], list[tuple[str, str]]]
"""A scorecard version's factors as (signal, label) pairs, in its order."""
_ALERT_NAMESPACE = uuid.UUID("6f0b3c1e-2d4a-4e8f-9a7b-5c1d2e3f4a5b")


def decimal(value: float | None, places: int = 4) -> Decimal | None:
    """A float signal as the exact decimal string the events carry (rounded to `places`)."""
    if value is None:
        return None
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return Decimal("0" if text in ("", "-0") else text)


def signal_values(assessment: Assessment) -> dict[str, Decimal | None]:
    return {name: decimal(value) for name, value in assessment.signals.items()}


def factors(assessment: Assessment, labels: list[tuple[str, str]]) -> tuple[Any, ...]:
    return tuple(
        public.FactorPoints(
            signal=signal,
            label=label,
            value=decimal(assessment.signals.get(signal)),
            points=points,
        )
        for (signal, label), points in zip(labels, assessment.points, strict=True)
    )


def publish_with(labels_of: Labels) -> Callable[[RiskChange], Iterator[Emit]]:
    """The publish function; `labels_of(version)` names each factor of a scorecard version."""

    def publish(change: RiskChange) -> Iterator[Emit]:
        buyer_id = change.buyer_id
        for event in change.events:
            match event:
                case ScorePublished():
                    a = event.assessment
                    if a.grade is None or a.pd is None:
                        continue
                    yield Emit(
                        public.BuyerScored(
                            buyer_id=buyer_id,
                            score=a.score,
                            pd=decimal(a.pd, 6) or Decimal(0),
                            grade=a.grade,
                            previous_grade=event.previous_grade,
                            factors=factors(a, labels_of(a.version)),
                            scorecard_version=a.version,
                            scored_on=a.on,
                        ),
                        purpose=f"scored:{buyer_id}",
                    )
                case GradeChanged():
                    a = event.assessment
                    common: dict[str, Any] = {
                        "buyer_id": buyer_id,
                        "from_grade": event.from_grade,
                        "to_grade": event.to_grade,
                        "reasons": event.reasons,
                        "signals": event.signals,
                        "signal_values": signal_values(a),
                        "pd": decimal(a.pd, 6),
                        "policy_version": a.version,
                    }
                    if event.to_grade > event.from_grade:
                        yield Emit(
                            public.BuyerDowngraded(**common, downgraded_on=a.on),
                            purpose=f"downgraded:{buyer_id}",
                        )
                    else:
                        yield Emit(
                            public.BuyerUpgraded(**common, upgraded_on=a.on),
                            purpose=f"upgraded:{buyer_id}",
                        )
                case LevelChanged() if event.raised and event.level is not None:
                    yield Emit(
                        public.RiskAlertRaised(
                            alert_id=alert_id(change, event),
                            buyer_id=buyer_id,
                            level=event.level,
                            signal=event.signal,
                            detail=event.detail,
                            policy_version=event.version,
                            raised_on=event.on,
                        ),
                        purpose=f"alert:{buyer_id}:{event.level}",
                    )
                case BecameInsolvent():
                    notice = event.insolvency
                    yield Emit(
                        public.BuyerInsolvent(
                            buyer_id=buyer_id,
                            source="insolvency_notice",
                            notice_ref=notice.notice_ref,
                            detail=notice.detail or f"insolvency: {notice.proceeding}",
                            insolvent_on=notice.on,
                        ),
                        purpose=f"insolvent:{buyer_id}",
                    )

    return publish


def alert_id(change: RiskChange, event: LevelChanged) -> str:
    """The alert's id: the buyer, its level and the business day (one rise per level a day)."""
    key = f"{change.tenant_id}\x1f{change.buyer_id}\x1f{event.level}\x1f{event.on.isoformat()}"
    return f"alert-{uuid.uuid5(_ALERT_NAMESPACE, key)}"
