"""A seeded portfolio of buyers whose hidden health drifts, and the facts it leaves behind.

An early warning can only be judged on a history where the defaults are known. Each simulated buyer
has a hidden health (1 sound ... 0 failed) that drifts month by month; what the platform sees is
what a real portfolio shows: invoices and how they are paid (ERP facts), and ratings, financial
statements and insolvency notices (external facts). The profiles are the cases an early warning
must tell apart:

- `healthy`: pays on time with noise; a few report negative equity (as 4 % of the sound Polish
  companies did), which trips a naive rule;
- `seasonal`: healthy, but pays invoices falling due in winter 30-55 days late (trips a naive rule);
- `recovering`: a bad patch of a few months, a cash squeeze (late and partial payments,
  disputes, slightly weaker figures and rating) and then a recovery, without default (trips a
  naive rule);
- `deteriorating`: health falls over 8-20 months to a default, by insolvency (a notice) or by
  protracted non-payment (the default is the day the first unpaid invoice is 90 days overdue);
- `cloaking`: pays on time until a sudden insolvency; only the external facts (weaker figures, a
  rating cut) show it coming, and not always.

Financial ratios are drawn from the Polish companies bankruptcy data (UCI 365, 5th year, CC BY
4.0): each buyer keeps its own quantile of each ratio, and its health moves the value between the
quantiles of the companies that did not and did go bankrupt within the year. The generator is
pure: the same configuration and seed give the same facts, ids and ground truth.

Over 400 lines for a reason: the profiles, the monthly drift of a buyer's hidden health and every
kind of fact it leaves (invoices and their payments, disputes, ratings, statements, notices) share
that hidden state, and read as one model only side by side.
"""

from __future__ import annotations

import json
import math
import random
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from arshield_cli.importers.receivables_csv import Fact
from arshield_events.envelope import Payload, derived_event_id, envelope
from arshield_events.erp import (
    Allocation,
    BuyerRegistered,
    ContractTerms,
    DisputeRaised,
    DisputeResolved,
    InvoiceIssued,
    PaymentReceived,
)
from arshield_events.external import (
    BuyerFinancialsReported,
    BuyerRatingPublished,
    InsolvencyNoticePublished,
)
from arshield_events.money import Money
from arshield_events.registry import serialize_event

ERP_SOURCE = "erp/simulator"
EXTERNAL_SOURCE = "provider/simulator"
RATING_PROVIDER = "sim-ratings"
FINANCIALS_PROVIDER = "sim-registry"
COURT_PROVIDER = "sim-court-register"

PROFILE_SHARES: tuple[tuple[str, float], ...] = (
    ("healthy", 0.72),
    ("seasonal", 0.07),
    ("recovering", 0.07),
    ("deteriorating", 0.11),
    ("cloaking", 0.03),
)
"""Share of each profile in a portfolio: about 14 % of the buyers default over the history."""

# Quantiles of the Polish 5th-year ratios (2 %, 5 %, 10 %, 25 %, 50 %, 75 %, 90 %, 95 %, 98 %) for
# companies that did not (0) and did (1) go bankrupt within the following year.
_QUANTILES = (0.02, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.98)
_RATIOS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "equity_ratio": (
        (-0.215, 0.035, 0.152, 0.339, 0.539, 0.728, 0.853, 0.907, 0.956),
        (-4.338, -1.765, -0.601, 0.014, 0.258, 0.495, 0.736, 0.897, 0.974),
    ),
    "current_ratio": (
        (0.427, 0.633, 0.825, 1.144, 1.713, 3.013, 5.697, 8.612, 16.512),
        (0.061, 0.132, 0.228, 0.555, 0.966, 1.520, 3.157, 6.196, 26.253),
    ),
    "return_on_assets": (
        (-0.254, -0.136, -0.056, 0.007, 0.052, 0.120, 0.213, 0.300, 0.401),
        (-1.445, -0.722, -0.497, -0.234, -0.067, 0.023, 0.127, 0.229, 0.433),
    ),
}
_COUNTRIES = (("DE", "de", "DE"), ("FR", "fr", "FR"), ("NL", "nl", "EU"), ("IT", "it", "EU"))
_LETTERS = ("AAA", "AA", "A", "BBB", "BB+", "BB", "B+", "B", "CCC")
# Within a business day: the profile, the invoice, the dispute, its resolution, the payment, then
# the external facts.
_ORDER: dict[type[Payload], int] = {
    BuyerRegistered: 0,
    InvoiceIssued: 1,
    DisputeRaised: 2,
    DisputeResolved: 3,
    PaymentReceived: 4,
    BuyerRatingPublished: 5,
    BuyerFinancialsReported: 6,
    InsolvencyNoticePublished: 7,
}


