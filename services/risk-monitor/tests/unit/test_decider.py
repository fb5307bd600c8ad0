"""The service's decisions through its consumer router on the in-memory store: scores published
on grade or band changes, downgrades, alerts raised once per rise, insolvency, the scorecard in
force per business day, and bad input. Every figure is computed by hand on the test scorecard
(tests/fixtures/scorecards/test-1: base 600, PD = 1 / (1 + e^(4.6 + 0.02 (score - 600))))."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from arshield_events.erp import (
    BuyerRegistered,
    DisputeRaised,
    InvoiceIssued,
    PaymentReceived,
)
from arshield_events.external import (
    BuyerFinancialsReported,
    BuyerRatingPublished,
    InsolvencyNoticePublished,
)
from arshield_events.ledger import InvoiceSettled
from arshield_events.money import Money
from arshield_events.registry import EventRejected, parse_event, serialize_event

Harness = Any

pytestmark = pytest.mark.unit

DAY = date(2026, 3, 2)


def names(events: list[Any]) -> list[str]:
    return [e.type.split(".")[2] for e in events]


def later(n: int) -> date:
    return DAY + timedelta(days=n)


def registered(buyer: str = "b1", on: date = DAY) -> BuyerRegistered:
    return BuyerRegistered(
        buyer_id=buyer,
        legal_name=f"{buyer} GmbH",
        country="DE",
        segment="standard",
        preferred_language="de",
        registered_on=on,
    )


def invoice(ident: str, due: date, amount: str = "1000.00", buyer: str = "b1") -> InvoiceIssued:
    return InvoiceIssued(
        invoice_id=ident,
        invoice_number=ident,
        buyer_id=buyer,
        issued_on=due - timedelta(days=30),
        due_on=due,
        amount=Money.of(amount, "EUR"),
        payment_terms_days=30,
    )


def notice(on: date, buyer: str = "b1", proceeding: str = "proceedings_opened") -> Any:
    return InsolvencyNoticePublished(
        buyer_id=buyer,
        provider_id="court-register",
        proceeding=proceeding,  # type: ignore[arg-type]
        notice_ref="HRB-1/26",
        published_on=on,
    )


async def test_a_registered_buyer_is_scored_at_once_and_published_at_the_next_day(
    harness: Harness, ev: Any
) -> None:
    await harness.tick(DAY)
    assert await harness.run(ev(registered())) == []
    current = (await harness.state("b1")).current
    assert current is not None
    assert (current.score, current.grade) == (610, 5)  # the profile shows it at once
    out = await harness.tick(later(1))
    assert names(out) == ["BuyerScored"]
    scored = out[0].data
    # no invoice: dbt missing (0), nothing past due (+10) -> 610; z = -4.8; PD = 0.008163
    assert (scored.score, scored.pd, scored.grade) == (610, Decimal("0.008163"), 5)
    assert (scored.previous_grade, scored.scored_on) == (None, later(1))
    assert scored.scorecard_version == "test-1"
    assert [(f.signal, f.points) for f in scored.factors] == [
        ("dbt_90d", 0),
        ("days_since_payment", 10),
        ("partial_payments_90d", 0),
        ("disputes_90d", 0),
        ("external_grade", 0),
        ("equity_ratio", 0),
    ]
    assert out[0].subject == "b1"


async def test_a_score_is_published_only_when_its_grade_or_band_changes(
    harness: Harness, ev: Any
) -> None:
    await harness.tick(DAY)
    await harness.run(ev(registered()))
    assert names(await harness.tick(later(1))) == ["BuyerScored"]
    # an invoice not yet due changes no signal: the next day publishes nothing
    assert await harness.run(ev(invoice("i1", later(30)))) == []
    assert await harness.tick(later(2)) == []
    assert await harness.wake("b1") == later(30)  # its due date
    # paid on its due date: dbt 0 -> +30 -> 640, PD 0.4496 %: grade 4 by the scale (at most
    # 0.50 %), but an upgrade must clear 80 % of the bound (0.40 %): it stays at 5, a new band
    settled = InvoiceSettled(
        invoice_id="i1",
        buyer_id="b1",
        settled_on=later(30),
        days_late=0,
        amount=Money.of("1000.00", "EUR"),
    )
    assert await harness.run(ev(settled)) == []
    out = await harness.tick(later(31))
    assert names(out) == ["BuyerScored"]
    assert (out[0].data.score, out[0].data.grade, out[0].data.previous_grade) == (640, 5, 5)


async def test_a_deteriorating_buyer_is_downgraded_and_alerted_once_per_rise(
    harness: Harness, ev: Any
) -> None:
    await harness.tick(DAY)
    await harness.run(ev(registered()), ev(invoice("i1", later(10))))
    published: list[Any] = []
    for n in range(1, 61):
        published += await harness.tick(later(n))
    kinds = [
        (e.data.scored_on if names([e]) == ["BuyerScored"] else None, names([e])[0])
        for e in published
    ]
    downgrades = [e.data for e in published if names([e]) == ["BuyerDowngraded"]]
    alerts = [e.data for e in published if names([e]) == ["RiskAlertRaised"]]
    # day 10: due today, dbt 0 -> +30, nothing past due +10: 640, PD 0.4496 %: grade 5 kept (an
    #   upgrade to 4 needs at most 0.40 %)
    # day 11: 1 day overdue -> dbt 1 (0 points), 1 day without payment (0): 600, PD 0.9952 %,
    #   grade 5, and the PD more than doubled within 90 days: watch
    # day 20: dbt 10 -> -40: 560, PD 2.19 %, grade 7 (still watch: no second alert)
    # day 40: dbt 30 -> -100 and 30 days without payment -> -60: 440, PD 19.78 %, grade 9
    assert [(d.from_grade, d.to_grade, d.downgraded_on) for d in downgrades] == [
        (5, 7, later(20)),
        (7, 9, later(40)),
    ]
    assert downgrades[0].signals == ("days_beyond_terms_rising",)
    assert downgrades[1].signals == ("days_beyond_terms_rising", "payment_stop")
    assert downgrades[1].signal_values["dbt_90d"] == Decimal("30")
    assert downgrades[1].pd == Decimal("0.197816")
    assert [(a.level, a.signal, a.raised_on) for a in alerts] == [
        ("watch", "weaker_score", later(11)),
        ("critical", "grade", later(40)),
    ]
    assert kinds  # every tick after day 10 rescored the buyer (it is past due)
    assert await harness.wake("b1") == later(61)


async def test_an_alert_is_raised_again_after_the_level_fell(harness: Harness, ev: Any) -> None:
    await harness.tick(DAY)
    await harness.run(ev(registered()))
    rating = BuyerRatingPublished(buyer_id="b1", provider_id="agency", grade=8, published_on=DAY)

    async def alerts_after(update: dict[str, Any], day: date) -> list[tuple[str, str]]:
        assert await harness.run(ev(rating.model_copy(update=update))) == []
        out = await harness.tick(day)
        return [(e.data.level, e.data.signal) for e in out if names([e]) == ["RiskAlertRaised"]]

    assert await alerts_after({}, later(1)) == [("warning", "external_grade")]
    assert await alerts_after({"grade": 9, "published_on": later(1)}, later(2)) == []
    assert await alerts_after({"grade": 5, "published_on": later(2)}, later(3)) == []
    assert (await harness.state("b1")).level is None  # the level fell quietly
    assert await alerts_after({"grade": 8, "published_on": later(3)}, later(4)) == [
        ("warning", "external_grade")
    ]


async def test_an_insolvency_notice_makes_the_buyer_insolvent_with_a_critical_alert_that_day(
    harness: Harness, ev: Any
) -> None:
    await harness.tick(DAY)
    await harness.run(ev(registered()))
    assert names(await harness.tick(later(5))) == ["BuyerScored"]
    out = await harness.run(ev(notice(later(4))))
    assert names(out) == ["BuyerInsolvent", "RiskAlertRaised"]
    insolvent, alert = (e.data for e in out)
    assert (insolvent.insolvent_on, insolvent.notice_ref) == (later(4), "HRB-1/26")
    assert (alert.level, alert.signal, alert.raised_on) == (
        "critical",
        "insolvency_notice",
        later(5),
    )
    # the next business day publishes grade 10, without a second alert
    out = await harness.tick(later(6))
    assert names(out) == ["BuyerScored", "BuyerDowngraded"]
    scored, downgraded = (e.data for e in out)
    assert (scored.grade, scored.pd, scored.scored_on) == (10, Decimal("1"), later(6))
    assert (downgraded.from_grade, downgraded.to_grade) == (5, 10)
    assert downgraded.signals == ("insolvency_notice",)
    assert await harness.wake("b1") is None  # nothing more to watch by time
    # a second notice changes nothing, nor does a later fact: grade 10 is published once
    assert await harness.run(ev(notice(later(5), proceeding="petition_filed"))) == []
    assert await harness.run(ev(invoice("i9", later(4), "9000.00"))) == []
    assert await harness.tick(later(7)) == []


async def test_a_dismissed_petition_is_not_insolvency(harness: Harness, ev: Any) -> None:
    await harness.tick(DAY)
    await harness.run(ev(registered()))
    assert await harness.run(ev(notice(DAY, proceeding="petition_dismissed"))) == []


async def test_a_notice_dated_after_the_business_date_is_dead_lettered(
    harness: Harness, ev: Any
) -> None:
    await harness.tick(DAY)
    await harness.run(ev(registered()))
    assert await harness.run(ev(notice(later(1)))) == []
    assert harness.rejected == [
        f"insolvency notice published on {later(1)}, after the tenant's business date {DAY}"
    ]


async def test_external_facts_about_an_unknown_buyer_wait_for_its_registration(
    harness: Harness, ev: Any
) -> None:
    await harness.tick(DAY)
    early = [
        ev(BuyerRatingPublished(buyer_id="b2", provider_id="a", grade=2, published_on=DAY)),
        ev(
            BuyerFinancialsReported(
                buyer_id="b2",
                provider_id="a",
                period_end_on=DAY - timedelta(days=60),
                equity=Money.of("-50.00", "EUR"),
                total_assets=Money.of("1000.00", "EUR"),
                reported_on=DAY,
            )
        ),
    ]
    assert await harness.run(*early) == []
    assert len((await harness.state("b2")).pending) == 2
    assert await harness.run(ev(registered("b2"))) == []
    assert (await harness.state("b2")).pending == ()
    out = await harness.tick(later(1))
    # external grade 2 -> +20, equity ratio -0.05 -> -80, nothing past due +10: 550
    assert out[0].data.score == 550
    assert {f.signal: f.value for f in out[0].data.factors}["equity_ratio"] == Decimal("-0.05")


async def test_an_insolvency_notice_before_registration_applies_on_registration(
    harness: Harness, ev: Any
) -> None:
    await harness.tick(DAY)
    assert await harness.run(ev(notice(DAY, buyer="b3"))) == []
    out = await harness.run(ev(registered("b3")))
    assert names(out) == ["BuyerInsolvent", "RiskAlertRaised"]
    out = await harness.tick(later(1))
    assert names(out) == ["BuyerScored"]
    assert out[0].data.grade == 10


async def test_financials_with_negative_total_assets_are_dead_lettered(
    harness: Harness, ev: Any
) -> None:
    await harness.tick(DAY)
    report = BuyerFinancialsReported(
        buyer_id="b1",
        provider_id="a",
        period_end_on=DAY,
        total_assets=Money.of("-1.00", "EUR"),
        reported_on=DAY,
    )
    assert await harness.run(ev(report)) == []
    assert harness.rejected == ["financials with negative total assets (-1.00)"]


def test_a_rating_outside_1_to_10_does_not_parse(ev: Any) -> None:
    rating = ev(BuyerRatingPublished(buyer_id="b1", provider_id="a", grade=3, published_on=DAY))
    raw = serialize_event(rating).replace(b'"grade":3', b'"grade":11')
    with pytest.raises(EventRejected, match="grade"):
        parse_event(raw)


async def test_partial_payments_and_disputes_weigh_on_the_score(harness: Harness, ev: Any) -> None:
    await harness.tick(DAY)
    await harness.run(ev(registered()), ev(invoice("i1", later(20))))
    assert names(await harness.tick(later(1))) == ["BuyerScored"]
    facts = await harness.run(
        ev(
            PaymentReceived(
                payment_id="p1",
                buyer_id="b1",
                amount=Money.of("400.00", "EUR"),
                received_on=later(1),
                allocations=[{"invoice_id": "i1", "amount": Money.of("400.00", "EUR")}],  # type: ignore[list-item]
            )
        ),
        ev(
            DisputeRaised(
                dispute_id="d1",
                invoice_id="i1",
                buyer_id="b1",
                disputed_amount=Money.of("100.00", "EUR"),
                reason="short delivery",
                raised_on=later(1),
            )
        ),
    )
    assert facts == []
    out = await harness.tick(later(2))
    # partial -20 and dispute -20: 610 -> 570, PD 1.799 % (grade 6), more than twice 0.8163 %
    assert names(out) == ["BuyerScored", "BuyerDowngraded", "RiskAlertRaised"]
    assert (out[0].data.score, out[0].data.grade) == (570, 6)
    assert out[2].data.signal == "weaker_score"


async def test_the_scorecard_in_force_changes_at_the_next_business_day(
    make_harness: Any, ev: Any
) -> None:
    harness = make_harness("test-1")
    await harness.tick(DAY)
    await harness.run(ev(registered()))
    await harness.activate("test-2", later(2))
    out = await harness.tick(later(1))  # not yet in force
    assert [e.data.scorecard_version for e in out] == ["test-1"]
    out = await harness.tick(later(2))
    # test-2's base is 650: 660, z = -5.8, PD 0.3014 %, grade 4
    assert names(out) == ["BuyerScored", "BuyerUpgraded"]
    assert (out[0].data.scorecard_version, out[0].data.score, out[0].data.grade) == (
        "test-2",
        660,
        4,
    )
    assert (await harness.state("b1")).scorecard_version == "test-2"


async def test_a_new_version_reaches_buyers_that_changed_after_it_was_activated(
    make_harness: Any, ev: Any
) -> None:
    harness = make_harness("test-1")
    await harness.tick(DAY)
    await harness.run(ev(registered()))
    await harness.tick(later(1))
    await harness.activate("test-2", later(3))
    # a fact after the activation saves the buyer's state (and its own wake-up) again
    await harness.run(ev(invoice("i1", later(25))))
    assert await harness.tick(later(2)) == []
    assert await harness.wake("b1") == later(25)
    out = await harness.tick(later(3))
    assert out[0].data.scorecard_version == "test-2"


async def test_without_a_scorecard_signals_are_kept_but_nothing_is_published(
    make_harness: Any, ev: Any
) -> None:
    harness = make_harness(None)
    await harness.tick(DAY)
    assert await harness.run(ev(registered()), ev(invoice("i1", DAY))) == []
    state = await harness.state("b1")
    assert state.current is not None
    assert state.current.grade is None
    assert state.current.signals["dbt_90d"] == 0.0


async def test_the_same_log_gives_the_same_event_ids(make_harness: Any, ev: Any) -> None:
    log = [
        ev(registered(), id="r"),
        ev(invoice("i1", later(3)), id="i"),
    ]
    runs = []
    for _ in range(2):
        harness = make_harness("test-1")
        out = await harness.tick(DAY) + await harness.run(*log)
        for n in range(1, 30):
            out += await harness.tick(later(n))
        runs.append([(e.id, e.type) for e in out])
    assert runs[0] == runs[1]
    assert len(runs[0]) > 3


async def test_a_buyer_whose_day_fails_does_not_cost_the_others_their_day(
    harness: Harness, ev: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arshield_risk_monitor.domain import signals

    await harness.tick(DAY)
    await harness.run(ev(registered("b1")), ev(registered("b2")))
    await harness.run(ev(invoice("i1", DAY, buyer="b1")), ev(invoice("i2", DAY, buyer="b2")))
    real = signals.compute

    def failing(history: Any, day: date) -> Any:
        if any(i.invoice_id == "i1" for i in history.invoices):
            raise RuntimeError("a bug")
        return real(history, day)

    monkeypatch.setattr(signals, "compute", failing)
    out = await harness.tick(later(30))
    assert {e.data.buyer_id for e in out} == {"b2"}
    assert await harness.wake("b1") == later(1)  # kept: it is tried again at the next tick


async def test_only_the_services_own_activation_counts(harness: Harness, ev: Any) -> None:
    from arshield_events.risk import ScorecardActivated

    await harness.tick(DAY)
    await harness.run(ev(registered()))
    forged = ScorecardActivated(
        scorecard_version="test-2", effective_on=later(1), activated_by="x", activated_on=DAY
    )
    await harness.run(ev(forged, source="erp/test"))
    out = await harness.tick(later(1))
    assert [e.data.scorecard_version for e in out] == ["test-1"]
    assert (await harness.state("b1")).scorecard_version == "test-1"


async def test_what_waits_for_a_registration_stays_bounded(harness: Harness, ev: Any) -> None:
    await harness.tick(DAY)
    for n in range(30):
        rating = BuyerRatingPublished(
            buyer_id="b9", provider_id="a", grade=1 + n % 9, published_on=DAY - timedelta(days=n)
        )
        await harness.run(ev(rating))
    await harness.run(ev(notice(DAY, buyer="b9")))
    pending = (await harness.state("b9")).pending
    assert len(pending) == 21
    assert pending[0].kind == "insolvency"


def test_an_upgrade_must_clear_the_better_grades_bound_by_a_margin() -> None:
    """Hand-computed on the master scale (grade 7 up to 4 %, grade 6 up to 2 %): from grade 8, a PD
    of 3.5 % is grade 7 by the scale but not 80 % inside its bound (3.2 %): it stays 8; 3.0 % is
    grade 7; 1.5 % clears grade 6's 1.6 %: grade 6. A worse PD always moves at once. The
    improvement must also hold over the last 30 days of published scores."""
    import json
    from importlib.resources import files

    from arshield_risk_monitor.domain.scorecard import parse_scorecard

    shipped = files("arshield_risk_monitor.domain.scorecards") / "2026.12-1.json"
    card = parse_scorecard(json.loads(shipped.read_text()))
    assert card.sticky_grade(0.035, 8) == 8
    assert card.sticky_grade(0.030, 8) == 7
    assert card.sticky_grade(0.015, 8) == 6
    assert card.sticky_grade(0.05, 7) == 8
    assert card.sticky_grade(0.035, None) == 7
    # and it must hold for 30 days: a published PD of 6 % a week ago keeps grade 8 (6 % / 0.8 is
    # grade 8's 7.5 %); once the highest of the last 30 days is 2.5 % (3.1 %), grade 7
    assert card.sticky_grade(0.02, 8, sustained_pd=0.06) == 8
    assert card.sticky_grade(0.02, 8, sustained_pd=0.025) == 7


def test_a_held_warning_wakes_the_buyer_on_the_day_it_comes_into_force() -> None:
    """A scorecard that holds a warning 10 days: a rating of 8 (a warning rule) on day 0 gives no
    alert that day; the buyer, whose signals do not change with time, is woken on day 10 and
    warned then; the rating's fall to 3 on day 20 lowers the level only 30 days later."""
    import json
    from pathlib import Path

    from arshield_risk_monitor.domain.commands import NoteRating, RegisterBuyer, StartBusinessDay
    from arshield_risk_monitor.domain.decide import RiskDecider
    from arshield_risk_monitor.domain.events import LevelChanged
    from arshield_risk_monitor.domain.scorecard import parse_scorecard
    from arshield_risk_monitor.domain.state import Rating

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "scorecards"
    document = json.loads((fixtures / "test-1.json").read_text())
    document["alerts"] = {"warning_after_days": 10, "watch_after_days": 10, "lower_after_days": 30}
    card = parse_scorecard(document)
    decider = RiskDecider({card.version: card}, card.version)
    state = decider.initial("t", "b1")

    def run(command: Any) -> list[Any]:
        nonlocal state
        events = decider.decide(state, command)
        for event in events:
            state = decider.evolve(state, event)
        return [e for e in events if isinstance(e, LevelChanged)]

    run(RegisterBuyer(on=DAY))
    run(NoteRating(rating=Rating(published_on=DAY, grade=8), on=DAY))
    assert run(StartBusinessDay(on=DAY, scorecard_version=card.version)) == []
    assert decider.wake_on(state) == later(10)
    [raised] = run(StartBusinessDay(on=later(10), scorecard_version=card.version))
    assert (raised.level, raised.raised, raised.signal) == ("warning", True, "external_grade")
    run(NoteRating(rating=Rating(published_on=later(20), grade=3), on=later(20)))
    assert run(StartBusinessDay(on=later(21), scorecard_version=card.version)) == []
    assert state.level == "warning"
    # the rule stopped holding at the business day of day 21: lowered on day 51, quietly
    assert decider.wake_on(state) == later(51)
    [lowered] = run(StartBusinessDay(on=later(51), scorecard_version=card.version))
    assert (lowered.level, lowered.raised) == (None, False)
