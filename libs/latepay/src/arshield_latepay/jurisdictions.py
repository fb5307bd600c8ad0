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
    """EU member states with a business-day calendar of their own (due-date moves) and, where the
    directive's generic rule would under- or over-claim, their own statute: named with
    `Jurisdiction.EU` in `ContractTerms.member_state` (NL compounds yearly, BE rounds the rate
    up to a half point; AT and PL are refused: their reference rates are not shipped)."""

    NL = "NL"
    BE = "BE"
    AT = "AT"
    PL = "PL"


Calendar = Jurisdiction | MemberState
"""Whose business days count: a jurisdiction's, or a member state's."""
