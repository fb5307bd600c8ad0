"""Versioned reference-rate tables with effective dates, read from the CSV files shipped in `data/`.

Each row is `effective_on,rate_percent,version,recorded_on,note`. A rate holds from its effective
date until the next row's. A correction is published as a row with the same `effective_on` and a
higher `version`; it supersedes the earlier row, so every result computed with the newer table
version changes accordingly, while a result can still be reproduced with the version it was first
computed with.
"""

from __future__ import annotations

import bisect
import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from importlib import resources


class RateSeries(StrEnum):
    """The published reference rates the late-payment rules refer to."""

    ECB_MRO = "ecb_mro"
    DE_BASISZINSSATZ = "de_basiszinssatz"
    BOE_BANK_RATE = "boe_bank_rate"
    CN_LPR_1Y = "cn_lpr_1y"
    FR_TAUX_LEGAL_PRO = "fr_taux_legal_pro"
    """France's taux de l'intérêt légal for professional creditors: one row per half-year."""


class RateUnavailableError(LookupError):
    """No rate of the series is known for the requested day (before the table's first row)."""


@dataclass(frozen=True)
class RateRow:
    effective_on: date
    rate_percent: Decimal
    version: int
    recorded_on: date
    note: str = ""


@dataclass(frozen=True)
class RateTable:
    """One series' rows of every version; `view(version)` answers lookups as of a table version."""

    series: RateSeries
    rows: tuple[RateRow, ...]
    _days: tuple[date, ...] = field(init=False, repr=False, compare=False)
    _rates: tuple[Decimal, ...] = field(init=False, repr=False, compare=False)
    _version: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.rows:
            raise ValueError(f"rate table {self.series} has no rows")
        latest = _effective_rows(self.rows, version=None)
        object.__setattr__(self, "_days", tuple(r.effective_on for r in latest))
        object.__setattr__(self, "_rates", tuple(r.rate_percent for r in latest))
        object.__setattr__(self, "_version", max(r.version for r in self.rows))

    @property
    def version(self) -> int:
        """The table version this view answers with (the highest row version it contains)."""
        return self._version

    def view(self, version: int | None) -> RateTable:
        """The table as it stood at `version` (None: the latest)."""
        if version is None or version >= self._version:
            return self
        rows = tuple(r for r in self.rows if r.version <= version)
        return RateTable(self.series, rows)

    def with_rows(self, extra: Iterable[RateRow]) -> RateTable:
        """A table with corrections or new rates appended (the file's rows stay as they are)."""
        return RateTable(self.series, self.rows + tuple(extra))

    def rate_on(self, day: date) -> Decimal:
        """The rate in force on `day` (the last change effective on or before it)."""
        i = bisect.bisect_right(self._days, day) - 1
        if i < 0:
            raise RateUnavailableError(f"no {self.series} rate known for {day.isoformat()}")
        return self._rates[i]

    def rate_for_half_year(self, day: date) -> Decimal:
        """The rate fixed for the half-year containing `day`, for series published per half-year.

        Only a row effective on that half-year's first day answers: a half-year without its own
        row is unknown (never carried over from the previous one).
        """
        start = date(day.year, 1 if day.month <= 6 else 7, 1)
        i = bisect.bisect_right(self._days, start) - 1
        if i < 0 or self._days[i] != start:
            half = "H1" if start.month == 1 else "H2"
            raise RateUnavailableError(
                f"no {self.series} rate known for {half} {start.year} (the table has no row for"
                f" that half-year)"
            )
        return self._rates[i]

    def changes_between(self, start: date, end: date) -> list[date]:
        """Effective dates of changes strictly after `start` and on or before `end`."""
        lo = bisect.bisect_right(self._days, start)
        hi = bisect.bisect_right(self._days, end)
        return list(self._days[lo:hi])


def _effective_rows(rows: Iterable[RateRow], version: int | None) -> list[RateRow]:
    by_day: dict[date, RateRow] = {}
    for row in rows:
        if version is not None and row.version > version:
            continue
        kept = by_day.get(row.effective_on)
        if kept is None or row.version > kept.version:
            by_day[row.effective_on] = row
    return [by_day[d] for d in sorted(by_day)]


def parse_table(series: RateSeries, text: str) -> RateTable:
    """Parse a rate table file; lines starting with `#` are its header (sources, notes)."""
    body = "\n".join(line for line in text.splitlines() if line and not line.startswith("#"))
    rows = [
        RateRow(
            effective_on=date.fromisoformat(rec["effective_on"]),
            rate_percent=Decimal(rec["rate_percent"]),
            version=int(rec["version"]),
            recorded_on=date.fromisoformat(rec["recorded_on"]),
            note=rec.get("note") or "",
        )
        for rec in csv.DictReader(io.StringIO(body))
    ]
    return RateTable(series, tuple(rows))


def load_table(series: RateSeries) -> RateTable:
    text = resources.files("arshield_latepay").joinpath("data", f"{series.value}.csv").read_text()
    return parse_table(series, text)


@dataclass(frozen=True)
class ReferenceRates:
    """All the series the rules need, each possibly viewed at an older table version."""

    tables: Mapping[RateSeries, RateTable]

    @classmethod
    def shipped(cls) -> ReferenceRates:
        """The tables shipped with this package (load once and reuse: it reads five small files)."""
        return cls({s: load_table(s) for s in RateSeries})

    def table(self, series: RateSeries) -> RateTable:
        try:
            return self.tables[series]
        except KeyError:
            raise RateUnavailableError(f"no {series} rate table was given") from None

    def at_versions(self, versions: Mapping[RateSeries, int]) -> ReferenceRates:
        """The rates as they stood at the given table versions (to reproduce an earlier result)."""
        return ReferenceRates({s: t.view(versions.get(s)) for s, t in self.tables.items()})

    def corrected(self, series: RateSeries, rows: Iterable[RateRow]) -> ReferenceRates:
        tables = dict(self.tables)
        tables[series] = tables[series].with_rows(rows)
        return ReferenceRates(tables)

    def versions(self) -> dict[str, int]:
        return {s.value: t.version for s, t in self.tables.items()}