@dataclass(frozen=True)
class SimulationConfig:
    buyers: int = 1000
    years: int = 3
    seed: int = 7
    start: date = date(2024, 1, 1)
    tenant: str = "sim"

    @property
    def end(self) -> date:
        return self.start + timedelta(days=365 * self.years - 1)


@dataclass(frozen=True)
class BuyerTruth:
    """What the platform cannot see: the buyer's profile and whether, when and how it defaulted."""

    buyer_id: str
    profile: str
    defaults: bool
    default_on: date | None = None
    kind: str | None = None  # "insolvency" or "non_payment"


@dataclass
class Simulation:
    config: SimulationConfig
    facts: list[Fact] = field(default_factory=list)
    truth: list[BuyerTruth] = field(default_factory=list)


def _interpolate(u: float, values: Sequence[float]) -> float:
    u = min(max(u, _QUANTILES[0]), _QUANTILES[-1])
    i = min(bisect_right(_QUANTILES, u), len(_QUANTILES) - 1)
    lo, hi = _QUANTILES[i - 1], _QUANTILES[i]
    return values[i - 1] + (values[i] - values[i - 1]) * (u - lo) / (hi - lo)


def financial_ratio(name: str, quantile: float, distress: float) -> float:
    """A ratio at the buyer's own quantile, moved from the sound companies' distribution towards
    the failing companies' one as `distress` goes from 0 to 1."""
    sound, failing = _RATIOS[name]
    return (1 - distress) * _interpolate(quantile, sound) + distress * _interpolate(
        quantile, failing
    )


def rating_grade(health: float) -> int:
    """The agency grade (1 best ... 9) that a health reads as; 10 is kept for defaults."""
    return max(1, min(9, round(1 + 9 * math.pow(1 - min(max(health, 0.0), 1.0), 1.2))))


