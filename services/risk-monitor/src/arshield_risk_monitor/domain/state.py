"""The risk state of one buyer: the compact history its signals need, and what was decided.

Only what the windows of the signals need is kept (invoices due or settled within 365 days and
every open one, payments and disputes within 90 days, the ratings in force over 365 days, the last
two financial reports), so a buyer's state stays small however long its history.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

AlertLevel = Literal["watch", "warning", "critical"]
LEVELS: tuple[AlertLevel, ...] = ("watch", "warning", "critical")


BAND = 20
"""Score points per band: a score is published again once it leaves its band."""


def band(score: int | None) -> int:
    return -1 if score is None else score // BAND


def publish_key(grade: int, score: int | None) -> tuple[int, int]:
    """What a published score is compared on: its grade and band (an insolvent buyer's score no
    longer matters: grade 10 is published once)."""
    return (grade, -1 if grade >= 10 else band(score))


def rank(level: AlertLevel | None) -> int:
    return 0 if level is None else LEVELS.index(level) + 1


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Invoice(Frozen):
    invoice_id: str
    due_on: date | None = None
    """None while only later facts (a settlement) arrived before the invoice itself."""
    amount: Decimal = Decimal(0)
    outstanding: Decimal = Decimal(0)
    settled_on: date | None = None
    void: bool = False
    """Cancelled or settled by credit: not payment behaviour."""

    @property
    def open(self) -> bool:
        return self.settled_on is None and not self.void and self.due_on is not None


class Rating(Frozen):
    published_on: date
    grade: int


class Financials(Frozen):
    period_end_on: date
    reported_on: date
    equity_ratio: float | None = None
    current_ratio: float | None = None
    return_on_assets: float | None = None


class History(Frozen):
    invoices: tuple[Invoice, ...] = ()
    last_payment_on: date | None = None
    partial_payments: tuple[date, ...] = ()
    disputes: tuple[date, ...] = ()
    ratings: tuple[Rating, ...] = ()
    financials: tuple[Financials, ...] = ()


class Insolvency(Frozen):
    on: date
    proceeding: str
    notice_ref: str | None = None
    detail: str | None = None


class Assessment(Frozen):
    """The buyer's signals and score as of `on` under `version`."""

    on: date
    version: str
    signals: dict[str, float | None]
    points: tuple[int, ...] = ()
    score: int | None = None
    pd: float | None = None
    grade: int | None = None
    """None without a scorecard (signals only); 10 once insolvent."""


class Mark(Frozen):
    """A published score: the PD and grade the watch rules compare against (90 days)."""

    on: date
    pd: float
    grade: int


class Standing(Frozen):
    """How long the alert rules have held: the rank they gave at the last assessment (`raw`: 0
    none, 1 watch, 2 warning, 3 critical) and per level (watch, warning, critical) the day they
    last crossed it (began or ceased to reach it; None: never reached)."""

    raw: int = 0
    crossed: tuple[date | None, date | None, date | None] = (None, None, None)


class PendingExternal(Frozen):
    """An external fact about a buyer not yet registered: applied once it is."""

    kind: Literal["rating", "financials", "insolvency"]
    rating: Rating | None = None
    financials: Financials | None = None
    insolvency: Insolvency | None = None


class BuyerRisk(Frozen):
    tenant_id: str
    buyer_id: str
    registered: bool = False
    as_of: date | None = None
    """The latest business date the buyer's signals were computed for."""
    scorecard_version: str | None = None
    """The version in force at the buyer's last business day (facts are scored under it)."""
    version_seen: bool = False
    """Whether a business day told the buyer which version is in force (a new buyer learns it
    at its first tick)."""
    history: History = History()
    pending: tuple[PendingExternal, ...] = ()
    insolvency: Insolvency | None = None
    current: Assessment | None = None
    published: tuple[int, int] | None = None
    """(grade, score band) of the last published score."""
    marks: tuple[Mark, ...] = ()
    level: AlertLevel | None = None
    """The alert level the buyer is at (an alert is raised only when it rises)."""
    standing: Standing = Standing()
    """How long the alert rules have held or not (the persistence of `alerts.hold`)."""
    undecided: bool = False
    """Facts changed the buyer since its last business day: the next one decides."""
