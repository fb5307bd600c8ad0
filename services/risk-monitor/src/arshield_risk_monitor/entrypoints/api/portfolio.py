"""The portfolio by grade, and grade migration over a period."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from arshield_risk_monitor.adapters import queries
from arshield_risk_monitor.entrypoints.api.deps import Session
from arshield_runtime.http import ProblemError, ReadPrincipal

router = APIRouter()


class GradeCount(BaseModel):
    grade: int | None
    """None: registered but not yet scored (no scorecard in force)."""
    buyers: int


class PortfolioGrades(BaseModel):
    total: int
    grades: list[GradeCount]


class MigrationCell(BaseModel):
    from_grade: int | None
    """None: the buyer had no grade yet at the start of the period."""
    to_grade: int | None
    buyers: int


class GradeMigration(BaseModel):
    from_on: date
    to_on: date
    cells: list[MigrationCell]


@router.get("/portfolio/grades", response_model=PortfolioGrades)
async def portfolio_grades(principal: ReadPrincipal, session: Session) -> Any:
    """How many buyers stand at each grade now (1 best ... 10 insolvent)."""
    rows = await queries.grades(session, principal.tenant_id)
    return {
        "total": sum(n for _, n in rows),
        "grades": [{"grade": g, "buyers": n} for g, n in rows],
    }


@router.get("/grade-migrations", response_model=GradeMigration)
async def grade_migrations(
    principal: ReadPrincipal,
    session: Session,
    from_on: Annotated[date, Query(alias="from")],
    to_on: Annotated[date, Query(alias="to")],
) -> Any:
    """The migration matrix: buyers by their grade at the end of `from` and at the end of `to`
    (business dates)."""
    if to_on < from_on:
        raise ProblemError(
            422,
            "Unprocessable",
            "to must not be before from",
            errors=[{"loc": "query.to", "msg": "before from"}],
        )
    cells = await queries.migration(session, principal.tenant_id, from_on, to_on)
    return {
        "from_on": from_on,
        "to_on": to_on,
        "cells": [{"from_grade": f, "to_grade": t, "buyers": n} for f, t, n in cells],
    }
