"""Contract review: `POST /v1/contract-reviews` and the standard terms per jurisdiction."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from arshield_credit_assessment.application import use_cases
from arshield_credit_assessment.domain.review import (
    STANDARD_TERMS,
    InstalmentTerm,
    Review,
    Terms,
    standard_terms,
)
from arshield_credit_assessment.entrypoints.api.deps import Desk, RelayWake, Session
from arshield_events.fields import BusinessDate, CountryCode, Id, ShortText
from arshield_runtime.http import ReadPrincipal, WritePrincipal

router = APIRouter()
JurisdictionCode = Literal["EU", "DE", "FR", "UK", "CN"]


class InstalmentIn(BaseModel):
    seq: int = Field(ge=1, le=1000)
    amount: Decimal = Field(gt=0, max_digits=19, decimal_places=4)
    milestone: ShortText | None = None


class ContractTermsIn(BaseModel):
    """Contract terms as the ERP's `contract_terms`, plus what the review needs to know."""

    jurisdiction: JurisdictionCode | None = None
    late_interest: Literal["statutory", "agreed"] = "statutory"
    agreed_annual_rate: Decimal | None = Field(default=None, ge=0, le=100)
    retention_of_title: bool = False
    court: ShortText | None = None
    signed_on: BusinessDate | None = None
    creditor_is_sme: bool | None = None
    debtor_is_large_or_public: bool | None = None
    end_of_month: bool = Field(default=False, description="terms run to the end of the month")
    express_agreement: bool = Field(
        default=False, description="terms over 60 days were expressly agreed"
    )
    instalments: list[InstalmentIn] = Field(default_factory=list, max_length=500)

    def terms(self, days: int, amount: Decimal, on: date, country: str | None = None) -> Terms:
        return Terms(
            jurisdiction=self.jurisdiction,
            payment_terms_days=days,
            amount=amount,
            on=on,
            late_interest=self.late_interest,
            agreed_annual_rate=self.agreed_annual_rate,
            retention_of_title=self.retention_of_title,
            court=self.court,
            signed_on=self.signed_on,
            creditor_is_sme=self.creditor_is_sme,
            debtor_is_large_or_public=self.debtor_is_large_or_public,
            end_of_month=self.end_of_month,
            express_agreement=self.express_agreement,
            instalments=tuple(
                InstalmentTerm(i.seq, i.amount, i.milestone) for i in self.instalments
            ),
            buyer_country=country,
        )


class ReviewIn(BaseModel):
    buyer_id: Id
    subject: Id = Field(description="the order or invoice whose terms these are")
    amount: Decimal = Field(gt=0, max_digits=19, decimal_places=4)
    payment_terms_days: int = Field(ge=0, le=3650)
    buyer_country: CountryCode | None = None
    contract_terms: ContractTermsIn


class FindingOut(BaseModel):
    rule: str
    severity: str
    law: str
    detail: str


class ReviewOut(BaseModel):
    review_id: str | None = None
    subject: str
    jurisdiction: str
    compliant: bool
    findings: list[FindingOut]
    policy_version: str | None = None
    reviewed_on: date | None = None


def findings(review: Review) -> list[FindingOut]:
    return [
        FindingOut(rule=f.rule, severity=f.severity, law=f.law, detail=f.detail)
        for f in review.findings
    ]


@router.post("/contract-reviews", status_code=201, response_model=ReviewOut)
async def review_contract(
    body: ReviewIn,
    principal: WritePrincipal,
    session: Session,
    desk: Desk,
    wake: RelayWake,
) -> Any:
    """Review an order's or invoice's contract terms under their law; `ContractReviewed` is
    written to the log."""
    on = await use_cases.today(session, desk.kernel, principal.tenant_id)
    terms = body.contract_terms.terms(body.payment_terms_days, body.amount, on, body.buyer_country)
    review_id, review, version, on = await use_cases.review_contract(
        session, desk, principal.tenant_id, body.buyer_id, body.subject, terms, wake=wake
    )
    return ReviewOut(
        review_id=review_id,
        subject=body.subject,
        jurisdiction=review.jurisdiction,
        compliant=review.compliant,
        findings=findings(review),
        policy_version=version,
        reviewed_on=on,
    )


class TemplateOut(BaseModel):
    jurisdiction: str
    payment_terms_days: int
    late_interest: str
    late_interest_clause: str
    retention_of_title: bool
    retention_of_title_clause: str
    court: str
    review: ReviewOut


_INTEREST_CLAUSE = {
    "EU": "Late payment bears interest at the ECB main refinancing rate + 8 points and a fixed"
    " 40 EUR compensation per invoice (Directive 2011/7/EU).",
    "DE": "Verzugszinsen in Höhe von 9 Prozentpunkten über dem Basiszinssatz und eine Pauschale"
    " von 40 EUR (§ 288 Abs. 2 und 5 BGB).",
    "FR": "Pénalités de retard au taux BCE majoré de 10 points et indemnité forfaitaire pour frais "
    "de recouvrement de 40 EUR (art. L441-10 du Code de commerce).",
    "UK": "Statutory interest at 8% over the Bank of England base rate and fixed compensation"
    " under the Late Payment of Commercial Debts (Interest) Act 1998.",
    "CN": "逾期付款按一年期贷款市场报价利率 (LPR) 计收利息"
    " (late payment bears interest by the one-year LPR).",
}


@router.get("/contract-templates/{jurisdiction}", response_model=TemplateOut)
async def contract_template(
    jurisdiction: JurisdictionCode, principal: ReadPrincipal, desk: Desk, session: Session
) -> Any:
    """The standard terms the tenant should use under `jurisdiction` (they pass the review)."""
    on = await use_cases.today(session, desk.kernel, principal.tenant_id)
    terms = standard_terms(jurisdiction, on)
    review = desk.reviewer.review(terms, (jurisdiction,))
    standard = STANDARD_TERMS[jurisdiction]
    return TemplateOut(
        jurisdiction=jurisdiction,
        payment_terms_days=terms.payment_terms_days,
        late_interest="statutory",
        late_interest_clause=_INTEREST_CLAUSE[jurisdiction],
        retention_of_title=True,
        retention_of_title_clause="The goods remain the seller's property until paid in full.",
        court=str(standard["court"]),
        review=ReviewOut(
            subject=f"template-{jurisdiction}",
            jurisdiction=review.jurisdiction,
            compliant=review.compliant,
            findings=findings(review),
        ),
    )
