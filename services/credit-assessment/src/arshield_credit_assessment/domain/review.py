"""Contract review: an order's or invoice's terms checked against the law that governs them.

The applicable law is `arshield_latepay.law_of` (the contract's jurisdiction, else the tenant's).
Each finding names its rule, its severity (an `error` fails the review, a `warning` does not) and
the law it rests on:

- payment terms: over 60 days need express agreement (Directive 2011/7/EU art. 3(5); Germany
  BGB 271a; the UK's 2013 Regulations); France caps them at 60 days, or 45 days end of month
  (Code de commerce L441-10 I); China's SME rules want a large buyer to pay an SME within 60 days;
- an agreed late-interest rate above its legal floor: France 3x the taux d'interet legal
  (L441-10 II), Germany no exclusion of interest (BGB 288(6)), the EU no exclusion (art. 7(2)),
  the UK a substantial remedy (Bank Rate + 4, Late Payment Act ss. 8-9), China not below the
  one-year LPR on signing where the SME rules apply;
- instalments add up to the amount and each names its milestone (the tenant's policy);
- retention of title where the policy requires it for the buyer's country;
- a competent court.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from arshield_latepay import ContractTerms as LawTerms
from arshield_latepay import Jurisdiction, ReferenceRates, law_of
from arshield_latepay.interest import half_year_start
from arshield_latepay.rates import RateSeries, RateUnavailableError


@dataclass(frozen=True)
class InstalmentTerm:
    seq: int
    amount: Decimal
    milestone: str | None


@dataclass(frozen=True)
class Terms:
    """The terms under review; `jurisdiction` None: no contract terms were given."""

    jurisdiction: str | None
    payment_terms_days: int
    amount: Decimal
    on: date
    late_interest: str = "statutory"
    agreed_annual_rate: Decimal | None = None
    retention_of_title: bool = False
    court: str | None = None
    signed_on: date | None = None
    creditor_is_sme: bool | None = None
    debtor_is_large_or_public: bool | None = None
    end_of_month: bool = False
    express_agreement: bool = False
    instalments: tuple[InstalmentTerm, ...] = ()
    buyer_country: str | None = None


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    law: str
    detail: str


@dataclass(frozen=True)
class Review:
    jurisdiction: str
    findings: tuple[Finding, ...]

    @property
    def compliant(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    @property
    def broken_rules(self) -> tuple[str, ...]:
        return tuple(f.rule for f in self.findings if f.severity == "error")


_RETENTION_LAW = {
    "EU": "Directive 2011/7/EU art. 9",
    "DE": "BGB § 449",
    "FR": "Code civil art. 2367",
    "UK": "Sale of Goods Act 1979 s. 19",
    "CN": "Civil Code art. 641",
}
_COURT_LAW = {
    "EU": "Regulation (EU) 1215/2012 (Brussels I bis) art. 25",
    "DE": "Regulation (EU) 1215/2012 art. 25; ZPO § 38",
    "FR": "Regulation (EU) 1215/2012 art. 25; Code de procédure civile art. 48",
    "UK": "Civil Jurisdiction and Judgments Act 1982; Hague Choice of Court Convention 2005",
    "CN": "Civil Procedure Law art. 35",
}
_LONG_TERMS_LAW = {
    "EU": "Directive 2011/7/EU art. 3(5)",
    "DE": "BGB § 271a Abs. 1",
    "UK": "Late Payment of Commercial Debts Regulations 2013 (Act s. 3A)",
}
_CN_SME = "Regulations on Ensuring Payments to SMEs (2025) art. 9 and 17"


class ContractReviewer:
    """Reviews terms with the shipped reference-rate tables (pure data) and the tenant's law."""

    def __init__(self, rates: ReferenceRates, tenant_jurisdiction: str = "EU") -> None:
        self.rates, self.tenant_jurisdiction = rates, tenant_jurisdiction

    def review(
        self,
        terms: Terms,
        retention_required: tuple[str, ...],
        tenant_jurisdiction: str | None = None,
    ) -> Review:
        """`tenant_jurisdiction`: the tenant's own law (its profile), for terms that name none;
        without it, the deployment's default."""
        given = None
        if terms.jurisdiction is not None:
            given = LawTerms(Jurisdiction(terms.jurisdiction), terms.agreed_annual_rate)
        tenant_law = tenant_jurisdiction or self.tenant_jurisdiction
        applicable = law_of(given, tenant_law)
        law = applicable.jurisdiction.value if applicable else tenant_law
        findings = [
            *self._payment_terms(law, terms),
            *self._interest(law, terms),
            *self._instalments(terms),
        ]
        country = terms.buyer_country or law
        if (country in retention_required or law in retention_required) and not (
            terms.retention_of_title
        ):
            findings.append(
                Finding(
                    "retention_of_title",
                    "error",
                    f"{_RETENTION_LAW[law]}; credit policy (required for {country})",
                    f"the credit policy requires retention of title for buyers in {country}",
                )
            )
        if not terms.court:
            findings.append(
                Finding(
                    "competent_court",
                    "error",
                    _COURT_LAW[law],
                    "no competent court is named: disputes would go to the buyer's courts",
                )
            )
        return Review(law, tuple(findings))

    def _payment_terms(self, law: str, terms: Terms) -> list[Finding]:
        days = terms.payment_terms_days
        if law == "FR":
            if terms.end_of_month and days > 45:
                return [
                    Finding(
                        "payment_terms_limit",
                        "error",
                        "Code de commerce L441-10 I",
                        f"{days} days end of month exceeds the 45-day end-of-month maximum",
                    )
                ]
            if days > 60:
                return [
                    Finding(
                        "payment_terms_limit",
                        "error",
                        "Code de commerce L441-10 I",
                        f"{days} days exceeds the 60-day maximum from the invoice date",
                    )
                ]
            return []
        if law == "CN":
            if days > 60 and terms.creditor_is_sme and terms.debtor_is_large_or_public:
                return [
                    Finding(
                        "payment_terms_limit",
                        "error",
                        _CN_SME,
                        f"{days} days: a large enterprise pays an SME within 60 days",
                    )
                ]
            if days > 60 and terms.creditor_is_sme is None:
                return [
                    Finding(
                        "payment_terms_limit",
                        "warning",
                        _CN_SME,
                        f"{days} days: within 60 days if the SME rules apply (unknown)",
                    )
                ]
            return []
        if days > 60:
            law_text = _LONG_TERMS_LAW[law]
            if terms.express_agreement:
                return [
                    Finding(
                        "payment_terms_over_60_days",
                        "warning",
                        law_text,
                        f"{days} days, expressly agreed: lawful unless grossly unfair to the "
                        "creditor",
                    )
                ]
            return [
                Finding(
                    "payment_terms_over_60_days",
                    "error",
                    law_text,
                    f"{days} days exceeds 60 days without express agreement",
                )
            ]
        return []

    def _interest(self, law: str, terms: Terms) -> list[Finding]:
        if terms.late_interest != "agreed":
            return []
        rate = terms.agreed_annual_rate
        if rate is None:
            return [
                Finding(
                    "late_interest_rate",
                    "error",
                    "contract terms",
                    "late interest is 'agreed' but no rate is given",
                )
            ]
        signed = terms.signed_on or terms.on
        try:
            if law == "FR":
                legal = self.rates.table(RateSeries.FR_TAUX_LEGAL_PRO).rate_for_half_year(signed)
                floor = 3 * legal
                if rate < floor:
                    return [
                        Finding(
                            "late_interest_floor",
                            "error",
                            "Code de commerce L441-10 II",
                            f"agreed {rate}% is below 3 x the taux d'intérêt légal {legal}% "
                            f"= {floor}%",
                        )
                    ]
            elif law in ("DE", "EU"):
                if rate == 0:
                    cited = "BGB § 288 Abs. 6" if law == "DE" else "Directive 2011/7/EU art. 7(2)"
                    return [
                        Finding(
                            "late_interest_excluded",
                            "error",
                            cited,
                            "an agreed rate of 0% excludes default interest: void",
                        )
                    ]
            elif law == "UK":
                fixing = half_year_start(signed)
                base = self.rates.table(RateSeries.BOE_BANK_RATE).rate_on(fixing)
                if rate < base + 4:
                    return [
                        Finding(
                            "late_interest_substantial",
                            "error",
                            "Late Payment of Commercial Debts (Interest) Act 1998 ss. 8-9",
                            f"agreed {rate}% is below Bank Rate {base}% + 4: not a substantial "
                            "remedy",
                        )
                    ]
            elif law == "CN":
                lpr = self.rates.table(RateSeries.CN_LPR_1Y).rate_on(signed)
                if rate < lpr:
                    severity = (
                        "error"
                        if terms.creditor_is_sme and terms.debtor_is_large_or_public
                        else "warning"
                    )
                    return [
                        Finding(
                            "late_interest_floor",
                            severity,
                            _CN_SME,
                            f"agreed {rate}% is below the one-year LPR {lpr}% on signing",
                        )
                    ]
        except RateUnavailableError as missing:
            return [Finding("late_interest_floor", "warning", law, f"floor not checked: {missing}")]
        return []

    def _instalments(self, terms: Terms) -> list[Finding]:
        if not terms.instalments:
            return []
        findings = []
        total = sum((i.amount for i in terms.instalments), Decimal(0))
        if total != terms.amount:
            findings.append(
                Finding(
                    "instalments_total",
                    "error",
                    "credit policy: instalments tied to milestones",
                    f"instalments add up to {total}, the amount is {terms.amount}",
                )
            )
        for part in terms.instalments:
            if not part.milestone:
                findings.append(
                    Finding(
                        "instalment_milestone",
                        "error",
                        "credit policy: instalments tied to milestones",
                        f"instalment {part.seq} names no milestone",
                    )
                )
        return findings


STANDARD_TERMS: dict[str, dict[str, object]] = {
    "EU": {"payment_terms_days": 60, "court": "the courts of the seller's registered office"},
    "DE": {"payment_terms_days": 30, "court": "Landgericht am Sitz des Verkäufers"},
    "FR": {"payment_terms_days": 45, "court": "Tribunal de commerce du siège du vendeur"},
    "UK": {"payment_terms_days": 30, "court": "the courts of England and Wales"},
    "CN": {
        "payment_terms_days": 30,
        "court": "卖方所在地人民法院 (the seller's local people's court)",
    },
}
"""Per jurisdiction the standard terms the tenant should use: they pass the review."""


def standard_terms(jurisdiction: str, on: date) -> Terms:
    standard = STANDARD_TERMS[jurisdiction]
    return Terms(
        jurisdiction=jurisdiction,
        payment_terms_days=int(str(standard["payment_terms_days"])),
        amount=Decimal(0),
        on=on,
        late_interest="statutory",
        retention_of_title=True,
        court=str(standard["court"]),
    )
