"""The application's ports as the service runs them: its own modules on its PostgreSQL tables.
The composition root wires the kernel with them, and an app built without it gets the same."""

from __future__ import annotations

from arshield_insurance_claims.adapters import configuration, queries
from arshield_insurance_claims.adapters.insurers import INSURERS
from arshield_insurance_claims.adapters.projections import projections
from arshield_insurance_claims.adapters.public_events import publish
from arshield_insurance_claims.application.ports import Ports
from arshield_insurance_claims.application.wiring import InsuranceKernel
from arshield_insurance_claims.application.wiring import kernel as insurance_kernel
from arshield_runtime.statestore import StateStore

PORTS = Ports(policies=configuration, queries=queries, insurers=INSURERS)


def kernel(store: StateStore, *, source: str) -> InsuranceKernel:
    """The kernel on these ports, with the service's read models and its public mapping."""
    return insurance_kernel(
        store, source=source, ports=PORTS, read_models=projections(), publish=publish
    )
