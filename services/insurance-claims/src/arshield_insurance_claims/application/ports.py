"""What the application reads and keeps outside a buyer's state, as Protocols: the composition
root gives it the adapters (`adapters/postgres.py`: the service's own modules on its tables), so
its imports point inward and it passes the runtime's `Session` on without issuing SQL itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from arshield_events import insurance as public
from arshield_insurance_claims.domain.policy import InsurancePolicy
from arshield_runtime.kernel import Session
from arshield_runtime.webhooks.tables import Partner


class Policies(Protocol):
    """Policy versions: kept as `InsurancePolicyWritten` travels on the log."""

    async def policies_in_force(
        self, session: Session, tenant_id: str, on: date | None = None
    ) -> dict[str, InsurancePolicy]:
        """Per policy, the latest version in force on `on` (None: the latest written)."""
        ...

    async def next_version(self, session: Session, tenant_id: str, policy_id: str) -> int:
        """The next version number; concurrent writers serialise on the tenant's policy."""
        ...

    async def save_policy(
        self, session: Session, tenant_id: str, policy: InsurancePolicy, written_by: str | None
    ) -> None:
        """Keep a version (one already kept changes nothing)."""
        ...

    def policy_event(
        self, policy: InsurancePolicy, written_by: str | None
    ) -> public.InsurancePolicyWritten: ...

    def policy_of(self, event: public.InsurancePolicyWritten) -> InsurancePolicy: ...


class Queries(Protocol):
    """What the application reads of the read models (projections of the log)."""

    async def buyers_of_policy(self, session: Session, tenant_id: str, policy_id: str) -> list[str]:
        """The buyers insured under the policy, in id order."""
        ...

    async def claimed_since(
        self, session: Session, tenant_id: str, policy_id: str, since: date
    ) -> Decimal:
        """The indemnity claimed under the policy from `since` on."""
        ...

    async def claim(
        self, session: Session, tenant_id: str, claim_id: str
    ) -> dict[str, Any] | None: ...

    async def cover_history(
        self, session: Session, tenant_id: str, buyer_id: str
    ) -> list[dict[str, Any]]: ...

    async def limit_requests(
        self, session: Session, tenant_id: str, buyer_id: str
    ) -> list[dict[str, Any]]: ...

    async def recovered_for_claim(
        self, session: Session, tenant_id: str, claim_id: str
    ) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Ports:
    """Everything the application reaches outside the kernel, given by the composition root."""

    policies: Policies
    queries: Queries
    insurers: Partner
    """The credit insurers as the runtime's webhook partners (endpoints, remembered callbacks)."""
