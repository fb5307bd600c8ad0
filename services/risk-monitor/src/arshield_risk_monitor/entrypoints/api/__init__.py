"""Risk-monitor's HTTP API, one typed router per feature: buyers' risk profiles, the portfolio by
grade, the alert worklist, grade migration, the backtest report, and the scorecard in force
(admin)."""

from __future__ import annotations

from fastapi import APIRouter

from arshield_risk_monitor.entrypoints.api import alerts, backtest, buyers, portfolio, scorecard

router = APIRouter(prefix="/v1", tags=["risk-monitor"])
for feature in (buyers, portfolio, alerts, backtest, scorecard):
    router.include_router(feature.router)
