"""A trade credit insurance policy: the insurer's rules as versioned data (DOMAIN.md, "Trade
credit insurance"). Every deadline the service keeps is a function of a policy version and the
facts, so a decision names the version it was taken under (`ref`)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from arshield_events.fields import BusinessDate
from arshield_events.money import CurrencyCode, currency_info, round_to_minor_units


class PolicyRules(BaseModel):
    """What an operator writes (`PUT /v1/policies/{policy_id}`); defaults are DOMAIN.md's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    insurer: str = Field(min_length=1, max_length=200)
    insurer_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="the insurer's webhook endpoint (`/v1/insurers`): where requests, "
        "notifications and claims are sent; none: nothing is sent",
    )
    currency: CurrencyCode
    indemnity_percentage: Decimal = Field(default=Decimal(90), gt=0, le=100)
    discretionary_indemnity_percentage: Decimal = Field(default=Decimal(60), gt=0, le=100)
    max_credit_period_days: int = Field(default=120, ge=1, le=720)
    mep_days: int = Field(default=60, ge=0, le=720, description="maximum extension period")
    notification_days_after_mep: int = Field(default=15, ge=0, le=365)
    insolvency_notification_days: int = Field(default=7, ge=0, le=365)
    handover_days_after_mep: int = Field(default=30, ge=0, le=365)
    waiting_days_after_due: int = Field(default=180, ge=0, le=1000)
    waiting_days_after_mep: int = Field(default=90, ge=0, le=1000)
    reduction_notice_days: int = Field(default=30, ge=0, le=365)
    claim_threshold: Decimal = Field(default=Decimal(500), ge=0, max_digits=19, decimal_places=2)
    discretionary_limit_ceiling: Decimal = Field(
        default=Decimal(20000), ge=0, max_digits=19, decimal_places=2
    )
    aggregate_limit: Decimal = Field(gt=0, max_digits=19, decimal_places=2)
    period_start_on: BusinessDate = Field(description="the first day of the first policy year")

    @model_validator(mode="after")
    def _consistent(self) -> PolicyRules:
        if self.discretionary_indemnity_percentage > self.indemnity_percentage:
            raise ValueError(
                "discretionary_indemnity_percentage must not exceed indemnity_percentage"
            )
        try:
            currency_info(self.currency)
        except ValueError as unknown:
            raise ValueError(f"currency: {unknown}") from None
        for name in ("claim_threshold", "discretionary_limit_ceiling", "aggregate_limit"):
            amount: Decimal = getattr(self, name)
            if round_to_minor_units(amount, self.currency) != amount:
                raise ValueError(f"{name} {amount} has more decimals than {self.currency} has")
        return self


class InsurancePolicy(PolicyRules):
    """One version of a policy, in force from `effective_on`."""

    policy_id: str
    version: int
    effective_on: date

    @property
    def ref(self) -> str:
        return f"{self.policy_id}:v{self.version}"

    def mep_expiry(self, due_on: date) -> date:
        return due_on + timedelta(days=self.mep_days)

    def notification_deadline(self, due_on: date) -> date:
        return self.mep_expiry(due_on) + timedelta(days=self.notification_days_after_mep)

    def handover_deadline(self, due_on: date) -> date:
        return self.mep_expiry(due_on) + timedelta(days=self.handover_days_after_mep)

    def waiting_period_end(self, due_on: date) -> date:
        """The later of N days after the oldest due date and M days after MEP expiry."""
        return max(
            due_on + timedelta(days=self.waiting_days_after_due),
            self.mep_expiry(due_on) + timedelta(days=self.waiting_days_after_mep),
        )

    def insolvency_deadline(self, learned_on: date) -> date:
        return learned_on + timedelta(days=self.insolvency_notification_days)

    def policy_year_start(self, on: date) -> date:
        """The first day of the policy year `on` falls in (anniversaries of `period_start_on`)."""
        start = self.period_start_on
        years = on.year - start.year
        candidate = _anniversary(start, years)
        if candidate > on:
            candidate = _anniversary(start, years - 1)
        return candidate


def _anniversary(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February in a common year
        return start.replace(year=start.year + years, day=28)
