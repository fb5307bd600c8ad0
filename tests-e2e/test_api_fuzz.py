"""Every service's HTTP API fuzzed from its own OpenAPI document (schemathesis), with valid keys of
two tenants: whatever a client sends, no answer is a 5xx and every answer matches the schema the
API publishes. The example count is bounded so the suite's time stays in check."""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from harness import Tenant
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from arshield_cli import platform
from arshield_cli.stack import StackSettings

pytestmark = pytest.mark.e2e

# Bounded so the suite's time stays in check; raise it to search harder (`ARSHIELD_FUZZ_EXAMPLES=500`).
EXAMPLES = int(os.environ.get("ARSHIELD_FUZZ_EXAMPLES", "25"))
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
    return {spec.name: _tenants(services, spec.name) for spec in platform.SERVICES}


def _fuzz(service: str, tenants: list[Tenant]) -> list[str]:
    """Every operation of the service's OpenAPI, positive and negative inputs, sent as each
    tenant; returns the failures (a 5xx or an answer outside the published schema)."""
    url = platform.service(service).url
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @FUZZ
            @given(case=operation.as_strategy(generation_mode=mode))
            def send(case: Any) -> None:
                for tenant in tenants:
                    case.call_and_validate(
                        base_url=url,
                        headers={"Authorization": f"Bearer {tenant.keys[service]}"},
                        checks=CHECKS,
                        timeout=30,
                    )

            try:
                send()
            except Unsatisfiable:  # an operation that takes no input has no negative case
                continue
            except Exception as error:  # collect them all, report together
                failures.append(f"{operation.label} ({mode.value}): {error}")
    return failures


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],  # no shrinking: report the first failure fast
)


@pytest.mark.parametrize("service", [spec.name for spec in platform.SERVICES])
def test_the_api_never_fails_whatever_it_is_sent(
    service: str, fuzz_keys: dict[str, list[Tenant]]
) -> None:
    failures = _fuzz(service, fuzz_keys[service])
    assert not failures, "\n\n".join(failures)
