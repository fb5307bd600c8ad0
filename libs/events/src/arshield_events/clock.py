"""Clock events (topic `arshield.clock`): the tenant's business calendar ticks.

Keyed by tenant alone; the envelope's `subject` is the tenant id.
"""

from __future__ import annotations

from typing import ClassVar

from arshield_events import topics
from arshield_events.envelope import Payload
from arshield_events.fields import BusinessDate


class BusinessDayStarted(Payload):
    """A business day began for the tenant; time-driven work for that date runs when consumed."""

    event_name: ClassVar[str] = "arshield.clock.BusinessDayStarted.v1"
    topic: ClassVar[str] = topics.CLOCK
    tenant_keyed: ClassVar[bool] = True

    business_date: BusinessDate


EVENTS: tuple[type[Payload], ...] = (BusinessDayStarted,)
