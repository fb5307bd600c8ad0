"""`python -m arshield_insurance_claims serve | rebuild | keys create`."""

from arshield_insurance_claims.bootstrap import bootstrap
from arshield_runtime.cli import service_cli

app = service_cli(bootstrap)

if __name__ == "__main__":
    app()
