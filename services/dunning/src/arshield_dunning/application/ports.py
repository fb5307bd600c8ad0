"""What dunning's application needs from outside it, as protocols: the adapters implement them and
the composition root (or a route) hands them in, so imports point inward (the application never
imports an adapter). Every call passes the runtime's `Session` on; the SQL is the adapters'."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from arshield_dunning.domain.cases import AgencyCase, CaseUpdated
from arshield_dunning.domain.claims import ClaimCalculator
from arshield_dunning.domain.events import DomainEvent
from arshield_dunning.domain.policy import Policy, PolicyRules, Segment
from arshield_dunning.domain.state import BuyerDunning
from arshield_runtime.kernel import Change, Emit, Projection, Session
from arshield_runtime.webhooks.callbacks import SignedCallback

ReadModels = Sequence[Projection[BuyerDunning, DomainEvent]]
"""The read models the kernel keeps in each batch's transaction (the runtime's protocol)."""


class Publish(Protocol):
    """The public mapping: the public events of one decision."""

    def __call__(self, change: Change[BuyerDunning, DomainEvent], /) -> Iterable[Emit]: ...


class Claims(Protocol):
    """The claim rules, bound for a business day to the tenant's profile (the law of invoices
    without contract terms)."""

    def for_tenant(self, jurisdiction: str | None, is_sme: bool | None) -> ClaimCalculator: ...


class Queries(Protocol):
    """What the business day and the read use cases read back from dunning's read models."""

    async def delivery_target(self, session: Session, tenant_id: str) -> str | None:
        """The agency new cases go to, if any."""
        ...

    async def buyer_of_invoice(
        self, session: Session, tenant_id: str, invoice_id: str
    ) -> str | None: ...

    async def invoice_actions(
        self, session: Session, tenant_id: str, invoice_id: str
    ) -> list[dict[str, Any]]: ...

    async def buyer_actions(
        self, session: Session, tenant_id: str, buyer_id: str
    ) -> list[dict[str, Any]]: ...


class PolicyBook(Protocol):
    """The policy versions operators write."""

    async def add_policy(
        self,
        session: Session,
        tenant_id: str,
        segment: Segment,
        rules: PolicyRules,
        created_by: str,
    ) -> Policy:
        """The segment's next version, written."""
        ...


class CaseBook(Protocol):
    """Collection cases as their agencies report on them."""

    async def case_for_update(
        self, session: Session, tenant_id: str, case_id: str
    ) -> AgencyCase | None:
        """The case, locked until the transaction ends."""
        ...

    async def save_update(
        self, session: Session, case: AgencyCase, update: CaseUpdated, idempotency_key: str
    ) -> None: ...

    async def remember_answer(
        self, session: Session, callback: SignedCallback, response: dict[str, Any], case_id: str
    ) -> None:
        """The callback's answer, so a replay of it gets the same one and changes nothing."""
        ...
