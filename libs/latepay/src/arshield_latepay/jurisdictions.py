"""The laws a late-payment claim can be made under."""

from __future__ import annotations

from enum import StrEnum


class Jurisdiction(StrEnum):
    EU = "EU"
    DE = "DE"
    FR = "FR"
    UK = "UK"
    CN = "CN"


class MemberState(StrEnum):
    """EU member states with a business-day calendar of their own (due-date moves) but no
    late-payment regime here yet: their invoices are claimed under `Jurisdiction.EU`."""

    NL = "NL"
    BE = "BE"
    AT = "AT"
    PL = "PL"


Calendar = Jurisdiction | MemberState
"""Whose business days count: a jurisdiction's, or a member state's."""
