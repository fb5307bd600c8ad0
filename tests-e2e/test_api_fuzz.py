"""Every service's HTTP API fuzzed from its own OpenAPI document (schemathesis), with valid keys of
two tenants: whatever a client sends, no answer is a 5xx and every answer matches the schema the
API publishes. The example count is bounded so the suite's time stays in check."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from harness import Tenant
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from arshield_cli import platform
from arshield_cli.stack import StackSettings

pytestmark = pytest.mark.e2e

EXAMPLES = 15
ALL_SCOPES = "read,write,admin,agency"
CHECKS = [
    schemathesis.checks.not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
]


def _tenants(stack: StackSettings, service: str) -> list[Tenant]:
    spec = platform.service(service)
    return [
        Tenant(name, {service: platform.create_key(spec, stack, name, ALL_SCOPES, "fuzz")})
        for name in ("fuzzalpha", "fuzzbeta")
    ]


@pytest.fixture(scope="session")
def fuzz_keys(services: StackSettings) -> dict[str, list[Tenant]]:
    return {service: _tenants(services, service) for service in ("ledger", "dunning")}


def _schema(service: str) -> Any:
    return schemathesis.openapi.from_url(f"{platform.service(service).url}/openapi.json")


@pytest.fixture(scope="session")
def ledger_openapi(services: StackSettings) -> Any:
    return _schema("ledger")


@pytest.fixture(scope="session")
def dunning_openapi(services: StackSettings) -> Any:
    return _schema("dunning")


ledger_schema = schemathesis.pytest.from_fixture("ledger_openapi")
dunning_schema = schemathesis.pytest.from_fixture("dunning_openapi")
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


def _call(case: Any, service: str, tenant: Tenant) -> None:
    case.call_and_validate(
        base_url=platform.service(service).url,
        headers={"Authorization": f"Bearer {tenant.keys[service]}"},
        checks=CHECKS,
        timeout=30,
    )


@ledger_schema.parametrize()
@FUZZ
def test_ledger_api_never_fails(case: Any, fuzz_keys: dict[str, list[Tenant]]) -> None:
    for tenant in fuzz_keys["ledger"]:  # each generated request, as each tenant
        _call(case, "ledger", tenant)


@dunning_schema.parametrize()
@FUZZ
def test_dunning_api_never_fails(case: Any, fuzz_keys: dict[str, list[Tenant]]) -> None:
    for tenant in fuzz_keys["dunning"]:
        _call(case, "dunning", tenant)
