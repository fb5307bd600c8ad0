"""Risk-monitor's HTTP commands: putting a scorecard version in force (an event on the log)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta

from arshield_events.risk import ScorecardActivated
from arshield_risk_monitor.application.wiring import RiskKernel
from arshield_risk_monitor.domain.scorecard import Scorecard
from arshield_runtime.kernel import Session
from arshield_runtime.messaging import RequestEmitter


class ActivationInvalid(Exception):  # noqa: N818 - an answer, not a program error
    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field, self.detail = field, detail


async def business_date(session: Session, kernel: RiskKernel, tenant_id: str) -> date:
    """The tenant's business date (the latest tick consumed), else today's date."""
    return await kernel.business_date(session, tenant_id) or datetime.now(UTC).date()


async def activate_scorecard(
    session: Session,
    kernel: RiskKernel,
    scorecards: Mapping[str, Scorecard],
    tenant_id: str,
    *,
    version: str,
    effective_on: date | None,
    activated_by: str,
    source: str,
    wake: Callable[[], None] | None,
) -> ScorecardActivated:
    """Put `version` in force from `effective_on` (default: the next business day). It is written
    to the outbox; the service takes it into account when it reads it back from its topic, so a
    rebuild sees it at the same point of the log. Past business days are never re-decided."""
    if version not in scorecards:
        known = ", ".join(sorted(scorecards)) or "none"
        raise ActivationInvalid("scorecard_version", f"no scorecard {version} (known: {known})")
    today = await business_date(session, kernel, tenant_id)
    effective = effective_on or today + timedelta(days=1)
    if effective <= today:
        raise ActivationInvalid(
            "effective_on", f"must be after the business date {today.isoformat()}"
        )
    event = ScorecardActivated(
        scorecard_version=version,
        effective_on=effective,
        activated_by=activated_by,
        activated_on=today,
    )
    emitter = RequestEmitter(source, tenant_id, f"scorecard:{uuid.uuid4().hex}")
    emitter.emit(event, purpose="activated")
    await emitter.flush(session, wake)
    return event
