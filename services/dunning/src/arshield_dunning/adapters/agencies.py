"""Collection agencies as the runtime's webhook partners: the handle its admin API, its callback
verification and its dispatcher are given (the tables behind it stay in `tables`)."""

from __future__ import annotations

from arshield_dunning.adapters.tables import webhooks
from arshield_runtime.webhooks.tables import Partner

AGENCIES = Partner(
    tables=webhooks, noun="agency", id_prefix="agy_", problem_type="urn:arshield:dunning"
)
