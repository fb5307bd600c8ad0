"""The scorecard versions the service knows: the files shipped in
`arshield_risk_monitor/domain/scorecards/` (read with importlib.resources) and, optionally, a
directory of further versions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path

from arshield_risk_monitor.domain.scorecard import Scorecard, ScorecardInvalid, parse_scorecard
from arshield_risk_monitor.domain.signals import SIGNALS

PACKAGE = "arshield_risk_monitor.domain.scorecards"


def _checked(card: Scorecard, name: str) -> Scorecard:
    unknown = sorted(set(card.signals) - set(SIGNALS))
    if unknown:
        raise ScorecardInvalid(f"{name}: unknown signals {', '.join(unknown)}")
    if f"{card.version}.json" != name:
        raise ScorecardInvalid(f"{name}: holds version {card.version}")
    return card


def parse_files(files: Iterable[tuple[str, str]]) -> dict[str, Scorecard]:
    cards: dict[str, Scorecard] = {}
    for name, text in files:
        card = _checked(parse_scorecard(json.loads(text)), name)
        cards[card.version] = card
    return cards


def shipped() -> dict[str, Scorecard]:
    folder = resources.files(PACKAGE)
    return parse_files(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    )


def from_directory(directory: Path) -> dict[str, Scorecard]:
    return parse_files(
        (path.name, path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.json"))
    )


def catalogue(extra: Path | None = None) -> Mapping[str, Scorecard]:
    """Every known version: the shipped ones, and those of `extra` (which may not redefine a
    shipped version)."""
    cards = shipped()
    if extra is not None:
        more = from_directory(extra)
        clash = sorted(set(more) & set(cards))
        if clash:
            raise ScorecardInvalid(f"{extra} redefines shipped versions {', '.join(clash)}")
        cards.update(more)
    return cards
