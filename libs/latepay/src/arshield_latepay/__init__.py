"""Late-payment interest and fixed compensation by jurisdiction (pure; ledger and dunning)."""

from arshield_latepay.interest import (
    BalanceChange,
    ContractTerms,
    Debt,
    InterestPeriod,
    Jurisdiction,
    LatePaymentClaim,
    fixed_compensation,
    late_payment_claim,
)
from arshield_latepay.rates import (
    RateRow,
    RateSeries,
    RateTable,
    RateUnavailableError,
    ReferenceRates,
    parse_table,
)

__all__ = [
    "BalanceChange",
    "ContractTerms",
    "Debt",
    "InterestPeriod",
    "Jurisdiction",
    "LatePaymentClaim",
    "RateRow",
    "RateSeries",
    "RateTable",
    "RateUnavailableError",
    "ReferenceRates",
    "fixed_compensation",
    "late_payment_claim",
    "parse_table",
]
