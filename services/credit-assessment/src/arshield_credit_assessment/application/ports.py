"""What credit-assessment's application needs of its adapters, as Protocols: the composition root
(`bootstrap`) hands it the concrete ones (`adapters.public_events`, `adapters.queries`), so
imports point inward and the application issues no SQL of its own."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, Protocol

from arshield_credit_assessment.domain.events import Decision, Event
from arshield_credit_assessment.domain.policy import CreditPolicy
from arshield_credit_assessment.domain.review import Review
from arshield_credit_assessment.domain.state import BuyerCredit
from arshield_events import credit
from arshield_runtime.kernel import Change, Emit, Session

Connection = Any
"""What a use case reads and writes on and passes on without looking inside: the runtime's
`Session`, or (the credit check) a connection whose every statement commits on its own, no BEGIN
nor COMMIT round trip, since its one write (the outbox rows) is all there is to make atomic."""


class PublicEvents(Protocol):
    """The one mapping between credit-assessment's domain values and the public `arshield.credit`
    events, both ways: what the kernel publishes, what a use case writes to the outbox, and what
    the service's own events mean when read back from the log."""

    def publish(self, change: Change[BuyerCredit, Event]) -> Iterable[Emit]: ...

    def decision_event(self, buyer_id: str, d: Decision) -> credit.CreditDecisionMade: ...

    def decision_of(self, event: credit.CreditDecisionMade) -> Decision: ...

    def review_event(
        self,
        buyer_id: str,
        review_id: str,
        subject: str,
        review: Review,
        policy_version: str,
        on: object,
    ) -> credit.ContractReviewed: ...

    def review_of(self, event: credit.ContractReviewed) -> Review: ...

    def policy_of_event(self, event: credit.CreditPolicyPublished) -> CreditPolicy: ...


class Records(Protocol):
    """The service's own records the use cases answer from and write to, beside the kernel's."""

    async def state_and_date(
        self, session: Connection, tenant_id: str, buyer_id: str
    ) -> tuple[str | None, date | None]:
        """The buyer's stored state (JSON text) and the tenant's business date, together."""

    async def decision(
        self, session: Session, tenant_id: str, decision_id: str
    ) -> dict[str, Any] | None: ...

    async def next_policy_version(self, session: Session, tenant_id: str) -> int: ...

    async def record_written_policy(
        self, session: Session, tenant_id: str, event: credit.CreditPolicyPublished
    ) -> None: ...
