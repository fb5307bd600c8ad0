"""Backtests of a simulated history: its ground truth read from disk, and the risk events the
service published reduced to what the measures need. The measures themselves (precision, recall,
lead time, false alarms, AUC of the PD, the trade-off, the targets) are the risk-monitor's
(`arshield_risk_monitor.domain.backtest`), the same module its `GET /v1/backtest` report uses; they
are re-exported here for the command and the fitting scripts.

The same measures are taken of a naive rule on the same history (the first day an invoice is 30+
days overdue, an external grade of 7 or worse, or negative equity reported), so every figure has a
baseline.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from arshield_risk_monitor.domain.backtest import (
    HORIZON,
    LEVELS,
    Report,
    Target,
    Timeline,
    Truth,
    WarningReport,
    first_at_or_above,
    judge,
    pd_as_of,
    pd_auc,
    report,
    targets,
    tradeoff,
)

__all__ = [
    "HORIZON",
    "LEVELS",
    "Report",
    "RiskHistory",
    "Target",
    "Timeline",
    "Truth",
    "WarningReport",
    "first_at_or_above",
    "judge",
    "load_truth",
    "pd_as_of",
    "pd_auc",
    "read_documents",
    "report",
    "risk_history",
    "targets",
    "tradeoff",
]


def load_truth(path: Path) -> Truth:
    """The ground truth a simulation wrote (`ground_truth.json`)."""
    document = json.loads(path.read_text())
    return Truth(
        start=date.fromisoformat(document["start"]),
        end=date.fromisoformat(document["end"]),
        buyers=tuple(b["buyer_id"] for b in document["buyers"]),
        defaults={
            b["buyer_id"]: date.fromisoformat(b["default_on"])
            for b in document["buyers"]
            if b["defaults"]
        },
    )


@dataclass
class RiskHistory:
    """What the service published, reduced to what a backtest needs."""

    first_watch: dict[str, date]
    first_warning: dict[str, date]
    timeline: dict[str, list[tuple[date, float]]]


def risk_history(documents: Iterable[Mapping[str, Any]]) -> RiskHistory:
    """From CloudEvents documents of `arshield.risk` (JSON objects; other types are ignored).
    An insolvency (`BuyerInsolvent`) counts as a critical alert on its date."""
    watch: dict[str, date] = {}
    warning: dict[str, date] = {}
    timeline: dict[str, list[tuple[date, float]]] = defaultdict(list)

    def alert(buyer: str, on: date, level: str) -> None:
        if LEVELS[level] >= 1 and (buyer not in watch or on < watch[buyer]):
            watch[buyer] = on
        if LEVELS[level] >= 2 and (buyer not in warning or on < warning[buyer]):
            warning[buyer] = on

    for document in documents:
        kind, data = str(document.get("type", "")), document.get("data") or {}
        if kind.startswith("arshield.risk.RiskAlertRaised."):
            alert(data["buyer_id"], date.fromisoformat(data["raised_on"]), data["level"])
        elif kind.startswith("arshield.risk.BuyerInsolvent."):
            alert(data["buyer_id"], date.fromisoformat(data["insolvent_on"]), "critical")
        elif kind.startswith("arshield.risk.BuyerScored."):
            pd = data.get("pd", data.get("probability_of_default"))
            if pd is not None:
                timeline[data["buyer_id"]].append(
                    (date.fromisoformat(data["scored_on"]), float(Decimal(str(pd))))
                )
    for marks in timeline.values():
        marks.sort(key=lambda mark: mark[0])
    return RiskHistory(watch, warning, dict(timeline))


def read_documents(path: Path) -> list[dict[str, Any]]:
    """A JSONL file of CloudEvents as plain JSON objects (no schema needed to judge them)."""
    with path.open() as lines:
        return [json.loads(line) for line in lines if line.strip()]
