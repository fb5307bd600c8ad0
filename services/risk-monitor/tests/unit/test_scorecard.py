"""The scorecard arithmetic on the hand-made test scorecard (tests/fixtures/scorecards/test-1):
points per factor, score, PD by the logistic calibration, grade on the master scale."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import pytest

from arshield_risk_monitor.adapters import scorecards as catalogue
from arshield_risk_monitor.domain.scorecard import Scorecard, ScorecardInvalid, parse_scorecard

pytestmark = pytest.mark.unit

SIGNALS = {
    "dbt_90d": 12.5,  # in [10, 30): -40
    "days_since_payment": 0.0,  # below 1: +10
    "partial_payments_90d": 1.0,  # in [1, 3): -20
    "disputes_90d": 0.0,  # below 1: 0
    "external_grade": None,  # missing: 0
    "equity_ratio": 0.35,  # 0.2 and above: +20
}


def test_points_per_factor_and_score(scorecards: Mapping[str, Scorecard]) -> None:
    scoring = scorecards["test-1"].score(SIGNALS)
    assert scoring.points == (-40, 10, -20, 0, 0, 20)
    assert scoring.score == 600 - 40 + 10 - 20 + 20 == 570


def test_pd_and_grade(scorecards: Mapping[str, Scorecard]) -> None:
    card = scorecards["test-1"]
    # z = -4.6 - 0.02 * (570 - 600) = -4.0; PD = 1 / (1 + e^4) = 0.017986
    scoring = card.score(SIGNALS)
    assert scoring.pd == pytest.approx(1 / (1 + math.exp(4.0)))
    assert scoring.pd == pytest.approx(0.017986, abs=1e-6)
    assert scoring.grade == 6  # 1 % < PD <= 2 %


def test_a_value_on_a_bin_edge_falls_in_the_next_bin(scorecards: Mapping[str, Scorecard]) -> None:
    dbt = scorecards["test-1"].factors[0]
    assert [dbt.points(v) for v in (0.0, 0.999, 1.0, 9.99, 10.0, 30.0, 1e6)] == [
        30,
        30,
        0,
        0,
        -40,
        -100,
        -100,
    ]
    assert dbt.points(None) == dbt.missing_points == 0


@pytest.mark.parametrize(
    ("pd", "grade"),
    [
        (0.0001, 1),
        (0.0003, 1),
        (0.00031, 2),
        (0.001, 2),
        (0.0025, 3),
        (0.005, 4),
        (0.0099, 5),
        (0.02, 6),
        (0.04, 7),
        (0.0801, 9),
        (0.9999, 9),
    ],
)
def test_master_scale(scorecards: Mapping[str, Scorecard], pd: float, grade: int) -> None:
    assert scorecards["test-1"].grade_of(pd) == grade


def test_pd_is_clipped(scorecards: Mapping[str, Scorecard]) -> None:
    card = scorecards["test-1"]
    assert card.pd_of(100_000) == 0.0001
    assert card.pd_of(-100_000) == 0.9999


def test_a_malformed_scorecard_is_refused(scorecards: Mapping[str, Scorecard]) -> None:
    document = json.loads(
        Path(__file__).parents[1].joinpath("fixtures/scorecards/test-1.json").read_text()
    )
    bad_scale = {**document, "master_scale": document["master_scale"][:8]}
    with pytest.raises(ScorecardInvalid, match="master_scale"):
        parse_scorecard(bad_scale)
    unbounded = json.loads(json.dumps(document))
    unbounded["factors"][0]["bins"][1]["upper"] = None
    with pytest.raises(ScorecardInvalid, match="unbounded"):
        parse_scorecard(unbounded)
    with pytest.raises(ScorecardInvalid):
        parse_scorecard({"version": "x"})
    unknown = json.loads(json.dumps(document))
    unknown["factors"][0]["signal"] = "astrology"
    with pytest.raises(ScorecardInvalid, match="astrology"):
        catalogue.parse_files([("test-1.json", json.dumps(unknown))])
    with pytest.raises(ScorecardInvalid, match="holds version"):
        catalogue.parse_files([("other.json", json.dumps(document))])


def test_the_shipped_scorecards_load() -> None:
    """Whatever versions the package ships parse and use only known signals (none yet is fine:
    the fitted version is data added beside the code)."""
    for version, card in catalogue.shipped().items():
        assert card.version == version
