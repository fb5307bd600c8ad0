"""The laws a late-payment claim can be made under."""

from __future__ import annotations

from enum import StrEnum


class Jurisdiction(StrEnum):
    EU = "EU"
    DE = "DE"
    FR = "FR"
    UK = "UK"
    CN = "CN"
