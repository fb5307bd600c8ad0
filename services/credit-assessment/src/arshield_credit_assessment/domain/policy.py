"""Credit policy as data: per run of grades the maximum terms, the security, the capacity share of
equity (or a grade-based cap without financials) and the uninsured appetite; the overdue days
that place a hold; the referral tolerance. Versioned: every decision names the version it used.

The built-in default (version 0) encodes DOMAIN.md's defaults; the caps and appetites, which the
rules leave to the tenant, are conservative round figures in the policy currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

SECURITIES = ("open_account", "letter_of_credit", "bank_guarantee", "prepayment")


@dataclass(frozen=True)
class Band:
    from_grade: int
    to_grade: int
    max_terms_days: int
    security: str
    secured_above_percent: Decimal | None
    capacity_percent_of_equity: Decimal
    grade_cap: Decimal
    uninsured_appetite: Decimal
    review_months: int

    def covers(self, grade: int) -> bool:
        return self.from_grade <= grade <= self.to_grade


@dataclass(frozen=True)
class CreditPolicy:
    version: int
    currency: str
    bands: tuple[Band, ...]
    hold_overdue_days: int
    referral_tolerance_percent: Decimal
    unrated_grade: int
    retention_of_title_required: tuple[str, ...]

    @property
    def ref(self) -> str:
        return f"credit-v{self.version}"

    def band(self, grade: int) -> Band:
        for band in self.bands:
            if band.covers(grade):
                return band
        raise ValueError(f"credit policy {self.ref} has no band for grade {grade}")


DEFAULT_POLICY = CreditPolicy(
    version=0,
    currency="EUR",
    bands=(
        Band(1, 3, 60, "open_account", None, Decimal(15), Decimal(500_000), Decimal(100_000), 12),
        Band(4, 6, 45, "open_account", None, Decimal(10), Decimal(200_000), Decimal(50_000), 12),
        Band(
            7,
            8,
            30,
            "letter_of_credit",
            Decimal(50),
            Decimal(5),
            Decimal(50_000),
            Decimal(10_000),
            6,
        ),
        Band(9, 10, 0, "prepayment", None, Decimal(0), Decimal(0), Decimal(0), 3),
    ),
    hold_overdue_days=30,
    referral_tolerance_percent=Decimal(110),
    unrated_grade=5,
    retention_of_title_required=("DE", "FR"),
)


def band_problems(bands: tuple[Band, ...]) -> list[tuple[str, str]]:
    """What is wrong with a policy's bands, as (field, message) an administrator can act on:
    a band running backwards, grades two bands claim, grades no band covers."""
    problems: list[tuple[str, str]] = []
    for i, band in enumerate(bands):
        if band.from_grade > band.to_grade:
            problems.append(
                (
                    f"bands.{i}.to_grade",
                    f"to_grade {band.to_grade} is below from_grade {band.from_grade}",
                )
            )
        if band.security == "prepayment" and (band.grade_cap or band.uninsured_appetite):
            problems.append(
                (
                    f"bands.{i}.security",
                    "a prepayment band allows no credit: its grade_cap and "
                    "uninsured_appetite must be 0",
                )
            )
    if problems:
        return problems
    for grade in range(1, 11):
        claiming = [i for i, band in enumerate(bands) if band.covers(grade)]
        if not claiming:
            problems.append(("bands", f"no band covers grade {grade}: bands must cover 1 to 10"))
        elif len(claiming) > 1:
            i = claiming[1]
            problems.append(
                (
                    f"bands.{i}.from_grade",
                    f"grade {grade} is in bands {claiming[0]} and {i}: bands must not overlap",
                )
            )
    return problems