class _Buyer:
    """One buyer's hidden trajectory and the facts it emits."""

    def __init__(self, sim: Simulation, index: int, profile: str, rng: random.Random) -> None:
        self.sim, self.rng, self.profile = sim, rng, profile
        config = sim.config
        self.id = f"B{index:05d}"
        self.start, self.end = config.start, config.end
        self.days = (self.end - self.start).days + 1
        self.base = rng.uniform(0.62, 0.95)
        # Month-by-month noise around the trajectory (a mean-reverting walk).
        self.noise: list[float] = []
        level = 0.0
        for _ in range(self.days // 30 + 2):
            level = 0.7 * level + rng.gauss(0, 0.035)
            self.noise.append(level)
        self.default_on: date | None = None
        self.kind: str | None = None
        self.onset: date | None = None
        self.patch: tuple[date, date, float] | None = None
        self.payment_patch: tuple[date, date, float] | None = None
        latest = self.end - timedelta(days=20)
        if profile == "deteriorating":
            target = config.start + timedelta(days=rng.randint(240, self.days - 20))
            self.default_on = min(target, latest)
            self.kind = rng.choice(("insolvency", "non_payment"))
            self.onset = self.default_on - timedelta(days=rng.randint(240, 600))
            self.shape = rng.uniform(0.6, 1.4)
        elif profile == "cloaking":
            self.default_on = config.start + timedelta(days=rng.randint(180, self.days - 20))
            self.kind = "insolvency"
            self.onset = self.default_on - timedelta(days=rng.randint(150, 420))
            self.shape = rng.uniform(0.8, 1.6)
        elif profile == "recovering":
            begin = config.start + timedelta(days=rng.randint(60, max(61, self.days - 300)))
            finish = begin + timedelta(days=rng.randint(90, 240))
            # A cash squeeze: payments suffer badly, the business itself only a little.
            self.patch = (begin, finish, rng.uniform(0.45, 0.6))
            self.payment_patch = (begin, finish, rng.uniform(0.1, 0.3))
        self.quantiles = {name: rng.uniform(0.05, 0.98) for name in _RATIOS}
        self.total_assets = math.exp(rng.gauss(math.log(5e6), 1.1))
        self.country, self.language, self.jurisdiction = rng.choice(_COUNTRIES)
        self.terms = rng.choice((30, 30, 30, 45, 60))
        self.cadence = rng.uniform(12, 40)
        self.invoice_size = math.exp(rng.gauss(math.log(6000), 0.8))
        self.rated = rng.random() < 0.85
        self.reports = rng.random() < 0.9
        self.stop_paying: date | None = None
        if self.kind == "non_payment" and self.default_on is not None:
            self.stop_paying = self.default_on - timedelta(days=90)

    # The hidden health ------------------------------------------------------------------------
    def health(self, day: date) -> float:
        return self._health(day, self.patch)

    def _health(self, day: date, patch: tuple[date, date, float] | None) -> float:
        offset = (day - self.start).days
        value = self.base + self.noise[max(0, min(offset // 30, len(self.noise) - 1))]
        if self.onset is not None and self.default_on is not None and day >= self.onset:
            progress = min(
                1.0, (day - self.onset).days / max(1, (self.default_on - self.onset).days)
            )
            value = value * (1 - progress**self.shape) + 0.02 * progress
        if patch is not None:
            begin, finish, floor = patch
            if begin <= day <= finish:
                middle = (finish - begin).days / 2
                depth = 1 - abs((day - begin).days - middle) / max(1.0, middle)
                value = value - (value - floor) * min(1.0, 1.6 * depth)
        return min(1.0, max(0.0, value))

    def payment_health(self, day: date) -> float:
        """Cloaking buyers pay as if sound until the end."""
        if self.profile == "cloaking":
            return self.base
        return self._health(day, self.payment_patch or self.patch)

    # Facts ------------------------------------------------------------------------------------
    def emit(self, on: date, data: Payload, key: str, seq: int = 0) -> None:
        config = self.sim.config
        source = ERP_SOURCE if data.topic.endswith("erp") else EXTERNAL_SOURCE
        event = envelope(
            data,
            id=derived_event_id(source, f"{config.tenant}/{config.seed}/{self.id}/{key}", "fact"),
            source=source,
            subject=self.id,
            tenantid=config.tenant,
            time=datetime.combine(on, time(9), tzinfo=UTC),
        )
        self.sim.facts.append(Fact(on, (_ORDER[type(data)], seq), event))

    def money(self, amount: float) -> Money:
        return Money(amount=Decimal(f"{max(amount, 1.0):.2f}"), currency="EUR")

    def generate(self) -> BuyerTruth:
        rng = self.rng
        self.emit(
            self.start,
            BuyerRegistered(
                buyer_id=self.id,
                legal_name=f"Simulated buyer {self.id}",
                country=self.country,
                segment="standard",
                preferred_language=self.language,
                registered_on=self.start,
            ),
            "registered",
        )
        first_unpaid_due = self.invoices()
        if self.kind == "non_payment":
            # The default is the day the first invoice left unpaid is 90 days overdue.
            self.default_on = (
                first_unpaid_due + timedelta(days=90) if first_unpaid_due is not None else None
            )
        defaults = self.default_on is not None and self.default_on <= self.end
        if self.kind == "insolvency" and self.default_on is not None and defaults:
            self.emit(
                self.default_on,
                InsolvencyNoticePublished(
                    buyer_id=self.id,
                    provider_id=COURT_PROVIDER,
                    proceeding="petition_filed",
                    case_reference=f"IN-{self.id}",
                    published_on=self.default_on,
                ),
                "insolvency",
            )
        if self.rated:
            self.ratings()
        if self.reports:
            self.financials()
        del rng
        return BuyerTruth(
            buyer_id=self.id,
            profile=self.profile,
            defaults=defaults,
            default_on=self.default_on if defaults else None,
            kind=self.kind if defaults else None,
        )

    def _cutoff(self) -> date:
        """The last day the buyer trades: insolvency ends it; a non-payer is cut off once its
        unpaid invoices are two months overdue."""
        if self.default_on is None:
            return self.end
        if self.kind == "non_payment" and self.stop_paying is not None:
            return min(self.end, self.stop_paying + timedelta(days=60))
        return min(self.end, self.default_on - timedelta(days=1))

    def invoices(self) -> date | None:
        rng = self.rng
        day = self.start + timedelta(days=rng.randint(0, 20))
        cutoff = self._cutoff()
        number = 0
        first_unpaid_due: date | None = None
        while day <= cutoff:
            number += 1
            invoice_id = f"{self.id}-INV{number:04d}"
            due = day + timedelta(days=self.terms)
            amount = self.money(self.invoice_size * math.exp(rng.gauss(0, 0.4)))
            self.emit(
                day,
                InvoiceIssued(
                    invoice_id=invoice_id,
                    invoice_number=invoice_id,
                    buyer_id=self.id,
                    issued_on=day,
                    due_on=due,
                    amount=amount,
                    payment_terms_days=self.terms,
                    contract_terms=ContractTerms(
                        jurisdiction=self.jurisdiction,
                        late_interest="statutory",
                        retention_of_title=False,
                    ),
                ),
                f"invoice/{invoice_id}",
                number,
            )
            if not self.pay(invoice_id, number, day, due, amount):
                first_unpaid_due = min(first_unpaid_due or due, due)
            day += timedelta(days=max(3, round(self.cadence * rng.uniform(0.6, 1.4))))
        return first_unpaid_due

    def pay(self, invoice_id: str, number: int, issued: date, due: date, amount: Money) -> bool:
        """Emit the invoice's dispute and payments; False if it is never settled in full."""
        rng = self.rng
        distress = min(1.0, max(0.0, (0.55 - self.payment_health(due)) / 0.5))
        if self.profile == "seasonal" and due.month in (12, 1, 2):
            late = rng.randint(30, 55)
        elif rng.random() < 0.75 * (1 - distress):
            late = rng.randint(-5, 0)
        else:
            late = round(rng.expovariate(1 / (3 + 70 * distress)))
        disputed = rng.random() < 0.006 + 0.18 * distress
        paid_on = due + timedelta(days=late)
        if disputed:
            raised = max(issued, due - timedelta(days=rng.randint(0, 10)))
            paid_on = max(paid_on, raised + timedelta(days=rng.randint(5, 30)))
            self.emit(
                raised,
                DisputeRaised(
                    dispute_id=f"D-{invoice_id}",
                    invoice_id=invoice_id,
                    buyer_id=self.id,
                    disputed_amount=amount,
                    reason="goods or invoice contested",
                    raised_on=raised,
                ),
                f"dispute/{invoice_id}",
                number,
            )
        paid_on = max(paid_on, issued)
        parts: list[tuple[date, Decimal]] = []
        if rng.random() < 0.4 * distress:
            share = Decimal(f"{rng.uniform(0.3, 0.8):.2f}")
            first = (amount.amount * share).quantize(Decimal("0.01"))
            parts = [
                (paid_on, first),
                (paid_on + timedelta(days=rng.randint(20, 75)), amount.amount - first),
            ]
        else:
            parts = [(paid_on, amount.amount)]
        settled = True
        for seq, (on, value) in enumerate(parts, start=1):
            if not self.can_pay(on):
                settled = False
                break
            if seq == 1 and disputed:
                self.emit(
                    on,
                    DisputeResolved(
                        dispute_id=f"D-{invoice_id}",
                        invoice_id=invoice_id,
                        buyer_id=self.id,
                        outcome="rejected",
                        resolved_on=on,
                    ),
                    f"dispute/{invoice_id}/resolved",
                    number,
                )
            money = Money(amount=value, currency="EUR")
            self.emit(
                on,
                PaymentReceived(
                    payment_id=f"P-{invoice_id}-{seq}",
                    buyer_id=self.id,
                    amount=money,
                    received_on=on,
                    allocations=(Allocation(invoice_id=invoice_id, amount=money),),
                ),
                f"payment/{invoice_id}/{seq}",
                number,
            )
        return settled

    def can_pay(self, on: date) -> bool:
        if on > self.end:
            return False
        if self.stop_paying is not None and on >= self.stop_paying:
            return False
        return not (self.kind == "insolvency" and self.default_on and on >= self.default_on)

    def last_day(self) -> date:
        if self.default_on is not None and self.default_on <= self.end:
            return self.default_on - timedelta(days=1)
        return self.end

    def ratings(self) -> None:
        rng = self.rng
        day = self.start + timedelta(days=rng.randint(0, 60))
        current: int | None = None
        next_review = day
        number = 0
        while day <= self.last_day():
            lag = rng.randint(0, 30)
            implied = rating_grade(
                sum(self.health(day - timedelta(days=lag + 30 * k)) for k in range(4)) / 4
            )
            moved = current is not None and abs(implied - current) >= 2
            if current is None or day >= next_review or moved:
                if implied != current or day >= next_review:
                    number += 1
                    outlook = "negative" if current is not None and implied > current else "stable"
                    self.emit(
                        day,
                        BuyerRatingPublished(
                            buyer_id=self.id,
                            provider_id=RATING_PROVIDER,
                            grade=implied,
                            provider_rating=_LETTERS[implied - 1],
                            outlook=outlook,
                            published_on=day,
                        ),
                        f"rating/{number}",
                        number,
                    )
                    current = implied
                next_review = day + timedelta(days=rng.randint(150, 210))
            day += timedelta(days=rng.randint(20, 40))

    def financials(self) -> None:
        rng = self.rng
        for year in range(self.start.year - 1, self.end.year + 1):
            period_end = date(year, 12, 31)
            reported = period_end + timedelta(days=rng.randint(80, 150))
            if reported < self.start or reported > self.last_day():
                continue
            # The figures describe the period, and a failing company's last accounts are worse
            # than its health at the period end alone.
            health = min(self.health(period_end), self.health(min(reported, self.last_day())))
            distress = min(1.0, max(0.0, (0.6 - health) / 0.5))
            ratios = {
                name: financial_ratio(
                    name, min(0.98, max(0.02, quantile + rng.gauss(0, 0.04))), distress
                )
                for name, quantile in self.quantiles.items()
            }
            assets = self.total_assets * math.exp(rng.gauss(0, 0.08))
            self.emit(
                reported,
                BuyerFinancialsReported(
                    buyer_id=self.id,
                    provider_id=FINANCIALS_PROVIDER,
                    period_end_on=period_end,
                    total_assets=self.money(assets),
                    equity=Money(
                        amount=Decimal(f"{assets * ratios['equity_ratio']:.2f}"), currency="EUR"
                    ),
                    net_income=Money(
                        amount=Decimal(f"{assets * ratios['return_on_assets']:.2f}"),
                        currency="EUR",
                    ),
                    current_ratio=Decimal(f"{max(ratios['current_ratio'], 0.01):.2f}"),
                    reported_on=reported,
                ),
                f"financials/{year}",
                year,
            )


def _profiles(config: SimulationConfig) -> list[str]:
    """Profiles in fixed proportions, shuffled by the seed."""
    profiles: list[str] = []
    for name, share in PROFILE_SHARES[1:]:
        profiles += [name] * round(share * config.buyers)
    profiles = profiles[: config.buyers]
    profiles += ["healthy"] * (config.buyers - len(profiles))
    random.Random(f"{config.seed}/profiles").shuffle(profiles)
    return profiles


def simulate(config: SimulationConfig) -> Simulation:
    """The whole portfolio's facts in business-date order, and its ground truth."""
    sim = Simulation(config)
    for index, profile in enumerate(_profiles(config), start=1):
        rng = random.Random(f"{config.seed}/{index}")
        sim.truth.append(_Buyer(sim, index, profile, rng).generate())
    sim.facts.sort(key=lambda f: (f.on, f.event.subject, f.rank))
    return sim


def truth_document(sim: Simulation) -> dict[str, Any]:
    config = sim.config
    return {
        "seed": config.seed,
        "tenant": config.tenant,
        "start": config.start.isoformat(),
        "end": config.end.isoformat(),
        "buyers": [
            {
                **asdict(truth),
                "default_on": truth.default_on.isoformat() if truth.default_on else None,
            }
            for truth in sim.truth
        ],
    }


def write_simulation(sim: Simulation, out: Path) -> dict[str, int]:
    """Write `erp.jsonl`, `external.jsonl` and `ground_truth.json` into `out`; counts per file."""
    out.mkdir(parents=True, exist_ok=True)
    counts = {"erp.jsonl": 0, "external.jsonl": 0}
    with (out / "erp.jsonl").open("wb") as erp, (out / "external.jsonl").open("wb") as external:
        for fact in sim.facts:
            name = "erp.jsonl" if fact.event.data.topic.endswith("erp") else "external.jsonl"
            (erp if name == "erp.jsonl" else external).write(serialize_event(fact.event) + b"\n")
            counts[name] += 1
    (out / "ground_truth.json").write_text(json.dumps(truth_document(sim), indent=1) + "\n")
    return counts
