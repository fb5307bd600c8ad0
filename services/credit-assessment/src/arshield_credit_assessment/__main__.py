"""`python -m arshield_credit_assessment serve | rebuild | keys create`."""

from __future__ import annotations

from arshield_credit_assessment.bootstrap import bootstrap
from arshield_runtime.cli import service_cli

app = service_cli(bootstrap)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
