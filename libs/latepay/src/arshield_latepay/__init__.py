"""Late-payment interest and fixed compensation by jurisdiction (pure; ledger and dunning)."""

from arshield_latepay.allocation import (
    ALLOCATION_RULE,
    Settlement,
    orders_principal_last,
    settle,
    split_payment,
)
from arshield_latepay.calendars import DUE_DATE_RULE, is_business_day, moved_due_date
from arshield_latepay.interest import (
    BalanceChange,
    ContractTerms,
    Debt,
    InterestPeriod,
    Jurisdiction,
    LatePaymentClaim,
    ToGbp,
    fixed_compensation,
    late_payment_claim,
    law_of,
)
from arshield_latepay.jurisdictions import Calendar, MemberState
from arshield_latepay.rates import (
    RateRow,
    RateSeries,
    RateTable,
    RateUnavailableError,
    ReferenceRates,
    parse_table,
)

__all__ = [
    "ALLOCATION_RULE",
    "DUE_DATE_RULE",
    "BalanceChange",
    "Calendar",
    "ContractTerms",
    "Debt",
    "InterestPeriod",
    "Jurisdiction",
    "LatePaymentClaim",
    "MemberState",
    "RateRow",
    "RateSeries",
    "RateTable",
    "RateUnavailableError",
    "ReferenceRates",
    "Settlement",
    "ToGbp",
    "fixed_compensation",
    "is_business_day",
    "late_payment_claim",
    "law_of",
    "moved_due_date",
    "orders_principal_last",
    "parse_table",
    "settle",
    "split_payment",
]
