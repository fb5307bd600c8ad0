"""Portfolio exposure against limits, and its concentration."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from arshield_credit_assessment.adapters import queries
from arshield_credit_assessment.entrypoints.api.deps import Session
from arshield_runtime.http import ReadPrincipal

router = APIRouter()


def _text(value: Decimal) -> str:
    return format(value.normalize() if value else Decimal(0), "f")


class BuyerShare(BaseModel):
    buyer_id: str
    exposure: str
    share_percent: str


class GradeExposure(BaseModel):
    grade: int | None
    buyers: int
    exposure: str
    limits: str


class CurrencyPortfolio(BaseModel):
    currency: str
    buyers: int
    total_limits: str
    total_exposure: str
    utilisation_percent: str | None
    over_limit_buyers: int
    held_buyers: int
    insured_exposure: str
    uninsured_exposure: str
    largest_buyers: list[BuyerShare]
    by_grade: list[GradeExposure]


class PortfolioOut(BaseModel):
    currencies: list[CurrencyPortfolio]


@router.get("/portfolio/exposure", response_model=PortfolioOut)
async def portfolio_exposure(
    principal: ReadPrincipal, session: Session, top: Annotated[int, Query(ge=1, le=100)] = 10
) -> Any:
    """Exposure against limits per currency: the largest buyers' share, exposure by grade, and
    what the insurer's cover insures of it."""
    rows = await queries.portfolio(session, principal.tenant_id)
    by_currency: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_currency[row["limit_currency"]].append(row)
    out = []
    for currency in sorted(by_currency):
        group = by_currency[currency]
        exposure = sum((Decimal(r["exposure_amount"]) for r in group), Decimal(0))
        limits = sum((Decimal(r["limit_amount"]) for r in group), Decimal(0))
        insured = sum(
            (min(Decimal(r["exposure_amount"]), Decimal(r["cover_amount"])) for r in group),
            Decimal(0),
        )
        largest = sorted(group, key=lambda r: (-Decimal(r["exposure_amount"]), r["buyer_id"]))
        grades: dict[int | None, list[dict[str, Any]]] = defaultdict(list)
        for r in group:
            grades[r["grade"]].append(r)
        out.append(
            CurrencyPortfolio(
                currency=currency,
                buyers=len(group),
                total_limits=_text(limits),
                total_exposure=_text(exposure),
                utilisation_percent=_text(round(exposure * 100 / limits, 2)) if limits else None,
                over_limit_buyers=sum(
                    1 for r in group if Decimal(r["exposure_amount"]) > Decimal(r["limit_amount"])
                ),
                held_buyers=sum(1 for r in group if r["held"]),
                insured_exposure=_text(insured),
                uninsured_exposure=_text(exposure - insured),
                largest_buyers=[
                    BuyerShare(
                        buyer_id=r["buyer_id"],
                        exposure=_text(Decimal(r["exposure_amount"])),
                        share_percent=_text(
                            round(Decimal(r["exposure_amount"]) * 100 / exposure, 2)
                            if exposure
                            else Decimal(0)
                        ),
                    )
                    for r in largest[:top]
                ],
                by_grade=[
                    GradeExposure(
                        grade=g,
                        buyers=len(items),
                        exposure=_text(
                            sum((Decimal(r["exposure_amount"]) for r in items), Decimal(0))
                        ),
                        limits=_text(sum((Decimal(r["limit_amount"]) for r in items), Decimal(0))),
                    )
                    for g, items in sorted(grades.items(), key=lambda kv: kv[0] or 0)
                ],
            )
        )
    return PortfolioOut(currencies=out)
